"""The Twilio Voice webhooks as a caller and Twilio meet them (SPEC §2–§5, §7).

Every request goes through the app factory and Flask's test client, signed the way Twilio signs
it, against a real Redis holding the demo directory (ivr/demo.py). TwiML is parsed, not grepped.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from urllib.parse import quote, urlencode

import pytest

from ivr.config import load_settings
from ivr.adapters.directory.document import load_document
from ivr.adapters.directory.store import Store, connect
from ivr.voice.voices import VOICES

from .webhook_support import (says, spoken, BASE, CALLER, DOWN_REDIS, EMEA, EMEA_PARTNER, ENDPOINTS, US, Twilio, build_app,
                              call_params, close_app, keys, load_demo, path_of, query, queues, settings_with, sign,
                              snapshot, twiml, verbs)

PORTAL = "support.example.com"
EMAIL = "support@example.com"
HOLD_MUSIC = BASE.rstrip("/") + "/audio/hold.wav"  # the built-in clip, served by the app itself

LINES = {
    # number: (region, menu languages in SPEC §2 order)
    US: ("us", ("en", "es")),
    "+18885550101": ("ca", ("en", "fr")),
    EMEA: ("emea", ("en", "de", "fr", "ru", "es", "it")),
    "+6518005550100": ("apac", ("en", "ja", "zh")),
    "+5511555500100": ("latam", ("en", "es", "pt")),
}
REGION_DIGIT = {"us": "1", "ca": "2", "emea": "3", "apac": "4", "latam": "5"}

# English prompts, exactly as the English catalog has them.
WELCOMES = {
    "us": "Thank you for calling Contoso technical support for the United States.",
    "ca": "Thank you for calling Contoso technical support for Canada.",
    "emea": "Thank you for calling Contoso technical support for Europe, the Middle East and Africa.",
    "apac": "Thank you for calling Contoso technical support for Asia-Pacific.",
    "latam": "Thank you for calling Contoso technical support for Latin America.",
}
WELCOME_PARTNER = "Thank you for calling the Contoso partner support line."
ASK_CASE = ("Please enter your eight-digit case number, or say it. You will find it in the e-mail that confirmed your "
            "case, and on the customer portal. If you do not have a case number, press star.")
ASK_CASE_AGAIN = "Please enter your eight-digit case number, or say it digit by digit."
GOODBYE = "Thank you for calling. Goodbye."
SMS_OFFER = "To get the customer portal's address by text message, press 1 now."
REPEAT_OFFER = "To hear this again, press star."
NOT_OFFERED = "Sorry, that key is not one of the choices."
NO_INPUT = "Sorry, we did not get a case number."
MALFORMED = "Sorry, a case number has eight digits."
ENTERING_QUEUE = ("Thank you. All our engineers are helping other customers. Please stay on the line and the "
                  "next available engineer will take your call.")
ENGINEER_UNAVAILABLE = ("Your engineer is not available right now, so we are passing your call to the next "
                        "available engineer.")
TECHNICAL_TROUBLE = ("We are sorry, we are having technical difficulties. Please stay on the line for the next "
                     "available engineer.")
OFFER_CALLBACK = "If you would rather we call you back, press 1 now."
LONG_WAIT = "We are sorry to keep you waiting so long."


CALLBACK_AT_OPENING = "If you would like us to call you back when we open, press 1 now."
REFUSAL_VERBS = ["Gather", "Say", "Hangup"]
"""How every refusal ends: the offers (callback at the opening, portal by SMS, hear it again), then goodbye."""


def refusal_said(root) -> list[str]:
    """The sentences of a refusal before its offers: why, and what to do instead."""
    return [(node.text or "").strip() for node in root if node.tag == "Say"][:-1]


def callback_recorded(case: str) -> str:
    return (f"Thank you. We have recorded your callback request for case {' '.join(case)}. An engineer will call "
            f"you back at {' '.join(CALLER)} when it is your turn. Goodbye.")


def full_queue_callback(case: str) -> str:
    return ("All our engineers are busy and we cannot hold more calls right now. We have recorded a callback "
            f"request for case {' '.join(case)}, and an engineer will call you back at {' '.join(CALLER)}. Goodbye.")


def confirm_number(number: str) -> str:
    return (f"We will call you back at {' '.join(number)}, and you keep your place in line. To confirm, press 1. "
            "To keep holding, press any other key.")


def ask_callback(twilio, key_url: str, sid: str):
    """Press 1 while waiting, hear the number read back, and confirm it; return the confirmation's TwiML."""
    asked = twiml(twilio.post(key_url, call_params(sid, Digits="1")))
    assert verbs(asked) == ["Gather", "Redirect"]
    return twiml(twilio.post(asked.find("Gather").get("action"), call_params(sid, Digits="1")))


QUEUE_FAILED = (f"Sorry, we could not put your call through. Please call again in a few minutes, or update your "
                f"case on the customer portal at {PORTAL}. Goodbye.")


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def sid() -> str:
    return "CA" + uuid.uuid4().hex


# ---------------------------------------------------------------------------------------------- helpers


def assert_never_silent(root) -> None:
    """A <Gather> that times out falls through to the next verb: there must be one, or the call dies."""
    children = list(root)
    for i, child in enumerate(children):
        if child.tag == "Gather":
            assert i + 1 < len(children), "nothing after <Gather>: a caller who says nothing hears silence"
            follow = children[i + 1]
            assert follow.tag == "Redirect" and follow.get("method") == "POST"
            assert path_of(follow.text) == path_of(child.get("action"))
            assert query(follow.text)["silent"] == "1"


def gather_of(root):
    gathers = root.findall("Gather")
    assert len(gathers) == 1, verbs(root)
    return gathers[0]


def choose_language(twilio: Twilio, sid: str, line: str, key: int | None):
    """Call a line and press a menu key (None: let the menu time out); return the case prompt."""
    root = twiml(twilio.post("/voice/incoming", call_params(sid, line, CallStatus="ringing")))
    if line == EMEA_PARTNER:  # one language: the case prompt comes straight away
        return root
    if key is None:  # silence plays the menu once more; silence again goes on in the first language
        again = twiml(twilio.post(root.find("Redirect").text, call_params(sid, line)))
        assert gather_of(again) is not None and path_of(gather_of(again).get("action")) == "/voice/language"
        return twiml(twilio.post(again.find("Redirect").text, call_params(sid, line)))
    return twiml(twilio.post(gather_of(root).get("action"), call_params(sid, line, Digits=str(key))))


def give_case(twilio: Twilio, sid: str, line: str, prompt, number: str, at: str | None = None, speech=False):
    """Answer a case prompt by keypad (or speech), optionally at another moment (ALLOW_AT)."""
    extra = {"SpeechResult": number, "Confidence": "0.9"} if speech else {"Digits": number}
    if at:
        extra["IvrAt"] = at
    return twilio.post(gather_of(prompt).get("action"), call_params(sid, line, **extra))


def case_for(twilio, sid, line, key, number, at=None, closed_again=True):
    """Give a case number on a line in a language; `closed_again=False`: asked for another number after a closed
    case, the caller says nothing, and hears the refusal."""
    reply = give_case(twilio, sid, line, choose_language(twilio, sid, line, key), number, at)
    if not closed_again:
        root = twiml(reply)
        redirect = root.find("Redirect")
        if redirect is not None and query(redirect.text).get("closed") == "1":
            reply = twilio.post(redirect.text, call_params(sid, line, **({"IvrAt": at} if at else {})))
    return reply


def waiting(services, queue: str) -> dict[str, float]:
    """Who waits in a queue, earliest deadline first, with their deadlines (epoch seconds)."""
    return {sid: services.waiting.deadline(queue, sid) for sid in services.waiting.callers(queue)}


def callbacks(services) -> list[dict]:
    return services.callbacks.requests()


def enqueued(twilio, sid, line=EMEA, key=2, number="30000002"):
    """Put a caller in a queue through the real flow; return the <Enqueue> verb."""
    root = twiml(case_for(twilio, sid, line, key, number))
    assert verbs(root)[-1] == "Enqueue"
    return root.find("Enqueue")


# ---------------------------------------------------------------------------------------------- signatures


ENGINEER_LEG = "CA" + "e" * 32
"""The CallSid of the call Twilio places to the engineer: the whisper is requested on that leg."""
ROUTED_TO_ENGINEER = ("/voice/whisper", "/voice/dial-result")
"""Steps that only exist after a call was routed to its engineer: they read the case from its state."""


def _request_for(twilio: Twilio, endpoint: str, sid: str) -> tuple[str, dict]:
    """A realistic request to each endpoint, with the URL our own TwiML gives it.

    Our URLs carry no case, engineer or deadline: the whisper and the dial result find them in
    the caller's call state, so for those two the call is first routed to its engineer through
    the real flow (case 30000001, engineer emea-en available) and the URL is taken from <Dial>.
    """
    line = "line=%2B442079460100"
    paths = {
        "/voice/incoming": "/voice/incoming",
        "/voice/language": f"/voice/language?{line}&attempt=1",
        "/voice/case": f"/voice/case?{line}&lang=en&attempt=1",
        "/voice/wait": f"/voice/wait?{line}&lang=en&queue=emea-en",
        "/voice/queue-key": f"/voice/queue-key?{line}&lang=en&queue=emea-en",
        "/voice/queue-result": f"/voice/queue-result?{line}&lang=en&queue=emea-en",
        "/voice/status": "/voice/status",
        "/voice/fallback": "/voice/fallback",
    }
    params = call_params(sid, EMEA, Digits="1", DialCallStatus="no-answer", QueueResult="queue-full",
                         QueueTime="99999", QueuePosition="2", CallStatus="completed")
    if endpoint == "/voice/case":
        params["Digits"] = "30000002"
    if endpoint in ROUTED_TO_ENGINEER:
        dial = twiml(case_for(twilio, sid, EMEA, 1, "30000001")).find("Dial")
        if endpoint == "/voice/whisper":
            return dial.find("Client").get("url"), call_params(ENGINEER_LEG, EMEA, ParentCallSid=sid)
        return dial.get("action"), params
    return paths[endpoint], params


