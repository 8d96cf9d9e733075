"""Every Redis client of the service is built here, from REDIS_URL: one Redis, or a primary watched by Sentinels.

REDIS_URL takes the forms redis-py knows, and one for Redis Sentinel:

    redis://[[user]:password@]host[:port][/db]
    rediss://...                       (TLS)
    unix:///path/to/redis.sock[?db=N]
    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service_name[/db][?sentinel_password=...]

With Sentinel, the hosts are Sentinels (port 26379 unless given) and the service name is the one
they monitor (`sentinel monitor <service_name> ...`); the user and password are the primary's,
`sentinel_password` (and `sentinel_username`) the Sentinels' own, if they require one. Clients are
redis-py's `Sentinel.master_for`: each connection asks the Sentinels where the primary is when it
opens, so after a failover the next connection goes to the new primary.

After a failover the old primary lives on as a replica: it answers writes with READONLY (inside a
script on Redis 6, with an error that names READONLY), and ends blocked commands (BLPOP) with
UNBLOCKED. Every connection built here treats either as a cut connection: it closes itself and
raises `PrimaryMoved`, a `redis.ConnectionError`, so the client's retry reconnects (through the
Sentinels: to the new primary), and the webhooks, the dispatcher and RQ handle it as the
connection failure it is. Redis Cluster is not supported: RQ does not support it.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.connection import SSLConnection, UnixDomainSocketConnection, parse_url
from redis.exceptions import NoScriptError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from ivr.config import ConfigError

SENTINEL_SCHEME = "redis+sentinel://"
SENTINEL_PORT = 26379
SENTINEL_TIMEOUT = 1.0
"""Seconds a question to one Sentinel may take at most (less if the client's own timeouts are shorter)."""
RECHECK = 1.0
"""Seconds between questions to the Sentinels about where the primary is, besides those on each new connection."""
SENTINEL_FORM = "redis+sentinel://host:port,host:port/service_name[/db]"
URL_FORMS = f"redis://host:port/db, rediss://..., unix:///path/redis.sock or {SENTINEL_FORM}"
SENTINEL_QUERY = ("sentinel_password", "sentinel_username")


class RedisUrlError(ConfigError, ValueError):
    """REDIS_URL cannot be used: its message names REDIS_URL, the URL (password masked) and why."""

    def __init__(self, url: str, reason: str):
        super().__init__("REDIS_URL", f"{masked(url)!r} {reason}", "environment")


class PrimaryMoved(redis.ConnectionError):
    """The server of this connection is no longer the primary (READONLY, UNBLOCKED): the connection is closed."""


@dataclass(frozen=True)
class SentinelTarget:
    """What a `redis+sentinel://` URL names."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None


def masked(url: str) -> str:
    """Return the URL with its passwords replaced by ***, for messages and logs."""
    url = re.sub(r"^([^:/]+://)([^@/]*?):([^@/]*)@", r"\1\2:***@", str(url))
    return re.sub(r"(sentinel_password=)[^&#]*", r"\1***", url)


def parse_sentinel_url(url: str) -> SentinelTarget:
    """Parse `redis+sentinel://[[user]:password@]host[:port],.../service_name[/db][?sentinel_password=...]`."""
    if not url.lower().startswith(SENTINEL_SCHEME):
        raise RedisUrlError(url, f"is not a Sentinel URL ({SENTINEL_FORM})")
    rest = url[len(SENTINEL_SCHEME):]
    if "#" in rest:
        raise RedisUrlError(url, "has a #fragment: a Sentinel URL has none")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username, password = unquote(user) or None, (unquote(secret) if colon else None)
    sentinels = tuple(_sentinel_address(url, part) for part in hosts.split(","))
    parts = [unquote(p) for p in path.split("/")] if slash else []
    if parts and parts[-1] == "":  # a trailing slash
        parts.pop()
    if not parts or not parts[0]:
        raise RedisUrlError(url, f"names no service: the Sentinels' name of the primary comes after the hosts "
                                 f"({SENTINEL_FORM})")
    if len(parts) > 2:
        raise RedisUrlError(url, f"has more than a service name and a database in its path ({SENTINEL_FORM})")
    db = 0
    if len(parts) == 2:
        if not parts[1].isdigit():
            raise RedisUrlError(url, f"has database {parts[1]!r}: a database is a number ({SENTINEL_FORM})")
        db = int(parts[1])
    try:
        options = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise RedisUrlError(url, "has a malformed query string") from None
    unknown = sorted(set(options) - set(SENTINEL_QUERY))
    if unknown:
        raise RedisUrlError(url, f"has unknown parameter(s) {', '.join(unknown)} "
                                 f"(a Sentinel URL knows {', '.join(SENTINEL_QUERY)})")
    return SentinelTarget(sentinels, parts[0], db, username, password,
                          (options.get("sentinel_username") or [None])[0] or None,
                          (options.get("sentinel_password") or [None])[0] or None)


def _sentinel_address(url: str, part: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d*))?|([^:\[\]]+)(?::(\d*))?", part)
    if not match:
        raise RedisUrlError(url, f"has Sentinel address {part!r}: each is host:port, separated by commas "
                                 f"({SENTINEL_FORM})")
    host = unquote(match.group(1) or match.group(3))
    port = match.group(2) if match.group(1) else match.group(4)
    if port == "":
        raise RedisUrlError(url, f"has Sentinel address {part!r} with an empty port")
    port = int(port) if port else SENTINEL_PORT
    if not 0 < port < 65536:
        raise RedisUrlError(url, f"has Sentinel address {part!r} with port {port}, not from 1 to 65535")
    return host, port


def check_url(url: str) -> None:
    """Raise `RedisUrlError` unless REDIS_URL is of a form `redis_from_url` takes; connect to nothing."""
    if url.lower().startswith(SENTINEL_SCHEME):
        parse_sentinel_url(url)
    else:
        _parse_plain(url)


def _parse_plain(url: str) -> dict:
    try:
        return parse_url(url)
    except ValueError as error:
        reason = "has no scheme Redis knows" if str(error).startswith("Redis URL must") else f"cannot be used ({error})"
        raise RedisUrlError(url, f"{reason}: use {URL_FORMS}") from None


# --- connections -------------------------------------------------------------------------------------


def _demoted(error: redis.ResponseError) -> bool:
    """Whether an error says the server is not the primary (any more): a write refused, a wait ended."""
    if isinstance(error, redis.ReadOnlyError):
        return True
    message = str(error)
    # Inside a script, Redis 6 wraps READONLY in its own error; a role change ends blocked commands (BLPOP).
    return "-READONLY " in message or message.startswith("UNBLOCKED")


class _FollowsPrimary:
    """A connection that closes itself, as if cut, when its server turns out to be a replica."""

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except redis.ResponseError as error:
            if not _demoted(error):
                raise
            self.disconnect()
            raise PrimaryMoved(f"{self._host_error()} is no longer the primary: {error}") from error


class SentinelPool(SentinelConnectionPool):
    """redis-py's pool of connections to the primary the Sentinels name, asking them again now and then.

    After a failover the old primary goes on taking writes until the Sentinels demote it, some 10 s
    later (they wait for the new configuration to spread); connections still open to it would go on
    writing there, and what they wrote is lost when it resyncs from the new primary. So whenever a
    connection is taken, and the Sentinels were last asked `RECHECK` seconds ago or more, they are asked
    again: redis-py then closes the idle connections to the old primary and drops the busy ones as they
    come back.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = float("-inf")

    def get_connection(self, *args, **kwargs):
        now = time.monotonic()
        if now - self.asked >= RECHECK:
            self.asked = now
            try:
                self.get_master_address()
            except redis.ConnectionError:
                pass  # no Sentinel answers: the connection in hand may still reach the primary
        return super().get_connection(*args, **kwargs)


class SentinelConnection(_FollowsPrimary, SentinelManagedConnection):
    """A connection to the primary the Sentinels name, asked again each time it (re)connects."""

    def read_response(self, disable_decoding=False, *, disconnect_on_error=True, **kwargs):
        # redis-py's Sentinel connection keeps its socket after a failed read (a timeout, a signal in a BLPOP) unless
        # told otherwise, and the next command would read the answer to the last: close it, as its other connections do.
        try:
            return super().read_response(disable_decoding, disconnect_on_error=disconnect_on_error, **kwargs)
        except redis.ConnectionError as error:
            # redis-py's own answer to READONLY here is a bare ConnectionError (the connection closed): say which.
            if isinstance(error, PrimaryMoved) or not isinstance(error.__context__, redis.ReadOnlyError):
                raise
            raise PrimaryMoved(f"{self._host_error()} is no longer the primary: {error.__context__}") from error

    def send_packed_command(self, command, check_health=True):
        if not self._sock:
            # redis-py would reopen the last address here (a retry after an error): the demoted primary's.
            self.connect()
        return super().send_packed_command(command, check_health)


_CLASSES: dict[tuple[type, ...], type] = {}


def _compose(*bases: type) -> type:
    """Return the class made of `bases`: one per combination, however many clients use it."""
    if len(bases) == 1:
        return bases[0]
    if bases not in _CLASSES:
        name = "".join(b.__name__.strip("_") for b in bases[:-1]) + bases[-1].__name__
        _CLASSES[bases] = type(name, bases, {})
    return _CLASSES[bases]


_PLAIN = {
    redis.Connection: _compose(_FollowsPrimary, redis.Connection),
    SSLConnection: _compose(_FollowsPrimary, SSLConnection),
    UnixDomainSocketConnection: _compose(_FollowsPrimary, UnixDomainSocketConnection),
}


class _Script(Script):
    """A Lua script, run again (loaded first) when the server changed under its first run.

    redis-py loads a script the server does not know and runs it again, once; but when that run meets a
    demoted primary, the retry goes to the new primary, which may not know the script either.
    """

    def __call__(self, keys=None, args=None, client=None):
        try:
            return super().__call__(keys, args, client)
        except NoScriptError:  # it did not run: nothing is done twice
            return super().__call__(keys, args, client)


class Client(redis.Redis):
    """redis-py's client, with scripts that survive a failover under them."""

    def register_script(self, script) -> Script:
        return _Script(self, script)


class SentinelClient(Client):
    """The client `master_for` returns; closing it closes its connections to the Sentinels too."""

    sentinel: Sentinel | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.sentinel is not None:
                self.sentinel.close()


def redis_from_url(url: str, *, mixin: type | None = None, **options) -> redis.Redis:
    """Return a client for REDIS_URL (any form above); it connects on first use.

    `options` are redis-py's connection options (socket_timeout, socket_connect_timeout, decode_responses,
    retry, ...), applied to every connection to the primary; a query string of a plain URL wins over them, as in
    `redis.Redis.from_url`. `mixin`, if given, is a connection class put in front of the URL's own (the webhooks'
    circuit breaker, `ivr.adapters.server.breaker`); its keyword arguments go in `options` too.
    """
    if not isinstance(url, str) or not url.strip():
        raise RedisUrlError(str(url or ""), f"is empty: use {URL_FORMS}")
    front = (mixin,) if mixin is not None else ()
    if url.lower().startswith(SENTINEL_SCHEME):
        target = parse_sentinel_url(url)
        sentinel = Sentinel(target.sentinels, sentinel_kwargs=_sentinel_options(target, options))
        client = sentinel.master_for(target.service, redis_class=SentinelClient, connection_pool_class=SentinelPool,
                                     connection_class=_compose(*front, SentinelConnection),
                                     db=target.db, username=target.username, password=target.password, **options)
        client.sentinel = sentinel
        return client
    params = _parse_plain(url)
    base = params.pop("connection_class", redis.Connection)
    plain = _PLAIN.get(base) or _compose(_FollowsPrimary, base)
    pool = redis.ConnectionPool(connection_class=_compose(*front, plain), **{**options, **params})
    return Client.from_pool(pool)


def _sentinel_options(target: SentinelTarget, options: dict) -> dict:
    """The Sentinels' connections: no longer to wait than the client's own, and no retry (the next one is asked)."""
    timeouts = [t for t in (options.get("socket_connect_timeout"), options.get("socket_timeout")) if t]
    timeout = min([SENTINEL_TIMEOUT, *timeouts])
    found = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "retry": Retry(NoBackoff(), 0)}
    if target.sentinel_password is not None:
        found["password"] = target.sentinel_password
    if target.sentinel_username is not None:
        found["username"] = target.sentinel_username
    return found
