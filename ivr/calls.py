"""Per-call state in Redis keyed by CallSid, the decision log, and the waiting callers."""
from __future__ import annotations

import json
import time
import redis

from routing import Enqueue

EVENTS_MAXLEN = 100_000
"""Decision log entries kept (approximately) for workers to pick up; older ones are trimmed."""


class Calls:
    """Reads and writes what is known about live calls; every write is one round trip."""

    def __init__(self, client: redis.Redis, ttl: int, prefix: str = "ivr:"):
        self.redis, self.ttl, self.prefix = client, ttl, prefix

    def _key(self, sid: str) -> str:
        return f"{self.prefix}call:{sid}"

    def get(self, sid: str) -> dict[str, str]:
        return self.redis.hgetall(self._key(sid)) if sid else {}

    def update(self, sid: str, event: str | None = None, **fields) -> None:
        """Merge fields into a call's state and refresh its TTL, logging an event if named."""
        if not sid:
            return
        clean = {k: ("" if v is None else str(v)) for k, v in fields.items()}
        pipe = self.redis.pipeline(transaction=False)
        if clean:
            pipe.hset(self._key(sid), mapping=clean)
        pipe.expire(self._key(sid), self.ttl)
        if event:
            pipe.xadd(f"{self.prefix}events", {"sid": sid, "event": event, "at": f"{time.time():.3f}", **clean},
                      maxlen=EVENTS_MAXLEN, approximate=True)
        pipe.execute()

    def waiting_key(self, queue: str) -> str:
        return f"{self.prefix}waiting:{queue}"

    def join_queue(self, sid: str, decision: Enqueue, language: str, routed: dict | None = None) -> None:
        """Keep a waiting caller in their queue ordered by deadline, earliest first.

        `routed` is the routing decision to record in the same round trip.
        """
        if not sid:
            return
        queue, deadline = decision.queue, decision.deadline
        joined = time.time()
        entry = json.dumps({"sid": sid, "queue": queue, "deadline": deadline.isoformat(), "joined": joined,
                            "case": decision.case, "plan": decision.plan, "severity": decision.severity,
                            "language": language, "preferred": decision.preferred or ""})
        pipe = self.redis.pipeline(transaction=False)
        if routed:
            clean = {k: ("" if v is None else str(v)) for k, v in routed.items()}
            pipe.hset(self._key(sid), mapping=clean)
            pipe.xadd(f"{self.prefix}events", {"sid": sid, "event": "routed", "at": f"{joined:.3f}", **clean},
                      maxlen=EVENTS_MAXLEN, approximate=True)
        pipe.zadd(self.waiting_key(queue), {sid: deadline.timestamp()})
        pipe.hset(self._key(sid), mapping={"queue": queue, "waiting": entry, "deadline": deadline.isoformat()})
        pipe.expire(self._key(sid), self.ttl)
        pipe.xadd(f"{self.prefix}events", {"sid": sid, "event": "enqueued", "queue": queue,
                                           "deadline": deadline.isoformat(), "at": f"{joined:.3f}"},
                  maxlen=EVENTS_MAXLEN, approximate=True)
        pipe.execute()

    def leave_queue(self, sid: str, queue: str | None, result: str) -> None:
        """Forget a caller who left the queue (bridged, hung up, or asked for a callback)."""
        if not sid or not queue:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(self.waiting_key(queue), sid)
        pipe.hset(self._key(sid), mapping={"queue_result": result})
        pipe.expire(self._key(sid), self.ttl)  # the call may be unknown (queued by the fallback URL)
        pipe.xadd(f"{self.prefix}events", {"sid": sid, "event": "dequeued", "queue": queue, "result": result,
                                           "at": f"{time.time():.3f}"}, maxlen=EVENTS_MAXLEN, approximate=True)
        pipe.execute()

    def request_callback(self, sid: str, **details) -> None:
        """Record a caller's callback request for the workers that will place it."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self._key(sid), mapping={"callback": "requested"})
        pipe.expire(self._key(sid), self.ttl)
        pipe.xadd(f"{self.prefix}callbacks", {"sid": sid, "at": f"{time.time():.3f}",
                                              **{k: str(v) for k, v in details.items() if v is not None}})
        pipe.execute()
