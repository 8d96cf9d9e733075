"""Whole calls against two real `ivr serve --demo` processes and a real Redis (SPEC §2–§5, §7).

The demo data (ivr/demo.py): case `<d>000<suffix>` per region digit d (us=1 ca=2 emea=3 apac=4
latam=5) has the outcome in OUTCOMES; `<d>1<j>00001` rings the engineer of the line's j-th
language. Every call names its moment with `--at`, so hours and deadlines are fixed.

`ivr call --url` (`ivr_call`) rehearses a call: it is heard in full but leaves nothing behind, so tests that
read the state a call leaves (a waiting caller, a callback request, a record) place it with `phone`.
"""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from twilio.request_validator import RequestValidator

from ivr.adapters.calls.records import Records
from ivr.voice import prompts
from ivr.voice.speech import Catalogs

from .conftest import (logged_webhooks, APAC, CA, CALL_TIMEOUT, DIGIT, EMEA, EMEA_PARTNER, IVR, LANGUAGES, LATAM, LINES, SATURDAY,
                       TIMEZONES, TOKEN, US, at, ivr_call)

PORTAL = "support.example.com"
EMAIL = "support@example.com"

# What an English caller hears (SPEC §2–§5), written out: the catalogs must say exactly this.
GREETING = {region: f"Thank you for calling Contoso technical support for {name}." for region, name in (
    ("us", "the United States"), ("ca", "Canada"), ("emea", "Europe, the Middle East and Africa"),
    ("apac", "Asia-Pacific"), ("latam", "Latin America"))}
PARTNER_GREETING = "Thank you for calling the Contoso partner support line."
ASK_CASE = ("Please enter your eight-digit case number, or say it. You will find it in the e-mail that confirmed "
            "your case, and on the customer portal. If you do not have a case number, press star.")
ASK_CASE_AGAIN = "Please enter your eight-digit case number, or say it digit by digit."
CASE_MALFORMED = "Sorry, a case number has eight digits."
REPEAT_OFFER = "To hear this again, press star."
SMS_OFFER = "To get the customer portal's address by text message, press {key} now."
CALLBACK_AT_OPENING_OFFER = "If you would like us to call you back when we open, press 1 now."
GOODBYE = "Thank you for calling. Goodbye."


def read_back(case: str) -> str:
    return (f"You said case number {spaced(case)}. If that is right, press 1 or say yes. "
            "If not, press 2 or say no.")


def closed_try_another(case: str) -> str:
    return f"Case {spaced(case)} is no longer open. If you meant another case, please enter or say its number now."


CATALOGS = Catalogs()
"""The service's own catalogs. A spoken opening time ("on Monday at 8 AM", "am Montag um 8 Uhr") is computed with
the `Speaker.when` the server says it with; the tests that use it also check it is in the caller's language."""


def opening(region: str, lang: str, day: str, clock: str, now: str) -> str:
    """Return how a region's line says, in a language, an opening at a wall-clock time in the line's zone."""
    zone = ZoneInfo(TIMEZONES[region])
    moment = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)
    return CATALOGS.speaker(region, lang).when(moment, datetime.fromisoformat(now).astimezone(zone))

# The <Say language> each region's line speaks each language in (SPEC §2: es on the US line is
# es-US, on EMEA es-ES; fr in Canada fr-CA; pt pt-BR; zh Mandarin cmn-CN).
SAY = {
    ("us", "en"): "en-US", ("us", "es"): "es-US",
    ("ca", "en"): "en-US", ("ca", "fr"): "fr-CA",
    ("emea", "en"): "en-GB", ("emea", "de"): "de-DE", ("emea", "fr"): "fr-FR", ("emea", "ru"): "ru-RU",
    ("emea", "es"): "es-ES", ("emea", "it"): "it-IT",
    ("apac", "en"): "en-AU", ("apac", "ja"): "ja-JP", ("apac", "zh"): "cmn-CN",
    ("latam", "en"): "en-US", ("latam", "es"): "es-MX", ("latam", "pt"): "pt-BR",
}
NAMES = {"en": "Alex Morgan", "es": "Lucía Romero", "fr": "Camille Martin", "de": "Anna Weber",
         "ru": "Ivan Petrov", "it": "Giulia Conti", "ja": "Yui Sato", "zh": "Li Wei", "pt": "Ana Souza"}
SCRIPT = {"ru": re.compile(r"[\u0400-\u04ff]"), "ja": re.compile(r"[\u3040-\u30ff]"),
          "zh": re.compile(r"[\u4e00-\u9fff]")}
"""Languages with their own script: their prompts must be written in it."""

