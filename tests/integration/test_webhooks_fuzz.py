"""Property-based: whatever a correctly signed request carries, every webhook answers with TwiML.

The app is built STRICT (and TESTING), so an unexpected exception reaches the test instead of being
turned into fallback TwiML by the safety-net handler: a crash cannot pass as a valid answer.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from .webhook_support import (BASE, EMEA, EMEA_PARTNER, ENDPOINTS, US, VERBS, Twilio, build_app, close_app,
                              load_demo, settings_with, sign)

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

DEMO = settings_with()
QUEUES = {f"{region}-{lang}" for region, spec in DEMO.regions.items() for lang in spec.languages}

any_text = st.text(max_size=30)
EDGES = ["", "9" * 5000, "0" * 5000 + "1", "-1", "1e9", "0x10", " 1", "1 ", "１", "²", "NaN", "%00", "\x00", "\x08",
         "\n", "a\r\nb", "\ufffe", "<Hangup/>", "&amp;", "]]>", "😀"]
"""Values that broke, or could break, a webhook: huge numbers, non-ASCII digits, XML-illegal characters."""
odd = st.one_of(st.sampled_from(EDGES), any_text, st.text(alphabet="0123456789", min_size=1, max_size=40),
                st.text(alphabet=st.characters(max_codepoint=0x1f), min_size=1, max_size=4))
digits = st.one_of(st.text(alphabet="0123456789*#", max_size=12), odd,
                   st.sampled_from(["1", "2", "6", "7", "30000001", "30000002", "30000004", "30000006",
                                    "39000001", "31200001", "99999999"]))
speech = st.one_of(odd, st.sampled_from(["3 9 0 0 0 0 0 1", "39000001.", "three nine", "０７１２３４５６"]))
numbers = st.one_of(st.integers(-10**6, 10**30).map(str), odd)
numbers_or_ints = st.one_of(st.integers(0, 10**7).map(str), numbers)
lines = st.one_of(st.sampled_from(sorted(DEMO.lines) + ["+19995550000", "", "442079460100", "+44 20 7946 0100"]),
                  any_text)

FORM = {
    "CallSid": st.one_of(st.just("CA" + "a" * 32), st.just("CA" + "b" * 32), st.just("")),
    "From": st.one_of(st.just("+14155550123"), any_text),
    "To": lines,
    "Digits": digits,
    "SpeechResult": speech,
    "Confidence": st.one_of(st.just("0.9"), any_text),
    "QueuePosition": numbers_or_ints,
    "QueueTime": numbers_or_ints,
    "QueueResult": st.one_of(st.sampled_from(["bridged", "hangup", "leave", "queue-full", "error", "system-error",
                                              "redirected", "unknown"]), odd),
    "DialCallStatus": st.one_of(st.sampled_from(["completed", "answered", "busy", "no-answer", "failed",
                                                 "canceled"]), odd),
    "CallStatus": st.one_of(st.sampled_from(["queued", "ringing", "in-progress", "completed", "busy", "failed",
                                             "no-answer", "canceled"]), odd),
    "CallDuration": numbers,
}
QUERY = {
    "line": lines,
    "lang": st.one_of(st.sampled_from(["en", "de", "fr", "ru", "es", "it", "ja", "zh", "pt", "xx", ""]), any_text),
    "attempt": numbers,
    "silent": st.sampled_from(["1", "0", "", "yes"]),
    "case": st.one_of(st.sampled_from(["30000001", "30000002", "39000001", ""]), odd),
    "queue": st.one_of(st.sampled_from(sorted(QUEUES) + ["emea-", "emea-xx", "us-en-extra", "-en", "emea-de\n"]),
                       odd),
    "deadline": st.one_of(st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
                          st.datetimes().map(lambda d: d.isoformat()),
                          st.sampled_from(["0001-01-01", "9999-12-31T23:59:59-23:59", "2026-13-01", "now"]), odd),
    "severity": st.one_of(st.sampled_from(["1", "2", "3", "4", "0", "5"]), odd),
    "plan": st.one_of(st.sampled_from(["production", "premium", "basic", "evaluation", "community"]), odd),
    "engineer": st.one_of(st.sampled_from(["emea-en", "zoë", ""]), odd),
    "overflow": st.one_of(st.sampled_from(["", "emea-de"]), odd),
}
forms = st.fixed_dictionaries({}, optional=FORM)
queries = st.fixed_dictionaries({}, optional=QUERY)


@pytest.fixture
def app(redis_url):
    app = build_app(redis_url, settings=DEMO, strict=True)
    load_demo(redis_url, DEMO)
    yield app
    close_app(app)


@pytest.fixture
def db(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def post(app, endpoint: str, form: dict, args: dict):
    """POST as Twilio would to a URL with that query string, signed over exactly that URL."""
    path = endpoint + ("?" + urlencode(args) if args else "")
    return Twilio(app).post(path, form, signature=sign(BASE + path, form))


def check_answer(endpoint: str, reply) -> ET.Element | None:
    if endpoint == "/voice/status":
        assert reply.status_code == 204, reply.status_code
        assert reply.get_data() == b""
        return None
    assert reply.status_code == 200, (reply.status_code, reply.get_data(as_text=True)[:300])
    assert reply.mimetype == "text/xml"
    root = ET.fromstring(reply.get_data())
    assert root.tag == "Response"
    assert len(root) > 0, "an empty <Response/> leaves the caller in silence"
    assert {child.tag for child in root} <= VERBS
    for enqueue in root.iter("Enqueue"):
        assert enqueue.text in QUEUES, enqueue.text  # always <region>-<language> of a configured region
    for say in root.iter("Say"):
        assert (say.text or "").strip(), "an empty <Say/>"
    outcome = reply.headers.get("X-Ivr-Outcome")
    if outcome is not None:
        kind, _, target = outcome.partition(":")
        assert kind in ("refused", "engineer", "queue") and target
    return root


def check_state(db) -> None:
    """Per-call state always expires; nothing the fuzz sends leaves a key behind forever."""
    for key in db.scan_iter("ivr:call:*"):
        assert db.ttl(key) > 0, key


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@FUZZ
@given(form=forms, args=queries)
def test_every_endpoint_answers_any_signed_request_with_twiml(app, db, endpoint, form, args):
    check_answer(endpoint, post(app, endpoint, form, args))
    check_state(db)


@FUZZ
@given(to=lines, presses=st.lists(st.one_of(digits, st.none()), min_size=1, max_size=4),
       spoken=st.lists(st.booleans(), min_size=4, max_size=4))
# Random presses rarely hit a real case number: these make sure each kind of decision is reached.
@example(to=EMEA, presses=["1", "30000001"], spoken=[False] * 4)
@example(to=EMEA, presses=["1", "30000002"], spoken=[False] * 4)
@example(to=EMEA, presses=["2", "30000006"], spoken=[False] * 4)
@example(to=EMEA_PARTNER, presses=["3 9 0 0 0 0 0 1"], spoken=[True] * 4)
def test_a_call_through_the_menu_and_case_prompts_never_breaks(app, db, to, presses, spoken):
    """Follow the TwiML like Twilio up to the routing decision: each <Gather> gets the next press
    (None: silence, the <Redirect>); the engineer and queue steps have their own test below."""
    form = {"CallSid": "CA" + "c" * 32, "From": "+14155550123", "To": to, "CallStatus": "in-progress"}
    root = check_answer("/voice/incoming", post(app, "/voice/incoming", form, {}))
    for press, by_voice in zip(presses, spoken):
        gather = root.find("Gather")
        if gather is None:
            break
        if press is None:
            redirect = root.find("Redirect")
            assert redirect is not None, "a <Gather> with nothing after it"
            url, params = redirect.text, dict(form)
        else:
            key = "SpeechResult" if by_voice else "Digits"
            url, params = gather.get("action"), {**form, key: press}
        reply = Twilio(app).post(url, params)
        root = check_answer(url.split("?")[0], reply)
    check_state(db)


@FUZZ
@given(status=FORM["DialCallStatus"], wait=st.tuples(numbers_or_ints, numbers_or_ints),
       result=FORM["QueueResult"], key=digits)
def test_the_engineer_and_queue_steps_follow_through_for_any_twilio_values(app, db, status, wait, result, key):
    """Ring the engineer, then whatever Twilio reports, follow <Enqueue> to its wait, key and result."""
    sid = "CA" + "d" * 32
    form = {"CallSid": sid, "From": "+14155550123", "To": EMEA}
    root = check_answer("/voice/case", post(app, "/voice/case", {**form, "Digits": "30000001"},
                                            {"line": EMEA, "lang": "en", "attempt": "1"}))
    dial = root.find("Dial")
    assert dial is not None
    root = check_answer("/voice/dial-result", Twilio(app).post(dial.get("action"), {**form, "DialCallStatus": status}))
    enqueue = root.find("Enqueue")
    if enqueue is None:
        assert [c.tag for c in root] == ["Hangup"]
        return
    assert enqueue.text == "emea-en"
    assert sid in db.zrange("ivr:waiting:emea-en", 0, -1)
    position, waited = wait
    wait_root = check_answer("/voice/wait", Twilio(app).post(enqueue.get("waitUrl"), {
        **form, "QueuePosition": position, "QueueTime": waited}))
    gather = wait_root.find("Gather")
    if gather is not None:
        check_answer("/voice/queue-key", Twilio(app).post(gather.get("action"), {**form, "Digits": key}))
    check_answer("/voice/queue-result", Twilio(app).post(enqueue.get("action"), {**form, "QueueResult": result}))
    assert sid not in db.zrange("ivr:waiting:emea-en", 0, -1)
    check_state(db)


def test_the_lines_used_here_are_configured():
    assert {EMEA, EMEA_PARTNER, US} <= set(DEMO.lines)
