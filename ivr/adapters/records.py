"""Call records: what happened on a finished call, kept after its live state expires (`calls.record_ttl`)."""
from __future__ import annotations

import redis

from . import keys

LEFT_OUT = frozenset({"waiting", "fallback"})
"""Working fields of the live state that a record does not need."""


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Records:
    """Writes a finished call's record from its state, and reads records back."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def keep(self, sid: str, ended_at: float, keep_for: int) -> dict[str, str]:
        """Copy a call's state into its record, kept `keep_for` seconds; doing it twice changes nothing."""
        state = {_text(k): _text(v) for k, v in self.redis.hgetall(keys.call(sid)).items()}
        record = {k: v for k, v in state.items() if k not in LEFT_OUT}
        record["sid"], record["ended_at"] = sid, f"{ended_at:.3f}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(keys.record(sid))
        pipe.hset(keys.record(sid), mapping=record)
        pipe.expire(keys.record(sid), keep_for)
        pipe.zadd(keys.CALLS_INDEX, {sid: ended_at})
        pipe.zremrangebyscore(keys.CALLS_INDEX, "-inf", f"({ended_at - keep_for}")
        pipe.execute()
        return record

    def get(self, sid: str) -> dict[str, str]:
        return {_text(k): _text(v) for k, v in self.redis.hgetall(keys.record(sid)).items()}

    def ended_at(self, sid: str) -> float | None:
        """Return when a recorded call ended (epoch seconds), or None when it is not in the index."""
        return self.redis.zscore(keys.CALLS_INDEX, sid)

    def kept_for(self, sid: str) -> int:
        """Return the seconds a record has left (negative when it has no record or no expiry)."""
        return self.redis.ttl(keys.record(sid))