LANGUAGE_CASES = [(region, lang, f"{DIGIT[region]}1{j}00001", j)
                  for region, languages in LANGUAGES.items() for j, lang in enumerate(languages, start=1)]

NOON = at("us")
"""Wednesday 12:00 in New York: every plan's phones are open."""


def spaced(number: str) -> str:
    return " ".join(number)


def texts(heard: list[dict]) -> list[str]:
    return [h["text"] for h in heard]


def deadline_of(services, queue: str, sid: str) -> str | None:
    """Return a waiting caller's deadline as stored in the queue's ordering, or None if not waiting."""
    score = services.waiting.deadline(queue, sid)
    return None if score is None else datetime.fromtimestamp(score).astimezone().isoformat()


def same_moment(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def refusal_of(heard: list[dict], reason: str, language: str = "en-US") -> list[str]:
    """Check how an English refusal ends and return its sentences (why, and what to do instead).

    Every refusal is its sentence(s), then one Gather offering the next steps (outside hours: a callback when
    phones open, key 1, and the portal's address by SMS, key 2; otherwise the SMS, key 1) and a repeat on star,
    then the goodbye before the hang-up.
    """
    outside = reason == "outside_hours"
    tail = ([CALLBACK_AT_OPENING_OFFER, SMS_OFFER.format(key=2)] if outside else [SMS_OFFER.format(key=1)])
    tail += [REPEAT_OFFER, GOODBYE]
    said = texts(heard)
    assert said[-len(tail):] == tail, said
    sentences = 3 if outside else 1  # outside hours: when it opens, the plan's hours, the portal at any time
    assert {h["language"] for h in heard[-len(tail) - sentences:]} == {language}, heard
    return said[-len(tail) - sentences:-len(tail)]


# --- signatures (SPEC §7) ------------------------------------------------------------------------------


INCOMING = {"CallSid": "CA" + "1" * 32, "AccountSid": "AC" + "0" * 32, "From": "+15555550100", "To": US,
            "CallStatus": "ringing", "Direction": "inbound"}


def test_a_correctly_signed_incoming_call_is_answered(servers, http):
    url = servers.url(0) + "/voice/incoming"
    signature = RequestValidator(TOKEN).compute_signature(url, INCOMING)

    reply = http.post(url, data=INCOMING, headers={"X-Twilio-Signature": signature}, timeout=10)

    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/xml")
    assert "<Gather" in reply.text


@pytest.mark.parametrize("how", ["unsigned", "empty", "wrong token", "other server's url", "tampered form"])
def test_an_incoming_call_not_signed_with_the_auth_token_is_refused(servers, http, how):
    url = servers.url(0) + "/voice/incoming"
    params = dict(INCOMING)
    headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)}
    if how == "unsigned":
        headers = {}
    elif how == "empty":
        headers = {"X-Twilio-Signature": ""}
    elif how == "wrong token":
        headers = {"X-Twilio-Signature": RequestValidator("not-the-token").compute_signature(url, params)}
    elif how == "other server's url":
        headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(
            servers.url(1) + "/voice/incoming", params)}
    else:
        params["To"] = EMEA

    reply = http.post(url, data=params, headers=headers, timeout=10)

    assert reply.status_code == 403
    assert "<Response" not in reply.text


def test_the_status_callback_needs_a_signature_too(servers, http):
    reply = http.post(servers.url(1) + "/voice/status", data={"CallSid": "CA" + "2" * 32, "CallStatus": "completed"},
                      timeout=10)

    assert reply.status_code == 403


def test_the_demo_server_uses_the_auth_token_it_was_given(servers):
    for data_dir in servers.data_dirs:
        assert (data_dir / "demo-token").read_text().strip() == TOKEN


def test_ivr_call_finds_the_demo_token_in_the_data_directory(servers):
    out = ivr_call(servers, US, "1,10000001", NOON, port=1, token=None)

    assert out["outcome"] == {"kind": "engineer", "target": "us-en", "reason": "preferred_engineer"}


def test_ivr_call_with_the_wrong_token_is_turned_away_at_the_first_webhook(servers):
    out = ivr_call(servers, US, "1,10000001", NOON, token="not-the-token")

    assert out["outcome"] == {"kind": "hangup", "target": None, "reason": "http_403"}
    assert out["heard"] == []


# --- one call for every outcome, through the real `ivr call` ---------------------------------------------


