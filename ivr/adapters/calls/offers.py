"""Offers of waiting callers to engineers: reserved, answered, missed and ended atomically in Redis.

One offer per caller and one per engineer at a time, however many web processes and workers
race: the checks and the reservation are one Lua script. An engineer is `busy` while an offer or
a call engages them (`ivr:engaged:<engineer>`, a key with a TTL, so nobody stays stuck), and free
again when the key goes, at the end of the wrap-up. Each change goes to the presence log with its
time; a wrap-up's entry says `until` when it ends, since a TTL running out writes nothing.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from routing.dispatch import WaitingCaller

from .. import keys
from .events import pairs
from .waiting import parse_queue_entry

RING_GRACE = 15
"""Seconds an offer may ring past `dispatch.offer_timeout` before the sweep calls it missed (Twilio's
final status callback normally comes first)."""

_RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'engaged' end
if redis.call('GET', KEYS[2]) ~= 'available' then return 'unavailable' end
if not redis.call('ZSCORE', KEYS[3], ARGV[2]) then return 'gone' end
if redis.call('EXISTS', KEYS[4]) == 1 then return 'offered' end
if redis.call('SISMEMBER', KEYS[5], ARGV[1]) == 1 then return 'missed' end
local heard = redis.call('HGET', KEYS[6], 'heard')
if not heard then return 'unheard' end
if tonumber(heard) < tonumber(ARGV[8]) then return 'quiet' end
local fields = {}
for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[6])
redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[6])
redis.call('HSET', KEYS[7], 'state', 'ringing', 'queue_sid', redis.call('HGET', KEYS[6], 'queue_sid') or '',
           unpack(fields))
redis.call('EXPIRE', KEYS[7], ARGV[7])
redis.call('ZADD', KEYS[8], ARGV[5], ARGV[3])
redis.call('HSET', KEYS[9], ARGV[1], ARGV[4])
redis.call('XADD', KEYS[10], 'MAXLEN', '~', ARGV[9], '*', 'engineer', ARGV[1], 'state', 'busy', 'at', ARGV[4],
           'offer', ARGV[3])
redis.call('XADD', KEYS[11], 'MAXLEN', '~', ARGV[10], '*', 'sid', ARGV[2], 'event', 'offered', 'engineer', ARGV[1],
           'offer', ARGV[3], 'at', ARGV[4])
return 'reserved'
"""
"""Check that the engineer is free and the caller waiting, unoffered and still there; then reserve both."""

_RESERVE_CALLBACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'engaged' end
if redis.call('GET', KEYS[2]) ~= 'available' then return 'unavailable' end
if not redis.call('ZSCORE', KEYS[3], ARGV[2]) then return 'gone' end
if redis.call('EXISTS', KEYS[4]) == 1 then return 'offered' end
if redis.call('SISMEMBER', KEYS[5], ARGV[1]) == 1 then return 'missed' end
if redis.call('HGET', KEYS[6], 'state') ~= 'pending' then return 'closed' end
if tonumber(redis.call('HGET', KEYS[6], 'not_before') or '0') > tonumber(ARGV[4]) then return 'later' end
local fields = {}
for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[6])
redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[6])
redis.call('HSET', KEYS[7], 'state', 'ringing', 'kind', 'callback', 'number', redis.call('HGET', KEYS[6], 'number'),
           unpack(fields))
redis.call('EXPIRE', KEYS[7], ARGV[7])
redis.call('ZADD', KEYS[8], ARGV[5], ARGV[3])
redis.call('HSET', KEYS[9], ARGV[1], ARGV[4])
redis.call('XADD', KEYS[10], 'MAXLEN', '~', ARGV[9], '*', 'engineer', ARGV[1], 'state', 'busy', 'at', ARGV[4],
           'offer', ARGV[3])
redis.call('XADD', KEYS[11], 'MAXLEN', '~', ARGV[10], '*', 'sid', ARGV[2], 'event', 'offered', 'engineer', ARGV[1],
           'offer', ARGV[3], 'kind', 'callback', 'at', ARGV[4])
