"""Delivering events to the case system: in order per case, each once it has answered 2xx, retried with backoff."""
from __future__ import annotations

import os
import secrets
import time

from .context import context
from .queues import CASE_SYSTEM, timeout

LOCK_SECONDS = timeout(CASE_SYSTEM) + 5
"""How long one worker holds a case's delivery: past its job's timeout, so a killed worker's lock is gone by the time
RQ retries the job."""

BUDGET = 10.0
"""Seconds a delivery job keeps sending before handing the rest to the next job (its timeout is 25 s)."""

LATER = 5
"""Seconds before looking again at a case another worker is delivering, so no event waits behind its lock."""


class MissingSecret(RuntimeError):
    pass


def deliver_events(case: str) -> int:
    """POST a case's undelivered events to `case_system.webhook`, oldest first; return how many were sent."""
    from ivr.adapters.outbound.signed_post import post_signed

    svc = context().services
    url = svc.settings.case_system_webhook
    if not url:
        return 0
    secret = os.environ.get("IVR_API_TOKEN", "")
    if not secret:
        raise MissingSecret("IVR_API_TOKEN must be set to sign the events sent to case_system.webhook")
    token = secrets.token_hex(8)
    if not svc.outbox.lock(case, token, LOCK_SECONDS):
        svc.jobs.once(deliver_events, case, job_id=f"deliver-later-{case}", queue=CASE_SYSTEM, delay=LATER)
        return 0
    sent = 0
    started = time.monotonic()
    try:
        while (text := svc.outbox.head(case)) is not None:
            if time.monotonic() - started > BUDGET:
                # A long backlog: the rest in a job of its own, well inside this job's timeout.
                svc.jobs.once(deliver_events, case, job_id=f"deliver-more-{case}-{token}", queue=CASE_SYSTEM)
                break
            post_signed(url, text, secret)  # raises: the job is retried, this event first again
            svc.outbox.delivered(case, text)
            sent += 1
    finally:
        svc.outbox.unlock(case, token)
    return sent
