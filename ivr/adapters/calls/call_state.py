"""A live call's state in Redis, keyed by CallSid: what each step learned, kept for `calls.state_ttl`.

Every write is one atomic round trip, with the event it records; an effect that must happen
once per call (its routing, its end) is guarded inside Redis, so Twilio's retried and
duplicated callbacks change nothing twice.
"""
from __future__ import annotations

import time

import redis

from .. import keys
from .events import now, pairs
from .offers import ENGAGE, RELEASE
from ..directory.store import dial_token
from .waiting import LEAVE

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


_PROGRESS = """
if redis.call('HEXISTS', KEYS[1], 'ended_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'duration', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'sid', ARGV[1], 'event', 'status', 'at', ARGV[6],
           'status', ARGV[2])
return 1
"""
"""Record a call's progress unless it has ended: a late `ringing` never undoes a `completed`."""


_FINISH = """
if redis.call('HEXISTS', KEYS[1], 'ended_at') == 0 then
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'ended_at', ARGV[6])
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'duration', ARGV[3]) end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'sid', ARGV[1], 'event', 'status', 'at', ARGV[6],
             'status', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return redis.call('HGETALL', KEYS[1])
"""
"""Record a call's end once: the first final status and when it came; a repeat returns the state unchanged."""


_UPDATE = """
-- Merge fields into a call's state, refresh its TTL and log an event if named; return the whole state if
-- asked. KEYS: the call, the events. ARGV: sid, ttl, events length, now, event ('' for none), 'all' to read
-- the state back (else ''), then field, value, ...
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'sid', ARGV[1], 'event', ARGV[5], 'at', ARGV[4],
             unpack(fields))
end
if ARGV[6] == 'all' then return redis.call('HGETALL', KEYS[1]) end
return 1
"""
"""A step's write to the call's state: one command, one reply to read (a MULTI/EXEC of the same has five)."""

def _function(name: str, script: str) -> str:
    """Return a script as a Lua function of its own KEYS and ARGV, for a script that runs several in one round trip."""
    return f"local function {name}(KEYS, ARGV)\n{script}\nend\n"


_ARRIVE = _function("update", _UPDATE) + """
-- A new call: note its first fields (unless it has no CallSid) and count the failed case-number tries from
-- its number since ARGV[7]. KEYS: the call, the events, the number's tries. ARGV: the update's, then since.
local since = table.remove(ARGV)
if ARGV[1] ~= '' then update({KEYS[1], KEYS[2]}, ARGV) end
return redis.call('ZCOUNT', KEYS[3], since, '+inf')
"""
"""Note a new call and read how often its number guessed lately, in one command."""

_RING = _function("engage", ENGAGE) + _function("decide", _DECIDE) + """
-- The case's own engineer is rung for this call: engage them, unless something else does, and record the
-- routing. KEYS: the call, the events, the engagement, presence-since, presence log. ARGV[1..5]: engineer,
-- token, seconds, now, presence log length; ARGV[6..]: the call's decide arguments. False: engaged elsewhere.
if engage({KEYS[3], KEYS[4], KEYS[5]}, {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[4], ARGV[5]}) == 0 then
  return false
end
local rest = {}
for i = 6, #ARGV do rest[#rest + 1] = ARGV[i] end
return decide({KEYS[1], KEYS[2]}, rest)
"""
"""Ring the case's engineer: engage them and record the routing, in one round trip."""

