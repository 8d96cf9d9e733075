"""Telling the case system what happened to its cases: each event once, delivered in order by a worker."""
from __future__ import annotations

from ivr.wiring import Services


def publish(services: Services, kind: str, case: str, key: str, /, **data) -> bool:
    """Publish an event about a case once per `key`, and have a worker deliver it; return whether it is new."""
    from workers.case_system import deliver_events
    from workers.queues import CASE_SYSTEM

    event = services.outbox.publish(kind, case, key, **data)
    if event is not None and services.outbox.delivering:
        # One job per event (RQ keeps a finished job's id for a while: a job per case would swallow the next
        # event's); the case's delivery lock keeps them in order whichever job sends them.
        services.jobs.once(deliver_events, case, job_id=f"deliver-{case}-{key}", queue=CASE_SYSTEM)
    return event is not None
