"""Call records fall due a little after their call ends (`calls.record_delay`): the worker queues the job that
writes each.

The status webhook notes the due record in the same script that ends the call, so nothing between the two can
be lost, and the webhook does no job bookkeeping of its own. (RQ's `enqueue_in` could delay the job itself, but
from the webhook: a second round trip, 40 % of the status webhook's time in the benchmark, and a record lost if
the process stops between ending the call and queueing the job.) Any number of workers may sweep: each call has one
job id, and a job already queued is not queued again.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import redis

from .calls import record_call

if TYPE_CHECKING:
    from ivr.wiring import Services

SWEEP_EVERY = 0.5
"""Seconds between looks for due records: a record is written at most this long after it falls due."""
BATCH = 500

log = logging.getLogger(__name__)


def queue_due_records(services: Services, now: float | None = None) -> int:
    """Queue the job writing each call record that is due (up to BATCH); return how many were due."""
    settings = services.settings
    due = services.calls.records_due((time.time() if now is None else now) - settings.record_delay, BATCH)
    for sid, ended_at in due:
        services.jobs.once(record_call, sid, ended_at, settings.record_ttl, job_id=f"record-{sid}",
                           result_ttl=3600)
    services.calls.records_queued([sid for sid, _ in due])
    return len(due)


def queue_all_due_records(services: Services, now: float | None = None) -> int:
    """Queue every record that is due now (`ivr worker --burst`); return how many."""
    total = 0
    while (count := queue_due_records(services, now)) > 0:
        total += count
        if count < BATCH:
            break
    return total


def start_sweeping(services: Services) -> threading.Event:
    """Queue due records in a thread of their own until the returned event is set."""
    stop = threading.Event()

    def sweep() -> None:
        while not stop.wait(SWEEP_EVERY):
            try:
                queue_all_due_records(services)
            except redis.RedisError as error:  # Redis away: the records wait there, and so does this
                log.error("records: redis error: %s", error)

    threading.Thread(target=sweep, name="records", daemon=True).start()
    return stop
