"""Call records: what happened on a finished call, kept after its live state expires."""
from __future__ import annotations

from rq import get_current_job

from ivr.adapters.records import Records

QUEUE_NAME = "ivr"
"""The RQ queue the webhooks put work on and `ivr worker` serves."""


def record_call(sid: str, ended_at: float, keep_for: int) -> dict:
    """Copy a finished call's state into a record kept `keep_for` seconds; running it twice changes nothing."""
    return Records(get_current_job().connection).keep(sid, ended_at, keep_for)
