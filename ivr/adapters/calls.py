"""Per-call state in Redis keyed by CallSid, the decision log, the waiting callers and callbacks.

Every write is one atomic round trip (MULTI/EXEC or a Lua script), and every effect that must
happen once per call (joining or leaving a queue, a callback request, the end of the call) is
guarded inside Redis, so Twilio's retried and duplicated callbacks change nothing twice.
"""
from __future__ import annotations

import json
import time
from datetime import datetime

import redis

from routing import Enqueue

from . import keys

SWEEP = 10
"""Earliest waiting entries checked on each join: one whose call state has expired is dropped."""

# The sweep reads call-state keys it builds from their prefix: fine on one Redis (or Sentinel),
# which is all RQ supports; Redis Cluster is not a goal.
_JOIN = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[9]) - 1)) do
  if redis.call('EXISTS', ARGV[10] .. member) == 0 then redis.call('ZREM', KEYS[1], member) end
end
if #ARGV > 10 then
  local fields = {}
  for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[2], unpack(fields))
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'sid', ARGV[1], 'event', 'routed', 'at', ARGV[8],
             unpack(fields))
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('HSET', KEYS[2], 'queue', ARGV[4], 'waiting', ARGV[5], 'deadline', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'sid', ARGV[1], 'event', 'enqueued', 'queue', ARGV[4],
           'deadline', ARGV[3], 'at', ARGV[8])
return 1
"""
"""Put a caller in their queue once: a retried webhook keeps the first deadline and logs nothing new."""

_DECIDE = """
if redis.call('HEXISTS', KEYS[1], 'decision') == 0 then
  local fields = {}
  for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'sid', ARGV[1], 'event', 'routed', 'at', ARGV[4],
             unpack(fields))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('HGET', KEYS[1], 'fallback') or ''
"""
"""Record a call's routing decision once: a retried webhook finds the first one, with its deadline."""

_LEAVE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed == 0 and ARGV[7] == '1' then return 0 end
local first = redis.call('HSETNX', KEYS[2], 'queue_result', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
if first == 1 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'sid', ARGV[1], 'event', 'dequeued', 'queue', ARGV[2],
             'result', ARGV[3], 'at', ARGV[6])