def test_the_engineer_who_worked_the_case_is_rung_with_a_whisper(servers):
    out = ivr_call(servers, US, "1,10000001", NOON)

    assert out["outcome"] == {"kind": "engineer", "target": "us-en", "reason": "preferred_engineer"}
    assert out["heard"][0]["text"] == GREETING["us"]
    assert NAMES["en"] in out["heard"][-1]["text"]
    [whisper] = out["whisper"]
    assert whisper["language"] == "en-US"
    # The engineer hears their own name first, then the case number read digit by digit, its plan and its
    # severity (production, severity 2).
    assert whisper["text"].startswith(NAMES["en"] + ", "), whisper["text"]
    assert spaced("10000001") in whisper["text"]
    rest = whisper["text"].replace(spaced("10000001"), "")
    assert "Production" in rest
    assert re.search(r"\b2\b", rest), rest


def test_an_engineer_who_does_not_answer_passes_the_caller_to_the_queue_without_asking_again(servers, phone, services):
    caller = "+15555550201"
    call = phone.call(US, "1,10000001,n", NOON, caller=caller)

    assert call.outcome == {"kind": "queue", "target": "us-en", "reason": "queue"}
    assert call.result.whisper, "the engineer was rung first"
    heard = texts(call.heard)
    ask, connecting = heard[3], heard[4]
    assert ask == ASK_CASE
    assert NAMES["en"] in connecting
    assert heard.count(ask) == 1, heard  # the case number was asked for once only
    assert len(set(heard)) == len(heard), heard  # nothing was played twice
    state = services.calls.get(call.sid)
    assert state["caller"] == caller
    assert state["dial_status"] == "no-answer"
    assert state["queue"] == "us-en"
    # production, severity 2: 180 minutes from 12:00 New York
    assert same_moment(deadline_of(services, "us-en", call.sid), "2026-11-18T15:00:00-05:00")


def test_a_case_without_an_engineer_queues_by_its_deadline(servers, phone, services):
    caller = "+15555550202"
    call = phone.call(US, "1,10000002", NOON, caller=caller)

    assert call.outcome == {"kind": "queue", "target": "us-en", "reason": "queue"}
    assert call.result.whisper == []
    state = services.calls.get(call.sid)
    assert state["caller"] == caller
    # premium, severity 1: 30 minutes
    assert same_moment(state["deadline"], "2026-11-18T12:30:00-05:00")
    assert same_moment(deadline_of(services, "us-en", call.sid), "2026-11-18T12:30:00-05:00")
    waiting = json.loads(state["waiting"])
    assert (waiting["case"], waiting["plan"], waiting["severity"], waiting["language"]) == ("10000002", "premium", 1, "en")


def test_a_busy_engineer_sends_the_caller_to_the_queue_with_a_first_claim(servers, phone, services):
    caller = "+15555550203"
    call = phone.call(US, "1,10000003", NOON, caller=caller)

    assert call.outcome == {"kind": "queue", "target": "us-en", "reason": "queue"}
    assert call.result.whisper == [], "a busy engineer is not rung"
    state = services.calls.get(call.sid)
    assert state["caller"] == caller
    assert json.loads(state["waiting"])["preferred"] == "us-busy"
    # production, severity 3: 360 minutes
    assert same_moment(deadline_of(services, "us-en", call.sid), "2026-11-18T18:00:00-05:00")


def test_a_waiting_caller_can_leave_a_callback_request(servers, phone, services):
    caller = "+15555550204"
    call = phone.call(US, "1,10000002,1,1", NOON, caller=caller)  # the key, then the number confirmed

    assert call.outcome == {"kind": "hangup", "target": "us-en", "reason": "callback"}
    assert spaced("10000002") in call.heard[-1]["text"]
    assert spaced(caller) in call.heard[-1]["text"]
    # The caller has left the queue: their call has the one callback request from their number.
    requests_ = [request for request in services.callbacks.requests() if request["caller"] == caller]
    assert len(requests_) == 1, requests_
    request = requests_[0]
    sid = request["sid"]
    assert sid == call.sid
    state = services.calls.get(sid)
    assert state["caller"] == caller
    assert state["callback"] == "requested"
    assert state["queue_result"] == "leave"
    assert deadline_of(services, "us-en", sid) is None, "the caller no longer waits in the queue"
    assert sid in services.callbacks.pending("us-en")
    assert [r for r in services.callbacks.requests() if r["sid"] == sid] == [request]
    assert (request["case"], request["caller"], request["queue"], request["reason"]) == (
        "10000002", caller, "us-en", "caller")


def waiting_from(services, queue: str, caller: str) -> list[str]:
    """Return the CallSids of the calls from a caller's number waiting in a queue."""
    return [sid for sid in services.waiting.callers(queue) if services.calls.get(sid).get("caller") == caller]


