"""Whole calls against two real `ivr serve --demo` processes and a real Redis (SPEC §2–§5, §7).

The demo data (ivr/demo.py): case `<d>000<suffix>` per region digit d (us=1 ca=2 emea=3 apac=4
latam=5) has the outcome in OUTCOMES; `<d>1<j>00001` rings the engineer of the line's j-th
language. Every call names its moment with `--at`, so hours and deadlines are fixed.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import datetime

import pytest
from twilio.request_validator import RequestValidator

from ivr.adapters.records import Records

from .conftest import (logged_webhooks, APAC, CA, CALL_TIMEOUT, DIGIT, EMEA, EMEA_PARTNER, IVR, LANGUAGES, LATAM, LINES, SATURDAY,
                       TOKEN, US, at, ivr_call)

PORTAL = "support.example.com"
EMAIL = "support@example.com"

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


def state_of(services, caller: str, queue: str) -> tuple[str, dict]:
    """Return the CallSid and live state of the one call from a caller's number waiting in a queue.

    `ivr call` makes up its CallSid and does not print it: the call is found among the queue's callers.
    """
    found = [(sid, services.calls.get(sid)) for sid in services.waiting.callers(queue)]
    found = [(sid, state) for sid, state in found if state.get("caller") == caller]
    assert len(found) == 1, found
    return found[0]


def deadline_of(services, queue: str, sid: str) -> str | None:
    """Return a waiting caller's deadline as stored in the queue's ordering, or None if not waiting."""
    score = services.waiting.deadline(queue, sid)
    return None if score is None else datetime.fromtimestamp(score).astimezone().isoformat()


def same_moment(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


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
    assert NAMES["en"] in out["heard"][-1]["text"]
    [whisper] = out["whisper"]
    assert whisper["language"] == "en-US"
    # The case number, read digit by digit, its plan and its severity (production, severity 2).
    assert spaced("10000001") in whisper["text"]
    rest = whisper["text"].replace(spaced("10000001"), "")
    assert "Production" in rest
    assert re.search(r"\b2\b", rest), rest


def test_an_engineer_who_does_not_answer_passes_the_caller_to_the_queue_without_asking_again(servers, services):
    caller = "+15555550201"
    out = ivr_call(servers, US, "1,10000001,n", NOON, caller=caller)

    assert out["outcome"] == {"kind": "queue", "target": "us-en", "reason": "queue"}
    assert out["whisper"], "the engineer was rung first"
    heard = texts(out["heard"])
    ask, connecting = heard[3], heard[4]
    assert NAMES["en"] in connecting
    assert heard.count(ask) == 1, heard  # the case number was asked for once only
    assert len(set(heard)) == len(heard), heard  # nothing was played twice
    sid, state = state_of(services, caller, "us-en")
    assert state["dial_status"] == "no-answer"
    assert state["queue"] == "us-en"
    # production, severity 2: 180 minutes from 12:00 New York
    assert same_moment(deadline_of(services, "us-en", sid), "2026-11-18T15:00:00-05:00")


def test_a_case_without_an_engineer_queues_by_its_deadline(servers, services):
    caller = "+15555550202"
    out = ivr_call(servers, US, "1,10000002", NOON, caller=caller)

    assert out["outcome"] == {"kind": "queue", "target": "us-en", "reason": "queue"}
    assert out["whisper"] == []
    sid, state = state_of(services, caller, "us-en")
    # premium, severity 1: 30 minutes
    assert same_moment(state["deadline"], "2026-11-18T12:30:00-05:00")
    assert same_moment(deadline_of(services, "us-en", sid), "2026-11-18T12:30:00-05:00")
    waiting = json.loads(state["waiting"])
    assert (waiting["case"], waiting["plan"], waiting["severity"], waiting["language"]) == ("10000002", "premium", 1, "en")


def test_a_busy_engineer_sends_the_caller_to_the_queue_with_a_first_claim(servers, services):
    caller = "+15555550203"
    out = ivr_call(servers, US, "1,10000003", NOON, caller=caller)

    assert out["outcome"] == {"kind": "queue", "target": "us-en", "reason": "queue"}
    assert out["whisper"] == [], "a busy engineer is not rung"
    sid, state = state_of(services, caller, "us-en")
    assert json.loads(state["waiting"])["preferred"] == "us-busy"
    # production, severity 3: 360 minutes
    assert same_moment(deadline_of(services, "us-en", sid), "2026-11-18T18:00:00-05:00")


def test_a_waiting_caller_can_leave_a_callback_request(servers, services):
    caller = "+15555550204"
    out = ivr_call(servers, US, "1,10000002,1,1", NOON, caller=caller)  # the key, then the number confirmed

    assert out["outcome"] == {"kind": "hangup", "target": "us-en", "reason": "callback"}
    assert spaced("10000002") in out["heard"][-1]["text"]
    # The caller has left the queue: their call is found through the one callback request from their number.
    requests_ = [request for request in services.callbacks.requests() if request["caller"] == caller]
    assert len(requests_) == 1, requests_
    request = requests_[0]
    sid = request["sid"]
    state = services.calls.get(sid)
    assert state["caller"] == caller
    assert state["callback"] == "requested"
    assert state["queue_result"] == "leave"
    assert deadline_of(services, "us-en", sid) is None, "the caller no longer waits in the queue"
    assert [r for r in services.callbacks.requests() if r["sid"] == sid] == [request]
    assert (request["case"], request["caller"], request["queue"], request["reason"]) == (
        "10000002", caller, "us-en", "caller")


REFUSALS = [
    # (reason, keys after the language key, moment, what the refusal must mention)
    ("case_not_found", "99999999,1234,w", NOON, [PORTAL]),
    ("case_closed", "10000006", NOON, [PORTAL, spaced("10000006")]),
    ("case_closed", "10000010", NOON, [PORTAL, spaced("10000010")]),  # cancelled
    ("general_inquiry", "10000007", NOON, [PORTAL, EMAIL, spaced("10000007")]),
    ("no_phone_support", "10000008", NOON, [PORTAL, EMAIL]),
    ("maintenance_expired", "10000009", NOON, [PORTAL]),
    # basic on a Saturday; evaluation at 17:00, the first closed minute
    ("outside_hours", "10000004", at("us", SATURDAY), [PORTAL, "Monday, November 23, 8:00\u202fAM"]),
    ("outside_hours", "10000005", at("us", clock="17:00"), [PORTAL, "Thursday, November 19, 8:00\u202fAM"]),
]


@pytest.mark.parametrize("reason,keys,when,mentions", REFUSALS, ids=[f"{r[0]}-{r[1][:8]}" for r in REFUSALS])
def test_each_refusal_tells_the_caller_why_and_what_to_do_then_hangs_up(servers, reason, keys, when, mentions):
    out = ivr_call(servers, US, f"1,{keys}", when)

    assert out["outcome"] == {"kind": "hangup", "target": None, "reason": reason}
    assert out["whisper"] == []
    # The refusal; then a callback at the opening, or the portal link by SMS, may be offered.
    last = out["heard"][-2] if reason in ("outside_hours", "case_not_found", "case_closed") else out["heard"][-1]
    assert last["language"] == "en-US"
    for mention in mentions:
        assert mention in last["text"], last["text"]


def test_three_bad_case_numbers_are_each_answered_before_the_refusal(servers, phone):
    call = phone.call(US, "1,99999999,1234,w", NOON)

    assert call.outcome["reason"] == "case_not_found"
    assert call.paths.count("/voice/case") == 3
    heard = texts(call.heard)
    # welcome, 2 menu options, then: ask, unknown (read back), ask, malformed, ask, (silence) refusal, and the
    # offer of the portal's address by SMS
    assert len(heard) == 10, heard
    assert "text message" in heard[9]
    assert spaced("99999999") in heard[4]
    assert heard[4] != heard[6]
    assert heard[3] == heard[5] == heard[7], "the case number is asked for again after each"
    assert PORTAL in heard[8]


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
    assert "Thursday, November 19, 8:00\u202fAM" in call.heard[-2]["text"]


@pytest.mark.parametrize("region,key,lang,date_text", [
    ("emea", "2", "de", "Montag, 23. November, 08:00"),
    ("us", "2", "es", "lunes, 23 de noviembre, 8:00"),
    ("apac", "2", "ja", "11月23日月曜日 8:00"),
])
def test_the_opening_time_is_said_in_the_callers_language(servers, phone, region, key, lang, date_text):
    call = phone.call(LINES[region], f"{key},{DIGIT[region]}0000004", at(region, SATURDAY))

    assert call.outcome["reason"] == "outside_hours"
    assert call.heard[-1]["language"] == SAY[(region, lang)]
    assert date_text in call.heard[-2]["text"]


def test_the_partner_line_offers_english_only_and_serves_round_the_clock(servers, services):
    caller = "+15555550205"
    # A basic-plan partner account gets production-level support: 03:00 on a Saturday is open.
    out = ivr_call(servers, EMEA_PARTNER, "39000001", at("emea", SATURDAY, "03:00"), caller=caller)

    assert out["outcome"] == {"kind": "queue", "target": "emea-en", "reason": "queue"}
    heard = out["heard"]
    assert len(heard) == 5, "welcome, case number, queue announcement, position, callback offer: no menu"
    assert {h["language"] for h in heard} == {"en-GB"}
    sid, _ = state_of(services, caller, "emea-en")
    # production severity 1: 60 minutes, in the account's zone (Amsterdam, UTC+1)
    assert same_moment(deadline_of(services, "emea-en", sid), "2026-11-21T05:00:00+01:00")


@pytest.mark.parametrize("line,said,case,target", [
    (EMEA, "2,s:3 1 2 0 0 0 0 1.", "31200001", "emea-de"),
    (APAC, "2,s:４１２００００１", "41200001", "apac-ja"),  # full-width digits, as Japanese recognition gives them
], ids=["spaced-digits", "full-width-digits"])
def test_a_case_number_can_be_said_instead_of_keyed(servers, phone, line, said, case, target):
    region = target.split("-")[0]
    call = phone.call(line, said, at(region))

    assert call.outcome == {"kind": "engineer", "target": target, "reason": "preferred_engineer"}
    assert spaced(case) in call.result.whisper[0]["text"]


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
    options = call.heard[1:1 + len(languages)]
    assert [o["language"] for o in options] == [SAY[(region, lang)] for lang in languages]
    for key, option in enumerate(options, start=1):
        assert str(key) in option["text"]
    assert len({o["text"] for o in options}) == len(options)
    # Silence at the menu picks the line's first language; silence at the case prompt three times ends the call.
    assert call.outcome == {"kind": "hangup", "target": None, "reason": "case_not_found"}
    assert call.heard[-1]["language"] == SAY[(region, languages[0])]


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

    env = dict(os.environ, REDIS_URL=servers.redis_url, IVR_DATA_DIR=str(servers.data_dirs[0]))
    env.pop("IVR_CONFIG", None)
    worker = subprocess.run([IVR, "worker", "--burst"], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=CALL_TIMEOUT, check=False)

    assert worker.returncode == 0, worker.stderr
    record = records.get(call.sid)
    assert record["sid"] == call.sid
    assert (record["case"], record["queue"], record["status"], record["duration"]) == ("10000003", "us-en",
                                                                                        "completed", "7")
    assert "waiting" not in record
    assert records.ended_at(call.sid) is not None
