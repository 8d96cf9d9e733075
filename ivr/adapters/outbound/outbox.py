"""Events for the case system: kept in order, once each, until the case system has them.

Every event (an engineer assigned by write-back, a call record, a cancellation, a manager request)
is appended once, whatever retried job or webhook publishes it, to the stream `ivr events`
prints; with `case_system.webhook` configured, it also waits in its case's list until a worker
has POSTed it, so events of one case reach the case system in the order they happened.
"""
from __future__ import annotations

import json
import time

import redis

from .. import keys

EVENT_VERSION = 1
"""The event format's version, sent with every event: connectors may rely on the fields of this version."""

SEEN_FOR = 30 * 86400
"""Seconds an event's idempotency key is remembered: far longer than any retry."""

_PUBLISH = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return 0 end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3])
if ARGV[4] == '1' then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  redis.call('SADD', KEYS[4], ARGV[5])
end
return 1
"""
"""Append an event once per idempotency key: to the stream, and to its case's delivery list when delivering."""

_LOCK_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Outbox:
    """Publishes case-system events and hands them to the delivery job in order."""

    def __init__(self, client: redis.Redis, delivering: bool):
        self.redis, self.delivering = client, delivering
        self._publish = client.register_script(_PUBLISH)
        self._unlock = client.register_script(_LOCK_RELEASE)

    def publish(self, kind: str, case: str, key: str, /, **data) -> dict | None:
        """Append one event about a case, once for `key` however often it is published; return it, or None."""
        event = {"version": EVENT_VERSION, "type": kind, "case": case, "at": round(time.time(), 3), "id": key,
                 "data": data}
        text = json.dumps(event, separators=(",", ":"), sort_keys=True)
        done = self._publish(keys=[keys.outbox_seen(key), keys.CASE_EVENTS, keys.outbox(case), keys.OUTBOX_CASES],
                             args=[SEEN_FOR, keys.CASE_EVENTS_MAXLEN, text, "1" if self.delivering else "0", case])
        return event if done else None

    def events(self, after: str = "-", count: int = 1000) -> list[tuple[str, dict]]:
        """Return (stream id, event) pairs after an id ("-": from the oldest kept)."""
        start = "-" if after == "-" else f"({after}"
        return [(i, json.loads(f["event"])) for i, f in self.redis.xrange(keys.CASE_EVENTS, start, "+", count=count)]

    def follow(self, after: str, block_ms: int) -> list[tuple[str, dict]]:
        """Wait up to `block_ms` for events after an id ("$": only new ones); return them."""
        found = self.redis.xread({keys.CASE_EVENTS: after}, block=block_ms, count=1000) or []
        return [(i, json.loads(f["event"])) for _stream, entries in found for i, f in entries]

    # -- delivery, one case at a time, in order -------------------------------------------------------

    def pending(self, case: str) -> list[dict]:
        return [json.loads(e) for e in self.redis.lrange(keys.outbox(case), 0, -1)]

    def head(self, case: str) -> str | None:
        """Return the oldest undelivered event of a case, as the JSON text to send."""
        return self.redis.lindex(keys.outbox(case), 0)

    def delivered(self, case: str, text: str) -> None:
        """Drop the delivered head of a case's list (only if it is still that event)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.lrem(keys.outbox(case), 1, text)
        pipe.execute()
        if not self.redis.exists(keys.outbox(case)):
            self.redis.srem(keys.OUTBOX_CASES, case)

    def lock(self, case: str, token: str, seconds: int) -> bool:
        """Take a case's delivery for one worker at a time; False when another has it."""
        return bool(self.redis.set(keys.outbox_lock(case), token, nx=True, ex=seconds))

    def unlock(self, case: str, token: str) -> None:
        self._unlock(keys=[keys.outbox_lock(case)], args=[token])