def run_worker(servers) -> None:
    """Run the real `ivr worker --burst` on the servers' Redis and configuration: it does the queued work (call
    records, due at once there) and stops."""
    env = dict(os.environ, REDIS_URL=servers.redis_url, IVR_DATA_DIR=str(servers.data_dirs[0]),
               IVR_CONFIG=str(servers.data_dirs[0].parent / "e2e.toml"))
    worker = subprocess.run([IVR, "worker", "--burst"], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=CALL_TIMEOUT, check=False)
    assert worker.returncode == 0, worker.stderr


def test_ivr_call_is_a_rehearsal_heard_in_full_that_leaves_nothing_behind(servers, phone, http, services):
    records = Records(services.redis)
    start = time.time() - 1
    # A real call, for comparison: it leaves a callback request, and the worker records it once it ends.
    # Numbers of their own, so nothing another run left behind can be taken for this run's.
    real_caller, holding, leaving = (f"+1555555{n:04d}" for n in random.SystemRandom().sample(range(1000, 10000), 3))
    real = phone.call(US, "1,10000002,1,1", NOON, caller=real_caller)
    assert real.outcome == {"kind": "hangup", "target": "us-en", "reason": "callback"}
    assert signed_post(servers, http, 0, "/voice/status", dict(INCOMING, CallSid=real.sid, From=real_caller,
                                                               CallStatus="completed", CallDuration="20")).status_code == 204

    # `ivr call --url`: one caller holds until the script ends, one takes the callback.
    held = ivr_call(servers, US, "1,10000002", NOON, caller=holding)
    left = ivr_call(servers, US, "1,10000002,1,1", NOON, caller=leaving)

    assert held["outcome"] == {"kind": "queue", "target": "us-en", "reason": "queue"}
    # The hold announcement (the wait URL's TwiML) is heard as a real caller hears it, callback offer included.
    [hold] = held["hold"]
    assert "<Gather" in hold and "If you would rather we call you back, press 1 now." in hold
    assert left["outcome"] == {"kind": "hangup", "target": "us-en", "reason": "callback"}
    # The caller hears the callback confirmed, word for word what the real caller heard (but their number).
    confirmed = left["heard"][-1]["text"]
    assert spaced("10000002") in confirmed and spaced(leaving) in confirmed
    assert confirmed == real.heard[-1]["text"].replace(spaced(real_caller), spaced(leaving))

    # Nothing is left behind: nobody waiting, no callback request or pending callback, and, once the worker
    # has run, no call record; the real call has all three of its own.
    for caller in (holding, leaving):
        assert waiting_from(services, "us-en", caller) == []
    assert [r for r in services.callbacks.requests() if r["caller"] in (holding, leaving)] == []
    pending = services.callbacks.pending("us-en")
    assert real.sid in pending
    assert [sid for sid in pending if services.calls.get(sid).get("caller") in (holding, leaving)] == []
    run_worker(servers)
    recorded = {r["sid"]: r for r in records.since(start)}
    assert recorded[real.sid]["caller"] == real_caller
    assert [r for r in recorded.values() if r.get("caller") in (holding, leaving)] == []


REFUSALS = [
    # (reason, keys after the language key, moment, what the refusal must say)
    ("case_not_found", "99999999,1234,99999998", NOON, ["We could not find your case.", PORTAL]),
    ("no_case_number", "99999999,1234,w", NOON, ["We did not get a case number.", PORTAL]),  # silence at the last try
    ("no_case", "*", NOON, [PORTAL]),  # star: no case number
    ("case_closed", "10000006,w", NOON, [PORTAL, spaced("10000006")]),  # silence when asked for another number
    ("case_closed", "10000010,w", NOON, [PORTAL, spaced("10000010")]),  # cancelled
    ("general_inquiry", "10000007", NOON, [PORTAL, EMAIL, spaced("10000007")]),
    ("no_phone_support", "10000008", NOON, [PORTAL, EMAIL]),
    ("maintenance_expired", "10000009", NOON, [PORTAL]),
    # basic on a Saturday; evaluation at 17:00, the first closed minute: when phones open, in New York time
    ("outside_hours", "10000004", at("us", SATURDAY), [
        "Phone support for your plan is closed right now. It opens again "
        + opening("us", "en", "2026-11-23", "08:00", at("us", SATURDAY)) + ", New York time.",
        "Your plan includes phone support Monday to Friday, from 8 AM to 8 PM.",
        f"You can update your case on the customer portal at {PORTAL} at any time."]),
    ("outside_hours", "10000005", at("us", clock="17:00"), [
        "Phone support for your plan is closed right now. It opens again "
        + opening("us", "en", "2026-11-19", "08:00", at("us", clock="17:00")) + ", New York time.",
        "Your plan includes phone support Monday to Friday, from 8 AM to 5 PM.",
        f"You can update your case on the customer portal at {PORTAL} at any time."]),
]


