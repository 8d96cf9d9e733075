"""Dispatch against a real Redis and the real twilio-python client talking to a local stand-in for Twilio.

Callers reach their queue through the signed webhooks, as Twilio would send them; the
dispatcher, the bridge job and the offer webhooks run as the worker and the web app run them.
What is asserted is what Twilio would have been asked to do, and what the caller and the
engineer hear.
"""
from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.dispatch.dispatcher import Dispatcher
from ivr.services.presence import take_next
from ivr.services.staff import waiting_in_order
from ivr.voice import prompts

from .dispatch_support import CASE_URL, DE, GERMAN, QUEUE_SID, WEDNESDAY_NOON, de
from .webhook_support import EMEA, call_params, spoken, twiml

def test_a_free_engineer_is_offered_the_caller_with_the_earliest_deadline(world):
    world.queue("CAlate0000000000000000000000000001", "01000003")   # 360 minutes
    world.queue("CAsoon000000000000000000000000002", "02000004")    # premium: 30 minutes
    world.queue("CAmid00000000000000000000000000003", "01000001")   # 60 minutes
    assert world.dispatch() == []  # nobody on shift: nobody rung
    world.services.store.set_presence("anna", "available")
    made = world.dispatch()
    assert [o.call for o in made] == ["CAsoon000000000000000000000000002"]
    [rung] = world.offers()
    assert rung["To"].startswith("client:anna?")
    details = parse_qs(urlsplit(rung["To"]).query)
    assert details["case"] == ["02000004"] and details["plan"] == ["premium"] and details["language"] == ["de"]
    assert rung["Timeout"] == "20"
    assert rung["Url"].startswith("https://ivr.example.com/voice/offer/answer?")
    assert rung["StatusCallback"].startswith("https://ivr.example.com/voice/offer/status?")
    assert world.services.store.presence("anna") == "busy"


def test_ties_go_to_whoever_waited_longest(world, redis_url):
    first, second = "CAfirst000000000000000000000000001", "CAsecond00000000000000000000000002"
    world.queue(first, "01000003")
    time.sleep(0.01)
    world.queue(second, "01000003")
    # Same case, same plan: equal targets, so the deadlines differ only by when each joined.
    world.services.store.set_presence("anna", "available")
    assert [o.call for o in world.dispatch()] == [first]


def test_a_caller_not_yet_holding_is_offered_once_twilio_has_them_in_the_queue(world):
    sid = "CAnew00000000000000000000000000001"
    wait_url = world.queue(sid, "01000003", hold=False)
    world.services.store.set_presence("anna", "available")
    assert world.dispatch() == []  # no QueueSid yet: the dequeue would have nothing to name
    world.hold(sid, wait_url)
    assert [o.call for o in world.dispatch()] == [sid]


def test_answering_joins_the_engineer_to_that_exact_caller_and_no_other(world):
    early, late = "CAearly00000000000000000000000001", "CAlate000000000000000000000000002"
    world.queue(late, "01000003")
    world.queue(early, "02000004")
    world.services.store.set_presence("anna", "available")
    world.dispatch()
    [rung] = world.offers()
    engineer = world.engineer_answers(rung)
    assert de(prompts.WHISPER, engineer=world.services.store.engineer("anna").name, case="0 2 0 0 0 0 0 4", plan=GERMAN.plan_name("premium"), severity="4",
              language=GERMAN.language_name("de")) in spoken(engineer)
    conference = engineer.find("Dial/Conference")
    assert conference is not None and conference.get("endConferenceOnExit") == "true"
    assert world.run_bridge_jobs() == ["bridged"]
    [dequeue] = world.api.requests("/Members/")
    assert dequeue.path.endswith(f"/Queues/{QUEUE_SID}/Members/{early}.json")
    assert dequeue["Url"].startswith("https://ivr.example.com/voice/offer/join?")
    # Twilio moves the caller to the join URL: they meet the engineer in the same conference.
    caller = twiml(world.post(dequeue["Url"], call_params(early)))
    assert spoken(caller) == de(prompts.CALLER_CONNECTING)
    assert caller.find("Dial/Conference").text == conference.text
    assert world.services.waiting.callers(DE) == [late]
    assert world.services.store.presence("anna") == "busy"


