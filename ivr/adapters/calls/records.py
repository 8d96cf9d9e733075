"""Call records: what happened on a finished call, kept after its live state expires (`calls.record_ttl`)."""
from __future__ import annotations

import redis

from ivr.services.journey import journey

from .. import keys


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Records:
    """Writes a finished call's record from its state, and reads records back."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def keep(self, sid: str, ended_at: float, keep_for: int) -> dict[str, str]:
        """Write a call's record from its state, kept `keep_for` seconds, and add it to its case's history.

        Built from the whole state each time, so doing it twice, or again after a late callback,
        leaves one record, right.
        """
        state = {_text(k): _text(v) for k, v in self.redis.hgetall(keys.call(sid)).items()}
        missed = {_text(m) for m in self.redis.smembers(keys.missed(sid))}
        offer = ({_text(k): _text(v) for k, v in self.redis.hgetall(keys.offer(state["offer"])).items()}
                 if state.get("offer") else {})
        record = journey(sid, state, ended_at, missed, offer)
        case = record.get("case", "")
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(keys.record(sid))
        pipe.hset(keys.record(sid), mapping=record)
        pipe.expire(keys.record(sid), keep_for)
        pipe.zadd(keys.CALLS_INDEX, {sid: ended_at})
        pipe.zremrangebyscore(keys.CALLS_INDEX, "-inf", f"({ended_at - keep_for}")
        if case:
            pipe.zadd(keys.case_calls(case), {sid: ended_at})
            pipe.zremrangebyscore(keys.case_calls(case), "-inf", f"({ended_at - keep_for}")
            pipe.expire(keys.case_calls(case), keep_for)
        pipe.execute()
        return record

    def since(self, start: float = 0.0, until: float | None = None, case: str | None = None) -> list[dict[str, str]]:
        """Return the records of calls that ended in [start, until), oldest first; of one case if named."""
        index = keys.case_calls(case) if case else keys.CALLS_INDEX
        sids = [_text(s) for s in self.redis.zrangebyscore(index, start, "+inf" if until is None else f"({until}")]
        pipe = self.redis.pipeline(transaction=False)
        for sid in sids:
            pipe.hgetall(keys.record(sid))
        found = []
        for raw in pipe.execute() if sids else []:
            if raw:  # expired since: the index is trimmed on the next record
                found.append({_text(k): _text(v) for k, v in raw.items()})
        return found

    def get(self, sid: str) -> dict[str, str]:
        return {_text(k): _text(v) for k, v in self.redis.hgetall(keys.record(sid)).items()}

    def ended_at(self, sid: str) -> float | None:
        """Return when a recorded call ended (epoch seconds), or None when it is not in the index."""
        return self.redis.zscore(keys.CALLS_INDEX, sid)

    def kept_for(self, sid: str) -> int:
        """Return the seconds a record has left (negative when it has no record or no expiry)."""
        return self.redis.ttl(keys.record(sid))
