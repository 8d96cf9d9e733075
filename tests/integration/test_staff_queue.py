"""`ivr staff queue`: the waiting callers in exactly the order they will be offered (SPEC §7, §4–§5)."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.webhook_support import (Twilio, build_app, call_params, close_app, load_demo, settings_with,
                                               twiml, verbs)

ASK = "/voice/case?line=%2B442079460100&lang={lang}&attempt=1"


@pytest.fixture
def twilio(redis_url):
    settings = settings_with()
    load_demo(redis_url, settings)
    app = build_app(redis_url, settings=settings)
    yield Twilio(app)
    close_app(app)


def _queue(twilio, lang: str, case: str) -> str:
    sid = "CA" + uuid.uuid4().hex
    root = twiml(twilio.post(ASK.format(lang=lang), call_params(sid, Digits=case)))
    assert verbs(root)[-1] == "Enqueue", root
    return sid


def _staff_queue(ivr) -> list[dict]:
    result = ivr("staff", "queue", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_nobody_waiting_is_an_empty_list(ivr):
    assert _staff_queue(ivr) == []


def test_callers_are_listed_earliest_deadline_first_across_queues_whoever_came_first(twilio, ivr):
    licensing = _queue(twilio, "en", "30000003")  # production severity 3: 360 minutes; its engineer is busy
    technical = _queue(twilio, "de", "30000001")  # production severity 2: 180 minutes (its engineer speaks no German)
    premium = _queue(twilio, "de", "30000002")  # premium: 30 minutes

    rows = _staff_queue(ivr)

    assert [r["call_sid"] for r in rows] == [premium, technical, licensing]
    first = rows[0]
    assert (first["case"], first["queue"], first["plan"], first["severity"]) == ("30000002", "emea-de", "premium", 1)
    assert 0 <= first["waiting_s"] < 60 and first["deadline"] < rows[1]["deadline"] < rows[2]["deadline"]
    assert [r["claimed_by"] for r in rows] == [None, None, "emea-busy"]  # held for the case's busy engineer


def test_a_caller_leaves_the_list_when_their_wait_ends(twilio, ivr):
    sid = _queue(twilio, "de", "30000002")
    twilio.post("/voice/queue-result?line=%2B442079460100&lang=de&queue=emea-de",
                call_params(sid, QueueResult="hangup"))

    assert _staff_queue(ivr) == []


def test_the_claim_ends_when_the_busy_engineer_goes_away(twilio, ivr):
    _queue(twilio, "en", "30000003")

    assert ivr("presence", "emea-busy", "away").exit_code == 0

    assert [r["claimed_by"] for r in _staff_queue(ivr)] == [None]
