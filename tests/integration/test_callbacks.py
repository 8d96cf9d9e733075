"""Callbacks keep the caller's place: confirmed, kept in the deadline order, offered to a free engineer, and the
customer called back through Twilio's REST API (the local stand-in) once the engineer took it."""
from __future__ import annotations

from ivr.services.staff import waiting_in_order
from ivr.voice import prompts
from workers.queues import CALLBACKS

from .dispatch_support import CASE_URL, DE, GERMAN, de
from .webhook_support import CALLER, call_params, spoken, twiml

SATURDAY_NOON = "2026-12-05T12:00:00+01:00"


def ask_for_callback(world, sid: str, wait_url: str):
    """Press 1 while holding, hear the number read back, confirm it, and let Twilio report the caller left."""
    held = world.hold(sid, wait_url)
    asked = twiml(world.post(held.find("Gather").get("action"), call_params(sid, Digits="1")))
    assert de(prompts.CALLBACK_CONFIRM_NUMBER, number=" ".join(CALLER), key="1") in spoken(asked)
    left = twiml(world.post(asked.find("Gather").get("action"), call_params(sid, Digits="1")))
    assert left.find("Leave") is not None
    action = wait_url.replace("/voice/wait", "/voice/queue-result")
    return twiml(world.post(action, call_params(sid, QueueResult="leave", QueueTime="30")))


def test_a_callback_keeps_its_place_and_the_customer_is_called_back_once_the_engineer_takes_it(world):
    early, late = "CAcallback00000000000000000000001", "CAholding000000000000000000000002"
    early_wait = world.queue(early, "02000004")  # premium: 30 minutes
    late_wait = world.queue(late, "01000003")  # production severity 3: 6 hours
    deadline = world.services.waiting.deadline(DE, early)
    done = ask_for_callback(world, early, early_wait)
    # The caller still holding hears the callback counted ahead of them: it keeps its place.
    assert GERMAN.plural(prompts.QUEUE_AHEAD, 1) in spoken(world.hold(late, late_wait))
    assert spoken(done) == de(prompts.CALLBACK_CONFIRMED, case="0 2 0 0 0 0 0 4", number=" ".join(CALLER))
    assert world.services.waiting.callers(DE) == [late]
    assert world.services.callbacks.pending(DE) == [early]
    rows = waiting_in_order(world.services)
    assert [(r.call_sid, r.kind) for r in rows] == [(early, "callback"), (late, "call")]
    assert float(world.services.callbacks.get(early)["deadline_ts"]) == deadline

    world.services.store.set_presence("anna", "available")
    [offer] = world.dispatch()
    assert offer.call == early and offer.kind == "callback"
    # Staff still see it in line while it is being offered, as they see a caller on the line.
    assert [r.call_sid for r in waiting_in_order(world.services)] == [early, late]
    [rung] = world.offers()
    assert rung["To"].startswith("client:anna?") and "case=02000004" in rung["To"]
    engineer = world.engineer_answers(rung)
    assert de(prompts.CALLBACK_WHISPER, case="0 2 0 0 0 0 0 4", plan=GERMAN.plan_name("premium"), severity="4",
              language=GERMAN.language_name("de")) in spoken(engineer)
    assert engineer.find("Dial/Conference") is not None
    assert world.run_jobs(CALLBACKS) == ["calling"]
    [customer_call] = [r for r in world.offers() if r["To"] == CALLER]
    assert customer_call["From"] == "+442079460100"  # the line the customer called
    assert world.api.requests("/Members/") == []  # nobody is dequeued: the customer is not in a queue

    customer = twiml(world.post(customer_call["Url"], {"CallSid": "CAcustomer0000000000000000000001",
                                                       "AccountSid": "AC" + "a" * 32, "From": "+442079460100",
                                                       "To": CALLER, "Direction": "outbound-api"}))
    assert spoken(customer) == de(prompts.CALLBACK_GREETING, case="0 2 0 0 0 0 0 4")
    assert customer.find("Dial/Conference").text == engineer.find("Dial/Conference").text
    assert world.services.callbacks.pending(DE) == []
    assert world.services.callbacks.get(early)["state"] == "done"
    assert [e["type"] for _id, e in world.services.outbox.events()] == ["callback_made"]


