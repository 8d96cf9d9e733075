"""The duty manager and the portal link: what the worker sends through Twilio's REST API (the local stand-in) and
to `alerts.webhook` (a local signed-webhook receiver), once each, and what is written on the case."""
from __future__ import annotations

import pytest

from ivr.voice import prompts
from tests.webhook_receiver import SECRET
from workers.queues import CALLBACKS

from .dispatch_support import CASE_URL, WEDNESDAY_NOON, de, make_world
from .webhook_support import CALLER, call_params, spoken, twiml

DUTY_MANAGER = "+442079460999"
LONG_AGO = "2026-11-25T12:00:00+01:00"
"""A routing moment whose premium deadline (30 minutes) is long past."""


@pytest.fixture
def alerted(redis_url, twilio_api, webhook_receiver, monkeypatch):
    monkeypatch.setenv("IVR_API_TOKEN", SECRET)
    with make_world(redis_url, twilio_api, alerts={"webhook": webhook_receiver.url + "/alerts",
                                                   "sms": DUTY_MANAGER}) as world:
        yield world


def refused_for_closed_case(world, params: dict):
    """Give a closed case's number, then say nothing when asked for another: the refusal's TwiML."""
    asked = twiml(world.post(CASE_URL, params))
    assert de(prompts.CASE_CLOSED_TRY_ANOTHER, case="0 6 0 0 0 0 0 1") in spoken(asked)
    return twiml(world.post(asked.find("Redirect").text, {k: v for k, v in params.items() if k != "Digits"}))


def test_a_caller_refused_for_a_closed_case_gets_the_portal_link_by_sms_once_a_day(world):
    sid = "CAclosed00000000000000000000000001"
    root = refused_for_closed_case(world, call_params(sid, Digits="06000001", IvrAt=WEDNESDAY_NOON))
    gather = root.find("Gather")
    assert de(prompts.PORTAL_SMS_OFFER, key="1") in spoken(gather)
    sent = twiml(world.post(gather.get("action"), call_params(sid, Digits="1")))
    assert spoken(sent) == de(prompts.PORTAL_SMS_SENT)
    world.run_jobs(CALLBACKS)
    [text] = world.api.requests("/Messages.json")
    assert (text["To"], text["From"]) == (CALLER, "+442079460100")  # only the number calling, from the line
    assert text["Body"] == de(prompts.PORTAL_SMS_CLOSED_CASE, case="06000001", portal=world.services.settings.portal)
    # The same number again that day: told so, nothing sent.
    again = "CAclosed00000000000000000000000002"
    root = refused_for_closed_case(world, call_params(again, Digits="06000001", IvrAt=WEDNESDAY_NOON))
    told = twiml(world.post(root.find("Gather").get("action"), call_params(again, Digits="1")))
    assert spoken(told) == de(prompts.PORTAL_SMS_ALREADY_SENT)
    world.run_jobs(CALLBACKS)
    assert len(world.api.requests("/Messages.json")) == 1


def test_a_withheld_number_is_not_offered_the_portal_link(world):
    sid = "CAclosed00000000000000000000000003"
    params = dict(call_params(sid, Digits="06000001", IvrAt=WEDNESDAY_NOON), From="anonymous", Caller="anonymous")
    root = refused_for_closed_case(world, params)
    # Only hearing it again is offered: a text message goes to the number calling or nowhere.
    assert spoken(root.find("Gather")) == de(prompts.REPEAT_OFFER)
    assert root.find("Hangup") is not None


def test_the_manager_key_is_offered_only_when_someone_can_be_told(world):
    sid = "CAplain00000000000000000000000001"
    held = world.hold(sid, world.queue(sid, "01000003"))
    assert de(prompts.OFFER_MANAGER, key="9") not in spoken(held)


def test_a_waiting_caller_asks_for_the_duty_manager_once_and_keeps_holding(alerted, webhook_receiver):
    sid = "CAmanager0000000000000000000000001"
    wait_url = alerted.queue(sid, "01000003")
    held = alerted.hold(sid, wait_url)
    assert de(prompts.OFFER_MANAGER, key="9") in spoken(held)
    for _ in range(2):  # pressed twice: one request
        asked = twiml(alerted.post(held.find("Gather").get("action"), call_params(sid, Digits="9")))
        assert spoken(asked) == de(prompts.MANAGER_REQUESTED, case="0 1 0 0 0 0 0 3")
        assert asked.find("Redirect").text.startswith("/voice/wait")
    assert alerted.services.waiting.callers("emea-de") == [sid]
    alerted.run_jobs(CALLBACKS)
    [request] = webhook_receiver.wait_for(1, kind="manager_requested")
    assert (request["case"], request["caller"], request["queue"]) == ("01000003", CALLER, "emea-de")
    [text] = alerted.api.requests("/Messages.json")
    assert text["To"] == DUTY_MANAGER and "01000003" in text["Body"]
    assert [e["type"] for _id, e in alerted.services.outbox.events()] == ["manager_requested"]


def test_a_caller_past_their_deadline_raises_one_alert_written_on_the_case(alerted, webhook_receiver):
    sid = "CAlate0000000000000000000000000001"
    reply = alerted.post(CASE_URL, call_params(sid, Digits="02000004", IvrAt=LONG_AGO))
    alerted.hold(sid, twiml(reply).find("Enqueue").get("waitUrl"))
    for _ in range(3):  # every sweep sees the breach; one alert
        alerted.dispatch()
    alerted.run_jobs(CALLBACKS)
    [breach] = webhook_receiver.wait_for(1, kind="sla_breach")
    assert (breach["case"], breach["kind"], breach["queue"], breach["sid"]) == ("02000004", "call", "emea-de", sid)
    assert len([r for r in alerted.api.requests("/Messages.json") if r["To"] == DUTY_MANAGER]) == 1
    [written] = [e for _id, e in alerted.services.outbox.events() if e["type"] == "sla_breach"]
    assert written["case"] == "02000004"
