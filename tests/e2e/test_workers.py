"""Background work end to end (issue 8, items 1, 2 and 9 outbound): real `ivr worker` processes on a real Redis
deliver the case system's events as signed JSON to a local receiver, in order per case and each applied once,
through a failing receiver and through a worker killed with SIGKILL mid-delivery; without a webhook the events
wait in the stream `ivr events` prints. Twilio's REST API is the local stand-in (`twilio.api_base`)."""
from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from urllib.parse import urlencode

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

from tests.twilio_api import TwilioApi
from tests.webhook_receiver import APPLIED, DUPLICATE, FAILED, SECRET
from workers.queues import CASE_SYSTEM, SERIALIZER

from .conftest import services_at
from .site import EMEA, IVR, Site

WORKERS_DB = 12
"""A database of its own: the other e2e tests use 10 and 11."""

CASE = "07123456"
"""Acme's open case (Europe/Berlin; its engineer's region, EMEA, keeps British public holidays)."""
QUEUED_CASE = "01000001"
"""A case with no engineer: its caller waits in emea-de."""
WED, THU, FRI = "2026-11-18", "2026-11-19", "2026-11-20"
"""Three business days in a week with no British public holiday."""

DIRECTORY = {
    "accounts": [{"id": "acme", "name": "Acme GmbH", "plan": "production", "maintenance_expires": "2099-12-31",
                  "timezone": "Europe/Berlin"}],
    "engineers": [{"id": "anna", "name": "Anna", "languages": ["de", "en"], "regions": ["emea"], "client": "anna",
                   "phone": None, "active": True}],
    "cases": [{"number": CASE, "account": "acme", "type": "technical", "severity": 2, "status": "open",
               "engineer": "anna"},
              {"number": QUEUED_CASE, "account": "acme", "type": "technical", "severity": 2, "status": "open",
               "engineer": None}],
}

DELIVERED_WITHIN = 20.0
"""Seconds an event may take to reach the receiver when nothing fails: a worker starting and one job."""
RETRIED_WITHIN = 40.0
"""Seconds for two failed deliveries and the one that succeeds: retries 2 s, then 10 s apart (workers.queues)."""
HOLD = 8.0
"""Seconds the receiver holds its answer to the delivery the test kills: under the sender's 10 s timeout, so
only the kill, never a timeout, can make the worker try again."""
ABANDONED_WITHIN = 90.0
"""Seconds after the kill RQ may take to count the killed job abandoned: the delivery's timeout (25 s) + 60 s,
started just before."""
RECOVERED_WITHIN = 60.0
"""Seconds, once RQ counts the killed worker's job as abandoned, for a new worker to retry it and deliver."""


@pytest.fixture
def make_site(redis_server, tmp_path, webhook_receiver) -> Iterator[Callable[..., Site]]:
    """Build the site for a test: its own database, `calls.record_delay = 0`, the events POSTed to the receiver
    (or, with webhook=False, kept in the stream), IVR_API_TOKEN the receiver's secret."""
    url = redis_server.rsplit("/", 1)[0] + f"/{WORKERS_DB}"
    with ExitStack() as stack:
        api = stack.enter_context(TwilioApi())

        def build(servers: int = 0, workers: int = 1, webhook: bool = True) -> Site:
            settings = {"calls": {"record_delay": 0}}
            if webhook:
                settings["case_system"] = {"webhook": webhook_receiver.url}
            return stack.enter_context(Site(url, tmp_path, api, servers=servers, workers=workers, settings=settings,
                                            env={"IVR_API_TOKEN": SECRET}))

        yield build


def attempt(site: Site, day: str, case: str = CASE) -> None:
    """Record an unanswered attempt to reach the customer, at 10:00 their time: a `contact_attempt` event."""
    done = site.ivr("cases", "attempt", case, "--at", f"{day}T10:00:00+01:00", "--note", f"rang on {day}")
    assert done.returncode == 0, done.stderr


