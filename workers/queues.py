"""The RQ queues the service's background work runs on, in the order a worker serves them.

Jobs are stored with RQ's JSON serializer, never pickle: a job's arguments are ids and plain
values, so a job is readable by anyone and runs the code of whichever version picks it up.
"""
from __future__ import annotations

from rq import Retry
from rq.serializers import JSONSerializer

DISPATCH = "dispatch"
"""Connecting a caller to an engineer who took an offer: a caller is waiting on it."""
CALLBACKS = "callbacks"
"""Calling customers back, alerts and messages: minutes matter."""
CASE_SYSTEM = "case-system"
"""Events for the case system, in order per case."""
CALLS = "calls"
"""Call records: no one waits on them."""

QUEUES = (DISPATCH, CALLBACKS, CASE_SYSTEM, CALLS)
"""Every queue, most urgent first: a worker takes a job from an earlier queue before a later one."""

SERIALIZER = JSONSerializer

JOB_TIMEOUT = 60
"""Seconds a job may run: REST requests have a 10 s timeout and a few retries."""

TIMEOUTS = {CASE_SYSTEM: 25}
"""Shorter for event delivery: one POST (10 s at most) a job and a little room, so the case's delivery lock
(`workers.case_system.LOCK_SECONDS`) and RQ's count of a killed worker's job (timeout + 60 s) free it soon."""


def timeout(queue: str) -> int:
    """Return the seconds a job on a queue may run."""
    return TIMEOUTS.get(queue, JOB_TIMEOUT)

RETRY = Retry(max=5, interval=[2, 10, 30, 120, 600])
"""Retries of a job that raised (a worker killed mid-job counts too): soon, then further apart."""
