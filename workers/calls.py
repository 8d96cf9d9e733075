"""Call records: what happened on a finished call, kept after its live state expires, and told to the case system."""
from __future__ import annotations

from .context import context


def record_call(sid: str, ended_at: float, keep_for: int) -> dict:
    """Write a finished call's record and add it to its case's history; running it twice has one effect."""
    from ivr.adapters.calls.records import Records
    from ivr.services.case_events import publish

    services = context().services
    record = Records(services.redis).keep(sid, ended_at, keep_for)
    if record.get("case"):
        publish(services, "call_record", record["case"], f"record:{sid}", record=record)
    return record