return 'reserved'
"""
"""The same for a pending callback: still in line, not closed, and due (`not_before` passed)."""

_ACCEPT = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'ringing' then
  -- The engineer's call that took it asks again (Twilio retrying): taken already, by this very call.
  if ARGV[2] ~= '' and (state == 'accepted' or state == 'bridged')
     and redis.call('HGET', KEYS[1], 'engineer_call') == ARGV[2] then return 2 end
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'accepted', 'accepted_at', ARGV[3])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'engineer_call', ARGV[2]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[4])
redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[4])
redis.call('HSET', KEYS[6], 'offer', ARGV[1])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'sid', redis.call('HGET', KEYS[1], 'call'),
           'event', 'offer_accepted', 'offer', ARGV[1], 'engineer', redis.call('HGET', KEYS[1], 'engineer'),
           'at', ARGV[3])
return 1
"""
"""An engineer took a ringing offer (1): the caller and the engineer stay reserved for the call; 2 when that same
engineer's call took it before, 0 when it no longer rings for them."""

_CLOSE = """
local state = redis.call('HGET', KEYS[1], 'state')
local allowed = false
for i = 8, #ARGV do if state == ARGV[i] then allowed = true end end
if not allowed then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'ended_at', ARGV[3], 'reason', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
local engineer = redis.call('HGET', KEYS[1], 'engineer')
if ARGV[2] == 'missed' then
  redis.call('SADD', KEYS[5], engineer)
  redis.call('EXPIRE', KEYS[5], ARGV[5])
end
if redis.call('GET', KEYS[4]) == ARGV[1] then
  if tonumber(ARGV[6]) > 0 then
    redis.call('SET', KEYS[4], 'wrap-up:' .. ARGV[1], 'EX', ARGV[6])
    redis.call('HSET', KEYS[6], engineer, tostring(tonumber(ARGV[3]) + tonumber(ARGV[6])))
    redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[7], '*', 'engineer', engineer,
               'state', 'wrap_up', 'at', ARGV[3], 'until', tostring(tonumber(ARGV[3]) + tonumber(ARGV[6])),
               'offer', ARGV[1])
  else
    redis.call('DEL', KEYS[4])
    redis.call('HSET', KEYS[6], engineer, ARGV[3])
    redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[7], '*', 'engineer', engineer, 'state', 'available', 'at', ARGV[3], 'offer', ARGV[1])
  end
end
redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[7], '*', 'sid', redis.call('HGET', KEYS[1], 'call'), 'event', 'offer_' .. ARGV[2],
           'offer', ARGV[1], 'engineer', engineer, 'reason', ARGV[4], 'at', ARGV[3])
return 1
"""
"""End an offer once, from one of the states named: release the caller, and the engineer (at once, or
after a wrap-up); a missed offer is remembered so that engineer is not offered that caller again."""

ENGAGE = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if not current then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'engineer', ARGV[1], 'state', 'busy', 'at', ARGV[4],
             'call', ARGV[2])
end
return 1
"""
"""Engage an engineer for a call outside dispatch (rung directly), unless something else engages them."""

RELEASE = """
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '*wrap-up' and current and string.sub(current, 1, 8) == 'wrap-up:' then ARGV[2] = current end
if current ~= ARGV[2] then return 0 end
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[1], 'wrap-up:' .. ARGV[2], 'EX', ARGV[4])
  redis.call('HSET', KEYS[2], ARGV[1], tostring(tonumber(ARGV[3]) + tonumber(ARGV[4])))
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'engineer', ARGV[1], 'state', 'wrap_up', 'at', ARGV[3],
             'until', tostring(tonumber(ARGV[3]) + tonumber(ARGV[4])), 'call', ARGV[2])
else
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'engineer', ARGV[1], 'state', 'available', 'at', ARGV[3],
             'call', ARGV[2])
end
return 1
"""
"""End an engagement: free at once, or after a wrap-up."""


def conference_name(offer_id: str) -> str:
    """Return the conference an offer's engineer and caller meet in."""
    return f"offer-{offer_id}"


@dataclass(frozen=True)
class Offer:
    """One offer as the dispatcher, the webhooks and the worker read it."""

    id: str
    engineer: str
    call: str
    queue: str
    case: str
    plan: str
    severity: str
    language: str
    line: str
    deadline: str
    state: str
    queue_sid: str = ""
    engineer_call: str = ""
    to: str = ""
    kind: str = ""
    """"callback" for a pending callback (the customer is called once the engineer takes it); else a waiting call."""
    number: str = ""
    """The number a callback goes to."""
    customer_call: str = ""
    dequeued: str = ""
    """When the worker moved the caller out of Twilio's queue to the engineer (a job run again must not: the
    caller is no longer a member, and Twilio would answer 404 as if they had hung up)."""

    @classmethod
    def from_hash(cls, ident: str, data: dict[str, str]) -> Offer | None:
        if not data or "engineer" not in data:
            return None
        names = cls.__dataclass_fields__
        return cls(id=ident, **{k: v for k, v in data.items() if k in names and k != "id"})


