"""Case-number guessing: three tries per call, a limit per calling number in a sliding window, and a surge
on a line alerting the duty manager instead of locking the line's callers out."""
from __future__ import annotations

import uuid

import pytest

from ivr.voice import prompts
from tests.webhook_receiver import SECRET

from .webhook_support import (EMEA, Twilio, build_app, call_params, close_app, load_demo, query, run_jobs,
                              settings_with, spoken, twiml)

GUESSER = "+447700900123"
"""A UK mobile number (Ofcom's drama range) that keys wrong case numbers."""
NEIGHBOUR = "+447700900456"
LIMIT = 4


@pytest.fixture
def settings():
    return settings_with(security={"guess_limit": LIMIT, "guess_window": 3600, "surge": 6, "surge_window": 600})


def english(app):
    return app.extensions["ivr"].catalogs.speaker("emea", "en")


def call(twilio: Twilio, caller: str, numbers: list[str]):
    """Place a call from a number, pick English, key each case number in turn; return the last reply."""
    sid = "CA" + uuid.uuid4().hex
    params = dict(call_params(sid, EMEA), From=caller, Caller=caller)
    reply = twilio.post("/voice/incoming", dict(params, CallStatus="ringing"))
    root = twiml(reply)
    if root.find("Gather") is None:
        return reply
    reply = twilio.post(root.find("Gather").get("action"), dict(params, Digits="1"))
    for number in numbers:
        root = twiml(reply)
        gather = root.find("Gather")
        if gather is None or not gather.get("action").startswith("/voice/case"):
            break
        reply = twilio.post(gather.get("action"), dict(params, Digits=number))
    return reply


def test_past_the_limit_a_calling_number_is_told_politely_and_the_call_ends_without_a_lookup(app, twilio):
    portal = app.extensions["ivr"].settings.portal
    first = call(twilio, GUESSER, ["99999991", "99999992", "99999993"])  # three tries: refused as usual
    assert first.headers["X-Ivr-Outcome"] == "refused:case_not_found"

    fourth = call(twilio, GUESSER, ["99999994", "30000002"])

    # The fourth wrong number reaches the limit: the call ends there, and no right number gets a look.
    assert fourth.headers["X-Ivr-Outcome"] == "refused:too_many_tries"
    root = twiml(fourth)
    assert [node.tag for node in root] == ["Say", "Hangup"]
    assert spoken(root) == english(app).text(prompts.TOO_MANY_TRIES, portal=portal)


def test_a_number_past_its_limit_is_stopped_at_the_greeting_in_every_language_of_the_line(app, twilio):
    call(twilio, GUESSER, ["99999991", "99999992", "99999993"])
    call(twilio, GUESSER, ["99999994"])

    again = call(twilio, GUESSER, ["30000002"])  # even a right number is never looked up now

    assert again.headers["X-Ivr-Outcome"] == "refused:too_many_tries"
    root = twiml(again)
    said = [say.get("language") for say in root.iter("Say")]
    assert said == ["en-GB", "de-DE", "fr-FR", "ru-RU", "es-ES", "it-IT"]
    assert root.find("Gather") is None and root[-1].tag == "Hangup"


def test_other_callers_are_unaffected_by_one_number_guessing(app, twilio):
    call(twilio, GUESSER, ["99999991", "99999992", "99999993"])
    assert call(twilio, GUESSER, ["99999994"]).headers["X-Ivr-Outcome"] == "refused:too_many_tries"

    reply = call(twilio, NEIGHBOUR, ["30000002"])

    assert reply.headers["X-Ivr-Outcome"] == "queue:emea-en"


def test_silence_and_a_right_number_never_count_as_guesses(app, twilio):
    for _ in range(LIMIT + 1):
        assert call(twilio, GUESSER, ["30000002"]).headers["X-Ivr-Outcome"] == "queue:emea-en"
    sid = "CA" + uuid.uuid4().hex
    params = dict(call_params(sid, EMEA), From=GUESSER, Caller=GUESSER)
    root = twiml(twilio.post("/voice/incoming", dict(params, CallStatus="ringing")))
    prompt = twiml(twilio.post(root.find("Gather").get("action"), dict(params, Digits="1")))
    for _ in range(3):  # three silences: the cause-fitting refusal, not a guessing one
        reply = twilio.post(prompt.find("Redirect").text, params)
        prompt = twiml(reply)
    assert reply.headers["X-Ivr-Outcome"] == "refused:no_case_number"

    assert call(twilio, GUESSER, ["30000002"]).headers["X-Ivr-Outcome"] == "queue:emea-en"


