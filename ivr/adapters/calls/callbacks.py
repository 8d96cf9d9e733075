"""Callback requests: asked for while waiting (or when refused outside hours), kept in the deadline order.

A confirmed request becomes a pending callback: it leaves Twilio's queue but keeps its place,
in `ivr:callbacks:<queue>` by its original deadline, until dispatch offers it to a free engineer
and a worker calls the customer. Each request is confirmed once, however often Twilio repeats the
queue result, and survives restarts (Redis keeps it, with a TTL far past any retry).
"""
from __future__ import annotations

import time

import redis

from .. import keys
from .call_state import CallState
from .events import now, pairs

CALLBACK_TTL = 14 * 86400
"""Seconds a pending callback is kept: past a long weekend of retries, never forever."""

_CONFIRM = """
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'callback', 'requested', 'callback_reason', ARGV[5]) end
if redis.call('HGET', KEYS[1], 'callback') ~= 'requested' then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('HSETNX', KEYS[1], 'callback_at', ARGV[2]) == 0 then return 1 end
local number = redis.call('HGET', KEYS[1], 'callback_number') or ''
if number == '' then number = ARGV[8] end
if number == '' then
  redis.call('HSET', KEYS[1], 'callback', 'no_number')
  return 0
end
redis.call('HSET', KEYS[1], 'callback_number', number)
local details = {}
for i = 10, #ARGV do details[#details + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'sid', ARGV[1], 'at', ARGV[2], 'number', number,
           'reason', redis.call('HGET', KEYS[1], 'callback_reason') or '', unpack(details))
redis.call('HSET', KEYS[3], 'sid', ARGV[1], 'number', number, 'state', 'pending', 'attempts', '0',
           'not_before', ARGV[9], 'created', ARGV[2], 'reason', redis.call('HGET', KEYS[1], 'callback_reason') or '',
           unpack(details))
redis.call('EXPIRE', KEYS[3], ARGV[7])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
return 2
"""
"""Turn a caller's request into a pending callback once: 2 the first time, 1 for a repeat, 0 for none (no number)."""


class Callbacks:
    """Records callback requests and keeps the pending callbacks in each queue's deadline order."""

    def __init__(self, client: redis.Redis, state: CallState):
        self.redis, self.state = client, state
        self._confirm = client.register_script(_CONFIRM)

    def ask(self, sid: str, reason: str, number: str = "") -> None:
        """Note that a waiting caller asked to be called back; it takes effect when they leave the queue."""
        self.state.update(sid, event="callback_asked", callback="requested", callback_reason=reason,
                          **({"callback_number": number} if number else {}))

    def propose(self, sid: str, number: str) -> None:
        """Keep the number read back to the caller, until they confirm it."""
        self.state.update(sid, callback_proposed=number)

    def confirm(self, sid: str, *, queue: str, deadline_ts: float, reason: str | None = None, number: str = "",
                not_before: float = 0.0, **details) -> bool:
        """Make the caller's request a pending callback in `queue` with its deadline, once; return whether one is.

        With a reason the request is made and confirmed at once (a full queue, a refusal outside
        hours); `number` is the calling number, used when the caller confirmed none.
        """
        if not sid or not queue:
            return False
        fields = {"queue": queue, "deadline_ts": f"{deadline_ts:.3f}", **details}
        args = [sid, now(), self.state.ttl, keys.CALLBACKS_MAXLEN, reason or "", deadline_ts, CALLBACK_TTL, number,
                f"{not_before:.3f}", *pairs(fields)]
        return bool(self._confirm(keys=[keys.call(sid), keys.CALLBACKS, keys.callback(sid), keys.pending(queue)],
                                  args=args))

    def get(self, sid: str) -> dict[str, str]:
        return self.redis.hgetall(keys.callback(sid)) if sid else {}

    def pending(self, queue: str) -> list[str]:
        """Return the CallSids of a queue's pending callbacks, earliest deadline first."""
        return self.redis.zrange(keys.pending(queue), 0, -1)

    def retry_later(self, sid: str, at: float) -> int:
        """Count an unanswered attempt and put the callback back in line from `at`; return the attempts made."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(keys.callback(sid), "attempts", 1)
        pipe.hset(keys.callback(sid), mapping={"not_before": f"{at:.3f}", "last_attempt": f"{time.time():.3f}"})
        pipe.expire(keys.callback(sid), CALLBACK_TTL)
        return int(pipe.execute()[0])

    def close(self, sid: str, queue: str, state: str) -> bool:
        """Take a callback out of line for good (`done`, or `failed` after its attempts); True the first time."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(keys.pending(queue), sid)
        pipe.hset(keys.callback(sid), mapping={"state": state, "closed_at": f"{time.time():.3f}"})
        pipe.expire(keys.callback(sid), CALLBACK_TTL)
        return bool(pipe.execute()[0])

    def requests(self) -> list[dict[str, str]]:
        """Return the callback requests made, oldest first (the log kept for the workers and reports)."""
        return [fields for _id, fields in self.redis.xrange(keys.CALLBACKS)]