FORGERIES = {
    "missing": lambda url, params: "",
    "empty-looking": lambda url, params: " ",
    "wrong token": lambda url, params: sign(url, params, token="0" * 32),
    "other url": lambda url, params: sign(url.replace("/voice/", "/voice/x"), params),
    "other params": lambda url, params: sign(url, {**params, "CallSid": "CA" + "f" * 32}),
    "garbage": lambda url, params: "not-a-signature",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("forgery", FORGERIES)
def test_an_unsigned_or_badly_signed_request_is_refused_and_changes_nothing(twilio, redis_url, services, sid,
                                                                           endpoint, forgery):
    path, params = _request_for(twilio, endpoint, sid)
    before = snapshot(redis_url)

    reply = twilio.post(path, params, signature=FORGERIES[forgery](BASE + path, params))

    assert reply.status_code == 403
    assert "<Response" not in reply.get_data(as_text=True)
    assert snapshot(redis_url) == before  # no key, field or stream entry added or changed
    if endpoint not in ROUTED_TO_ENGINEER:  # those were routed first, by correctly signed requests
        assert services.calls.get(sid) == {}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_same_request_correctly_signed_is_answered(twilio, redis_url, sid, endpoint):
    path, params = _request_for(twilio, endpoint, sid)
    before = snapshot(redis_url)

    reply = twilio.post(path, params)

    if endpoint == "/voice/status":
        assert reply.status_code == 204
    elif endpoint == "/voice/whisper":
        assert verbs(twiml(reply)) == ["Say"]  # the case found through the caller's CallSid
    else:
        assert len(twiml(reply)) > 0
    if endpoint not in ("/voice/whisper", "/voice/fallback"):
        assert snapshot(redis_url) != before  # the forgery test's "nothing changed" is not vacuous


def test_a_signature_covers_the_query_string_of_our_own_urls(twilio, sid):
    path, params = _request_for(twilio, "/voice/case", sid)
    signature = sign(BASE + path, params)
    tampered = path.replace("lang=en", "lang=de")

    assert twilio.post(tampered, params, signature=signature).status_code == 403
    assert twilio.post(path, params, signature=signature).status_code == 200


def _without(params: dict, *names: str) -> dict:
    return {k: v for k, v in params.items() if k not in names}


NOT_TWILIO = {
    # a request no Twilio voice webhook looks like, though its signature is valid
    "no CallSid": lambda p: _without(p, "CallSid"),
    "empty CallSid": lambda p: {**p, "CallSid": ""},
    "no To": lambda p: _without(p, "To"),
    "no From": lambda p: _without(p, "From"),
    "empty From": lambda p: {**p, "From": ""},
    # The signature covers names and values run together, so "From" + "+1415…" + "To" + "+4420…"
    # signs a From of "+1415…To+4420…" just as well: the re-split leaves a malformed From and no To.
    "To folded into From": lambda p: {**_without(p, "To"), "From": p["From"] + "To" + p["To"]},
    "From a word": lambda p: {**p, "From": "Alice"},
    "From of 16 digits": lambda p: {**p, "From": "+1234567890123456"},
    "From with spaces": lambda p: {**p, "From": "+44 20 7946 0100"},
    "From a bare plus": lambda p: {**p, "From": "+"},
    "From client without identity": lambda p: {**p, "From": "client:"},
    "To a word": lambda p: {**p, "To": "reception"},
}


@pytest.mark.parametrize("endpoint", ["/voice/incoming", "/voice/status"])
@pytest.mark.parametrize("change", NOT_TWILIO)
def test_a_signed_request_twilio_cannot_have_sent_is_refused_and_changes_nothing(twilio, redis_url, sid, endpoint,
                                                                                change):
    params = NOT_TWILIO[change](call_params(sid, EMEA, CallStatus="completed"))
    if change == "To folded into From":  # the same signature as the genuine request: a real re-split
        assert sign(BASE + endpoint, params) == sign(BASE + endpoint, call_params(sid, EMEA, CallStatus="completed"))
    before = snapshot(redis_url)

    reply = twilio.post(endpoint, params)

    assert reply.status_code == 400
    assert "<Response" not in reply.get_data(as_text=True)
    assert snapshot(redis_url) == before


@pytest.mark.parametrize(("caller", "called"), [
    ("anonymous", EMEA), ("Restricted", EMEA), ("UNKNOWN", EMEA), ("unavailable", EMEA), ("private", EMEA),
    ("client:anna.k@emea", EMEA), ("sip:alice@pbx.example.com", EMEA), ("442079460100", EMEA),
    ("+123456789012345", EMEA), (CALLER, ""), (CALLER, "client:reception"),
])
def test_every_caller_id_twilio_sends_is_accepted(twilio, sid, caller, called):
    # A withheld number, a Client identity, a SIP address, a number without "+", or no To at all.
    reply = twilio.post("/voice/incoming", {**call_params(sid, called, CallStatus="ringing"), "From": caller})

    root = twiml(reply)
    assert verbs(root) == ["Say", "Gather", "Redirect"]


PROXY_TOML = '[proxy]\ntrusted = ["127.0.0.1"]\n'
PUBLIC = "https://ivr.example.com/voice/incoming"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.com"}


@pytest.fixture
def proxied_app(redis_url, tmp_path):
    config = tmp_path / "ivr.toml"
    config.write_text(PROXY_TOML, encoding="utf-8")
    settings = load_settings(config)
    assert settings.trusted_proxies == ("127.0.0.1",)
    app = build_app(redis_url, settings=settings)
    yield app
    close_app(app)


def test_behind_a_trusted_proxy_the_public_https_url_is_verified(proxied_app, sid, services):
    reply = Twilio(proxied_app).post("/voice/incoming", call_params(sid), signed_url=PUBLIC, headers=FORWARDED)

    assert verbs(twiml(reply)) == ["Say", "Gather", "Redirect"]
    assert services.calls.get(sid).get("line") == EMEA


def test_forwarded_headers_from_an_untrusted_address_are_ignored(proxied_app, sid, redis_url):
    twilio = Twilio(proxied_app, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    before = keys(redis_url)

    reply = twilio.post("/voice/incoming", call_params(sid), signed_url=PUBLIC, headers=FORWARDED)

    assert reply.status_code == 403
    assert keys(redis_url) == before
    # The headers were ignored, not the address blocked: the URL the request really used verifies.
    assert twiml(twilio.post("/voice/incoming", call_params(sid), headers=FORWARDED)).tag == "Response"


def test_without_configured_proxies_forwarded_headers_are_ignored(twilio, sid):
    reply = twilio.post("/voice/incoming", call_params(sid), signed_url=PUBLIC, headers=FORWARDED)

    assert reply.status_code == 403


def test_a_trusted_proxy_cannot_make_a_request_for_the_internal_url_pass_as_public(proxied_app, sid):
    # Signed for http://localhost, but the proxy says the public URL was https://ivr.example.com.
    reply = Twilio(proxied_app).post("/voice/incoming", call_params(sid), headers=FORWARDED)

    assert reply.status_code == 403


# ---------------------------------------------------------------------------------------------- language menu


@pytest.mark.parametrize("line", LINES)
def test_a_multi_language_line_offers_its_languages_in_spec_order(twilio, sid, line):
    region, languages = LINES[line]

    root = twiml(twilio.post("/voice/incoming", call_params(sid, line, CallStatus="ringing")))

    assert verbs(root) == ["Say", "Gather", "Redirect"]
    welcome = root.find("Say")
    assert welcome.text == WELCOMES[region]
    assert welcome.get("language") == VOICES[(region, "en")].say_language
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert path_of(gather.get("action")) == "/voice/language"
    assert query(gather.get("action")) == {"line": line, "attempt": "1"}
    options = list(gather)
    assert [o.tag for o in options] == ["Say"] * len(languages)
    for key, (option, lang) in enumerate(zip(options, languages, strict=True), start=1):
        assert option.get("language") == VOICES[(region, lang)].say_language, lang
        assert option.get("voice") == VOICES[(region, lang)].voice, lang
        assert str(key) in option.text
    assert options[0].text == "For English, press 1."
    # Each option names its own language in that language: no two are the same sentence.
    assert len({o.text.replace(str(k), "") for k, o in enumerate(options, start=1)}) == len(languages)
    assert_never_silent(root)


def test_the_one_language_partner_line_skips_the_menu(twilio, sid, services):
    root = twiml(twilio.post("/voice/incoming", call_params(sid, EMEA_PARTNER, CallStatus="ringing")))

    assert verbs(root) == ["Say", "Gather", "Redirect"]
    assert root.find("Say").text == WELCOME_PARTNER
    gather = root.find("Gather")
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "en-GB"
    assert path_of(gather.get("action")) == "/voice/case"
    assert query(gather.get("action")) == {"line": EMEA_PARTNER, "lang": "en", "attempt": "1"}
    assert [s.text for s in gather] == [ASK_CASE]
    assert_never_silent(root)
    assert services.calls.get(sid) == {"line": EMEA_PARTNER, "caller": CALLER, "called": EMEA_PARTNER}


@pytest.mark.parametrize(("key", "lang"), list(enumerate(LINES[EMEA][1], start=1)))
def test_a_menu_key_picks_that_language_for_the_rest_of_the_call(twilio, sid, services, key, lang):
    prompt = choose_language(twilio, sid, EMEA, key)

    assert verbs(prompt) == ["Gather", "Redirect"]
    gather = gather_of(prompt)
    assert query(gather.get("action"))["lang"] == lang
    assert gather.get("language") == VOICES[("emea", lang)].gather_language
    assert [s.get("language") for s in gather] == [VOICES[("emea", lang)].say_language]
    assert services.calls.get(sid).get("language") == lang
    if lang != "en":
        assert gather.find("Say").text != ASK_CASE  # spoken in the language chosen, not English
    assert_never_silent(prompt)


@pytest.mark.parametrize(("line", "key", "listens_for"), [
    ("+18885550101", 1, "en-CA"),  # spoken in US English (no en-CA voice), heard as Canadian English
    ("+18885550101", 2, "fr-CA"),
    (US, 2, "es-US"),
    ("+6518005550100", 3, "cmn-Hans-CN"),  # Mandarin: <Say> is cmn-CN, recognition cmn-Hans-CN
    ("+5511555500100", 3, "pt-BR"),
])
def test_the_case_prompt_listens_for_speech_in_the_callers_language_and_accent(twilio, sid, line, key,
                                                                               listens_for):
    region, languages = LINES[line]

    gather = gather_of(choose_language(twilio, sid, line, key))

    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == listens_for
    assert gather.find("Say").get("language") == VOICES[(region, languages[key - 1])].say_language


def test_no_key_at_the_menu_means_the_first_language(twilio, sid, services):
    prompt = choose_language(twilio, sid, EMEA, None)

    gather = gather_of(prompt)
    assert prompt.find("Say").text == "We will continue in English."
    assert path_of(gather.get("action")) == "/voice/case"
    assert query(gather.get("action"))["lang"] == "en"
    assert gather.find("Say").text == ASK_CASE
    assert gather.find("Say").get("language") == "en-GB"
    assert services.calls.get(sid).get("language") == "en"


@pytest.mark.parametrize("wrong", ["9", "7", "0", "*", "12"])
def test_a_wrong_key_once_plays_the_menu_again(twilio, sid, services, wrong):
    root = twiml(twilio.post("/voice/incoming", call_params(sid, US, CallStatus="ringing")))

    again = twiml(twilio.post(gather_of(root).get("action"), call_params(sid, US, Digits=wrong)))

    # Said in each of the menu's languages, each in its own voice: English, then Spanish on this line.
    assert verbs(again) == ["Say", "Say", "Gather", "Redirect"]
    assert [s.text for s in again.findall("Say")][0] == NOT_OFFERED
    assert [s.get("language") for s in again.findall("Say")] == ["en-US", VOICES[("us", "es")].say_language]
    menu = gather_of(again)
    assert path_of(menu.get("action")) == "/voice/language"
    assert query(menu.get("action"))["attempt"] == "2"
    assert [s.text for s in menu] == [s.text for s in gather_of(root)]
    assert services.calls.get(sid).get("language") is None  # nothing chosen yet
    assert_never_silent(again)


def test_a_wrong_key_twice_means_the_first_language(twilio, sid, services):
    root = twiml(twilio.post("/voice/incoming", call_params(sid, US, CallStatus="ringing")))
    again = twiml(twilio.post(gather_of(root).get("action"), call_params(sid, US, Digits="9")))

    prompt = twiml(twilio.post(gather_of(again).get("action"), call_params(sid, US, Digits="9")))

    assert verbs(prompt) == ["Say", "Gather", "Redirect"]
    assert prompt.find("Say").text == "We will continue in English."
    gather = gather_of(prompt)
    assert path_of(gather.get("action")) == "/voice/case"
    assert query(gather.get("action"))["lang"] == "en"
    assert gather.find("Say").text == ASK_CASE
    assert services.calls.get(sid).get("language") == "en"


def test_a_right_key_after_a_wrong_one_still_counts(twilio, sid):
    root = twiml(twilio.post("/voice/incoming", call_params(sid, US, CallStatus="ringing")))
    again = twiml(twilio.post(gather_of(root).get("action"), call_params(sid, US, Digits="5")))

    prompt = twiml(twilio.post(gather_of(again).get("action"), call_params(sid, US, Digits="2")))

    assert query(gather_of(prompt).get("action"))["lang"] == "es"
    assert gather_of(prompt).get("language") == "es-US"


def test_an_unconfigured_number_is_answered_as_the_default_line(twilio, sid, services):
    root = twiml(twilio.post("/voice/incoming", call_params(sid, "+19995550000", CallStatus="ringing")))

    assert query(gather_of(root).get("action"))["line"] == US
    assert len(list(gather_of(root))) == 2
    assert services.calls.get(sid).get("line") == US


# ---------------------------------------------------------------------------------------------- case number


def test_a_keyed_case_number_is_routed(twilio, sid, services):
    reply = case_for(twilio, sid, EMEA, 1, "30000002")

    assert verbs(twiml(reply)) == ["Say", "Enqueue"]
    assert reply.headers["X-Ivr-Outcome"] == "queue:emea-en"
    assert services.calls.get(sid).get("case") == "30000002"


@pytest.mark.parametrize("said", ["3 9 0 0 0 0 0 1", "39000001.", "39000001", "3900 0001",
                                  "three nine oh oh oh oh oh one", "thirty-nine zero zero zero zero zero one"])
def test_a_spoken_case_number_is_read_back_then_routed_once_confirmed(twilio, sid, services, said):
    prompt = choose_language(twilio, sid, EMEA_PARTNER, None)

    read_back = twiml(give_case(twilio, sid, EMEA_PARTNER, prompt, said, speech=True))

    # Nothing is routed on what speech recognition heard until the caller says it is right.
    assert verbs(read_back) == ["Gather", "Redirect"]
    assert spoken(read_back) == ("You said case number 3 9 0 0 0 0 0 1. If that is right, press 1 or say yes. "
                                 "If not, press 2 or say no.")
    assert services.calls.get(sid).get("case") is None
    reply = twilio.post(gather_of(read_back).get("action"), call_params(sid, EMEA_PARTNER, Digits="1"))
    root = twiml(reply)
    assert verbs(root) == ["Say", "Enqueue"]
    assert root.find("Enqueue").text == "emea-en"
    assert reply.headers["X-Ivr-Outcome"] == "queue:emea-en"
    assert services.calls.get(sid).get("case") == "39000001"


NOT_FOUND = ("We could not find your case. Phone support needs a case opened first on the customer portal at "
             f"{PORTAL}. Once you have a case number, please call us again.")
NO_NUMBER = ("We did not get a case number. You will find it in the e-mail that confirmed your case, and on the "
             f"customer portal at {PORTAL}. If you do not have a case yet, please open one there, then call us again.")


@pytest.mark.parametrize(("answers", "problems", "reason", "told"), [
    ((None, None, None), [NO_INPUT, NO_INPUT], "no_case_number", NO_NUMBER),
    (("123", "1234567", "123456789"), [MALFORMED, MALFORMED], "case_not_found", NOT_FOUND),
    (("99999999", "99999998", "99999997"),
     ["Sorry, we could not find case 9 9 9 9 9 9 9 9.", "Sorry, we could not find case 9 9 9 9 9 9 9 8."],
     "case_not_found", NOT_FOUND),
    (("12", None, "88888888"), [MALFORMED, NO_INPUT], "case_not_found", NOT_FOUND),
    (("s:three nine", "s:", "s:0 7 1 2"), [MALFORMED, NO_INPUT], "case_not_found", NOT_FOUND),
    (("12", "99999999", None), [MALFORMED, "Sorry, we could not find case 9 9 9 9 9 9 9 9."],
     "no_case_number", NO_NUMBER),
])
def test_three_failed_case_attempts_end_with_the_portal_in_words_fitting_the_cause(twilio, sid, services, answers,
                                                                                   problems, reason, told):
    prompt = choose_language(twilio, sid, EMEA, 1)
    for attempt, answer in enumerate(answers, start=1):
        assert query(gather_of(prompt).get("action"))["attempt"] == str(attempt)
        if answer is None:  # the caller says nothing: Twilio falls through to the <Redirect>
            reply = twilio.post(prompt.find("Redirect").text, call_params(sid))
        elif answer.startswith("s:"):
            reply = give_case(twilio, sid, EMEA, prompt, answer[2:], speech=True)
        else:
            reply = give_case(twilio, sid, EMEA, prompt, answer)
        prompt = twiml(reply)
        if attempt < 3:
            assert verbs(prompt) == ["Say", "Gather", "Redirect"]
            assert prompt.find("Say").text == problems[attempt - 1]
            assert gather_of(prompt).find("Say").text == ASK_CASE_AGAIN
            assert_never_silent(prompt)

    # Never "we could not find your case" after silence; then the portal by SMS and a repeat are offered.
    assert verbs(prompt) == ["Say", *REFUSAL_VERBS]
    assert refusal_said(prompt) == [told]
    assert says(gather_of(prompt)) == [SMS_OFFER, REPEAT_OFFER]
    assert prompt.findall("Say")[-1].text == GOODBYE
    assert reply.headers["X-Ivr-Outcome"] == f"refused:{reason}"
    assert services.calls.get(sid).get("reason") == reason


def test_a_right_case_number_on_the_third_attempt_is_still_routed(twilio, sid):
    prompt = choose_language(twilio, sid, EMEA, 1)
    prompt = twiml(give_case(twilio, sid, EMEA, prompt, "1"))
    prompt = twiml(give_case(twilio, sid, EMEA, prompt, "99999999"))

    reply = give_case(twilio, sid, EMEA, prompt, "30000002")

    assert verbs(twiml(reply)) == ["Say", "Enqueue"]


# ---------------------------------------------------------------------------------------------- refusals

SATURDAY_NOON = "2026-12-05T12:00:00+00:00"
CHRISTMAS_EVE_LATE = "2026-12-24T20:30:00+00:00"  # basic closes at 20:00; 25, 26 and 28 Dec are GB holidays
FRIDAY_MORNING = "2026-12-04T10:00:00+00:00"

ANY_TIME = f"You can update your case on the customer portal at {PORTAL} at any time."
REFUSALS = [
    # (case, moment, reason, exact English sentences before the offers)
    ("30000006", None, "case_closed",
     [f"Case 3 0 0 0 0 0 0 6 is no longer open. Please open a new case on the customer portal at {PORTAL} that "
      "mentions case 3 0 0 0 0 0 0 6, then call us with the new case number."]),
    ("30000010", None, "case_closed",
     [f"Case 3 0 0 0 0 0 1 0 is no longer open. Please open a new case on the customer portal at {PORTAL} that "
      "mentions case 3 0 0 0 0 0 1 0, then call us with the new case number."]),
    ("30000007", None, "general_inquiry",
     [f"Case 3 0 0 0 0 0 0 7 is a general inquiry. We answer those through the customer portal at {PORTAL} or "
      f"by e-mail at {EMAIL}, not by phone."]),
    ("30000008", None, "no_phone_support",
     [f"Your support plan does not include phone support. Please contact us through the customer portal at "
      f"{PORTAL} or by e-mail at {EMAIL}."]),
    ("30000009", None, "maintenance_expired",
     ["Your maintenance contract has expired, so phone support is not available. To renew it, please contact "
      f"renewals@example.com. You can also write to us through the customer portal at {PORTAL}."]),
    # The demo accounts have no time zone of their own: the line's is named, never "your local time".
    ("30000004", SATURDAY_NOON, "outside_hours",
     ["Phone support for your plan is closed right now. It opens again on Monday at 8 am, London time.",
      "Your plan includes phone support Monday to Friday, from 8 am to 8 pm.", ANY_TIME]),
    ("30000004", CHRISTMAS_EVE_LATE, "outside_hours",
     ["Phone support for your plan is closed right now. It opens again on Tuesday at 8 am, London time.",
      "Your plan includes phone support Monday to Friday, from 8 am to 8 pm.", ANY_TIME]),
    ("30000005", SATURDAY_NOON, "outside_hours",
     ["Phone support for your plan is closed right now. It opens again on Monday at 8 am, London time.",
      "Your plan includes phone support Monday to Friday, from 8 am to 5 pm.", ANY_TIME]),
]


@pytest.mark.parametrize(("case", "at", "reason", "sentences"), REFUSALS, ids=[f"{r[2]}-{r[0]}" for r in REFUSALS])
def test_each_refusal_says_why_and_what_to_do_then_offers_the_next_steps(twilio, sid, services, case, at, reason,
                                                                       sentences):
    reply = case_for(twilio, sid, EMEA, 1, case, at=at, closed_again=False)

    root = twiml(reply)
    assert verbs(root) == ["Say"] * len(sentences) + REFUSAL_VERBS
    assert refusal_said(root) == sentences
    assert root.find("Say").get("language") == "en-GB"
    # Outside hours, a caller whose number can be called is offered a callback for the opening first.
    offers = ([CALLBACK_AT_OPENING, SMS_OFFER.replace("1", "2")] if reason == "outside_hours" else [SMS_OFFER])
    assert says(gather_of(root)) == [*offers, REPEAT_OFFER]
    assert reply.headers["X-Ivr-Outcome"] == f"refused:{reason}"
    state = services.calls.get(sid)
    assert (state["decision"], state["reason"], state["case"]) == ("refused", reason, case)
    assert not waiting(services, "emea-en")


@pytest.mark.parametrize("case", ["30000004", "30000005"])
def test_business_hours_plans_are_queued_while_open(twilio, sid, case):
    reply = case_for(twilio, sid, EMEA, 1, case, at=FRIDAY_MORNING)

    assert verbs(twiml(reply)) == ["Say", "Enqueue"]
    assert reply.headers["X-Ivr-Outcome"] == "queue:emea-en"


@pytest.mark.parametrize(("key", "lang"), list(enumerate(LINES[EMEA][1], start=1)))
@pytest.mark.parametrize(("case", "reason", "needs"), [
    ("30000008", "no_phone_support", (PORTAL, EMAIL)),
    ("30000007", "general_inquiry", (PORTAL, EMAIL, "3 0 0 0 0 0 0 7")),
    ("30000006", "case_closed", (PORTAL, "3 0 0 0 0 0 0 6")),
    ("30000009", "maintenance_expired", (PORTAL,)),
    ("30000004", "outside_hours", (PORTAL,)),
])
def test_a_refusal_is_spoken_in_the_callers_language(twilio, sid, key, lang, case, reason, needs):
    reply = case_for(twilio, sid, EMEA, key, case, at=SATURDAY_NOON, closed_again=False)

    root = twiml(reply)
    assert verbs(root)[-3:] == REFUSAL_VERBS
    say = root.find("Say")
    assert (say.get("language"), say.get("voice")) == (VOICES[("emea", lang)].say_language,
                                                         VOICES[("emea", lang)].voice)
    for needed in needs:
        assert needed in " ".join(refusal_said(root))
    assert reply.headers["X-Ivr-Outcome"] == f"refused:{reason}"


# ---------------------------------------------------------------------------------------------- engineer


def test_the_cases_engineer_is_rung_with_a_whisper(twilio, sid, services):
    started = time.time()
    reply = case_for(twilio, sid, EMEA, 1, "30000001")

    root = twiml(reply)
    assert verbs(root) == ["Say", "Dial"]
    assert root.find("Say").text == ("Connecting you to Alex Morgan, who has been working on your case. "
                                     "Please hold.")
    assert reply.headers["X-Ivr-Outcome"] == "engineer:emea-en"
    dial = root.find("Dial")
    assert dial.get("timeout") == "20"
    assert dial.get("answerOnBridge") == "true"
    assert dial.get("method") == "POST"
    assert path_of(dial.get("action")) == "/voice/dial-result"
    # No case, engineer, plan or deadline in the URLs Twilio logs: the call's state keeps them.
    assert query(dial.get("action")) == {"line": EMEA, "lang": "en"}
    state = services.calls.get(sid)
    fallback = json.loads(state["fallback"])  # where the caller goes if the engineer does not answer
    assert {k: fallback[k] for k in ("queue", "case", "plan", "severity", "language")} == {
        "queue": "emea-en", "case": "30000001", "plan": "production", "severity": 2, "language": "en"}
    deadline = datetime.fromisoformat(fallback["deadline"]).timestamp()
    assert started + 180 * 60 - 5 <= deadline <= time.time() + 180 * 60  # production severity 2: 180 min
    assert [n.tag for n in dial] == ["Client"]
    client = dial.find("Client")
    assert client.findtext("Identity") == "emea-en"
    # The engineer's app can show the case before answering.
    parameters = {p.get("name"): p.get("value") for p in client.findall("Parameter")}
    assert {k: parameters[k] for k in ("case", "plan", "severity", "language", "queue")} == {
        "case": "30000001", "plan": "production", "severity": "2", "language": "en", "queue": "emea-en"}
    assert parameters["deadline"] == fallback["deadline"]
    assert path_of(client.get("url")) == "/voice/whisper"
    # The whisper is requested on the engineer's leg: our URL names the caller's call, nothing more.
    assert query(client.get("url")) == {"line": EMEA, "lang": "en", "call": sid}
    assert not waiting(services, "emea-en")  # not queued while the engineer rings
    assert state["engineer"] == "emea-en"
    assert "queue" not in state  # the caller has not waited in any queue


def test_the_dial_timeout_comes_from_the_configuration(redis_url, sid):
    settings = settings_with(dial={"timeout": 35})
    app = build_app(redis_url, settings=settings)
    try:
        load_demo(redis_url, settings)
        root = twiml(case_for(Twilio(app), sid, EMEA, 1, "30000001"))
    finally:
        close_app(app)

    assert root.find("Dial").get("timeout") == "35"


def test_the_whisper_tells_the_engineer_case_plan_severity_and_language(twilio, sid):
    client = twiml(case_for(twilio, sid, EMEA, 1, "30000001")).find("Dial/Client")

    whisper = twiml(twilio.post(client.get("url"), call_params("CA" + "e" * 32, EMEA, ParentCallSid=sid)))

    assert verbs(whisper) == ["Say"]
    # Addressed by name: a forwarded or shared phone tells the engineer the call is for them.
    assert whisper.find("Say").text == ("Alex Morgan, a support call for case 3 0 0 0 0 0 0 1. Plan: Production. "
                                        "Severity 2. The caller speaks English.")
    assert whisper.find("Say").get("language") == "en-GB"


def test_a_german_callers_engineer_hears_the_whisper_in_german(twilio, sid):
    root = twiml(case_for(twilio, sid, EMEA, 2, "31200001"))
    client = root.find("Dial/Client")
    assert client.findtext("Identity") == "emea-de"

    whisper = twiml(twilio.post(client.get("url"), call_params("CA" + "e" * 32, EMEA, ParentCallSid=sid)))

    say = whisper.find("Say")
    assert say.get("language") == "de-DE"
    assert "3 1 2 0 0 0 0 1" in say.text
    assert "Deutsch" in say.text
    assert "2" in say.text.replace("3 1 2 0 0 0 0 1", "")
    assert not say.text.startswith("Support call")  # German, not the English sentence


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_an_engineer_who_does_not_answer_sends_the_caller_to_the_queue_without_starting_over(twilio, sid, services,
                                                                                             status):
    dial = twiml(case_for(twilio, sid, EMEA, 1, "30000001")).find("Dial")
    promised = datetime.fromisoformat(json.loads(services.calls.get(sid)["fallback"])["deadline"]).timestamp()
    time.sleep(0.01)  # a deadline recomputed now would differ from the one promised

    reply = twilio.post(dial.get("action"), call_params(sid, DialCallStatus=status, DialCallDuration="0"))

    root = twiml(reply)
    assert verbs(root) == ["Say", "Enqueue"]  # no menu, no case prompt again
    assert root.find("Say").text == ENGINEER_UNAVAILABLE
    enqueue = root.find("Enqueue")
    assert enqueue.text == "emea-en"
    assert path_of(enqueue.get("waitUrl")) == "/voice/wait"
    assert path_of(enqueue.get("action")) == "/voice/queue-result"
    assert query(enqueue.get("waitUrl")) == {"line": EMEA, "lang": "en", "queue": "emea-en"}  # no case number
    assert reply.headers["X-Ivr-Outcome"] == "queue:emea-en"
    assert waiting(services, "emea-en") == {sid: promised}  # the deadline kept from the first routing
    assert services.calls.get(sid).get("dial_status") == status


@pytest.mark.parametrize("status", ["completed", "answered"])
def test_after_the_engineers_conversation_the_call_ends(twilio, sid, services, status):
    dial = twiml(case_for(twilio, sid, EMEA, 1, "30000001")).find("Dial")

    root = twiml(twilio.post(dial.get("action"), call_params(sid, DialCallStatus=status, DialCallDuration="300")))

    assert verbs(root) == ["Hangup"]
    assert not waiting(services, "emea-en")


def test_a_busy_engineer_is_not_rung(twilio, sid, services):
    reply = case_for(twilio, sid, EMEA, 1, "30000003")

    root = twiml(reply)
    assert verbs(root) == ["Say", "Enqueue"]
    assert reply.headers["X-Ivr-Outcome"] == "queue:emea-en"
    entry = json.loads(services.calls.get(sid)["waiting"])
    assert entry["preferred"] == "emea-busy"


# ---------------------------------------------------------------------------------------------- queue


@pytest.mark.parametrize(("line", "key", "lang"),
                         [(line, key, lang) for line, (_r, langs) in LINES.items()
                          for key, lang in enumerate(langs, start=1)])
def test_a_caller_is_queued_in_the_region_language_queue(twilio, sid, services, line, key, lang):
    region = LINES[line][0]
    case = f"{REGION_DIGIT[region]}0000002"  # premium, severity 1, no engineer: 30-minute target
    started = time.time()

    reply = case_for(twilio, sid, line, key, case)

    root = twiml(reply)
    assert verbs(root) == ["Say", "Enqueue"]
    assert root.find("Say").get("language") == VOICES[(region, lang)].say_language
    enqueue = root.find("Enqueue")
    assert enqueue.text == f"{region}-{lang}"
    assert reply.headers["X-Ivr-Outcome"] == f"queue:{region}-{lang}"
    for attr, path in (("waitUrl", "/voice/wait"), ("action", "/voice/queue-result")):
        assert path_of(enqueue.get(attr)) == path
        # No case number in the URL: the call's state has it.
        assert query(enqueue.get(attr)) == {"line": line, "lang": lang, "queue": f"{region}-{lang}"}
    assert enqueue.get("waitUrlMethod") == "POST"
    assert enqueue.get("method") == "POST"
    scores = waiting(services, f"{region}-{lang}")
    assert list(scores) == [sid]
    assert started + 30 * 60 - 5 <= scores[sid] <= time.time() + 30 * 60


def test_the_english_queue_prompt_is_exact(twilio, sid):
    root = twiml(case_for(twilio, sid, EMEA, 1, "30000002"))

    assert root.find("Say").text == ENTERING_QUEUE


@pytest.mark.parametrize(("ahead", "heard"), [
    (0, "You are next in line."),
    (1, "There is 1 caller ahead of you."),
    (2, "There are 2 callers ahead of you."),
    (10, "There are 10 callers ahead of you."),
])
def test_the_waiting_caller_hears_their_place_in_deadline_order_and_is_offered_a_callback(twilio, sid, services,
                                                                                         ahead, heard):
    enqueue = enqueued(twilio, sid, key=1, number="30000003")  # production severity 3: 360 minutes
    for _ in range(ahead):  # premium callers arriving later have 30 minutes: they are served first
        enqueued(twilio, "CA" + uuid.uuid4().hex, key=1, number="30000002")

    # Twilio's own FIFO position says otherwise: the deadline order is what the caller hears.
    root = twiml(twilio.post(enqueue.get("waitUrl"), call_params(
        sid, QueuePosition="1", QueueTime="30", QueueSid="QU" + "0" * 32, CurrentQueueSize="12")))

    assert verbs(root) == ["Gather"]
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert path_of(gather.get("action")) == "/voice/queue-key"
    assert query(gather.get("action")) == query(enqueue.get("waitUrl"))
    assert [(n.tag, (n.text or "").strip()) for n in gather] == [
        ("Say", heard), ("Say", OFFER_CALLBACK), ("Play", HOLD_MUSIC)]
    assert not callbacks(services)


def test_a_caller_redis_does_not_know_hears_twilios_position(twilio, sid):
    """Queued by the fail-safe answer (Redis was down), the caller is in no deadline order."""
    root = twiml(twilio.post("/voice/wait?line=%2B442079460100&lang=en&queue=emea-en",
                             call_params(sid, QueuePosition="3", QueueTime="30")))

    assert root.find("Gather/Say").text == "There are 2 callers ahead of you."


def test_the_position_is_said_in_the_callers_language_with_its_plural(twilio, sid):
    enqueue = enqueued(twilio, sid, key=2, number="30000001")  # German, production
    heard = []
    for _ in range(3):
        root = twiml(twilio.post(enqueue.get("waitUrl"), call_params(sid, QueuePosition="1", QueueTime="0")))
        say = root.find("Gather/Say")
        assert say.get("language") == "de-DE"
        heard.append(say.text)
        enqueued(twilio, "CA" + uuid.uuid4().hex, key=2, number="30000002")  # one more premium caller ahead
    assert "1" in heard[1] and "2" in heard[2]
    assert len(set(heard)) == 3
    assert heard[1] != "There is 1 caller ahead of you."


@pytest.mark.parametrize(("max_wait", "waited", "apologises"), [
    (3600, "3599", False),
    (3600, "3600", True),
    (3600, "86400", True),
    (60, "59", False),
    (60, "61", True),
])
def test_past_the_maximum_wait_the_caller_is_offered_a_callback_and_never_pushed_out(redis_url, services, sid,
                                                                                   max_wait, waited, apologises):
    settings = settings_with(queue={"max_wait": max_wait})
    app = build_app(redis_url, settings=settings)
    try:
        load_demo(redis_url, settings)
        twilio = Twilio(app)
        enqueue = enqueued(twilio, sid, key=2)

        root = twiml(twilio.post(enqueue.get("waitUrl"), call_params(sid, QueuePosition="4", QueueTime=waited)))

        assert verbs(root) == (["Say", "Gather"] if apologises else ["Gather"])
        assert root.find("Leave") is None
        assert path_of(root.find("Gather").get("action")) == "/voice/queue-key"
        assert services.calls.get(sid).get("callback") is None
        assert callbacks(services) == []
        assert list(waiting(services, "emea-de")) == [sid]
    finally:
        close_app(app)


def test_the_long_wait_apology_is_exact(twilio, sid):
    enqueue = enqueued(twilio, sid, key=1)

    root = twiml(twilio.post(enqueue.get("waitUrl"), call_params(sid, QueuePosition="4", QueueTime="3600")))

    assert root.find("Say").text == LONG_WAIT


def test_pressing_1_while_waiting_leaves_a_callback_request(twilio, sid, services):
    enqueue = enqueued(twilio, sid, key=1)
    wait = twiml(twilio.post(enqueue.get("waitUrl"), call_params(sid, QueuePosition="2", QueueTime="10")))

    asked = twiml(twilio.post(wait.find("Gather").get("action"), call_params(sid, Digits="1")))
    assert spoken(asked) == confirm_number(CALLER)
    assert services.calls.get(sid).get("callback") is None  # nothing until the number is confirmed
    root = twiml(twilio.post(asked.find("Gather").get("action"), call_params(sid, Digits="1")))

    assert verbs(root) == ["Leave"]
    state = services.calls.get(sid)
    assert (state["callback"], state["callback_reason"], state["callback_number"]) == ("requested", "caller", CALLER)
    # Nothing for the workers yet: the request takes effect when Twilio reports the caller left.
    assert callbacks(services) == []
    # Twilio then requests the <Enqueue> action: the caller hears it is recorded, and the call ends.
    done = twiml(twilio.post(enqueue.get("action"), call_params(sid, QueueResult="leave", QueueTime="12")))
    assert verbs(done) == ["Say", "Hangup"]
    assert done.find("Say").text == callback_recorded("30000002")
    [request] = callbacks(services)
    assert {k: request[k] for k in ("sid", "case", "caller", "line", "language", "queue", "reason")} == {
        "sid": sid, "case": "30000002", "caller": CALLER, "line": EMEA, "language": "en", "queue": "emea-en",
        "reason": "caller"}
    assert float(request["at"]) > 0
    assert not waiting(services, "emea-en")
    assert services.calls.get(sid).get("queue_result") == "leave"
    # Out of Twilio's queue, but in line with its deadline: a pending callback.
    assert services.callbacks.pending("emea-en") == [sid]
    assert services.callbacks.get(sid)["number"] == CALLER


def test_a_replayed_callback_request_is_recorded_once(twilio, sid, services):
    enqueue = enqueued(twilio, sid, key=1)
    wait = twiml(twilio.post(enqueue.get("waitUrl"), call_params(sid, QueuePosition="2", QueueTime="10")))
    key = wait.find("Gather").get("action")

    for _ in range(3):  # the same signed requests, replayed
        assert verbs(ask_callback(twilio, key, sid)) == ["Leave"]
    for _ in range(3):  # and Twilio's queue result, retried
        done = twiml(twilio.post(enqueue.get("action"), call_params(sid, QueueResult="leave", QueueTime="12")))
        assert done.find("Say").text == callback_recorded("30000002")
    for _ in range(2):
        twilio.post(key, call_params(sid, Digits="1"))

    assert [request["sid"] for request in callbacks(services)] == [sid]


def test_a_full_queue_records_its_callback_once_however_often_twilio_reports_it(twilio, sid, services):
    enqueue = enqueued(twilio, sid, key=1)

    for _ in range(3):
        done = twiml(twilio.post(enqueue.get("action"), call_params(sid, QueueResult="queue-full")))
        assert verbs(done) == ["Say", "Hangup"]
        assert done.find("Say").text == full_queue_callback("30000002")

    [request] = callbacks(services)
    assert (request["sid"], request["reason"], request["case"]) == (sid, "queue_full", "30000002")


@pytest.mark.parametrize("key", ["2", "0", "*", "#", "11"])
def test_any_other_key_while_waiting_keeps_the_caller_waiting(twilio, sid, services, key):
    enqueue = enqueued(twilio, sid, key=1)
    wait = twiml(twilio.post(enqueue.get("waitUrl"), call_params(sid, QueuePosition="2", QueueTime="10")))

    root = twiml(twilio.post(wait.find("Gather").get("action"), call_params(sid, Digits=key)))

    assert verbs(root) == ["Redirect"]
    assert root.find("Redirect").text == enqueue.get("waitUrl")
    assert callbacks(services) == []
    assert list(waiting(services, "emea-en")) == [sid]


QUEUE_RESULTS = {
    # QueueResult: the verbs, and the sentence when there is one
    "bridged": (["Hangup"], None),
    "hangup": (["Hangup"], None),
    "redirected": (["Hangup"], None),
    "leave": (["Say", "Hangup"], QUEUE_FAILED),  # no callback was requested on this call
    "queue-full": (["Say", "Hangup"], full_queue_callback("30000002")),
    "error": (["Say", "Hangup"], QUEUE_FAILED),
    "system-error": (["Say", "Hangup"], QUEUE_FAILED),
    "unknown": (["Say", "Hangup"], QUEUE_FAILED),
    "": (["Say", "Hangup"], QUEUE_FAILED),
}


@pytest.mark.parametrize("result", QUEUE_RESULTS)
def test_every_queue_result_ends_the_call_and_the_wait(twilio, sid, services, result):
    enqueue = enqueued(twilio, sid, key=1)
    assert list(waiting(services, "emea-en")) == [sid]

    reply = twilio.post(enqueue.get("action"), call_params(sid, QueueResult=result, QueueTime="42"))

    root = twiml(reply)
    expected_verbs, sentence = QUEUE_RESULTS[result]
    assert verbs(root) == expected_verbs
    if sentence:
        assert root.find("Say").text == sentence
    assert waiting(services, "emea-en") == {}
    assert services.calls.get(sid).get("queue_result") == (result or "unknown")
    if result == "queue-full":
        [request] = callbacks(services)
        assert (request["sid"], request["reason"]) == (sid, "queue_full")
    else:
        assert callbacks(services) == []


# ---------------------------------------------------------------------------------------------- status, fallback


@pytest.mark.parametrize("final", ["completed", "busy", "failed", "no-answer", "canceled"])
def test_a_final_status_takes_the_caller_out_of_the_waiting_list(twilio, sid, services, final):
    enqueued(twilio, sid, key=1)

    reply = twilio.post("/voice/status", call_params(sid, CallStatus=final, CallDuration="61"))

    assert reply.status_code == 204
    assert reply.get_data() == b""
    assert waiting(services, "emea-en") == {}
    state = services.calls.get(sid)
    assert (state["status"], state["queue_result"], state["duration"]) == (final, f"call_{final}", "61")


@pytest.mark.parametrize("ended", ["bridged", "hangup", "leave"])
def test_a_final_status_never_overwrites_how_the_wait_ended(twilio, sid, services, ended):
    enqueue = enqueued(twilio, sid, key=1)
    twiml(twilio.post(enqueue.get("action"), call_params(sid, QueueResult=ended, QueueTime="30")))
    twiml(twilio.post(enqueue.get("action"), call_params(sid, QueueResult="error")))  # a late, different report

    for _ in range(2):  # Twilio may repeat the final status callback
        assert twilio.post("/voice/status", call_params(sid, CallStatus="completed")).status_code == 204

    state = services.calls.get(sid)
    assert (state["queue_result"], state["status"]) == (ended, "completed")  # the first report wins
    assert [e["result"] for e in services.events.of(sid, "dequeued")] == [ended]  # logged once


@pytest.mark.parametrize("dial_status", ["completed", "answered"])
def test_a_call_its_engineer_answered_is_never_logged_as_dequeued(twilio, sid, services, dial_status):
    dial = twiml(case_for(twilio, sid, EMEA, 1, "30000001")).find("Dial")
    twiml(twilio.post(dial.get("action"), call_params(sid, DialCallStatus=dial_status, DialCallDuration="300")))

    assert twilio.post("/voice/status", call_params(sid, CallStatus="completed")).status_code == 204

    state = services.calls.get(sid)
    assert state["status"] == "completed"
    assert "queue_result" not in state  # the caller never waited in a queue
    assert services.events.of(sid, "dequeued") == []
    assert not waiting(services, "emea-en")


def test_a_caller_queued_after_the_engineer_did_not_answer_is_dequeued_once(twilio, sid, services):
    dial = twiml(case_for(twilio, sid, EMEA, 1, "30000001")).find("Dial")
    enqueue = twiml(twilio.post(dial.get("action"), call_params(sid, DialCallStatus="no-answer"))).find("Enqueue")
    twiml(twilio.post(enqueue.get("action"), call_params(sid, QueueResult="bridged", QueueTime="60")))

    twilio.post("/voice/status", call_params(sid, CallStatus="completed"))

    assert [(e["queue"], e["result"]) for e in services.events.of(sid, "dequeued")] == [("emea-en", "bridged")]
    assert services.calls.get(sid).get("queue_result") == "bridged"


def test_a_retried_case_webhook_keeps_the_caller_joined_once(twilio, sid, services):
    prompt = choose_language(twilio, sid, EMEA, 1)
    first = twiml(give_case(twilio, sid, EMEA, prompt, "30000002"))
    joined = waiting(services, "emea-en")
    state = services.calls.get(sid)
    logged = services.events.of(sid)
    time.sleep(0.01)  # a deadline recomputed now would differ

    again = twiml(give_case(twilio, sid, EMEA, prompt, "30000002"))  # Twilio retries the same webhook

    assert verbs(again) == verbs(first) == ["Say", "Enqueue"]  # the caller still gets valid TwiML
    assert again.find("Enqueue").text == "emea-en"
    assert waiting(services, "emea-en") == joined  # same entry, same deadline
    assert services.calls.get(sid) == state
    assert services.events.of(sid) == logged  # no second "routed" or "enqueued"


@pytest.mark.parametrize("progress", ["ringing", "in-progress", "queued"])
def test_a_progress_status_leaves_the_waiting_caller_in_place(twilio, sid, services, progress):
    enqueued(twilio, sid, key=1)

    reply = twilio.post("/voice/status", call_params(sid, CallStatus=progress))

    assert reply.status_code == 204
    assert list(waiting(services, "emea-en")) == [sid]
    assert services.calls.get(sid).get("status") == progress


@pytest.mark.parametrize(("to", "queue", "voice"), [
    (EMEA, "emea-en", "en-GB"),
    (EMEA_PARTNER, "emea-en", "en-GB"),
    (US, "us-en", "en-US"),
    ("+6518005550100", "apac-en", "en-AU"),
    ("+19995550000", "us-en", "en-US"),  # not configured: the default line
    ("", "us-en", "en-US"),
])
@pytest.mark.parametrize("redis_up", [True, False], ids=["redis-up", "redis-down"])
def test_the_fallback_url_queues_the_caller_in_the_lines_first_language(redis_url, sid, to, queue, voice,
                                                                         redis_up):
    app = build_app(redis_url if redis_up else DOWN_REDIS)
    try:
        reply = Twilio(app).post("/voice/fallback", call_params(sid, to, ErrorCode="11200",
                                                                ErrorUrl=BASE + "/voice/case"))
    finally:
        close_app(app)

    root = twiml(reply)
    assert verbs(root) == ["Say", "Enqueue"]
    assert root.find("Say").text == TECHNICAL_TROUBLE
    assert root.find("Say").get("language") == voice
    enqueue = root.find("Enqueue")
    assert enqueue.text == queue
    assert path_of(enqueue.get("waitUrl")) == "/voice/wait"
    assert path_of(enqueue.get("action")) == "/voice/queue-result"
    assert query(enqueue.get("waitUrl"))["queue"] == queue


@pytest.fixture
def down_app():
    app = build_app(DOWN_REDIS)
    yield app
    close_app(app)


@pytest.mark.parametrize("result", ["queue-full", "leave", "error", "system-error"])
def test_with_redis_unreachable_a_caller_leaving_the_queue_is_told_and_never_queued_again(down_app, sid, result):
    reply = Twilio(down_app).post("/voice/queue-result?line=%2B442079460100&lang=en&queue=emea-en",
                                  call_params(sid, QueueResult=result))

    root = twiml(reply)
    assert verbs(root) == ["Say", "Hangup"]
    assert "support.example.com" in root.find("Say").text


@pytest.mark.parametrize(("lang", "queue"), [("en", "emea-en"), ("de", "emea-de"), ("xx", "emea-en")])
def test_with_redis_unreachable_a_case_number_still_queues_the_caller(down_app, sid, lang, queue):
    reply = Twilio(down_app).post(f"/voice/case?line=%2B442079460100&lang={lang}&attempt=1",
                                  call_params(sid, Digits="30000001"))

    root = twiml(reply)
    assert verbs(root) == ["Say", "Enqueue"]
    assert root.find("Enqueue").text == queue
    assert path_of(root.find("Enqueue").get("waitUrl")) == "/voice/wait"


def test_with_redis_unreachable_a_new_call_is_queued_not_dropped(down_app, sid):
    root = twiml(Twilio(down_app).post("/voice/incoming", call_params(sid, US, CallStatus="ringing")))

    assert verbs(root) == ["Say", "Enqueue"]
    assert root.find("Enqueue").text == "us-en"


def test_with_redis_unreachable_the_status_callback_is_still_acknowledged(down_app, sid):
    reply = Twilio(down_app).post("/voice/status", call_params(sid, CallStatus="completed"))

    assert reply.status_code == 204


def test_with_redis_unreachable_the_wait_music_still_plays(down_app, sid):
    reply = Twilio(down_app).post("/voice/wait?line=%2B442079460100&lang=de&queue=emea-de",
                                  call_params(sid, QueuePosition="2", QueueTime="5"))

    root = twiml(reply)
    assert verbs(root) == ["Gather"]
    assert root.find("Gather/Say").get("language") == "de-DE"


WAIT_URL_VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"}
"""What Twilio accepts in TwiML for a caller already in a queue: no <Enqueue>, no <Dial>."""


@pytest.mark.parametrize("digits", ["1", "2"])
def test_with_redis_unreachable_a_key_pressed_while_waiting_keeps_the_caller_holding(down_app, sid, digits):
    wait_url = "/voice/wait?line=%2B442079460100&lang=de&queue=emea-de"

    root = twiml(Twilio(down_app).post("/voice/queue-key?line=%2B442079460100&lang=de&queue=emea-de",
                                       call_params(sid, Digits=digits)))

    assert {child.tag for child in root} <= WAIT_URL_VERBS
    assert verbs(root)[-1] == "Redirect"
    redirect = root.find("Redirect")
    assert (path_of(redirect.text), query(redirect.text)) == (path_of(wait_url), query(wait_url))
    assert redirect.get("method") == "POST"
    if digits == "1":  # the request could not be stored: the caller is told so, and keeps holding
        assert verbs(root) == ["Say", "Redirect"]
        assert root.find("Say").get("language") == "de-DE"


@pytest.mark.parametrize("waited", ["5", "99999"])
def test_with_redis_unreachable_the_wait_url_never_enqueues_the_caller_again(down_app, sid, waited):
    root = twiml(Twilio(down_app).post("/voice/wait?line=%2B442079460100&lang=en&queue=emea-en",
                                       call_params(sid, QueuePosition="3", QueueTime=waited)))

    assert {child.tag for child in root} <= WAIT_URL_VERBS


def test_with_redis_unreachable_a_caller_past_the_maximum_wait_is_not_told_a_callback_was_recorded(down_app, sid):
    twilio = Twilio(down_app)
    held = twiml(twilio.post("/voice/wait?line=%2B442079460100&lang=en&queue=emea-en",
                             call_params(sid, QueuePosition="3", QueueTime="99999")))
    assert verbs(held) == ["Say", "Gather"]  # apologised to, offered a callback, still holding

    done = twiml(twilio.post("/voice/queue-result?line=%2B442079460100&lang=en&queue=emea-en",
                             call_params(sid, QueueResult="leave", QueueTime="99999")))

    assert verbs(done) == ["Say", "Hangup"]
    assert done.find("Say").text == QUEUE_FAILED


def test_with_redis_unreachable_the_engineer_is_bridged_without_a_whisper(down_app, sid):
    reply = Twilio(down_app).post(f"/voice/whisper?line=%2B442079460100&lang=en&call={sid}",
                                  call_params(ENGINEER_LEG, EMEA, ParentCallSid=sid))

    assert verbs(twiml(reply)) == []  # an empty <Response/>: the call is bridged, not dropped


def test_a_whisper_for_a_call_with_no_routed_case_bridges_without_one(twilio, sid):
    reply = twilio.post(f"/voice/whisper?line=%2B442079460100&lang=en&call={sid}",
                        call_params(ENGINEER_LEG, EMEA, ParentCallSid=sid))

    assert verbs(twiml(reply)) == []


@pytest.mark.parametrize("result", ["bridged", "hangup"])
def test_with_redis_unreachable_a_finished_queue_call_is_not_queued_again(down_app, sid, result):
    reply = Twilio(down_app).post("/voice/queue-result?line=%2B442079460100&lang=en&queue=emea-en",
                                  call_params(sid, QueueResult=result, QueueTime="400"))

    assert verbs(twiml(reply)) == ["Hangup"]


@pytest.mark.parametrize("status", ["completed", "answered"])
def test_with_redis_unreachable_a_finished_engineer_call_is_not_queued_again(down_app, sid, status):
    path = "/voice/dial-result?line=%2B442079460100&lang=en"  # the action of our <Dial>, as it is now

    reply = Twilio(down_app).post(path, call_params(sid, DialCallStatus=status, DialCallDuration="300"))

    assert verbs(twiml(reply)) == ["Hangup"]


# ---------------------------------------------------------------------------------------------- call state


def test_each_calls_state_is_kept_under_its_sid_with_a_ttl(twilio, sid, services, settings):
    twilio.post("/voice/incoming", call_params(sid, EMEA, CallStatus="ringing"))
    assert 0 < services.calls.kept_for(sid) <= settings.state_ttl
    assert services.calls.get(sid) == {"line": EMEA, "caller": CALLER, "called": EMEA}

    enqueue = enqueued(twilio, sid, key=3, number="30000002")
    state = services.calls.get(sid)
    assert (state["language"], state["case"], state["decision"], state["queue"]) == (
        "fr", "30000002", "queue", "emea-fr")
    assert 0 < services.calls.kept_for(sid) <= settings.state_ttl

    twilio.post(enqueue.get("action"), call_params(sid, QueueResult="bridged"))
    twilio.post("/voice/status", call_params(sid, CallStatus="completed"))
    assert 0 < services.calls.kept_for(sid) <= settings.state_ttl


def test_the_state_ttl_comes_from_the_configuration(redis_url, services, sid):
    # Not the default (14400): 600..2592000 and longer than queue.max_wait (3600) are accepted.
    settings = settings_with(calls={"state_ttl": 3700})
    app = build_app(redis_url, settings=settings)
    try:
        Twilio(app).post("/voice/incoming", call_params(sid, EMEA, CallStatus="ringing"))
        assert 0 < services.calls.kept_for(sid) <= 3700
    finally:
        close_app(app)


def test_two_calls_keep_separate_state(twilio, services):
    first, second = "CA" + "1" * 32, "CA" + "2" * 32
    case_for(twilio, first, EMEA, 2, "30000002")
    case_for(twilio, second, EMEA, 4, "30000008")

    assert services.calls.get(first).get("language") == "de"
    assert services.calls.get(second).get("language") == "ru"
    assert services.calls.get(first).get("decision") == "queue"
    assert services.calls.get(second).get("reason") == "no_phone_support"


@pytest.mark.parametrize(("endpoint", "extra"), [
    ("/voice/queue-result", {"QueueResult": "bridged"}),
    ("/voice/queue-result", {"QueueResult": "queue-full"}),
    ("/voice/queue-key", {"Digits": "1"}),
    ("/voice/wait", {"QueueTime": "7200"}),
    ("/voice/status", {"CallStatus": "completed"}),
])
def test_state_written_for_a_call_never_seen_before_still_expires(twilio, sid, services, endpoint, extra):
    # e.g. a caller the fallback URL queued while Redis was down, whose queue ends after it is back
    path, params = _request_for(twilio, endpoint, sid)

    twilio.post(path, {**params, **extra})

    assert services.calls.get(sid)
    assert services.calls.kept_for(sid) > 0


# ---------------------------------------------------------------------------------------------- odd input


def _our_url(path: str, **args) -> str:
    return path + "?" + urlencode(args)


@pytest.mark.parametrize("value", ["\x08", "\x00", "\x1b[31m", "a\ufffeb", "3000\x0c0001"])
def test_control_characters_in_our_own_urls_never_break_the_twiml(twilio, services, value):
    # Values that come back to us in our own URLs: the caller's CallSid (the whisper's `call`) and the
    # queue name. Twilio's CallSids are hex, but nothing here may depend on that.
    sid = "CA" + value
    dial = twiml(case_for(twilio, sid, EMEA, 1, "30000001")).find("Dial")
    whisper_url = dial.find("Client").get("url")
    assert query(whisper_url)["call"] == sid

    whisper = twiml(twilio.post(whisper_url, call_params(ENGINEER_LEG, EMEA, ParentCallSid=sid)))
    assert verbs(whisper) == ["Say"]
    assert whisper.find("Say").text.startswith("Alex Morgan, a support call for case 3 0 0 0 0 0 0 1.")

    wait = twiml(twilio.post(_our_url("/voice/wait", line=EMEA, lang="en", queue=value),
                             call_params(sid, QueuePosition="2", QueueTime="5")))
    assert verbs(wait) == ["Gather"]
    assert query(wait.find("Gather").get("action"))["queue"] == value  # carried, encoded, not spoken

    done = twiml(twilio.post(_our_url("/voice/queue-result", line=EMEA, lang="en", queue=value),
                             call_params(sid, QueueResult="queue-full")))
    assert verbs(done) == ["Say", "Hangup"]
    assert done.find("Say").text == full_queue_callback("30000001")  # the case from the call's state
    assert [request["sid"] for request in callbacks(services)] == [sid]


@pytest.mark.parametrize(("queue", "deadline"), [
    ("emea-de\nX-Injected: 1", "2026-12-01T10:00:00+00:00"),
    ("emea-xx", "2026-12-01T10:00:00+00:00"),
    ("us-en", "2026-12-01T10:00:00+00:00"),
    ("emea-de", "2026-12-01T10:00:00+00:00"),  # even a queue of the line's region
    ("emea-de", "2000-01-01T00:00:00+00:00"),  # a deadline that would put the caller first
    ("emea-de", "not a date"),
])
def test_the_dial_result_takes_the_queue_and_deadline_from_the_calls_state_never_from_the_url(twilio, services, sid,
                                                                                            queue, deadline):
    dial = twiml(case_for(twilio, sid, EMEA, 1, "30000001")).find("Dial")
    routed = json.loads(services.calls.get(sid)["fallback"])
    # A signed URL with more in its query than ours has (Twilio signs whatever URL it requests).
    forged = dial.get("action") + "&" + urlencode({"queue": queue, "deadline": deadline, "case": "30000002",
                                                   "engineer": "emea-de", "plan": "premium", "severity": "1",
                                                   "overflow": "emea-de"})

    reply = twilio.post(forged, call_params(sid, DialCallStatus="no-answer"))

    root = twiml(reply)
    assert root.find("Enqueue").text == routed["queue"] == "emea-en"
    assert reply.headers["X-Ivr-Outcome"] == "queue:emea-en"
    assert "X-Injected" not in reply.headers
    assert waiting(services, "emea-en") == {sid: datetime.fromisoformat(routed["deadline"]).timestamp()}
    assert not waiting(services, "emea-de") and not waiting(services, "us-en")
    assert query(root.find("Enqueue").get("waitUrl")) == {"line": EMEA, "lang": "en", "queue": "emea-en"}


@pytest.mark.parametrize("lang", ["en", "de"])
def test_a_dial_result_for_a_call_with_no_routed_queue_gets_the_fail_safe_not_a_made_up_deadline(redis_url,
                                                                                                services, sid,
                                                                                                lang):
    # e.g. the call's state expired or was lost: the caller must not be queued as due now, ahead of everyone.
    app = build_app(redis_url, strict=False)  # the safety net answers, as in production
    try:
        reply = Twilio(app).post(f"/voice/dial-result?line=%2B442079460100&lang={lang}",
                                 call_params(sid, DialCallStatus="no-answer"))

        root = twiml(reply)
        assert verbs(root) == ["Say", "Enqueue"]
        assert root.find("Say").get("language") == VOICES[("emea", lang)].say_language
        if lang == "en":
            assert root.find("Say").text == TECHNICAL_TROUBLE
        assert root.find("Enqueue").text == f"emea-{lang}"
        # No waiting entry with an invented deadline: in no configured queue, and no join logged for any other.
        assert [queue for queue in sorted(queues(services.settings)) if waiting(services, queue)] == []
        assert services.events.of(sid, "enqueued") == []
    finally:
        close_app(app)


NON_LATIN = [
    ("emea.zoya@kyiv", "Зоя Коваленко", "zoya.kovalenko"),
    ("apac_haruto-1", "山田 陽翔", "haruto@apac"),
]


@pytest.mark.parametrize(("ident", "name", "identity"), NON_LATIN)
def test_an_engineer_with_a_non_latin_name_is_rung_and_the_outcome_header_stays_ascii(redis_url, services, sid,
                                                                                     ident, name, identity):
    settings = settings_with()
    app = build_app(redis_url, settings=settings)
    try:
        load_demo(redis_url, settings)
        client = connect(redis_url)
        store = Store(client)
        extra = {"engineers": [{"id": ident, "name": name, "languages": ["en"], "regions": ["emea"],
                                "client": identity, "phone": None, "active": True}],
                 "cases": [{"number": "36000001", "account": "emea-production", "type": "technical",
                            "severity": 2, "status": "open", "engineer": ident}]}
        assert load_document(store, extra, settings.regions).ok
        store.set_presence(ident, "available")
        client.close()
        twilio = Twilio(app)
        reply = case_for(twilio, sid, EMEA, 1, "36000001")
        root = twiml(reply)
        assert verbs(root) == ["Say", "Dial"]
        assert name in root.find("Say").text  # the name said as stored, in its own script
        dial = root.find("Dial")
        assert dial.find("Client").findtext("Identity") == identity
        outcome = reply.headers["X-Ivr-Outcome"]
        assert outcome == quote(f"engineer:{ident}", safe=":@")
        outcome.encode("ascii")  # an HTTP header: never anything gunicorn would refuse

        # Twilio requests the action URL exactly as written in our TwiML, and signs that URL.
        reply = twilio.post(dial.get("action"), call_params(sid, DialCallStatus="no-answer"))

        assert verbs(twiml(reply)) == ["Say", "Enqueue"]
        assert list(waiting(services, "emea-en")) == [sid]
    finally:
        close_app(app)


def test_an_engineer_id_outside_ascii_is_refused_at_load_naming_the_field(redis_url):
    settings = settings_with()
    client = connect(redis_url)
    try:
        store = Store(client)
        extra = {"engineers": [{"id": "zoë", "name": "Zoë Ångström", "languages": ["en"], "regions": ["emea"],
                                "client": "zoe", "phone": None, "active": True}]}
        result = load_document(store, extra, settings.regions)
        assert not result.ok
        assert [(e.section, e.field) for e in result.errors] == [("engineers", "id")]
        assert store.engineer("zoë") is None
    finally:
        client.close()


@pytest.mark.parametrize(("name", "value", "verbs_heard"), [
    ("QueuePosition", "9" * 5000, ["Gather"]),
    ("QueuePosition", "0" * 5000 + "3", ["Gather"]),
    ("QueueTime", "9" * 5000, ["Say", "Gather"]),
    ("QueueTime", "0" * 5000 + "5", ["Gather"]),
])
def test_an_absurdly_long_queue_number_is_not_a_server_error(twilio, sid, name, value, verbs_heard):
    path, _ = _request_for(twilio, "/voice/wait", sid)
    params = call_params(sid, QueuePosition="3", QueueTime="5")
    params[name] = value

    root = twiml(twilio.post(path, params))

    assert verbs(root) == verbs_heard
    if value.endswith("0003"):
        assert root.find("Gather/Say").text == "There are 2 callers ahead of you."


def test_an_absurdly_long_menu_key_is_a_wrong_key(twilio, sid):
    reply = twilio.post("/voice/language?line=%2B442079460100&attempt=1", call_params(sid, Digits="1" * 5000))

    assert twiml(reply).find("Say").text == NOT_OFFERED


def test_the_built_in_hold_audio_is_a_45_second_telephone_clip_served_without_a_signature(twilio):
    import io
    import wave

    reply = twilio.client.get("/audio/hold.wav")
    assert reply.status_code == 200
    assert reply.mimetype == "audio/wav"
    cache = reply.headers["Cache-Control"]
    assert "public" in cache and "max-age=86400" in cache
    body = reply.get_data()
    assert len(body) < 400_000  # 8-bit mono 8 kHz: about 360 KB, not the 720 KB of 16-bit
    clip = wave.open(io.BytesIO(body))
    assert (clip.getframerate(), clip.getsampwidth(), clip.getnchannels()) == (8000, 1, 1)
    assert clip.getnframes() / clip.getframerate() == 45
    frames = clip.readframes(clip.getnframes())
    assert max(frames) - min(frames) > 10  # not silence (unsigned 8-bit: silence is a flat 128)

    # Players and caches may ask for part of it, or whether it changed: neither costs the whole clip.
    part = twilio.client.get("/audio/hold.wav", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.get_data() == body[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(body)}"
    etag = reply.headers["ETag"]
    again = twilio.client.get("/audio/hold.wav", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
