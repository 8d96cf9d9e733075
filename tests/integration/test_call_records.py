"""What is recorded of a call: once, right, and bounded (issue 6, items 7, 13 and 15)."""
from __future__ import annotations

import time
import uuid

import pytest
import redis
from rq import Queue

from ivr.adapters import keys
from ivr.adapters.calls.records import Records
from ivr.adapters.calls.waiting import parse_queue_entry
from tests.integration.webhook_support import run_jobs
from tests.integration.webhook_support import (Twilio, build_app, call_params, close_app, load_demo, settings_with,
                                               twiml, verbs)
from ivr.wiring import Services
from workers.queues import CALLS, SERIALIZER
from workers.records import queue_due_records

DE = "line=%2B442079460100&lang=de&queue=emea-de"


@pytest.fixture
def settings():
    return settings_with(calls={"record_ttl": 86400, "record_delay": 0})


@pytest.fixture
def app_options() -> dict:
    return {"strict": False}


@pytest.fixture
def worker(redis_url, settings):
    """The services of a worker with this module's settings (records fall due at once)."""
    services = Services.for_commands(settings, redis_url)
    yield services
    services.close()


@pytest.fixture
def records(services) -> Records:
    return Records(services.redis)


@pytest.fixture
def sid() -> str:
    return "CA" + uuid.uuid4().hex


def _queue_in_german(twilio, sid, case="30000002"):
    root = twiml(twilio.post("/voice/case?line=%2B442079460100&lang=de&attempt=1", call_params(sid, Digits=case)))
    assert verbs(root)[-1] == "Enqueue"


def _run_jobs(redis_url: str) -> None:
    run_jobs(redis_url, settings_with(calls={"record_ttl": 86400, "record_delay": 0}))


def test_repeated_final_status_callbacks_queue_one_record_job(twilio, sid, redis_url, worker):
    _queue_in_german(twilio, sid)
    for _ in range(5):
        assert twilio.post("/voice/status", call_params(sid, CallStatus="completed", CallDuration="61")).status_code == 204
        queue_due_records(worker)  # a worker sweeping between Twilio's repeats

    jobs = Queue(CALLS, connection=redis.Redis.from_url(redis_url), serializer=SERIALIZER)
    assert jobs.count == 1
    jobs.connection.close()


def test_a_record_falls_due_after_the_record_delay_for_the_results_twilio_may_still_send(redis_url, sid, services):
    settings = settings_with(calls={"record_ttl": 86400, "record_delay": 15})
    load_demo(redis_url, settings)
    app = build_app(redis_url, settings=settings, strict=False)
    try:
        twilio = Twilio(app)
        _queue_in_german(twilio, sid)
        twilio.post("/voice/status", call_params(sid, CallStatus="completed", CallDuration="61"))
        ended = services.calls.get(sid)["ended_at"]
        delayed = Services.for_commands(settings, redis_url)
        try:
            assert queue_due_records(delayed, now=float(ended) + 14) == 0
            # Twilio's queue result came after the final status: the record, written later, has it.
            twilio.post(f"/voice/queue-result?{DE}", call_params(sid, QueueResult="hangup", QueueTime="40"))
            assert queue_due_records(delayed, now=float(ended) + 15) == 1
        finally:
            delayed.close()
        run_jobs(redis_url, settings)
        assert Records(services.redis).get(sid)["queue_result"] == "hangup"
    finally:
        close_app(app)


def test_a_queued_bridged_and_completed_call_leaves_its_queue_once_and_keeps_how_it_ended(twilio, sid, services):
    _queue_in_german(twilio, sid)
    twilio.post(f"/voice/queue-result?{DE}", call_params(sid, QueueResult="bridged", QueueTime="40"))
    twilio.post(f"/voice/queue-result?{DE}", call_params(sid, QueueResult="bridged", QueueTime="40"))  # a retry
    twilio.post("/voice/status", call_params(sid, CallStatus="completed", CallDuration="300"))

    assert [e["result"] for e in services.events.of(sid, "dequeued")] == ["bridged"]
    state = services.calls.get(sid)
    assert (state["queue_result"], state["status"]) == ("bridged", "completed")


def test_a_caller_who_hangs_up_while_waiting_is_taken_out_by_the_final_status(twilio, sid, services):
    _queue_in_german(twilio, sid)

    twilio.post("/voice/status", call_params(sid, CallStatus="completed", CallDuration="30"))

    assert sid not in services.waiting.callers("emea-de")
    assert [e["result"] for e in services.events.of(sid, "dequeued")] == ["call_completed"]


def test_a_call_answered_by_its_engineer_is_not_recorded_as_a_wait(twilio, sid, services, records, redis_url):
    root = twiml(twilio.post("/voice/case?line=%2B442079460100&lang=en&attempt=1", call_params(sid, Digits="30000001")))
    assert verbs(root)[-1] == "Dial"
    twilio.post("/voice/dial-result?line=%2B442079460100&lang=en", call_params(sid, DialCallStatus="completed"))
    twilio.post("/voice/status", call_params(sid, CallStatus="completed", CallDuration="300"))
    _run_jobs(redis_url)

    record = records.get(sid)
    assert record["engineer"] == "emea-en" and record["dial_status"] == "completed"
    assert "queue_result" not in record and "queue" not in record
    assert services.events.of(sid, "dequeued") == []