@pytest.mark.parametrize("reason,keys,when,mentions", REFUSALS, ids=[f"{r[0]}-{r[1][:8]}" for r in REFUSALS])
def test_each_refusal_tells_the_caller_why_and_what_to_do_offers_the_next_steps_then_hangs_up(
        servers, reason, keys, when, mentions):
    out = ivr_call(servers, US, f"1,{keys}", when)

    assert out["outcome"] == {"kind": "hangup", "target": None, "reason": reason}
    assert out["whisper"] == []
    # The refusal, then the offers (a callback at the opening, the portal's address by SMS, hearing it again),
    # then the goodbye.
    refusal = " ".join(refusal_of(out["heard"], reason))
    for mention in mentions:
        assert mention in refusal, refusal


@pytest.mark.parametrize("case", ["10000006", "10000010"], ids=["closed", "cancelled"])
def test_a_closed_case_first_asks_for_another_number_and_routes_that_one(servers, case):
    out = ivr_call(servers, US, f"1,{case},10000002", NOON)

    assert out["outcome"] == {"kind": "queue", "target": "us-en", "reason": "queue"}
    said = texts(out["heard"])
    assert said[3:5] == [ASK_CASE, closed_try_another(case)], said


def test_three_bad_case_numbers_are_each_answered_before_the_refusal(servers, phone):
    call = phone.call(US, "1,99999999,1234,99999998", NOON)

    assert call.outcome["reason"] == "case_not_found"
    assert call.paths.count("/voice/case") == 3
    heard = texts(call.heard)
    # welcome, 2 menu options, then: ask, unknown (read back), ask again, malformed, ask again, (unknown) the
    # refusal, the offer of the portal's address by SMS, the offer to hear it again, goodbye
    assert len(heard) == 12, heard
    assert heard[3] == ASK_CASE, "the first time, where to find the number and what to do without one"
    assert spaced("99999999") in heard[4]
    assert heard[6] == CASE_MALFORMED
    assert heard[5] == heard[7] == ASK_CASE_AGAIN, "the case number is asked for again after each"
    assert refusal_of(call.heard, "case_not_found") == [heard[8]]
    assert heard[8].startswith("We could not find your case.") and PORTAL in heard[8]
    assert spaced("99999998") not in heard[8]


# --- hours and deadlines: the same cases inside their hours queue ---------------------------------------


@pytest.mark.parametrize("case,when,deadline", [
    ("10000004", at("us"), "2026-11-18T20:00:00-05:00"),  # basic sev 2: 480 business minutes, 12:00-20:00
    ("10000004", at("us", clock="08:00"), "2026-11-18T16:00:00-05:00"),  # 08:00 is open
    ("10000005", at("us", clock="16:59"), "2026-11-19T15:59:00-05:00"),  # evaluation sev 1 counts as 2
])
def test_business_hours_plans_queue_inside_their_hours(servers, phone, services, case, when, deadline):
    call = phone.call(US, f"1,{case}", when)

    assert call.outcome == {"kind": "queue", "target": "us-en", "reason": "queue"}
    assert same_moment(deadline_of(services, "us-en", call.sid), deadline)


def test_a_basic_plan_is_refused_at_night(servers, phone):
    call = phone.call(US, "1,10000004", at("us", clock="22:00"))

    assert call.outcome == {"kind": "hangup", "target": None, "reason": "outside_hours"}
    tomorrow = opening("us", "en", "2026-11-19", "08:00", at("us", clock="22:00"))
    assert tomorrow.startswith("tomorrow "), tomorrow  # Thursday 08:00 is said as the next day
    assert refusal_of(call.heard, "outside_hours")[0] == (
        f"Phone support for your plan is closed right now. It opens again {tomorrow}, New York time.")


@pytest.mark.parametrize("region,key,lang,weekday", [
    ("emea", "2", "de", "Montag"),
    ("us", "2", "es", "lunes"),
    ("apac", "2", "ja", "月曜日"),
])
def test_the_opening_time_is_said_in_the_callers_language(servers, phone, region, key, lang, weekday):
    when = at(region, SATURDAY)
    call = phone.call(LINES[region], f"{key},{DIGIT[region]}0000004", when)

    assert call.outcome["reason"] == "outside_hours"
    voice = SAY[(region, lang)]
    assert call.heard[-1] == {"text": CATALOGS.speaker(region, lang).text(prompts.GOODBYE), "language": voice,
                              "voice": call.heard[-1]["voice"]}
    # Saturday noon: phones open on Monday at 08:00 in the line's zone, said as the language says it.
    said = opening(region, lang, "2026-11-23", "08:00", when)
    assert weekday in said and "8" in said, said
    # The refusal's first sentence (then the plan's hours, the portal, two offers, the repeat, the goodbye).
    refusal = call.heard[-7]
    assert refusal["language"] == voice
    assert said in refusal["text"], refusal["text"]
    assert CATALOGS.speaker(region, lang).zone_city(TIMEZONES[region]) in refusal["text"]