def test_answering_a_case_without_an_engineer_makes_them_its_engineer(world, redis_url, monkeypatch):
    sid = "CAwriteback000000000000000000000001"
    world.queue(sid, "01000003")
    world.services.store.set_presence("anna", "available")
    world.dispatch()
    world.engineer_answers(world.offers()[0])
    world.run_bridge_jobs()
    assert world.services.store.case_file("01000003").case.engineer == "anna"
    assert [e["engineer"] for e in world.services.events.of(sid, "case_assigned")] == ["anna"]
    # The next call about the case rings anna (she is free again after her wrap-up).
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    world.services.redis.delete("ivr:engaged:anna")  # the wrap-up has run out
    out = CliRunner().invoke(main, ["route", "01000003", "--line", EMEA, "--language", "de", "--at",
                                    WEDNESDAY_NOON, "--json"])
    assert out.exit_code == 0, out.output
    assert '"engineer": "anna"' in out.output


def test_an_unanswered_offer_leaves_the_caller_in_place_and_the_engineer_away(world):
    first, second = "CAfirst000000000000000000000000001", "CAsecond00000000000000000000000002"
    world.queue(first, "02000004")
    world.queue(second, "01000003")
    deadline = world.services.waiting.deadline(DE, first)
    world.services.store.set_presence("emil", "available")
    world.dispatch()
    [rung] = world.offers()
    world.engineer_call_ends(rung, "no-answer")
    assert world.services.store.presence("emil") == "away"
    assert world.services.waiting.callers(DE) == [first, second]
    assert world.services.waiting.deadline(DE, first) == deadline
    assert world.api.requests("/Members/") == []
    # The next free engineer gets that caller; emil is not offered them again when back.
    world.services.store.set_presence("anna", "available")
    world.dispatch()
    assert [o["To"].split("?")[0] for o in world.offers()] == ["client:emil", "client:anna"]
    assert parse_qs(urlsplit(world.offers()[1]["Url"]).query)["offer"] != parse_qs(
        urlsplit(rung["Url"]).query)["offer"]
    world.engineer_call_ends(world.offers()[1], "busy")
    world.services.store.set_presence("emil", "available")
    world.dispatch()
    third = world.offers()[2]
    assert third["To"].startswith("client:emil") and "case=01000003" in third["To"]


def test_a_phone_engineer_takes_the_call_with_a_key_and_a_voicemail_takes_nothing(world):
    sid = "CAphone000000000000000000000000001"
    world.queue(sid, "01000003")
    world.services.store.set_presence("dora", "available")
    world.dispatch()
    [rung] = world.offers()
    assert rung["To"] == "+4930123456"
    # A voicemail picks up: it hears the whisper and the question, presses nothing, and hangs up.
    answered = world.engineer_answers(rung)
    gather = answered.find("Gather")
    assert gather is not None and de(prompts.OFFER_ACCEPT, key="1") in spoken(gather)
    assert answered.find("Hangup") is not None
    world.engineer_call_ends(rung, "completed")
    assert world.api.requests("/Members/") == []
    assert world.services.waiting.callers(DE) == [sid]
    assert world.services.store.presence("dora") == "away"


def test_a_phone_engineer_pressing_the_key_is_joined(world):
    sid = "CAphone000000000000000000000000002"
    world.queue(sid, "01000003")
    world.services.store.set_presence("dora", "available")
    world.dispatch()
    joined = world.engineer_answers(world.offers()[0], digits="1")
    assert joined.find("Dial/Conference") is not None
    assert world.run_bridge_jobs() == ["bridged"]


def test_a_caller_who_hung_up_is_dropped_and_the_engineer_told_and_released(world):
    sid = "CAgone0000000000000000000000000001"
    world.queue(sid, "01000003")
    world.services.store.set_presence("anna", "available")
    world.dispatch()
    rung = world.offers()[0]
    world.engineer_answers(rung, sid="CAanna0000000000000000000000000009")
    world.api.hang_up(sid)
    assert world.run_bridge_jobs() == ["caller_gone"]
    told = world.api.requests("/Calls/CAanna0000000000000000000000000009.json")
    assert len(told) == 1 and de(prompts.OFFER_CALLER_GONE) in told[0]["Twiml"]
    assert world.services.waiting.callers(DE) == []
    assert world.services.store.presence("anna") == "available"


