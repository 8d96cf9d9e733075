"""Delivering events to the case system: in order per case, each once it has answered 2xx, retried with backoff."""
from __future__ import annotations

import os
import secrets

from .context import context
from .queues import CASE_SYSTEM

LOCK_SECONDS = 120
"""How long one worker holds a case's delivery: longer than a few slow POSTs, short enough to recover from a kill."""

LATER = 5
"""Seconds before looking again at a case another worker is delivering, so no event waits behind its lock."""


class MissingSecret(RuntimeError):
    pass


def deliver_events(case: str) -> int:
    """POST a case's undelivered events to `case_system.webhook`, oldest first; return how many were sent."""
    from ivr.adapters.signed_post import post_signed

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
    try:
        while (text := svc.outbox.head(case)) is not None:
            post_signed(url, text, secret)  # raises: the job is retried, this event first again
            svc.outbox.delivered(case, text)
            sent += 1
    finally:
        svc.outbox.unlock(case, token)
    return sent