def test_the_partner_line_offers_english_only_and_serves_round_the_clock(servers, phone, services):
    caller = "+15555550205"
    # A basic-plan partner account gets production-level support: 03:00 on a Saturday is open.
    call = phone.call(EMEA_PARTNER, "39000001", at("emea", SATURDAY, "03:00"), caller=caller)

    assert call.outcome == {"kind": "queue", "target": "emea-en", "reason": "queue"}
    heard = call.heard
    assert len(heard) == 5, "welcome, case number, queue announcement, position, callback offer: no menu"
    assert heard[0]["text"] == PARTNER_GREETING
    assert heard[1]["text"] == ASK_CASE
    assert {h["language"] for h in heard} == {"en-GB"}
    assert services.calls.get(call.sid)["caller"] == caller
    # production severity 1: 60 minutes, in the account's zone (Amsterdam, UTC+1)
    assert same_moment(deadline_of(services, "emea-en", call.sid), "2026-11-21T05:00:00+01:00")


@pytest.mark.parametrize("line,said,case,target", [
    (EMEA, "2,s:3 1 2 0 0 0 0 1.,1", "31200001", "emea-de"),
    (APAC, "2,s:４１２００００１,1", "41200001", "apac-ja"),  # full-width digits, as Japanese recognition gives them
], ids=["spaced-digits", "full-width-digits"])
def test_a_case_number_can_be_said_instead_of_keyed_and_is_read_back_first(servers, phone, line, said, case, target):
    region, lang = target.split("-")
    call = phone.call(line, said, at(region))

    assert call.outcome == {"kind": "engineer", "target": target, "reason": "preferred_engineer"}
    assert call.paths.count("/voice/case-confirm") == 1
    n = len(LANGUAGES[region])
    # welcome, menu, case prompt, the number read back digit by digit in the caller's language, connecting
    read = call.heard[n + 2]
    assert read["language"] == SAY[(region, lang)]
    assert read["text"] == CATALOGS.speaker(region, lang).text(prompts.CASE_READ_BACK, case=spaced(case))
    assert NAMES[lang] in call.heard[n + 3]["text"]
    assert spaced(case) in call.result.whisper[0]["text"]


def test_a_spoken_case_number_is_routed_only_once_the_caller_confirms_it(servers):
    # 10000001 would ring its engineer: the caller says no, and keys 10000002 instead.
    out = ivr_call(servers, US, "1,s:1 0 0 0 0 0 0 1,2,10000002", NOON)

    assert out["outcome"] == {"kind": "queue", "target": "us-en", "reason": "queue"}
    assert out["whisper"] == [], "the number said and denied rang nobody"
    assert texts(out["heard"])[3:6] == [ASK_CASE, read_back("10000001"), ASK_CASE_AGAIN]


def test_a_spoken_case_number_confirmed_by_saying_yes_is_routed(servers):
    out = ivr_call(servers, US, "1,s:1 0 0 0 0 0 0 1,s:yes", NOON)

    assert out["outcome"] == {"kind": "engineer", "target": "us-en", "reason": "preferred_engineer"}
    assert texts(out["heard"])[3:5] == [ASK_CASE, read_back("10000001")]
    assert spaced("10000001") in out["whisper"][0]["text"]


def test_a_number_not_configured_reaches_the_default_line(servers, phone):
    call = phone.call("+15550009999", "2,10000001", NOON)

    # The US line (English, Spanish); Spanish is key 2; the case's engineer speaks only English.
    assert call.outcome == {"kind": "queue", "target": "us-es", "reason": "queue"}
    assert [h["language"] for h in call.heard[1:3]] == ["en-US", "es-US"]


# --- every line and every language ----------------------------------------------------------------------


_REFERENCE: dict[str, list[dict]] = {}


def english(phone, region: str) -> list[dict]:
    """What a caller choosing English on a region's line hears on the way to the engineer."""
    if region not in _REFERENCE:
        call = phone.call(LINES[region], f"1,{DIGIT[region]}1100001", at(region))
        assert call.outcome["target"] == f"{region}-en"
        _REFERENCE[region] = call.heard
    return _REFERENCE[region]


