"""Call records: what happened on a finished call, kept after its live state expires."""
from __future__ import annotations

from rq import get_current_job

from ivr.adapters import keys

QUEUE_NAME = "ivr"
"""The RQ queue the webhooks put work on and `ivr worker` serves."""

LEFT_OUT = frozenset({"waiting", "fallback"})
"""Working fields of the live state that a record does not need."""


def record_call(sid: str, ended_at: float, keep_for: int) -> dict:
    """Copy a finished call's state into a record kept `keep_for` seconds; running it twice changes nothing."""
    connection = get_current_job().connection
    state = connection.hgetall(keys.call(sid))
    record = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
              for k, v in state.items()}
    record = {k: v for k, v in record.items() if k not in LEFT_OUT}
    record["sid"], record["ended_at"] = sid, f"{ended_at:.3f}"
    pipe = connection.pipeline(transaction=True)
    pipe.delete(keys.record(sid))
    pipe.hset(keys.record(sid), mapping=record)
    pipe.expire(keys.record(sid), keep_for)
    pipe.zadd(keys.CALLS_INDEX, {sid: ended_at})
    pipe.zremrangebyscore(keys.CALLS_INDEX, "-inf", f"({ended_at - keep_for}")
    pipe.execute()
    return record