@dataclass(frozen=True)
class Candidate:
    """A waiting caller as dispatch sees them, with what the offer needs to know."""

    caller: WaitingCaller
    line: str
    heard: float | None
    """When the call last asked for its hold music (epoch seconds); None before the first time."""
    language: str
    plan: str
    severity: int
    kind: str = "call"
    """"call" (waiting on the line) or "callback" (a pending callback request)."""
    not_before: float = 0.0
    """A callback is not offered before this moment (epoch seconds): an opening, or its next attempt."""


_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class Offers:
    """Reads and writes offers, engagements and the dispatcher's wake-up token."""

    def __init__(self, client: redis.Redis, state_ttl: int):
        self.redis, self.state_ttl = client, state_ttl
        self._reserve = client.register_script(_RESERVE)
        self._extend = client.register_script(_EXTEND)
        self._reserve_callback = client.register_script(_RESERVE_CALLBACK)
        self._accept = client.register_script(_ACCEPT)
        self._close = client.register_script(_CLOSE)
        self._engage = client.register_script(ENGAGE)
        self._release = client.register_script(RELEASE)

    # -- waking the dispatchers -------------------------------------------------------------------

    def wake(self) -> None:
        """Wake a dispatcher now (a caller joined, an engineer is free); one token is enough."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.lpush(keys.WAKE, "1")
        pipe.ltrim(keys.WAKE, 0, 0)
        pipe.execute()

    def wait_wake(self, timeout: float) -> bool:
        """Block until woken or `timeout` seconds pass; return whether woken."""
        return self.redis.blpop([keys.WAKE], timeout=timeout) is not None

    # -- the waiting callers dispatch chooses from --------------------------------------------------

    def candidates(self, queues: list[str]) -> list[Candidate]:
        """Return every caller waiting in the queues, with who missed them and whether they are being offered."""
        pipe = self.redis.pipeline(transaction=False)
        for queue in queues:
            pipe.zrange(keys.waiting(queue), 0, -1)
        sids = [sid for found in pipe.execute() for sid in found] if queues else []
        if not sids:
            return self.callbacks(queues)
        pipe = self.redis.pipeline(transaction=False)
        for sid in sids:
            pipe.hmget(keys.call(sid), "waiting", "joined", "heard", "line")
            pipe.exists(keys.offered(sid))
            pipe.smembers(keys.missed(sid))
        results = pipe.execute()
        found = []
        for i, sid in enumerate(sids):
            (entry, joined, heard, line), offered, missed = results[3 * i:3 * i + 3]
            decision = parse_queue_entry(entry)
            if decision is None or offered:
                continue
            caller = WaitingCaller(sid, decision.queue, decision.deadline,
                                   datetime.fromtimestamp(float(joined or 0), UTC), decision.case,
                                   decision.preferred, frozenset(missed))
            found.append(Candidate(caller, line or "", float(heard) if heard else None, decision.language,
                                   decision.plan, decision.severity))
        return found + self.callbacks(queues)

    def callbacks(self, queues: list[str], *, offered_too: bool = False) -> list[Candidate]:
        """Return the pending callbacks of the queues, in line with the waiting callers by their deadlines
        (those being offered now too, for what staff see)."""
        pipe = self.redis.pipeline(transaction=False)
        for queue in queues:
            pipe.zrange(keys.pending(queue), 0, -1)
        sids = [sid for found in pipe.execute() for sid in found] if queues else []
        if not sids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for sid in sids:
            pipe.hgetall(keys.callback(sid))
            pipe.exists(keys.offered(sid))
            pipe.smembers(keys.missed(sid))
        results = pipe.execute()
        found = []
        for i, sid in enumerate(sids):
            data, offered, missed = results[3 * i:3 * i + 3]
            if (offered and not offered_too) or data.get("state") != "pending":
                continue
            try:
                deadline = datetime.fromisoformat(data["deadline"])
                joined = datetime.fromtimestamp(float(data.get("joined") or data.get("created") or 0), UTC)
                caller = WaitingCaller(sid, data["queue"], deadline, joined, data.get("case", ""), None,
                                       frozenset(missed))
                found.append(Candidate(caller, data.get("line", ""), None, data.get("language", ""),
                                       data.get("plan", ""), int(data.get("severity") or 0), "callback",
                                       float(data.get("not_before") or 0)))
            except (KeyError, ValueError):
                continue  # damaged: left for an operator, never offered half-known
        return found

    # -- the offer's life ---------------------------------------------------------------------------

    def reserve(self, engineer: str, candidate: Candidate, *, to: str, ring_for: int, quiet_before: float,
                now: float | None = None, **details) -> tuple[str, Offer | None]:
        """Reserve a free engineer and a waiting caller for one offer, atomically; return why not, or the offer."""
        now = now or time.time()
        caller = candidate.caller
        ident = secrets.token_hex(8)
        fields = {"engineer": engineer, "call": caller.sid, "queue": caller.queue, "case": caller.case,
                  "deadline": caller.deadline.isoformat(), "line": candidate.line, "to": to,
                  "language": candidate.language, "plan": candidate.plan, "severity": candidate.severity,
                  "created": f"{now:.3f}", **{k: str(v) for k, v in details.items()}}
        ttl = ring_for + RING_GRACE
        if candidate.kind == "callback":
            outcome = self._reserve_callback(
                keys=[keys.engaged(engineer), keys.directory("presence", engineer), keys.pending(caller.queue),
                      keys.offered(caller.sid), keys.missed(caller.sid), keys.callback(caller.sid), keys.offer(ident),
                      keys.RINGING, keys.PRESENCE_SINCE, keys.PRESENCE_LOG, keys.EVENTS],
                args=[engineer, caller.sid, ident, f"{now:.3f}", now + ttl, ttl, self.state_ttl, quiet_before,
                      keys.PRESENCE_LOG_MAXLEN, keys.EVENTS_MAXLEN, *pairs(fields)])
            return outcome, (self.get(ident) if outcome == "reserved" else None)
        outcome = self._reserve(
            keys=[keys.engaged(engineer), keys.directory("presence", engineer), keys.waiting(caller.queue),
                  keys.offered(caller.sid), keys.missed(caller.sid), keys.call(caller.sid), keys.offer(ident),
                  keys.RINGING, keys.PRESENCE_SINCE, keys.PRESENCE_LOG, keys.EVENTS],
            args=[engineer, caller.sid, ident, f"{now:.3f}", now + ttl, ttl, self.state_ttl, quiet_before,
                  keys.PRESENCE_LOG_MAXLEN, keys.EVENTS_MAXLEN, *pairs(fields)])
        return outcome, (self.get(ident) if outcome == "reserved" else None)

    def get(self, ident: str) -> Offer | None:
        return Offer.from_hash(ident, self.redis.hgetall(keys.offer(ident))) if ident else None

    def note(self, ident: str, **fields: str) -> None:
        """Add what was learned about an offer (the engineer's CallSid) while it is still kept."""
        if ident and self.redis.exists(keys.offer(ident)):
            self.redis.hset(keys.offer(ident), mapping=fields)

    def accept(self, offer: Offer, engineer_call: str = "") -> int:
        """Record that the engineer took a ringing offer: 1 when this took it, 2 when this engineer's call had
        taken it already (a retried request), 0 when it no longer rings (missed, caller gone)."""
        return int(self._accept(
            keys=[keys.offer(offer.id), keys.RINGING, keys.offered(offer.call), keys.engaged(offer.engineer),
                  keys.EVENTS, keys.call(offer.call)],
            args=[offer.id, engineer_call, f"{time.time():.3f}", self.state_ttl, keys.EVENTS_MAXLEN]))

    def bridged(self, offer: Offer) -> bool:
        """Record that the caller reached the engineer's conference; True again for a retried request."""
        state = self.redis.hget(keys.offer(offer.id), "state")
        if state == "accepted":
            self.redis.hset(keys.offer(offer.id), mapping={"state": "bridged", "bridged_at": f"{time.time():.3f}"})
        return state in ("accepted", "bridged")

    def _end(self, offer: Offer, state: str, reason: str, wrap_up: int, allowed: tuple[str, ...]) -> bool:
        return bool(self._close(
            keys=[keys.offer(offer.id), keys.RINGING, keys.offered(offer.call), keys.engaged(offer.engineer),
                  keys.missed(offer.call), keys.PRESENCE_SINCE, keys.PRESENCE_LOG, keys.EVENTS],
            args=[offer.id, state, f"{time.time():.3f}", reason, self.state_ttl, wrap_up, keys.PRESENCE_LOG_MAXLEN,
                  *allowed]))

    def miss(self, offer: Offer, reason: str) -> bool:
        """End a ringing offer nobody took: the caller keeps their place, this engineer is not offered them again."""
        return self._end(offer, "missed", reason, 0, ("ringing",))

    def caller_gone(self, offer: Offer) -> bool:
        """End an offer whose caller left before the bridge: the engineer is free at once."""
        return self._end(offer, "gone", "caller_gone", 0, ("ringing", "accepted"))

    def finish(self, offer: Offer, wrap_up: int) -> bool:
        """End a taken offer when the engineer's call ends: busy for `wrap_up` seconds more, then free."""
        return self._end(offer, "ended", "completed", wrap_up, ("accepted", "bridged"))

    def overdue(self, now: float | None = None) -> list[Offer]:
        """Return offers still ringing past their time (their final status callback was lost)."""
        found = []
        for ident in self.redis.zrangebyscore(keys.RINGING, "-inf", now or time.time()):
            offer = self.get(ident)
            if offer is None:
                self.redis.zrem(keys.RINGING, ident)  # expired with its keys: nothing left to release
            else:
                found.append(offer)
        return found

    # -- engagements outside offers (a direct dial of the case's engineer) ------------------------------

    def engage(self, engineer: str, token: str, seconds: int, free_at: float | None = None) -> bool:
        """Mark an engineer busy with a call for up to `seconds`; False when an offer or another call has them.

        `free_at` is when they will be free, for an engagement only its TTL ends: their first claims run from then.
        """
        now = time.time()
        return bool(self._engage(keys=[keys.engaged(engineer), keys.PRESENCE_SINCE, keys.PRESENCE_LOG],
                                 args=[engineer, token, max(1, int(seconds)), f"{now:.3f}", f"{free_at or now:.3f}",
                                       keys.PRESENCE_LOG_MAXLEN]))

    def extend(self, engineer: str, token: str, seconds: int) -> None:
        """Keep an engagement for a call that was answered (it lasts as long as the conversation), in one round
        trip: only the engagement of that very call is extended."""
        self._extend(keys=[keys.engaged(engineer)], args=[token, seconds])

    def release(self, engineer: str, token: str, wrap_up: int = 0) -> bool:
        """End an engagement: the engineer is free at once, or after `wrap_up` seconds."""
        return bool(self._release(keys=[keys.engaged(engineer), keys.PRESENCE_SINCE, keys.PRESENCE_LOG],
                                  args=[engineer, token, f"{time.time():.3f}", wrap_up, keys.PRESENCE_LOG_MAXLEN]))

    def end_wrap_up(self, engineer: str) -> bool:
        """End an engineer's wrap-up early (they said they are ready); False when they are not in one."""
        return self.release(engineer, "*wrap-up")

    def first_breach(self, sid: str) -> bool:
        """Claim the one alert for a caller or callback past its deadline; False when it was already raised."""
        return bool(self.redis.set(keys.sla_alerted(sid), "1", nx=True, ex=14 * 86400))

    # -- what staff see -----------------------------------------------------------------------------

    def current(self, engineer: str) -> dict | None:
        """Return what engages an engineer now (an offer, a direct call, a wrap-up), with its case, or None."""
        value = self.redis.get(keys.engaged(engineer))
        if not value:
            return None
        wrap_up = value.startswith("wrap-up:")
        token = value.removeprefix("wrap-up:")
        if token.startswith("dial:"):  # rung directly as the case's engineer
            sid = token.removeprefix("dial:")
            call = self.redis.hgetall(keys.call(sid))
            fallback = parse_queue_entry(call.get("fallback"))
            state = "wrap_up" if wrap_up else ("bridged" if call.get("engineer_answered") else "ringing")
            return {"offer": "", "call_sid": sid, "case": call.get("case", ""),
                    "queue": fallback.queue if fallback else "", "state": state,
                    "since": float(call.get("engineer_answered") or call.get("joined") or 0)}
        data = self.redis.hgetall(keys.offer(token))
        if not data:  # a call the service did not place (the demo's)
            return {"offer": "", "call_sid": "", "case": "", "queue": "", "state": "wrap_up" if wrap_up else "busy",
                    "since": 0.0}
        since = data.get("ended_at" if wrap_up else {"ringing": "created", "accepted": "accepted_at",
                                                       "bridged": "bridged_at"}.get(data.get("state"), "created"))
        return {"offer": token, "call_sid": data.get("call", ""), "case": data.get("case", ""),
                "queue": data.get("queue", ""), "state": "wrap_up" if wrap_up else data.get("state", ""),
                "since": float(since or 0)}

    def rest_requests(self, count: int = 20) -> list[dict]:
        """Return the latest REST requests shown instead of sent (`--demo`), newest first."""
        return [dict(fields) for _id, fields in self.redis.xrevrange(keys.REST_LOG, count=count)]