def test_twilio_429_is_retried_with_backoff(world, monkeypatch):
    monkeypatch.setattr("ivr.dispatch.rest.BACKOFF", 0.01)
    world.api.fail("Calls.json", status=429, times=2)
    world.queue("CAretry00000000000000000000000001", "01000003")
    world.services.store.set_presence("anna", "available")
    world.dispatch()
    assert len(world.offers()) == 3
    assert world.services.store.presence("anna") == "busy"  # the third try rang her


def test_a_failed_offer_request_is_a_missed_offer(world):
    world.api.fail("Calls.json", status=400, times=1)
    sid = "CAfail0000000000000000000000000001"
    world.queue(sid, "01000003")
    world.services.store.set_presence("anna", "available")
    world.dispatch()
    assert world.services.store.presence("anna") == "away"
    assert world.services.waiting.callers(DE) == [sid]


def test_a_caller_held_for_their_busy_engineer_is_offered_to_nobody_else_then_to_them(world):
    world.services.store.set_presence("emil", "available")
    world.services.redis.set("ivr:engaged:emil", "elsewhere", ex=60)  # emil is on another call
    sid = "CAclaim000000000000000000000000001"
    reply = world.post(CASE_URL, call_params(sid, Digits="03000002", IvrAt=WEDNESDAY_NOON))
    root = twiml(reply)
    assert de(prompts.HELD_FOR_ENGINEER) in spoken(root)
    world.hold(sid, root.find("Enqueue").get("waitUrl"))
    world.services.store.set_presence("anna", "available")
    assert world.dispatch() == []  # anna is free, but this caller is emil's
    world.services.redis.delete("ivr:engaged:emil")  # emil's call ends
    made = world.dispatch()
    assert [(o.engineer, o.call) for o in made] == [("emil", sid)]


def test_a_claim_ends_when_the_engineer_goes_away(world):
    world.services.store.set_presence("emil", "available")
    world.services.redis.set("ivr:engaged:emil", "elsewhere", ex=60)
    sid = "CAclaim000000000000000000000000002"
    reply = world.post(CASE_URL, call_params(sid, Digits="03000002", IvrAt=WEDNESDAY_NOON))
    world.hold(sid, twiml(reply).find("Enqueue").get("waitUrl"))
    world.services.store.set_presence("anna", "available")
    world.services.store.set_presence("emil", "away")
    assert [(o.engineer, o.call) for o in world.dispatch()] == [("anna", sid)]


def test_a_caller_gone_quiet_is_swept_and_never_offered(world):
    sid = "CAquiet00000000000000000000000001"
    world.queue(sid, "01000003")
    world.services.redis.hset(f"ivr:call:{sid}", "heard", f"{time.time() - 600:.3f}")
    world.services.store.set_presence("anna", "available")
    assert world.dispatch() == []
    assert world.offers() == []
    assert world.services.waiting.callers(DE) == []


def test_no_double_offer_under_concurrent_dispatchers(world):
    for i in range(6):
        world.queue(f"CArace{i:028d}", "01000003")
    for engineer in ("anna", "dora", "emil"):
        world.services.store.set_presence(engineer, "available")
    dispatchers = [Dispatcher(world.services, world.rest) for _ in range(4)]
    start = threading.Barrier(len(dispatchers))
    made = []

    def run(d):
        start.wait()
        for _ in range(3):
            made.extend(d.run_once())

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for d in dispatchers:
        d.pool.shutdown(wait=True)
    rung = world.api.wait_for("/Calls.json", count=3)
    time.sleep(0.2)
    rung = world.offers()
    assert len(made) == 3 and len(rung) == 3
    assert len({o.engineer for o in made}) == 3 and len({o.call for o in made}) == 3
    # The three earliest joiners (equal targets) are the ones offered.
    assert {o.call for o in made} == {f"CArace{i:028d}" for i in range(3)}


