"""Staff sign-in: engineers' password hashes and the count of failed sign-ins (key names in `keys`)."""
from __future__ import annotations

import hashlib
import ipaddress
import secrets
from functools import cache

import redis
from werkzeug.security import check_password_hash, generate_password_hash

from .. import keys

PASSWORD_METHOD = "scrypt"
"""A memory-hard salted hash (werkzeug's default parameters: N=2^15, r=8, p=1), about 0.1 s a check."""

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
"""Characters a password may have: short ones are guessed; a huge one would only cost hashing time."""

FAILURE_LIMIT = 5
"""Failed sign-ins allowed per engineer and per client address within `FAILURE_WINDOW`; the next is refused.
(Every attempt is counted as it starts; a good one is taken back.)"""

FAILURE_WINDOW = 15 * 60
"""Seconds a failed sign-in counts against its engineer and its address (a Redis TTL from the first failure)."""


_COUNT = """
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'EX', ARGV[1], 'NX')
  if redis.call('INCR', key) > tonumber(ARGV[2]) then
    local ttl = redis.call('TTL', key)
    if ttl < 1 then ttl = tonumber(ARGV[1]) end
    if ttl > wait then wait = ttl end
  end
end
return wait
"""
"""Count one attempt on each counter; return the seconds to wait if any is over the limit, else 0.
A window starts at the first attempt counted and is not extended by later ones."""


@cache
def _no_such_hash() -> str:
    """Return a hash to check against for an engineer without a password, so a refusal takes as long either way."""
    return generate_password_hash(secrets.token_hex(16), method=PASSWORD_METHOD)


class PasswordRefused(ValueError):
    """A password that cannot be set (too short, too long, or not one line)."""


def check_new_password(password: str) -> None:
    """Raise PasswordRefused, saying why, for a password that may not be set."""
    if len(password) < MIN_PASSWORD:
        raise PasswordRefused(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordRefused(f"a password may have at most {MAX_PASSWORD} characters")
    if any(ch in password for ch in "\r\n\0"):
        raise PasswordRefused("a password is one line, without NUL characters")


def address_bucket(address: str | None) -> str:
    """Return what failures from a client address are counted under: the address, an IPv6 client by its /64.

    One IPv6 host usually has a whole /64 to pick addresses from.
    """
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return str(mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class StaffAccounts:
    """Engineers' console passwords (`ivr:password:<engineer>`) and failed sign-ins (`ivr:signin-failures:*`)."""

    def __init__(self, client: redis.Redis):
        self.redis = client
        self._count = client.register_script(_COUNT)

    def set_password(self, engineer: str, password: str) -> None:
        """Store a salted hash of a new password; sessions signed in with the old one end."""
        check_new_password(password)
        self.redis.set(keys.password(engineer), generate_password_hash(password, method=PASSWORD_METHOD))

    def has_password(self, engineer: str) -> bool:
        return bool(self.redis.exists(keys.password(engineer)))

    def check(self, engineer: str | None, password: str) -> bool:
        """Tell whether a password is the engineer's; as slow for an engineer without one, or None."""
        stored = self.redis.get(keys.password(engineer)) if engineer else None
        matched = check_password_hash(stored or _no_such_hash(), password[:MAX_PASSWORD])
        return matched and stored is not None

    def fingerprint(self, engineer: str) -> str | None:
        """Return a short digest of the stored hash, kept in a session: a new password ends older sessions."""
        stored = self.redis.get(keys.password(engineer))
        return hashlib.sha256(stored.encode()).hexdigest()[:16] if stored else None

    def attempt(self, engineer: str | None, address: str | None) -> int:
        """Count a sign-in attempt against the engineer (when in the directory) and the client address.

        Counted before the password is checked, in one step: attempts racing each other cannot
        slip past the limit. Return 0 to go on, or the seconds to wait when over the limit.
        """
        names = self._counters(engineer, address)
        return int(self._count(keys=names, args=[FAILURE_WINDOW, FAILURE_LIMIT])) if names else 0

    def failures(self, engineer: str | None = None, address: str | None = None) -> int:
        """Return the failures counted now against an engineer or an address (the larger, given both)."""
        names = self._counters(engineer, address)
        return max((int(count or 0) for count in self.redis.mget(names)), default=0) if names else 0

    def succeeded(self, engineer: str, address: str | None) -> None:
        """Take back a good sign-in's count: the engineer's failures are forgotten, the address keeps its own."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(keys.signin_failures("engineer", engineer))
        if address is not None:
            pipe.decr(keys.signin_failures("address", address_bucket(address)))
        pipe.execute()

    @staticmethod
    def _counters(engineer: str | None, address: str | None) -> list[str]:
        names = [keys.signin_failures("engineer", engineer)] if engineer else []
        if address is not None:
            names.append(keys.signin_failures("address", address_bucket(address)))
        return names
