"""Call records: what happened on a finished call, kept after its live state expires."""
from __future__ import annotations

from rq import get_current_job

QUEUE_NAME = "ivr"
"""The RQ queue the webhooks put work on and `ivr worker` serves."""

RECORD_PREFIX = "ivr:record:"
CALLS_INDEX = "ivr:calls"
"""Finished calls by end time, newest last, for `ivr calls` and reports."""


def record_call(sid: str, ended_at: float) -> dict:
    """Copy a finished call's state into a lasting record and index it by end time."""
    connection = get_current_job().connection
    state = connection.hgetall(f"ivr:call:{sid}")
    record = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
              for k, v in state.items() if k not in (b"waiting", "waiting")}
    record["sid"], record["ended_at"] = sid, f"{ended_at:.3f}"
    pipe = connection.pipeline(transaction=True)
    pipe.hset(f"{RECORD_PREFIX}{sid}", mapping=record)
    pipe.zadd(CALLS_INDEX, {sid: ended_at})
    pipe.execute()
    return record