def test_presence_goes_busy_then_wrap_up_then_available(world):
    sid = "CAwrap0000000000000000000000000001"
    world.queue(sid, "01000003")
    world.services.store.set_presence("anna", "available")
    world.dispatch()
    rung = world.offers()[0]
    world.engineer_answers(rung)
    world.run_bridge_jobs()
    assert world.services.offers.current("anna")["state"] == "accepted"
    world.post(world.api.requests("/Members/")[0]["Url"], call_params(sid))
    assert world.services.offers.current("anna")["state"] == "bridged"
    world.engineer_call_ends(rung, "completed")
    assert world.services.store.presence("anna") == "busy"
    assert world.services.offers.current("anna")["state"] == "wrap_up"
    assert 25 <= world.services.redis.ttl("ivr:engaged:anna") <= 30
    log = [e for _id, e in world.services.redis.xrange("ivr:presence-log") if e["engineer"] == "anna"]
    assert [e["state"] for e in log] == ["available", "busy", "wrap_up"]
    assert float(log[-1]["until"]) == pytest.approx(float(log[-1]["at"]) + 30)
    world.services.redis.delete("ivr:engaged:anna")  # the TTL runs out
    assert world.services.store.presence("anna") == "available"
    since = world.services.store.presences(["anna"])["anna"].since
    assert since.timestamp() == pytest.approx(time.time() + 30, abs=5)  # free from the end of the wrap-up