_END = _function("finish", _FINISH) + _function("release", RELEASE) + _function("leave", LEAVE) + """
-- A call ended: record its final status once, free an engineer rung for it directly (after the wrap-up),
-- take it out of a queue it was still waiting in, and (unless ARGV[12] is '0') note that its record falls
-- due, for a worker to write. KEYS: the call, the events, presence-since, presence log, records due. ARGV:
-- sid, status, duration, ttl, events length, now, presence log length, wrap-up, the key prefixes of
-- engagements and waiting lists (built here from the call's state: one Redis, not a Cluster), what engages
-- an engineer rung for this call, and whether to record it.
local state = finish({KEYS[1], KEYS[2]}, {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]})
local fields = {}
for i = 1, #state, 2 do fields[state[i]] = state[i + 1] end
if fields['engineer'] and fields['engineer'] ~= '' then
  release({ARGV[9] .. fields['engineer'], KEYS[3], KEYS[4]},
          {fields['engineer'], ARGV[11], ARGV[6], ARGV[8], ARGV[7]})
end
if fields['queue'] and fields['queue'] ~= '' then
  leave({ARGV[10] .. fields['queue'], KEYS[1], KEYS[2]},
        {ARGV[1], fields['queue'], 'call_' .. ARGV[2], ARGV[4], ARGV[5], ARGV[6], '1'})
end
-- Only the report that ended the call notes its record: a repeat after the worker took it adds nothing.
if ARGV[12] == '1' and fields['ended_at'] == ARGV[6] then redis.call('ZADD', KEYS[5], 'NX', ARGV[6], ARGV[1]) end
return fields['ended_at']
"""
"""End a call in one round trip: its final status, its engineer freed, its wait ended."""