@pytest.mark.parametrize("region", list(LINES))
def test_the_language_menu_offers_each_language_in_its_own_voice(servers, phone, region):
    call = phone.call(LINES[region], "w,w,w", at(region))

    languages = LANGUAGES[region]
    # The greeting names the company and the region reached, in the line's first language.
    assert call.heard[0] == {"text": GREETING[region], "language": SAY[(region, "en")], "voice": call.heard[0]["voice"]}
    options = call.heard[1:1 + len(languages)]
    assert [o["language"] for o in options] == [SAY[(region, lang)] for lang in languages]
    for key, option in enumerate(options, start=1):
        assert str(key) in option["text"]
    assert len({o["text"] for o in options}) == len(options)
    # Silence at the menu (twice) picks the line's first language; silence at the case prompt three times ends
    # the call, told that no case number was heard.
    assert call.outcome == {"kind": "hangup", "target": None, "reason": "no_case_number"}
    assert refusal_of(call.heard, "no_case_number", SAY[(region, languages[0])])[0].startswith(
        "We did not get a case number.")


@pytest.mark.parametrize("region,lang,case,key", LANGUAGE_CASES,
                         ids=[f"{r}-{lang}" for r, lang, _c, _k in LANGUAGE_CASES])
def test_each_language_is_spoken_from_the_menu_on(servers, phone, region, lang, case, key):
    call = phone.call(LINES[region], f"{key},{case}", at(region))

    assert call.outcome == {"kind": "engineer", "target": f"{region}-{lang}", "reason": "preferred_engineer"}
    n = len(LANGUAGES[region])
    assert len(call.heard) == n + 3, texts(call.heard)  # welcome, menu, case prompt, connecting
    ask, connecting = call.heard[n + 1], call.heard[n + 2]
    [whisper] = call.result.whisper
    voice = SAY[(region, lang)]
    assert (ask["language"], connecting["language"], whisper["language"]) == (voice, voice, voice)
    assert NAMES[lang] in connecting["text"]
    assert whisper["text"].startswith(NAMES[lang]), whisper["text"]  # the engineer is named first
    assert spaced(case) in whisper["text"]
    reference = english(phone, region)
    if lang == "en":
        assert ask["text"] == reference[n + 1]["text"]
    else:
        assert ask["text"] != reference[n + 1]["text"]
        assert connecting["text"].replace(NAMES[lang], "") != reference[n + 2]["text"].replace(NAMES["en"], "")
    if lang in SCRIPT:
        for said in (ask, connecting, whisper):
            assert SCRIPT[lang].search(said["text"]), said


def test_a_caller_in_canada_can_be_served_in_french_through_the_cli(servers):
    out = ivr_call(servers, CA, "2,21200001", at("ca"))

    assert out["outcome"] == {"kind": "engineer", "target": "ca-fr", "reason": "preferred_engineer"}
    assert {h["language"] for h in out["heard"][3:]} == {"fr-CA"}
    assert out["whisper"][0]["language"] == "fr-CA"


def test_a_caller_in_latin_america_can_be_served_in_portuguese_through_the_cli(servers):
    out = ivr_call(servers, LATAM, "3,51300001", at("latam"))

    assert out["outcome"] == {"kind": "engineer", "target": "latam-pt", "reason": "preferred_engineer"}
    assert {h["language"] for h in out["heard"][4:]} == {"pt-BR"}


# --- one call over both server processes -----------------------------------------------------------------


def answered_by_each_server(servers, before: list[int], call) -> list[list[str]]:
    """Wait (bounded) until both access logs show the call's webhooks; return each server's share."""
    expected = [[path for port, path in call.sent if port == p] for p in servers.ports]
    deadline = time.monotonic() + 5
    while True:
        shares = [logged_webhooks(log)[start:] for log, start in zip(servers.logs, before, strict=True)]
        if shares == expected or time.monotonic() > deadline:
            return shares


def test_a_call_whose_webhooks_alternate_between_the_servers_reaches_the_engineer(servers, phone):
    before = [len(logged_webhooks(log)) for log in servers.logs]
    call = phone.call(EMEA, "2,31200001", at("emea"), rotate=(0, 1))

    assert call.outcome == {"kind": "engineer", "target": "emea-de", "reason": "preferred_engineer"}
    assert [status for _url, status in call.result.requests] == [200] * len(call.result.requests)
    # Each server's own access log shows it answered every other step of this one call.
    assert answered_by_each_server(servers, before, call) == [
        ["/voice/incoming", "/voice/case", "/voice/dial-result"], ["/voice/language", "/voice/whisper"]]
    assert call.heard[-1]["language"] == "de-DE"
    assert call.result.whisper and call.result.whisper[0]["language"] == "de-DE"


