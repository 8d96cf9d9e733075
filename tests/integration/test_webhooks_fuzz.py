"""Property-based: whatever a correctly signed request carries, every webhook answers with TwiML,
or with 400 exactly when the request cannot be Twilio's (no CallSid, To or From, or a From/To that
is not a number, a Client identity, a SIP address or a withheld caller ID).

The app is built STRICT (and TESTING), so an unexpected exception reaches the test instead of being
turned into fallback TwiML by the safety-net handler: a crash cannot pass as a valid answer.
"""
from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from ivr.adapters import keys

from .webhook_support import (BASE, CALLER, EMEA, EMEA_PARTNER, ENDPOINTS, US, VERBS, Twilio, build_app,
                              close_app, load_demo, queues, settings_with, sign, snapshot)

WAIT_URL_VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"}
"""What Twilio accepts for a caller already in a queue: no <Enqueue>, no <Dial>."""

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

DEMO = settings_with()
QUEUES = queues(DEMO)

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


def mostly(good, bad):
    """Draw from `good` four times in five: most requests should get past the shape check."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 0 else good)


parties = st.one_of(
    st.just(CALLER),
    st.sampled_from(["anonymous", "Restricted", "UNKNOWN", "unavailable", "private", "client:anna", "client:a.b@c-d",
                     "sip:alice@pbx.example.com", "442079460100", "+123456789012345", "+1234567890123456", "+",
                     "client:", "client:zoë", "sip:", "sip:a b", "anonymous ", "+1 415", "１２３"]),
    st.text(alphabet="+0123456789", min_size=1, max_size=17),
    any_text)
"""Caller ids as Twilio sends them, and near misses: each is accepted or refused by the same rule."""

ROUTED = "CA" + "a" * 32
"""A CallSid the fixture routes to its engineer: the whisper and dial result find its case."""
UNROUTED = "CA" + "b" * 32

FORM = {
    "CallSid": mostly(st.sampled_from([ROUTED, UNROUTED]), st.one_of(st.just(""), odd)),
    "From": mostly(st.sampled_from([CALLER, "anonymous", "client:anna", "sip:alice@pbx.example.com"]), parties),
    "To": mostly(st.sampled_from(sorted(DEMO.lines) + ["+19995550000", ""]), st.one_of(lines, parties)),
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
    "call": st.one_of(st.sampled_from([ROUTED, UNROUTED, ""]), odd),
}
REQUIRED = ("CallSid", "From", "To")
"""Fields every Twilio voice request carries: drawn for every form, then sometimes left out."""


@st.composite
def forms(draw) -> dict:
    form = draw(st.fixed_dictionaries({name: FORM[name] for name in REQUIRED},
                                      optional={k: v for k, v in FORM.items() if k not in REQUIRED}))
    # Mostly all three: the refusal is one rule, the answers past it are many.
    dropped = draw(st.sampled_from([(), (), (), (), ("CallSid",), ("From",), ("To",), REQUIRED]))
    return {k: v for k, v in form.items() if k not in dropped}


queries = st.fixed_dictionaries({}, optional=QUERY)

_ADDRESS = re.compile(r"\+?[0-9]{1,15}|client:[A-Za-z0-9_.@-]{1,121}|sip:[^\s<>\"]{1,256}")
_WITHHELD = re.compile(r"anonymous|restricted|unknown|unavailable|private", re.IGNORECASE)


def twilio_could_send(form: dict) -> bool:
    """The rule of issue 6 item 8, written from the README and the issue, not from ivr.voice.security.

    A CallSid, a To and a From; From and To each a number (`+` optional, up to 15 ASCII digits),
    a Client identity, a SIP address or a withheld caller ID; an empty To is allowed.
    """
    if not form.get("CallSid") or "To" not in form or "From" not in form:
        return False
    return all(_ADDRESS.fullmatch(form[name]) or _WITHHELD.fullmatch(form[name]) or (name == "To" and not form[name])
               for name in ("From", "To"))


@pytest.fixture
def app(redis_url):
    app = build_app(redis_url, settings=DEMO, strict=True)
    load_demo(redis_url, DEMO)
    # One call routed to its engineer, so the whisper and the dial result have a case to find.
    form = {"CallSid": ROUTED, "From": CALLER, "To": EMEA, "Digits": "30000001"}
    reply = post(app, "/voice/case", form, {"line": EMEA, "lang": "en", "attempt": "1"})
    assert ET.fromstring(reply.get_data()).find("Dial") is not None
    yield app
    close_app(app)


def post(app, endpoint: str, form: dict, args: dict):
    """POST as Twilio would to a URL with that query string, signed over exactly that URL."""
    path = endpoint + ("?" + urlencode(args) if args else "")
    return Twilio(app).post(path, form, signature=sign(BASE + path, form))


def check_answer(endpoint: str, reply, form: dict) -> ET.Element | None:
    """Check a reply: 400 exactly when the form cannot be Twilio's, else the step's valid answer."""
    if not twilio_could_send(form):
        assert reply.status_code == 400, (reply.status_code, form)
        assert b"<Response" not in reply.get_data()
        return None
    if endpoint == "/voice/status":
        assert reply.status_code == 204, reply.status_code
        assert reply.get_data() == b""
        return None
    assert reply.status_code == 200, (reply.status_code, reply.get_data(as_text=True)[:300])
    assert reply.mimetype == "text/xml"
    root = ET.fromstring(reply.get_data())
    assert root.tag == "Response"
    if endpoint != "/voice/whisper":  # an empty whisper bridges the engineer without one
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


def check_state(services) -> None:
    """Per-call state always expires; nothing the fuzz sends leaves a key behind forever.

    A bound on the storage itself, so every call-state key is scanned, whatever CallSid wrote it.
    """
    for key in services.redis.scan_iter(keys.call("*")):
        assert services.redis.ttl(key) > 0, key


def waiting_now(services, args: dict) -> dict[str, list[tuple[str, float]]]:
    """Who waits, with their deadlines, in every configured queue and in any queue the URL names."""
    names = QUEUES | ({args["queue"]} if args.get("queue") else set())
    return {queue: [(sid, services.waiting.deadline(queue, sid)) for sid in services.waiting.callers(queue)]
            for queue in names}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@FUZZ
@given(form=forms(), args=queries)
# The call the fixture routed: the whisper finds its case, the dial result its queue and deadline.
@example(form={"CallSid": ROUTED, "From": CALLER, "To": EMEA, "DialCallStatus": "no-answer", "Digits": "1",
               "QueueResult": "leave", "QueueTime": "5", "CallStatus": "completed"},
         args={"line": EMEA, "lang": "en", "call": ROUTED, "queue": "emea-en"})
def test_every_endpoint_answers_any_signed_request_with_twiml(app, redis_url, services, endpoint, form, args):
    if (endpoint == "/voice/dial-result" and twilio_could_send(form)
            and form.get("DialCallStatus") not in ("completed", "answered")
            and "fallback" not in services.calls.get(form["CallSid"])):
        # No routed queue to fall back to: the fail-safe answer (tested in test_webhooks.py) queues the
        # caller from configuration, outside the deadline order.
        event("no routed queue: fail-safe answer")
        waited, joined = waiting_now(services, args), services.events.of(form["CallSid"], "enqueued")
        root = check_answer(endpoint, post(app, endpoint, form, args), form)
        assert root is not None and [child.tag for child in root][-1] == "Enqueue"
        # Nobody queued with a made-up deadline: not in any queue looked at, nor (no join logged) in another.
        assert waiting_now(services, args) == waited
        assert services.events.of(form["CallSid"], "enqueued") == joined
        return
    # Whatever cannot be Twilio's is refused (check_answer holds it to that) and must change nothing at all.
    before = None if twilio_could_send(form) else snapshot(redis_url)
    reply = post(app, endpoint, form, args)
    root = check_answer(endpoint, reply, form)
    event(f"HTTP {reply.status_code}" + (", empty <Response/>" if root is not None and len(root) == 0 else ""))
    if reply.status_code == 400:
        assert snapshot(redis_url) == before, "a refused request changed something"
    check_state(services)


@FUZZ
@given(to=lines, presses=st.lists(st.one_of(digits, st.none()), min_size=1, max_size=4),
       spoken=st.lists(st.booleans(), min_size=4, max_size=4))
# Random presses rarely hit a real case number: these make sure each kind of decision is reached.
@example(to=EMEA, presses=["1", "30000001"], spoken=[False] * 4)
@example(to=EMEA, presses=["1", "30000002"], spoken=[False] * 4)
@example(to=EMEA, presses=["2", "30000006"], spoken=[False] * 4)
@example(to=EMEA_PARTNER, presses=["3 9 0 0 0 0 0 1"], spoken=[True] * 4)
def test_a_call_through_the_menu_and_case_prompts_never_breaks(app, services, to, presses, spoken):
    """Follow the TwiML like Twilio up to the routing decision: each <Gather> gets the next press
    (None: silence, the <Redirect>); the engineer and queue steps have their own test below."""
    form = {"CallSid": "CA" + uuid.uuid4().hex, "From": CALLER, "To": to, "CallStatus": "in-progress"}
    root = check_answer("/voice/incoming", post(app, "/voice/incoming", form, {}), form)
    if root is None:  # refused with 400: a To no Twilio call has
        assert services.calls.get(form["CallSid"]) == {}
        return
    for press, by_voice in zip(presses, spoken):
        gather = root.find("Gather")
        if gather is None:
            break
        if press is None:
            redirect = root.find("Redirect")
            if redirect is None:
                # A refusal's last offer (a callback at the opening, the portal link by SMS): silence ends the call.
                assert [c.tag for c in root][-1] == "Hangup", "a <Gather> with nothing after it"
                break
            url, params = redirect.text, dict(form)
        else:
            key = "SpeechResult" if by_voice else "Digits"
            url, params = gather.get("action"), {**form, key: press}
        reply = Twilio(app).post(url, params)
        root = check_answer(url.split("?")[0], reply, params)
    check_state(services)


@FUZZ
@given(status=FORM["DialCallStatus"], wait=st.tuples(numbers_or_ints, numbers_or_ints),
       result=FORM["QueueResult"], key=digits)
# Each way a callback can be asked for, and a full queue: random values rarely line these up.
@example(status="no-answer", wait=("2", "10"), result="leave", key="1")
@example(status="no-answer", wait=("3", "99999"), result="leave", key="")
@example(status="busy", wait=("2", "10"), result="queue-full", key="2")
@example(status="no-answer", wait=("2", "10"), result="bridged", key="1")
def test_the_engineer_and_queue_steps_follow_through_for_any_twilio_values(app, services, status, wait, result,
                                                                           key):
    """Ring the engineer, then whatever Twilio reports, follow <Enqueue> to its wait, key and result."""
    sid = "CA" + uuid.uuid4().hex  # a call of its own per example: no state left by the one before
    # The engineer's previous call (another example's, or the fixture's) and its wrap-up are over.
    services.redis.delete(keys.engaged("emea-en"))
    form = {"CallSid": sid, "From": CALLER, "To": EMEA}
    case_form = {**form, "Digits": "30000001"}
    root = check_answer("/voice/case", post(app, "/voice/case", case_form,
                                            {"line": EMEA, "lang": "en", "attempt": "1"}), case_form)
    dial = root.find("Dial")
    assert dial is not None
    params = {**form, "DialCallStatus": status}
    root = check_answer("/voice/dial-result", Twilio(app).post(dial.get("action"), params), params)
    enqueue = root.find("Enqueue")
    if enqueue is None:
        assert [c.tag for c in root] == ["Hangup"]
        return
    assert enqueue.text == "emea-en"
    assert sid in services.waiting.callers("emea-en")
    position, waited = wait
    params = {**form, "QueuePosition": position, "QueueTime": waited}
    wait_root = check_answer("/voice/wait", Twilio(app).post(enqueue.get("waitUrl"), params), params)
    # Already in the queue: the wait URL's answer may hold, gather, redirect or leave, never enqueue again.
    assert {c.tag for c in wait_root} <= WAIT_URL_VERBS
    assert wait_root.find("Leave") is None  # past the maximum wait too: offered a callback, never pushed out
    asked = False
    gather = wait_root.find("Gather")
    if gather is not None:
        params = {**form, "Digits": key}
        key_root = check_answer("/voice/queue-key", Twilio(app).post(gather.get("action"), params), params)
        assert {c.tag for c in key_root} <= WAIT_URL_VERBS
        assert [c.tag for c in key_root] == (["Gather", "Redirect"] if key == "1" else ["Redirect"])
        if key == "1":  # the caller's number is read back; they confirm it
            params = {**form, "Digits": "1"}
            confirm = key_root.find("Gather").get("action")
            confirmed = check_answer("/voice/queue-confirm", Twilio(app).post(confirm, params), params)
            assert [c.tag for c in confirmed] == ["Leave"]
            asked = True
    params = {**form, "QueueResult": result}
    done = check_answer("/voice/queue-result", Twilio(app).post(enqueue.get("action"), params), params)
    assert sid not in services.waiting.callers("emea-en")
    # A callback request reaches the workers once, and only when the caller left asking for one or the
    # queue was full; whoever hears it was recorded has one.
    recorded = [request for request in services.callbacks.requests() if request["sid"] == sid]
    expected = result == "queue-full" or (result == "leave" and asked)
    event(f"callback {'recorded' if expected else 'not recorded'}" + (", asked" if asked else ""))
    assert len(recorded) == (1 if expected else 0), (result, asked, recorded)
    heard = " ".join(say.text or "" for say in done.iter("Say"))
    if recorded:
        assert "callback request for case 3 0 0 0 0 0 0 1" in heard
    else:
        assert "callback request" not in heard
    check_state(services)


def test_the_lines_used_here_are_configured():
    assert {EMEA, EMEA_PARTNER, US} <= set(DEMO.lines)