end
return first
"""
"""Take a caller out of their queue; the first way it ended is kept and logged, once."""

_CALLBACK = """
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'callback', 'requested', 'callback_reason', ARGV[5]) end
if redis.call('HGET', KEYS[1], 'callback') ~= 'requested' then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('HSETNX', KEYS[1], 'callback_at', ARGV[2]) == 0 then return 1 end
local details = {}
for i = 6, #ARGV do details[#details + 1] = ARGV[i] end
details[#details + 1] = 'reason'
details[#details + 1] = redis.call('HGET', KEYS[1], 'callback_reason') or ''
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'sid', ARGV[1], 'at', ARGV[2], unpack(details))
return 1
"""
"""Turn a caller's callback request into one entry for the workers, however often it is confirmed."""


def _clean(fields: dict) -> dict[str, str]:
    return {k: ("" if v is None else str(v)) for k, v in fields.items()}


def _pairs(fields: dict) -> list[str]:
    return [item for pair in _clean(fields).items() for item in pair]


def queue_entry(decision: Enqueue) -> str:
    """Return a queue decision as stored JSON: what dispatch and a later re-queue need."""
    return json.dumps({"queue": decision.queue, "deadline": decision.deadline.isoformat(), "case": decision.case,
                       "plan": decision.plan, "severity": decision.severity, "language": decision.language,
                       "preferred": decision.preferred or "", "overflow_from": decision.overflow_from or ""})


def parse_queue_entry(text: str | None) -> Enqueue | None:
    """Return the queue decision stored by `queue_entry`, or None when it is missing or damaged."""
    try:
        data = json.loads(text or "")
        deadline = datetime.fromisoformat(data["deadline"])
        if deadline.tzinfo is None:
            return None
        return Enqueue(queue=str(data["queue"]), deadline=deadline, case=str(data["case"]), plan=str(data["plan"]),
                       severity=int(data["severity"]), language=str(data["language"]),
                       preferred=data.get("preferred") or None, overflow_from=data.get("overflow_from") or None)
    except (ValueError, TypeError, KeyError):
        return None


class Calls:
    """Reads and writes what is known about live calls."""

    def __init__(self, client: redis.Redis, ttl: int):
        self.redis, self.ttl = client, ttl
        self._join = client.register_script(_JOIN)
        self._decide = client.register_script(_DECIDE)
        self._leave = client.register_script(_LEAVE)
        self._callback = client.register_script(_CALLBACK)

    def get(self, sid: str) -> dict[str, str]:
        return self.redis.hgetall(keys.call(sid)) if sid else {}

    def _write(self, pipe, sid: str, event: str | None, fields: dict[str, str]) -> None:
        if fields:
            pipe.hset(keys.call(sid), mapping=fields)
        pipe.expire(keys.call(sid), self.ttl)
        if event:
            pipe.xadd(keys.EVENTS, {"sid": sid, "event": event, "at": f"{time.time():.3f}", **fields},
                      maxlen=keys.EVENTS_MAXLEN, approximate=True)

    def update(self, sid: str, event: str | None = None, **fields) -> None:
        """Merge fields into a call's state and refresh its TTL, logging an event if named."""
        if not sid:
            return
        pipe = self.redis.pipeline(transaction=True)
        self._write(pipe, sid, event, _clean(fields))
        pipe.execute()

    def update_and_get(self, sid: str, event: str, **fields) -> dict[str, str]:
        """Merge fields into a call's state and return the whole state, in one round trip."""
        if not sid:
            return {}
        pipe = self.redis.pipeline(transaction=True)
        self._write(pipe, sid, event, _clean(fields))
        pipe.hgetall(keys.call(sid))
        return pipe.execute()[-1]

    def decide(self, sid: str, **routed) -> str:
        """Record where the call was routed, unless it already was; return the stored fallback queue entry."""
        if not sid:
            return routed.get("fallback") or ""
        return self._decide(keys=[keys.call(sid), keys.EVENTS],
                            args=[sid, self.ttl, keys.EVENTS_MAXLEN, f"{time.time():.3f}", *_pairs(routed)])

    def join_queue(self, sid: str, decision: Enqueue, routed: dict | None = None) -> bool:
        """Keep a waiting caller in their queue ordered by deadline, earliest first.

        `routed` is the routing decision to record in the same round trip. Returns False when
        the caller was already waiting (a retried webhook): nothing changes then.
        """
        if not sid:
            return False
        args = [sid, decision.deadline.timestamp(), decision.deadline.isoformat(), decision.queue,
                queue_entry(decision), self.ttl, keys.EVENTS_MAXLEN, f"{time.time():.3f}", SWEEP, keys.call("")]
        return bool(self._join(keys=[keys.waiting(decision.queue), keys.call(sid), keys.EVENTS],
                               args=args + _pairs(routed or {})))

    def leave_queue(self, sid: str, queue: str | None, result: str, *, only_if_waiting: bool = False) -> bool:
        """Record how a caller's wait ended (bridged, hangup, leave…); the first report wins.

        With `only_if_waiting`, nothing is written unless the caller was still in the queue: a
        call's final status must not overwrite how its wait ended, nor invent a wait.
        """
        if not sid or not queue:
            return False
        return bool(self._leave(keys=[keys.waiting(queue), keys.call(sid), keys.EVENTS],
                                args=[sid, queue, result, self.ttl, keys.EVENTS_MAXLEN, f"{time.time():.3f}",
                                      "1" if only_if_waiting else "0"]))

    def ask_callback(self, sid: str, reason: str) -> None:
        """Note that a waiting caller asked to be called back; it takes effect when they leave the queue."""
        self.update(sid, event="callback_asked", callback="requested", callback_reason=reason)

    def confirm_callback(self, sid: str, reason: str | None = None, **details) -> bool:
        """Hand the caller's callback request to the workers, once; return whether one is on record.

        With a reason, the request is made and confirmed at once (the queue was full).
        """
        if not sid:
            return False
        args = [sid, f"{time.time():.3f}", self.ttl, keys.CALLBACKS_MAXLEN, reason or ""]
        return bool(self._callback(keys=[keys.call(sid), keys.CALLBACKS], args=args + _pairs(details)))

    def finish(self, sid: str, status: str, duration: str | None) -> dict[str, str]:
        """Record a call's final status and return its state; the first report fixes when it ended."""
        pipe = self.redis.pipeline(transaction=True)
        self._write(pipe, sid, "status", _clean({"status": status, "duration": duration}))
        pipe.hsetnx(keys.call(sid), "ended_at", f"{time.time():.3f}")
        pipe.hgetall(keys.call(sid))
        return pipe.execute()[-1]
