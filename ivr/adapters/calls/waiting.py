"""The callers waiting in each queue, ordered by deadline: the registry dispatch serves from.

Joining and leaving are Lua scripts that write the waiting set, the call's state and the event
log together; a caller joins once and leaves once, however often Twilio reports it.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

import redis

from routing import Enqueue
from routing.dispatch import moving_average

from .. import keys
from .events import now, pairs

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
redis.call('HSET', KEYS[2], 'queue', ARGV[4], 'waiting', ARGV[5], 'deadline', ARGV[3], 'joined', ARGV[8])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'sid', ARGV[1], 'event', 'enqueued', 'queue', ARGV[4],
           'deadline', ARGV[3], 'at', ARGV[8])
return 1
"""
"""Put a caller in their queue once: a retried webhook keeps the first deadline and logs nothing new."""

LEAVE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed == 0 and ARGV[7] == '1' then return 0 end
local first = redis.call('HSETNX', KEYS[2], 'queue_result', ARGV[3])
if first == 0 and ARGV[7] ~= '1' and string.sub(redis.call('HGET', KEYS[2], 'queue_result'), 1, 5) == 'call_' then
  -- The final status stood in for a queue result that had not come yet; the one that came says how it ended.
  redis.call('HSET', KEYS[2], 'queue_result', ARGV[3])
end
redis.call('HSETNX', KEYS[2], 'left_at', ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[4])
if first == 1 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'sid', ARGV[1], 'event', 'dequeued', 'queue', ARGV[2],
             'result', ARGV[3], 'at', ARGV[6])