def test_an_unanswered_engineer_on_one_server_queues_the_caller_on_the_other(servers, phone, services):
    before = [len(logged_webhooks(log)) for log in servers.logs]
    call = phone.call(EMEA, "2,31200001,n", at("emea"), rotate=(1, 0))

    assert call.outcome == {"kind": "queue", "target": "emea-de", "reason": "queue"}
    assert answered_by_each_server(servers, before, call) == [
        ["/voice/language", "/voice/whisper", "/voice/wait"], ["/voice/incoming", "/voice/case", "/voice/dial-result"]]
    assert call.paths == ["/voice/incoming", "/voice/language", "/voice/case", "/voice/dial-result"]
    # production severity 2 at 12:00 London: 180 minutes
    assert same_moment(deadline_of(services, "emea-de", call.sid), "2026-11-18T15:00:00+00:00")
    assert services.calls.get(call.sid).get("language") == "de"


# --- status callback, fallback, worker --------------------------------------------------------------------


def signed_post(servers, http, port: int, path: str, params: dict):
    url = servers.url(port) + path
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    return http.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)


def test_the_status_callback_returns_204_and_a_finished_call_leaves_its_queue(servers, phone, http, services):
    call = phone.call(US, "1,10000002", NOON)
    assert deadline_of(services, "us-en", call.sid) is not None

    ringing = signed_post(servers, http, 1, "/voice/status", dict(INCOMING, CallSid=call.sid, CallStatus="in-progress"))
    assert (ringing.status_code, ringing.text) == (204, "")
    assert deadline_of(services, "us-en", call.sid) is not None, "a call still in progress keeps waiting"

    done = signed_post(servers, http, 0, "/voice/status", dict(INCOMING, CallSid=call.sid, CallStatus="completed",
                                                               CallDuration="42"))
    assert (done.status_code, done.text) == (204, "")
    assert deadline_of(services, "us-en", call.sid) is None
    assert services.calls.get(call.sid).get("status") == "completed"


def test_past_the_longest_wait_the_caller_is_offered_a_callback_and_not_pushed_out(servers, phone, http, services):
    call = phone.call(US, "1,10000002", NOON)
    queued = "?line=%2B18005550100&lang=en&queue=us-en"
    params = dict(INCOMING, CallSid=call.sid, CallStatus="in-progress", QueueTime="3600", QueuePosition="4")

    reply = signed_post(servers, http, 1, "/voice/wait" + queued, params)
    assert reply.status_code == 200
    assert "<Leave" not in reply.text and "We are sorry to keep you waiting so long." in reply.text
    # They take the callback: the key, the number read back and confirmed, then Twilio reports they left.
    asked = signed_post(servers, http, 0, "/voice/queue-key" + queued, dict(params, Digits="1"))
    assert spaced(INCOMING["From"]) in asked.text
    left = signed_post(servers, http, 1, "/voice/queue-confirm" + queued, dict(params, Digits="1"))
    assert "<Leave" in left.text
    ended = signed_post(servers, http, 0, "/voice/queue-result" + queued, dict(params, QueueResult="leave"))
    assert ended.status_code == 200 and spaced("10000002") in ended.text

    requests_ = [request for request in services.callbacks.requests() if request["sid"] == call.sid]
    assert [(r["reason"], r["case"], r["queue"]) for r in requests_] == [("caller", "10000002", "us-en")]
    assert call.sid in services.callbacks.pending("us-en")


def test_the_fallback_url_queues_the_caller(servers, http):
    reply = signed_post(servers, http, 0, "/voice/fallback", dict(INCOMING, To=EMEA))

    assert reply.status_code == 200
    assert "<Enqueue" in reply.text and ">emea-en</Enqueue>" in reply.text


def test_the_worker_keeps_a_record_of_each_finished_call(servers, phone, http, services):
    call = phone.call(US, "1,10000003", NOON)
    done = signed_post(servers, http, 1, "/voice/status", dict(INCOMING, CallSid=call.sid, CallStatus="completed",
                                                               CallDuration="7"))
    assert done.status_code == 204
    records = Records(services.redis)
    assert records.get(call.sid) == {}, "the webhook only queues the work"

    run_worker(servers)

    record = records.get(call.sid)
    assert record["sid"] == call.sid
    assert (record["case"], record["queue"], record["status"], record["duration"]) == ("10000003", "us-en",
                                                                                        "completed", "7")
    assert "waiting" not in record
    assert records.ended_at(call.sid) is not None
