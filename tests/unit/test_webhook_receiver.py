"""The webhook receiver the worker tests deliver to: it takes what the service signs, refuses what it should not,
applies each event once, and fails or holds its answers when told to."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from ivr.adapters.outbound.signed_post import Undelivered, post_signed
from tests.webhook_receiver import (APPLIED, DUPLICATE, FAILED, MALFORMED, REFUSED, SECRET, WebhookReceiver,
                                    expected_signature)


def event(ident: str, case: str = "07123456", kind: str = "contact_attempt") -> str:
    return json.dumps({"version": 1, "type": kind, "case": case, "at": 1.0, "id": ident, "data": {}},
                      separators=(",", ":"), sort_keys=True)


def signed_headers(body: bytes, timestamp: int, secret: str = SECRET) -> dict:
    return {"Content-Type": "application/json", "X-Ivr-Timestamp": str(timestamp),
            "X-Ivr-Signature": expected_signature(secret, str(timestamp), body)}


def test_an_event_the_service_signs_is_applied_and_recorded_with_its_headers_body_and_time(webhook_receiver):
    before = time.time()

    assert post_signed(webhook_receiver.url, event("attempt:1"), SECRET) == 200

    [delivery] = webhook_receiver.deliveries()
    assert delivery.verdict == APPLIED and delivery.status == 200 and delivery.path == "/ivr-events"
    assert delivery.headers["X-Ivr-Signature"].startswith("v1=") and delivery.headers["User-Agent"] == "support-ivr"
    assert delivery.body == event("attempt:1").encode() and delivery.event["id"] == "attempt:1"
    assert before <= delivery.at <= time.time()
    assert [e["id"] for e in webhook_receiver.applied()] == ["attempt:1"]


def test_an_event_delivered_twice_is_recorded_twice_and_applied_once(webhook_receiver):
    for ident in ("attempt:1", "attempt:2", "attempt:1"):
        assert post_signed(webhook_receiver.url, event(ident), SECRET) == 200  # a repeat is acknowledged

    assert [d.verdict for d in webhook_receiver.deliveries()] == [APPLIED, APPLIED, DUPLICATE]
    assert [e["id"] for e in webhook_receiver.applied()] == ["attempt:1", "attempt:2"]


OTHER_SECRET = "another-secret-0123456789abcdef0123"


@pytest.mark.parametrize("tamper, why", [
    (lambda body, ts: (signed_headers(body, ts, secret=OTHER_SECRET), body), "does not match"),
    (lambda body, ts: (signed_headers(body, ts), body.replace(b"attempt:1", b"attempt:2")), "does not match"),
    (lambda body, ts: ({**signed_headers(body, ts), "X-Ivr-Timestamp": str(ts + 1)}, body), "does not match"),
    (lambda body, ts: (signed_headers(body, ts - 301), body), "outside 300 s"),
    (lambda body, ts: (signed_headers(body, ts + 301), body), "outside 300 s"),
    (lambda body, ts: ({"Content-Type": "application/json"}, body), "no X-Ivr-Timestamp"),
    (lambda body, ts: ({**signed_headers(body, ts), "X-Ivr-Timestamp": "1.5"}, body), "not whole seconds"),
], ids=["wrong secret", "changed body", "changed timestamp", "stale", "from the future", "unsigned", "not seconds"])
def test_a_request_without_a_valid_fresh_signature_is_refused_and_not_applied(webhook_receiver, tamper, why):
    headers, body = tamper(event("attempt:1").encode(), int(time.time()))

    reply = requests.post(webhook_receiver.url, data=body, headers=headers, timeout=5)

    assert reply.status_code == 401
    [delivery] = webhook_receiver.deliveries()
    assert delivery.verdict == REFUSED and why in delivery.why
    assert webhook_receiver.applied() == []


def test_a_signed_body_that_is_not_an_event_is_refused_with_400(webhook_receiver):
    for body in (b"not json", b'{"type": "call_record"}', b"[1, 2]"):
        reply = requests.post(webhook_receiver.url, data=body, headers=signed_headers(body, int(time.time())),
                              timeout=5)
        assert reply.status_code == 400

    assert [d.verdict for d in webhook_receiver.deliveries()] == [MALFORMED] * 3
    assert webhook_receiver.applied() == []


def test_scripted_failures_answer_500_and_apply_nothing_until_they_are_used_up(webhook_receiver):
    webhook_receiver.fail(times=2)

    for _ in range(2):
        with pytest.raises(Undelivered, match="answered 500"):
            post_signed(webhook_receiver.url, event("attempt:1"), SECRET)
    assert webhook_receiver.applied() == []
    assert post_signed(webhook_receiver.url, event("attempt:1"), SECRET) == 200

    assert [(d.verdict, d.status) for d in webhook_receiver.deliveries()] == [(FAILED, 500), (FAILED, 500),
                                                                               (APPLIED, 200)]
    assert len(webhook_receiver.applied()) == 1


def test_a_failure_with_another_status_is_answered_with_it(webhook_receiver):
    webhook_receiver.fail(status=503)

    with pytest.raises(Undelivered, match="answered 503"):
        post_signed(webhook_receiver.url, event("attempt:1"), SECRET)


def test_a_delayed_answer_applies_the_event_at_once_and_answers_later(webhook_receiver):
    webhook_receiver.delay(0.5)
    started = time.monotonic()
    answered: list[int] = []
    sender = threading.Thread(target=lambda: answered.append(post_signed(webhook_receiver.url, event("a:1"), SECRET)))
    sender.start()

    webhook_receiver.wait_for(1, timeout=2)
    assert answered == []  # applied, not yet answered: the delivery is in flight
    sender.join(5)
    assert answered == [200] and time.monotonic() - started >= 0.5
    assert post_signed(webhook_receiver.url, event("a:2"), SECRET) == 200  # one delay scripted, one used


def test_release_ends_a_held_answer_early(webhook_receiver):
    webhook_receiver.delay(30)
    answered: list[int] = []
    sender = threading.Thread(target=lambda: answered.append(post_signed(webhook_receiver.url, event("a:1"), SECRET)))
    sender.start()
    webhook_receiver.wait_for(1, timeout=2)

    webhook_receiver.release()

    sender.join(5)
    assert answered == [200]


def test_a_sender_that_goes_away_during_a_held_answer_leaves_the_event_applied(webhook_receiver):
    webhook_receiver.delay(0.3)

    with pytest.raises(requests.Timeout):
        requests.post(webhook_receiver.url, data=event("a:1"), timeout=0.1,
                      headers=signed_headers(event("a:1").encode(), int(time.time())))

    assert [e["id"] for e in webhook_receiver.applied()] == ["a:1"]
    time.sleep(0.4)  # the held answer meets a closed socket quietly
    assert post_signed(webhook_receiver.url, event("a:1"), SECRET) == 200
    assert [d.verdict for d in webhook_receiver.deliveries()] == [APPLIED, DUPLICATE]


def test_applied_events_filter_by_type_and_case(webhook_receiver):
    post_signed(webhook_receiver.url, event("a:1", case="1", kind="contact_attempt"), SECRET)
    post_signed(webhook_receiver.url, event("a:2", case="2", kind="call_record"), SECRET)

    assert [e["id"] for e in webhook_receiver.applied(kind="call_record")] == ["a:2"]
    assert [e["id"] for e in webhook_receiver.applied(case="1")] == ["a:1"]


def test_waiting_times_out_saying_what_arrived(webhook_receiver):
    webhook_receiver.fail()
    with pytest.raises(Undelivered):
        post_signed(webhook_receiver.url, event("a:1"), SECRET)

    with pytest.raises(AssertionError, match=r"(?s)expected 1 applied event.*got 0.*500 failed +a:1"):
        webhook_receiver.wait_for(1, timeout=0.1)


def test_a_receiver_with_another_clock_judges_freshness_by_it():
    with WebhookReceiver(clock=lambda: time.time() + 3600) as receiver:
        with pytest.raises(Undelivered, match="answered 401"):
            post_signed(receiver.url, event("a:1"), SECRET)
        assert "outside" in receiver.deliveries()[0].why