def test_an_unanswered_callback_is_tried_again_later_then_given_up_and_written_to_the_case(world):
    sid = "CAcallback00000000000000000000002"
    ask_for_callback(world, sid, world.queue(sid, "01000003"))
    world.services.store.set_presence("anna", "available")
    for attempt in (1, 2, 3):
        [offer] = world.dispatch()
        rung = [r for r in world.offers() if r["To"].startswith("client:anna")][-1]
        world.engineer_answers(rung, sid=f"CAengineer{attempt:024d}")
        world.run_jobs(CALLBACKS)
        customer_call = [r for r in world.offers() if r["To"] == CALLER][-1]
        status = customer_call["StatusCallback"]
        reply = world.post(status, {"CallSid": f"CAcustomer{attempt:024d}", "AccountSid": "AC" + "a" * 32,
                                    "From": "+442079460100", "To": CALLER, "CallStatus": "no-answer"})
        assert reply.status_code == 204
        assert world.run_jobs(CALLBACKS) == ["retry_later" if attempt < 3 else "failed"]
        # The engineer is told and free again at once; the customer is not called again straight away.
        told = world.api.requests(f"/Calls/CAengineer{attempt:024d}.json")
        assert len(told) == 1 and de(prompts.CALLBACK_NO_ANSWER) in told[0]["Twiml"]
        assert world.services.store.presence("anna") == "available"
        assert world.dispatch() == []
        world.engineer_call_ends(rung, "completed", sid=f"CAengineer{attempt:024d}")
        world.services.redis.hset(f"ivr:callback:{sid}", "not_before", "0")  # the retry interval passes
    assert world.services.callbacks.pending(DE) == []
    assert world.services.callbacks.get(sid)["state"] == "failed"
    [failed] = [e for _id, e in world.services.outbox.events() if e["type"] == "callback_failed"]
    assert (failed["case"], failed["data"]["attempts"]) == ("01000003", 3)
    assert world.dispatch() == []


def test_a_caller_refused_outside_hours_may_ask_to_be_called_back_at_the_opening(world):
    sid = "CAlater0000000000000000000000001"
    root = twiml(world.post(CASE_URL, call_params(sid, Digits="05000002", IvrAt=SATURDAY_NOON)))
    gather = root.find("Gather")
    assert gather is not None and de(prompts.OUTSIDE_HOURS_CALLBACK_OFFER, key="1") in spoken(gather)
    done = twiml(world.post(gather.get("action"), call_params(sid, Digits="1", IvrAt=SATURDAY_NOON)))
    assert "0 5 0 0 0 0 0 2" in spoken(done) and " ".join(CALLER) in spoken(done)
    [pending] = world.services.callbacks.pending(DE)
    callback = world.services.callbacks.get(pending)
    assert callback["reason"] == "outside_hours"
    opening = float(callback["not_before"])
    assert opening > float(callback["created"])
    world.services.store.set_presence("anna", "available")
    assert world.dispatch() == []  # not before the opening
    world.services.redis.hset(f"ivr:callback:{sid}", "not_before", "0")  # the opening comes
    assert [o.call for o in world.dispatch()] == [sid]


def test_a_withheld_caller_id_keys_in_one_number_in_the_lines_country(world):
    sid = "CAwithheld000000000000000000000001"
    wait_url = world.queue(sid, "01000003")
    held = world.hold(sid, wait_url)
    anonymous = dict(call_params(sid, Digits="1"), From="anonymous", Caller="anonymous")
    ask = twiml(world.post(held.find("Gather").get("action"), anonymous))
    assert de(prompts.CALLBACK_ENTER_NUMBER) in spoken(ask)
    bad = twiml(world.post(ask.find("Gather").get("action"), dict(anonymous, Digits="12")))
    assert de(prompts.CALLBACK_NUMBER_INVALID) in spoken(bad)
    good = twiml(world.post(ask.find("Gather").get("action"), dict(anonymous, Digits="02079460123")))
    assert de(prompts.CALLBACK_CONFIRM_NUMBER, number=" ".join("+442079460123"), key="1") in spoken(good)
    # A second request on the same call reuses that number: one per call.
    again = twiml(world.post(held.find("Gather").get("action"), anonymous))
    assert de(prompts.CALLBACK_CONFIRM_NUMBER, number=" ".join("+442079460123"), key="1") in spoken(again)
    world.post(again.find("Gather").get("action"), dict(anonymous, Digits="1"))
    world.post(wait_url.replace("/voice/wait", "/voice/queue-result"), dict(anonymous, QueueResult="leave"))
    assert world.services.callbacks.get(sid)["number"] == "+442079460123"