def stream(site: Site) -> list[dict]:
    """The events `ivr events --json` prints."""
    done = site.ivr("events", "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def pending(site: Site, case: str = CASE) -> list[dict]:
    """The case's events still waiting for delivery."""
    services = services_at(site.redis_url)
    try:
        return services.outbox.pending(case)
    finally:
        services.close()


def day_of(event: dict) -> str:
    return event["data"]["at"][:10]


# --- delivery in order, once each ---------------------------------------------------------------------


def test_a_case_s_events_reach_the_case_system_signed_in_the_order_they_happened(make_site, webhook_receiver):
    site = make_site().start(DIRECTORY)

    for day in (WED, THU, FRI):  # the third business day cancels the case: a job publishes case_cancelled
        attempt(site, day)

    events = webhook_receiver.wait_for(4, timeout=DELIVERED_WITHIN, case=CASE)
    assert [e["type"] for e in events] == ["contact_attempt"] * 3 + ["case_cancelled"], site.logs()
    assert [day_of(e) for e in events[:3]] == [WED, THU, FRI]
    # Every request carried a valid, fresh signature (the receiver refuses any other with 401) and came once.
    assert [d.verdict for d in webhook_receiver.deliveries()] == [APPLIED] * 4
    assert [e["id"] for e in events] == [e["id"] for e in stream(site)]  # the stream keeps them too, same order
    assert pending(site) == []


def test_a_failing_case_system_gets_every_event_later_in_order_and_applies_each_once(make_site, webhook_receiver):
    site = make_site().start(DIRECTORY)
    webhook_receiver.fail(times=2)  # 500, 500: the delivery job is retried with backoff

    for day in (WED, THU, FRI):
        attempt(site, day)

    events = webhook_receiver.wait_for(4, timeout=RETRIED_WITHIN, case=CASE)
    assert [e["type"] for e in events] == ["contact_attempt"] * 3 + ["case_cancelled"]
    assert [day_of(e) for e in events[:3]] == [WED, THU, FRI]
    received = webhook_receiver.deliveries()
    assert [d.verdict for d in received[:2]] == [FAILED, FAILED]
    assert received[0].id == received[1].id == received[2].id == events[0]["id"]  # the head waits: nothing skips it
    assert [d.verdict for d in received[2:]] == [APPLIED] * 4
    assert pending(site) == []


def test_without_a_webhook_the_events_wait_in_the_stream_ivr_events_prints(make_site):
    site = make_site(workers=0, webhook=False).start(DIRECTORY)
    attempt(site, WED)

    [kept] = stream(site)
    assert (kept["type"], kept["case"], day_of(kept)) == ("contact_attempt", CASE, WED)
    assert pending(site) == []  # nothing waits for a delivery no one will make
    connection = redis.Redis.from_url(site.redis_url)
    try:
        assert Queue(CASE_SYSTEM, connection=connection, serializer=SERIALIZER).count == 0
    finally:
        connection.close()

    follow = subprocess.Popen([IVR, "events", "--follow"], env=site.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in follow.stdout], daemon=True)
    reader.start()
    try:
        assert json.loads(lines.get(timeout=20))["id"] == kept["id"]  # what is kept first, as JSON lines
        attempt(site, THU)
        new = json.loads(lines.get(timeout=10))  # then each new event as it comes
        assert (new["type"], day_of(new)) == ("contact_attempt", THU)
    finally:
        follow.terminate()
        follow.wait(10)
        reader.join(5)
        follow.stdout.close()
        follow.stderr.close()


# --- a worker killed mid-delivery -------------------------------------------------------------------


def started_executions(site: Site) -> list[tuple[str, float]]:
    """(job id, moment RQ will count it abandoned) of every job a worker has started and not finished."""
    connection = redis.Redis.from_url(site.redis_url)
    try:
        registry = StartedJobRegistry(CASE_SYSTEM, connection=connection, serializer=SERIALIZER)
        return [(registry.parse_job_id(entry.decode()), score)
                for entry, score in connection.zrange(registry.key, 0, -1, withscores=True)]
    finally:
        connection.close()