def test_callers_hear_an_expected_wait_only_when_it_is_honest(world):
    first, second = "CAexp00000000000000000000000000001", "CAexp00000000000000000000000000002"
    world.queue(first, "02000004")
    wait_url = world.queue(second, "01000003")
    some_wait = de(prompts.EXPECTED_WAIT[1], num=99).split("99")[0]
    # Nobody on shift and no history: no number.
    assert some_wait not in spoken(world.hold(second, wait_url))
    for waited in (120, 180, 240):
        world.services.waiting.answered(DE, waited)
    assert some_wait not in spoken(world.hold(second, wait_url))  # still nobody on shift
    world.services.store.set_presence("dora", "busy")
    heard = spoken(world.hold(second, wait_url))
    assert GERMAN.plural(prompts.QUEUE_AHEAD, 1) in heard
    average, samples = world.services.waiting.answered_wait(DE)
    assert samples == 3 and average == pytest.approx(135 + 0.25 * (240 - 135))
    minutes = int(-(-average * 2 // 60))  # one ahead, one engineer on shift: two average waits, rounded up
    assert GERMAN.plural(prompts.EXPECTED_WAIT, minutes) in heard
    assert some_wait not in spoken(world.hold(first, wait_url))  # next in line: no number at all


def test_an_engineer_rung_directly_for_their_case_is_not_offered_anyone_meanwhile(world):
    world.services.store.set_presence("emil", "available")
    waiting = "CAwaiting000000000000000000000001"
    world.queue(waiting, "01000003")
    direct = "CAdirect0000000000000000000000001"
    root = twiml(world.post(CASE_URL, call_params(direct, Digits="03000002", IvrAt=WEDNESDAY_NOON)))
    dial = root.find("Dial")
    assert dial is not None and dial.find("Client/Identity").text == "emil"
    assert world.services.store.presence("emil") == "busy"
    assert world.services.offers.current("emil")["case"] == "03000002"
    assert world.dispatch() == []  # emil's phone is ringing with his own case's caller
    # He does not answer: free again at once, and the caller waiting is offered to him.
    reply = world.post(dial.get("action"), call_params(direct, DialCallStatus="no-answer"))
    assert twiml(reply).find("Enqueue") is not None
    assert world.services.store.presence("emil") == "available"
    made = world.dispatch()
    assert [o.engineer for o in made] == ["emil"]


def test_a_call_for_an_engineer_a_dispatcher_just_reserved_waits_for_them(world):
    world.services.store.set_presence("emil", "available")
    world.queue("CAwaiting000000000000000000000002", "01000003")
    world.dispatch()  # emil is now being offered that caller
    sid = "CAdirect0000000000000000000000002"
    root = twiml(world.post(CASE_URL, call_params(sid, Digits="03000002", IvrAt=WEDNESDAY_NOON)))
    assert root.find("Dial") is None and root.find("Enqueue") is not None
    assert de(prompts.HELD_FOR_ENGINEER) in spoken(root)
    [row] = [r for r in waiting_in_order(world.services) if r.call_sid == sid]
    assert row.claimed_by == "emil"


def test_a_direct_call_answered_keeps_the_engineer_busy_through_the_wrap_up(world):
    world.services.store.set_presence("emil", "available")
    sid = "CAdirect0000000000000000000000003"
    root = twiml(world.post(CASE_URL, call_params(sid, Digits="03000002", IvrAt=WEDNESDAY_NOON)))
    whisper = root.find("Dial/Client").get("url")
    twiml(world.post(whisper, {"CallSid": "CAleg00000000000000000000000000001", "From": "+442079460100",
                               "To": "client:emil", "AccountSid": "AC" + "a" * 32}))
    assert world.services.offers.current("emil")["state"] == "bridged"
    world.post(root.find("Dial").get("action"), call_params(sid, DialCallStatus="completed"))
    assert world.services.offers.current("emil")["state"] == "wrap_up"
    assert world.services.store.presence("emil") == "busy"


def test_take_next_call_ends_the_wrap_up_and_names_the_caller_about_to_be_offered(world):
    sid = "CAtake0000000000000000000000000001"
    world.queue(sid, "01000003")
    world.queue("CAtake0000000000000000000000000002", "02000004")
    world.services.store.set_presence("anna", "available")
    world.dispatch()
    rung = world.offers()[0]
    world.engineer_answers(rung)
    world.run_bridge_jobs()
    world.engineer_call_ends(rung, "completed")
    assert world.services.store.presence("anna") == "busy"  # wrapping up
    row = take_next(world.services, "anna")
    assert row is not None and row.call_sid == sid and row.case == "01000003"
    assert world.services.store.presence("anna") == "available"
    assert [(o.engineer, o.call) for o in world.dispatch()] == [("anna", sid)]


def test_a_lost_dial_result_does_not_leave_the_engineer_busy_for_hours(world):
    world.services.store.set_presence("emil", "available")
    sid = "CAdirect0000000000000000000000004"
    root = twiml(world.post(CASE_URL, call_params(sid, Digits="03000002", IvrAt=WEDNESDAY_NOON)))
    twiml(world.post(root.find("Dial/Client").get("url"), {"CallSid": "CAleg00000000000000000000000000002",
                                                           "From": "+442079460100", "To": "client:emil",
                                                           "AccountSid": "AC" + "a" * 32}))
    # No dial result ever comes; the caller's call ends and Twilio reports its final status.
    assert world.post("/voice/status", call_params(sid, CallStatus="completed", CallDuration="300")).status_code == 204
    assert world.services.offers.current("emil")["state"] == "wrap_up"
    assert world.services.redis.ttl("ivr:engaged:emil") <= 30


def test_the_offer_twiml_nests_as_the_schema_allows(world):

    from .test_twiml_nesting import SCHEMA, allowed_children, misplaced

    if not SCHEMA.exists():
        pytest.skip(f"the shared TwiML schema is not at {SCHEMA}")
    first, second = "CAnest0000000000000000000000000001", "CAnest0000000000000000000000000002"
    world.queue(first, "02000004")
    world.queue(second, "01000003")
    world.services.store.set_presence("anna", "available")
    world.services.store.set_presence("dora", "available")
    world.dispatch()
    [app_offer] = [o for o in world.offers() if o["To"].startswith("client:")]
    [phone_offer] = [o for o in world.offers() if o["To"].startswith("+")]
    documents = [world.engineer_answers(app_offer), world.engineer_answers(phone_offer, sid="CAengineer0002"),
                 world.engineer_answers(phone_offer, digits="1", sid="CAengineer0002")]
    world.run_bridge_jobs()
    for dequeue in world.api.requests("/Members/"):
        call = dequeue.path.rsplit("/", 1)[-1].removesuffix(".json")
        documents.append(twiml(world.post(dequeue["Url"], call_params(call))))
    assert {"Gather", "Dial", "Conference", "Hangup"} <= {node.tag for doc in documents for node in doc.iter()}
    allowed = allowed_children()
    assert [p for doc in documents for p in misplaced(doc, allowed)] == []