class CallState:
    """Reads and writes what is known about live calls."""

    def __init__(self, client: redis.Redis, ttl: int):
        self.redis, self.ttl = client, ttl
        self._decide = client.register_script(_DECIDE)
        self._progress = client.register_script(_PROGRESS)
        self._ring = client.register_script(_RING)
        self._arrive = client.register_script(_ARRIVE)
        self._update = client.register_script(_UPDATE)
        self._end = client.register_script(_END)

    def get(self, sid: str) -> dict[str, str]:
        return self.redis.hgetall(keys.call(sid)) if sid else {}

    def kept_for(self, sid: str) -> int:
        """Return the seconds a call's state has left (negative when it has no state or no expiry)."""
        return self.redis.ttl(keys.call(sid))

    def _update_args(self, sid: str, event: str | None, fields: dict, read: bool = False) -> list:
        return [sid, self.ttl, keys.EVENTS_MAXLEN, now(), event or "", "all" if read else "", *pairs(fields)]

    def update(self, sid: str, event: str | None = None, **fields) -> None:
        """Merge fields into a call's state and refresh its TTL, logging an event if named."""
        if not sid:
            return
        self._update(keys=[keys.call(sid), keys.EVENTS], args=self._update_args(sid, event, fields))

    def arrive(self, sid: str, guesser: str, window: int, **fields) -> int:
        """Record a new call's first fields and return the failed case-number tries from its number in the
        last `window` seconds, in one round trip."""
        return int(self._arrive(keys=[keys.call(sid), keys.EVENTS, keys.guesses(guesser)],
                                args=[*self._update_args(sid, "incoming", fields), time.time() - window]))

    def failed_try(self, sid: str, attempt: int, caller: str, line: str, window: int,
                   surge_window: int) -> tuple[int, int]:
        """Count a call's failed case-number try against the calling number and the line; return both counts in
        their sliding windows (the number's, the line's). A retried webhook's try is the same try: counted once."""
        moment = time.time()
        member = f"{sid}:{attempt}"
        pipe = self.redis.pipeline(transaction=True)
        for key, span in ((keys.guesses(caller), window), (keys.line_failures(line), surge_window)):
            pipe.zadd(key, {member: moment})
            pipe.zremrangebyscore(key, "-inf", moment - span)
            pipe.zcard(key)
            pipe.expire(key, span)
        replies = pipe.execute()
        return int(replies[2]), int(replies[6])

    def update_and_get(self, sid: str, event: str, **fields) -> dict[str, str]:
        """Merge fields into a call's state and return the whole state, in one round trip."""
        if not sid:
            return {}
        reply = self._update(keys=[keys.call(sid), keys.EVENTS], args=self._update_args(sid, event, fields, True))
        return dict(zip(reply[0::2], reply[1::2], strict=True))

    def decide(self, sid: str, **routed) -> str:
        """Record where the call was routed, unless it already was; return the stored fallback queue entry."""
        if not sid:
            return routed.get("fallback") or ""
        return self._decide(keys=[keys.call(sid), keys.EVENTS],
                            args=[sid, self.ttl, keys.EVENTS_MAXLEN, now(), *pairs(routed)])

    def ring(self, sid: str, seconds: int, **routed) -> str | None:
        """Engage the case's engineer (`routed["engineer"]`) for `seconds` to ring them for a call and record where
        it was routed, unless it already was; return the stored fallback queue entry, or None when an offer or
        another call engages them."""
        engineer = routed["engineer"]
        if not sid:
            return routed.get("fallback") or ""
        stamp = now()
        reply = self._ring(keys=[keys.call(sid), keys.EVENTS, keys.engaged(engineer), keys.PRESENCE_SINCE,
                                 keys.PRESENCE_LOG],
                           args=[engineer, dial_token(sid), max(1, int(seconds)), stamp, keys.PRESENCE_LOG_MAXLEN,
                                 sid, self.ttl, keys.EVENTS_MAXLEN, stamp, *pairs(routed)])
        return reply

    def end(self, sid: str, status: str, duration: str | None, wrap_up: int, *, record: bool = True) -> float:
        """Record a call's final status (the first report wins) and return when it ended; an engineer rung for it
        directly is freed (after `wrap_up` seconds), a wait it was still in ends, and its record falls due for a
        worker to write (unless not to `record`), all in one round trip: nothing between them can be lost."""
        return float(self._end(keys=[keys.call(sid), keys.EVENTS, keys.PRESENCE_SINCE, keys.PRESENCE_LOG,
                                     keys.RECORDS_DUE],
                               args=[sid, status, duration or "", self.ttl, keys.EVENTS_MAXLEN, now(),
                                     keys.PRESENCE_LOG_MAXLEN, wrap_up, keys.engaged(""), keys.waiting(""),
                                     dial_token(sid), "1" if record else "0"]))

    def records_due(self, ended_by: float, limit: int) -> list[tuple[str, float]]:
        """Return the calls that ended by `ended_by` whose record is still to be written, oldest first."""
        return self.redis.zrangebyscore(keys.RECORDS_DUE, "-inf", ended_by, start=0, num=limit, withscores=True)

    def records_queued(self, sids: list[str]) -> None:
        """Note that the jobs writing these calls' records are queued."""
        if sids:
            self.redis.zrem(keys.RECORDS_DUE, *sids)

    def progress(self, sid: str, status: str, duration: str | None) -> bool:
        """Record a call's progress (ringing, in-progress…); a call already ended keeps its final status."""
        if not sid:
            return False
        return bool(self._progress(keys=[keys.call(sid), keys.EVENTS],
                                   args=[sid, status, duration or "", self.ttl, keys.EVENTS_MAXLEN, now()]))

    def update_once(self, sid: str, field: str) -> bool:
        """Mark something done on a call (a manager asked for); True only the first time."""
        if not sid:
            return False
        return bool(self.redis.hsetnx(keys.call(sid), field, f"{time.time():.3f}"))

    def unconfigured(self, number: str) -> int:
        """Count a call to a number with no line of its own; return how many it has had."""
        return int(self.redis.hincrby(keys.UNCONFIGURED, number[:32], 1))

    def unconfigured_numbers(self) -> dict[str, int]:
        """Return the numbers called that have no line of their own, with their calls."""
        return {number: int(count) for number, count in self.redis.hgetall(keys.UNCONFIGURED).items()}

    def claim_daily_sms(self, number: str, sid: str = "") -> bool:
        """Claim today's one text message to a number for a call; False when another call had it today (UTC).

        The claim holds the CallSid, so Twilio retrying the same call's request is told what it was told.
        """
        day = time.strftime("%Y-%m-%d", time.gmtime())
        key = keys.sms_sent(number, day)
        if self.redis.set(key, sid or "1", nx=True, ex=86400):
            return True
        return bool(sid) and self.redis.get(key) == sid