end
return first
"""
"""Take a caller out of their queue; the first way it ended is kept and logged, once (except that Twilio's own
QueueResult, arriving after the final status that stood in for it, replaces the stand-in: the record must not depend
on which came first)."""

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


_HOLD = """
-- A waiting call asks for its hold announcement: note it is still holding (and its QueueSid, the first
-- time), count the announcement, and read what the caller is told: their place in the deadline order,
-- the pending callbacks due before them, the queue's answered waits and who is on shift. One round trip.
-- A rehearsal (ARGV[7] ~= '1') is only read: never heard from, it is never offered to an engineer.
-- A retried request (Twilio's QueueTime, ARGV[8], the same as the last one counted) is the same announcement.
local count = 1
if ARGV[7] == '1' then
    redis.call('HSET', KEYS[1], 'heard', ARGV[1], 'line', ARGV[2])
    redis.call('HSETNX', KEYS[1], 'queue_sid', ARGV[3])
    local counted = redis.call('HGET', KEYS[1], 'announcements')
    if ARGV[8] ~= '' and counted and redis.call('HGET', KEYS[1], 'announced_queue_time') == ARGV[8] then
        count = tonumber(counted)
    else
        count = redis.call('HINCRBY', KEYS[1], 'announcements', 1)
        redis.call('HSET', KEYS[1], 'announced_queue_time', ARGV[8])
    end
    redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local rank = redis.call('ZRANK', KEYS[2], ARGV[5])
local before = 0
if rank then
    before = redis.call('ZCOUNT', KEYS[3], '-inf', '(' .. redis.call('ZSCORE', KEYS[2], ARGV[5]))
end
local stats = redis.call('HMGET', KEYS[4], ARGV[6] .. ':average', ARGV[6] .. ':samples')
return {count, rank, before, stats[1], stats[2], redis.call('SCARD', KEYS[5])}
"""


@dataclass(frozen=True)
class HoldView:
    """What a waiting caller's announcement is made of."""

    announcement: int
    """Which announcement this is: 1 the first time."""
    ahead: int | None
    """Callers and pending callbacks served before this one; None when Redis does not know the caller."""
    average: float | None
    samples: int
    on_shift: int


class Waiting:
    """Reads and writes the waiting callers of every queue."""

    def __init__(self, client: redis.Redis, ttl: int):
        self.redis, self.ttl = client, ttl
        self._join = client.register_script(_JOIN)
        self._leave = client.register_script(LEAVE)
        self._hold = client.register_script(_HOLD)

    def hold(self, sid: str, queue: str, queue_sid: str, line: str, note: bool = True,
             queue_time: str = "") -> HoldView:
        """Note that a waiting call asked for its hold announcement (unless `note` is false) and return what to
        tell it, in one round trip.

        `queue_time` is Twilio's QueueTime: a retried request carries the one already counted, and is told the
        same announcement again rather than the next one.
        """
        count, rank, before, average, samples, staff = self._hold(
            keys=[keys.call(sid), keys.waiting(queue), keys.pending(queue), keys.ANSWERED_WAIT,
                  keys.directory("staff", queue)],
            args=[f"{time.time():.3f}", line, queue_sid, self.ttl, sid, queue, "1" if note else "0", queue_time])
        return HoldView(int(count), None if rank is None else int(rank) + int(before),
                        float(average) if average else None, int(samples or 0), int(staff))

    def join(self, sid: str, decision: Enqueue, routed: dict | None = None) -> bool:
        """Keep a waiting caller in their queue ordered by deadline, earliest first.

        `routed` is the routing decision to record in the same round trip. Returns False when
        the caller was already waiting (a retried webhook): nothing changes then.
        """
        if not sid:
            return False
        args = [sid, decision.deadline.timestamp(), decision.deadline.isoformat(), decision.queue,
                queue_entry(decision), self.ttl, keys.EVENTS_MAXLEN, now(), SWEEP, keys.call("")]
        return bool(self._join(keys=[keys.waiting(decision.queue), keys.call(sid), keys.EVENTS],
                               args=args + pairs(routed or {})))

    def leave(self, sid: str, queue: str | None, result: str, *, only_if_waiting: bool = False) -> bool:
        """Record how a caller's wait ended (bridged, hangup, leave…); the first report wins.

        With `only_if_waiting`, nothing is written unless the caller was still in the queue: a
        call's final status must not overwrite how its wait ended, nor invent a wait.
        """
        if not sid or not queue:
            return False
        return bool(self._leave(keys=[keys.waiting(queue), keys.call(sid), keys.EVENTS],
                                args=[sid, queue, result, self.ttl, keys.EVENTS_MAXLEN, now(),
                                      "1" if only_if_waiting else "0"]))


    def deadline(self, queue: str, sid: str) -> float | None:
        """Return a waiting caller's deadline (epoch seconds), or None when they are not waiting there."""
        return self.redis.zscore(keys.waiting(queue), sid)

    def entries(self, queue: str) -> list[tuple[str, Enqueue, float]]:
        """Return each caller waiting in a queue with their queue decision and when they joined (epoch seconds)."""
        sids = self.redis.zrange(keys.waiting(queue), 0, -1)
        pipe = self.redis.pipeline(transaction=False)
        for sid in sids:
            pipe.hmget(keys.call(sid), "waiting", "joined")
        found = []
        for sid, (entry, joined) in zip(sids, pipe.execute() if sids else [], strict=True):
            decision = parse_queue_entry(entry)
            if decision is not None:  # its state expired: the next join sweeps it
                found.append((sid, decision, float(joined or 0)))
        return found

    def callers(self, queue: str) -> list[str]:
        """Return the CallSids waiting in a queue, earliest deadline first."""
        return self.redis.zrange(keys.waiting(queue), 0, -1)

    def kept_for(self, queue: str) -> int:
        """Return the seconds a queue's waiting list has left (negative when it is empty or has no expiry)."""
        return self.redis.ttl(keys.waiting(queue))

    def answered(self, queue: str, waited: float) -> None:
        """Fold one answered wait into the queue's moving average, which expected waits come from."""
        while True:
            with self.redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(keys.ANSWERED_WAIT)
                    average, samples = pipe.hmget(keys.ANSWERED_WAIT, f"{queue}:average", f"{queue}:samples")
                    pipe.multi()
                    pipe.hset(keys.ANSWERED_WAIT, mapping={
                        f"{queue}:average": f"{moving_average(float(average) if average else None, waited):.3f}",
                        f"{queue}:samples": int(samples or 0) + 1})
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    def answered_wait(self, queue: str) -> tuple[float | None, int]:
        """Return a queue's moving average of answered waits (seconds) and how many waits it has seen."""
        average, samples = self.redis.hmget(keys.ANSWERED_WAIT, f"{queue}:average", f"{queue}:samples")
        return (float(average) if average else None), int(samples or 0)