def test_a_worker_killed_mid_delivery_loses_nothing_the_retry_delivers_and_the_event_is_applied_once(
        make_site, webhook_receiver):
    site = make_site(workers=1).start(DIRECTORY)
    [victim] = site.processes
    webhook_receiver.delay(HOLD)

    attempt(site, WED)
    [held] = webhook_receiver.wait_for_deliveries(1, timeout=DELIVERED_WITHIN)
    site.kill(victim)  # SIGKILL while its POST waits for the answer: no finally, no failure handler
    assert victim.returncode == -9

    assert held.verdict == APPLIED
    assert [e["id"] for e in pending(site)] == [held.id]  # not dropped: no 2xx came back
    [(job_id, abandoned_at)] = started_executions(site)
    assert job_id.startswith(f"deliver-{CASE}-")
    # RQ counts a started job abandoned once its heartbeat has run out: for `ivr worker`'s SimpleWorker, the
    # job's timeout (workers.queues.timeout: 25 s for event delivery) + 60 s after it started; by then the
    # case's delivery lock (workers.case_system.LOCK_SECONDS) has run out too. A worker retries it when it next
    # cleans the registries: at its start, and between waits for a job (worker_ttl - 15 s). The new worker
    # starts once the job counts as abandoned, and its start-up maintenance finds it at once.
    wait = abandoned_at - time.time()
    assert wait < ABANDONED_WITHIN, f"RQ would count the killed job abandoned only in {wait:.0f} s"
    time.sleep(max(0.0, wait) + 0.5)
    site.start_worker("replacement")

    received = webhook_receiver.wait_for_deliveries(2, timeout=RECOVERED_WITHIN)
    assert [(d.id, d.verdict) for d in received] == [(held.id, APPLIED), (held.id, DUPLICATE)], site.logs()
    assert [e["id"] for e in webhook_receiver.applied()] == [held.id]  # applied exactly once
    deadline = time.monotonic() + 10
    while pending(site) and time.monotonic() < deadline:  # dropped just after the 2xx
        time.sleep(0.05)
    assert pending(site) == []
    connection = redis.Redis.from_url(site.redis_url)
    try:
        job = Job.fetch(job_id, connection=connection, serializer=SERIALIZER)
        deadline = time.monotonic() + 10
        while job.get_status() != JobStatus.FINISHED and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.get_status() == JobStatus.FINISHED
        assert FailedJobRegistry(CASE_SYSTEM, connection=connection, serializer=SERIALIZER).count == 0
    finally:
        connection.close()
    assert started_executions(site) == []


# --- call records from a real worker ------------------------------------------------------------------


def test_a_finished_call_is_recorded_once_whatever_order_its_status_callbacks_come_in(make_site, webhook_receiver):
    site = make_site(servers=1, workers=1).start(DIRECTORY)
    sid = "CA" + "7" * 32
    site.post(f"{site.base()}/voice/incoming", site.caller(sid, CallStatus="ringing"))
    site.post(f"{site.base()}/voice/language?{urlencode({'line': EMEA, 'attempt': 1})}", site.caller(sid, Digits="2"))
    site.join(sid, QUEUED_CASE)  # the case number, then the first wait-URL request: waiting in emea-de

    for status in ("completed", "ringing", "completed"):  # Twilio repeats, and a late ringing arrives after the end
        reply = site.post(f"{site.base()}/voice/status", site.caller(sid, CallStatus=status, CallDuration="42"))
        assert reply.status_code == 204, reply.text

    [event] = webhook_receiver.wait_for(1, timeout=DELIVERED_WITHIN, kind="call_record")
    record = event["data"]["record"]
    assert (event["case"], record["sid"], record["status"], record["duration"], record["outcome"], record["queue"]) == (
        QUEUED_CASE, sid, "completed", "42", "abandoned", "emea-de")  # the late "ringing" changed nothing
    time.sleep(1.0)  # long enough for a second record job, had the repeated callback queued one
    done = site.ivr("calls", "--json")
    assert done.returncode == 0, done.stderr
    [listed] = [r for r in json.loads(done.stdout) if r["sid"] == sid]
    assert {k: listed[k] for k in ("case", "status", "outcome", "ended_at")} == {
        k: record[k] for k in ("case", "status", "outcome", "ended_at")}
    assert [d.id for d in webhook_receiver.deliveries() if (d.event or {}).get("type") == "call_record"] == [
        f"record:{sid}"]