def test_withheld_callers_share_a_larger_allowance(app, twilio):
    for _ in range(2):  # 6 wrong numbers: past one number's limit of 4, inside the withheld callers' 40
        last = call(twilio, "anonymous", ["99999991", "99999992", "99999993"])
        assert last.headers["X-Ivr-Outcome"] == "refused:case_not_found"

    assert call(twilio, "anonymous", ["30000002"]).headers["X-Ivr-Outcome"] == "queue:emea-en"


def test_a_surge_of_wrong_numbers_on_a_line_alerts_the_duty_manager_once(redis_url, twilio_api, webhook_receiver,
                                                                        monkeypatch):
    monkeypatch.setenv("IVR_API_TOKEN", SECRET)
    settings = settings_with(security={"guess_limit": 100, "guess_window": 3600, "surge": 6, "surge_window": 600},
                             alerts={"webhook": webhook_receiver.url + "/alerts", "sms": ""})
    load_demo(redis_url, settings)
    app = build_app(redis_url, settings=settings)
    try:
        twilio = Twilio(app)
        for caller in ("+447700900001", "+447700900002", "+447700900003"):  # 9 wrong numbers from 3 phones
            call(twilio, caller, ["99999991", "99999992", "99999993"])
        # The line still answers its callers: a surge alerts, it does not lock out.
        assert call(twilio, NEIGHBOUR, ["30000002"]).headers["X-Ivr-Outcome"] == "queue:emea-en"
    finally:
        close_app(app)
    run_jobs(redis_url, settings)

    [alert] = webhook_receiver.wait_for(1, kind="guess_surge")
    assert (alert["line"], alert["count"], alert["minutes"]) == (EMEA, 6, 10)
    assert len(webhook_receiver.applied("guess_surge")) == 1


def test_a_keyed_callback_number_is_only_dialled_once_confirmed(app, twilio):
    # No <Dial> target or SMS recipient is built from unconfirmed input: the number is read back first.
    sid = "CA" + uuid.uuid4().hex
    params = dict(call_params(sid, EMEA), From="anonymous", Caller="anonymous")
    root = twiml(twilio.post("/voice/incoming", dict(params, CallStatus="ringing")))
    prompt = twiml(twilio.post(root.find("Gather").get("action"), dict(params, Digits="1")))
    enqueue = twiml(twilio.post(prompt.find("Gather").get("action"), dict(params, Digits="30000002"))).find("Enqueue")
    wait = twiml(twilio.post(enqueue.get("waitUrl"), dict(params, QueueSid="QU" + "1" * 32, QueueTime="5")))
    typed = twiml(twilio.post(wait.find("Gather").get("action"), dict(params, Digits="1")))
    read_back = twiml(twilio.post(typed.find("Gather").get("action"), dict(params, Digits="02079460555")))
    assert "0 2 0 7 9 4 6 0 5 5 5" in spoken(read_back) or "4 4 2 0 7 9 4 6 0 5 5 5" in spoken(read_back)
    assert app.extensions["ivr"].callbacks.requests() == []  # nothing recorded before the confirming key
    assert query(read_back.find("Gather").get("action"))["queue"] == "emea-en"


def test_a_retried_request_is_the_same_try_not_another(app, twilio):
    # Twilio retries a webhook that timed out: the same wrong number, sent again, counts once.
    sid = "CA" + uuid.uuid4().hex
    params = dict(call_params(sid, EMEA), From=GUESSER, Caller=GUESSER)
    root = twiml(twilio.post("/voice/incoming", dict(params, CallStatus="ringing")))
    prompt = twiml(twilio.post(root.find("Gather").get("action"), dict(params, Digits="1")))
    for _ in range(LIMIT + 1):
        reply = twilio.post(prompt.find("Gather").get("action"), dict(params, Digits="99999991"))
        assert reply.headers.get("X-Ivr-Outcome") != "refused:too_many_tries"

    # Three more tries on a new call reach the limit of four: the retries above were one.
    call(twilio, GUESSER, ["99999992", "99999993"])
    assert call(twilio, GUESSER, ["99999994"]).headers["X-Ivr-Outcome"] == "refused:too_many_tries"