def test_an_unanswered_engineer_requeues_the_caller_with_the_deadline_routing_gave(twilio, sid, services):
    twiml(twilio.post("/voice/case?line=%2B442079460100&lang=en&attempt=1", call_params(sid, Digits="30000001")))
    routed = services.calls.get(sid)["fallback"]

    root = twiml(twilio.post("/voice/dial-result?line=%2B442079460100&lang=en",
                             call_params(sid, DialCallStatus="no-answer")))

    assert root.find("Enqueue").text == "emea-en"
    assert services.waiting.deadline("emea-en", sid) == parse_queue_entry(routed).deadline.timestamp()


def test_an_unanswered_engineer_whose_routing_was_lost_never_jumps_the_queue(twilio, sid, services):
    """Without the routed deadline, the caller is queued by the fail-safe answer: no made-up deadline of 'now'."""
    twiml(twilio.post("/voice/case?line=%2B442079460100&lang=en&attempt=1", call_params(sid, Digits="30000001")))
    services.redis.hdel(keys.call(sid), "fallback")  # corrupted on purpose: the routing is lost
    assert "fallback" not in services.calls.get(sid)

    root = twiml(twilio.post("/voice/dial-result?line=%2B442079460100&lang=en",
                             call_params(sid, DialCallStatus="no-answer")))

    assert root.find("Enqueue").text == "emea-en"
    assert services.waiting.deadline("emea-en", sid) is None


def test_a_record_is_kept_for_the_configured_time_and_old_ones_leave_the_index(twilio, sid, services, records,
                                                                              redis_url):
    old = "CA" + uuid.uuid4().hex
    services.redis.zadd(keys.CALLS_INDEX, {old: time.time() - 2 * 86400})  # seeded: a call that ended 2 days ago
    assert records.ended_at(old) is not None
    _queue_in_german(twilio, sid)
    twilio.post("/voice/status", call_params(sid, CallStatus="completed", CallDuration="30"))

    _run_jobs(redis_url)

    assert 86000 < records.kept_for(sid) <= 86400
    assert records.ended_at(sid) is not None
    assert records.ended_at(old) is None


def test_a_waiting_entry_whose_call_was_never_reported_ended_is_swept(twilio, sid, services):
    _queue_in_german(twilio, sid)
    services.redis.delete(keys.call(sid))  # its state expired: Twilio never told us the call ended
    assert services.calls.get(sid) == {} and sid in services.waiting.callers("emea-de")

    _queue_in_german(twilio, "CA" + uuid.uuid4().hex)

    assert sid not in services.waiting.callers("emea-de")
    assert 0 < services.waiting.kept_for("emea-de")


def test_a_retried_case_webhook_keeps_the_first_deadline(twilio, sid, services):
    _queue_in_german(twilio, sid)
    first = services.waiting.deadline("emea-de", sid)
    assert first is not None
    time.sleep(0.01)

    _queue_in_german(twilio, sid)

    assert services.waiting.deadline("emea-de", sid) == first
    assert len(services.events.of(sid, "enqueued")) == 1


def test_a_replayed_callback_key_and_queue_result_hand_over_one_callback(twilio, sid, services):
    _queue_in_german(twilio, sid)
    for _ in range(20):
        asked = twiml(twilio.post(f"/voice/queue-key?{DE}", call_params(sid, Digits="1")))
        assert verbs(asked) == ["Gather", "Redirect"]  # the number read back
        assert verbs(twiml(twilio.post(asked.find("Gather").get("action"), call_params(sid, Digits="1")))) == ["Leave"]
    for _ in range(3):
        twiml(twilio.post(f"/voice/queue-result?{DE}", call_params(sid, QueueResult="leave")))

    entries = services.callbacks.requests()
    assert len(entries) == 1
    assert entries[0]["case"] == "30000002" and entries[0]["reason"] == "caller"


def test_a_retried_case_webhook_that_rings_the_engineer_keeps_the_first_routing(twilio, sid, services):
    ask = "/voice/case?line=%2B442079460100&lang=en&attempt=1"
    first = twiml(twilio.post(ask, call_params(sid, Digits="30000001")))
    routed = services.calls.get(sid)["fallback"]
    time.sleep(0.01)

    again = twiml(twilio.post(ask, call_params(sid, Digits="30000001")))

    assert verbs(first) == verbs(again) == ["Say", "Dial"]
    assert services.calls.get(sid)["fallback"] == routed
    deadlines = [p.get("value") for root in (first, again) for p in root.iter("Parameter") if p.get("name") == "deadline"]
    assert deadlines[0] == deadlines[1]
    assert len(services.events.of(sid, "routed")) == 1


def test_a_final_status_for_a_caller_no_longer_waiting_writes_no_wait_result(twilio, sid, services, redis_url):
    """The caller left the queue without a queue result reaching us: the final status must not invent one."""
    _queue_in_german(twilio, sid)
    client = redis.Redis.from_url(redis_url)
    client.zrem(keys.waiting("emea-de"), sid)  # gone from the queue, but no QueueResult arrived
    client.close()

    twilio.post("/voice/status", call_params(sid, CallStatus="completed", CallDuration="30"))

    assert "queue_result" not in services.calls.get(sid)
    assert services.events.of(sid, "dequeued") == []
