"""A caller's journey as the caller notices it (SPEC §2–§5): greeting, case prompt, spoken case numbers read back,
refusals with their options, hours and holidays, engineers' spoken names, the callback offer while holding, and
`ivr call` rehearsing a whole call.

Every request goes through the app factory and Flask's test client, signed as Twilio signs it, against a real
Redis holding the demo directory (ivr/cli/demo.py) or a small directory of the test's own. TwiML is parsed, not
grepped; what a caller hears is compared with the caller's own catalog (`Speaker.text`), with a few English
sentences written out in full so a wrong catalog cannot pass unnoticed.
"""
from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from ivr.adapters.directory.document import load_document
from ivr.adapters.directory.store import Store, connect
from ivr.cli.simulator import CallSimulator
from ivr.dispatch.rest import rest_client
from ivr.voice import prompts
from ivr.voice.spoken_numbers import SPEECH_HINTS
from ivr.voice.twiml import OUTCOME_HEADER

from .dispatch_support import REST_ENV
from .webhook_support import (CALLER, EMEA, EMEA_PARTNER, TOKEN, US, Twilio, build_app, call_params, close_app,
                              path_of, query, run_jobs, settings_with, spoken, twiml, verbs)

APAC = "+6518005550100"
UNCONFIGURED = "+15005550006"
"""A number Twilio could route to the app that no line is configured for."""
RENEWALS = "+442079460555"
PORTAL = "support.example.com"

# Demo cases on the EMEA line (ivr/cli/demo.py: region digit 3).
QUEUED = "30000002"
"""Premium, open: queued in emea-<language> at any hour."""
BUSINESS_HOURS = "30000004"
"""Basic: phones Monday to Friday, 8 AM to 8 PM."""
CLOSED = "30000006"
GENERAL = "30000007"
NO_PHONE = "30000008"
EXPIRED = "30000009"
CANCELLED = "30000010"
UNKNOWN = "30009999"

SATURDAY = "2026-12-05T12:00:00+00:00"
"""Noon in London on a Saturday: business-hours plans are closed until Monday 08:00."""
FRIDAY_EVENING = "2026-12-04T18:00:00+00:00"
"""18:00 in London on a Friday: after evaluation hours (08:00–17:00), before basic's close (20:00)."""
MONDAY_8AM_LONDON = datetime(2026, 12, 7, 8, 0, tzinfo=ZoneInfo("Europe/London"))


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def spaced(number: str) -> str:
    return " ".join(number)


# ---------------------------------------------------------------------------------------------- the caller


@dataclass
class Caller:
    """One caller on one line: each step posts what Twilio would post and returns the TwiML answer."""

    twilio: Twilio
    line: str = EMEA
    sid: str = field(default_factory=new_sid)
    number: str = CALLER
    at: str | None = None
    """The moment the call happens at (the `IvrAt` field `ivr call --at` sends), or None for now."""
    last: object = None

    def params(self, **form) -> dict:
        params = call_params(self.sid, self.line, **form)
        params["From"] = params["Caller"] = self.number
        if self.at:
            params["IvrAt"] = self.at
        return params

    def post(self, url: str, **form) -> ET.Element:
        self.last = self.twilio.post(url, self.params(**form))
        return twiml(self.last)

    @property
    def outcome(self) -> str | None:
        return self.last.headers.get(OUTCOME_HEADER)

    def ring(self) -> ET.Element:
        return self.post("/voice/incoming", CallStatus="ringing")

    def choose(self, key: int) -> ET.Element:
        """Ring and press a language key; return the case prompt."""
        return self.press(self.ring(), str(key))

    def press(self, root: ET.Element, digits: str) -> ET.Element:
        return self.post(gather_of(root).get("action"), Digits=digits)

    def say(self, root: ET.Element, words: str) -> ET.Element:
        return self.post(gather_of(root).get("action"), SpeechResult=words, Confidence="0.9")

    def silence(self, root: ET.Element) -> ET.Element:
        """Say nothing: the <Gather> times out and Twilio follows the <Redirect> after it."""
        redirect = root.find("Redirect")
        assert redirect is not None and query(redirect.text)["silent"] == "1", verbs(root)
        return self.post(redirect.text)


def case_url(line: str = EMEA, lang: str = "en", attempt: int = 1, **extra) -> str:
    return "/voice/case?" + urlencode({"line": line, "lang": lang, "attempt": attempt, **extra})


def gather_of(root: ET.Element) -> ET.Element:
    gathers = root.findall("Gather")
    assert len(gathers) == 1, verbs(root)
    return gathers[0]


def said_before_gather(root: ET.Element) -> list[str]:
    """The sentences said before the (only) <Gather>: what a refused caller is told, before the options."""
    sentences = []
    for verb in root:
        if verb.tag == "Gather":
            break
        if verb.tag == "Say":
            sentences.append((verb.text or "").strip())
    return sentences


def says_in_gather(root: ET.Element) -> list[str]:
    """The sentences said inside the (only) <Gather>: the options offered while listening for a key."""
    return [(say.text or "").strip() for say in gather_of(root).iter("Say")]


def top_says(root: ET.Element) -> list[str]:
    return [(verb.text or "").strip() for verb in root if verb.tag == "Say"]


def speaker(app, region: str, language: str):
    return app.extensions["ivr"].catalogs.speaker(region, language)


def assert_says_goodbye_and_hangs_up(root: ET.Element, voice) -> None:
    assert verbs(root)[-2:] == ["Say", "Hangup"]
    assert (root[-2].text or "").strip() == voice.text(prompts.GOODBYE)


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def settings():
    return settings_with(renewals=RENEWALS)


@pytest.fixture
def en(app):
    return speaker(app, "emea", "en")


@pytest.fixture
def de(app):
    return speaker(app, "emea", "de")


@contextmanager
def app_with(redis_url: str, document: dict, settings=None, presence: dict[str, str] | None = None):
    """An app on a directory of the test's own, with some engineers' presence set."""
    settings = settings or settings_with()
    client = connect(redis_url)
    try:
        store = Store(client)
        result = load_document(store, document, settings.regions)
        assert result.ok, [str(e) for e in result.errors]
        for engineer, state in (presence or {}).items():
            store.set_presence(engineer, state)
    finally:
        client.close()
    app = build_app(redis_url, settings=settings, allow_at=True)
    try:
        yield app
    finally:
        close_app(app)


def texts_sent(redis_url: str, settings, twilio_api) -> list:
    """Run the queued jobs as `ivr worker --burst` would, against the REST stand-in; return the texts it got."""
    rest = rest_client(settings_with(twilio={"api_base": twilio_api.url}), REST_ENV)
    run_jobs(redis_url, settings, rest)
    return twilio_api.requests("/Messages.json")


# ---------------------------------------------------------------------------------------------- 1. greeting


@pytest.mark.parametrize("number", [US, "+18885550101", EMEA, APAC, "+5511555500100"])
def test_each_customer_line_greets_with_the_company_and_its_region(app, twilio, settings, number):
    line = settings.lines[number]
    voice = speaker(app, line.region, line.first_language)

    root = Caller(twilio, number).ring()

    assert verbs(root)[:2] == ["Say", "Gather"]
    assert (root[0].text or "").strip() == voice.text(prompts.WELCOME_REGION[line.region], company="Contoso")


def test_the_emea_greeting_in_english_names_contoso_and_the_region(twilio):
    root = Caller(twilio, EMEA).ring()

    assert top_says(root) == ["Thank you for calling Contoso technical support for Europe, the Middle East and "
                              "Africa."]


def test_the_partner_line_greets_partners_then_asks_for_the_case_at_once(twilio, en):
    root = Caller(twilio, EMEA_PARTNER).ring()

    assert top_says(root) == ["Thank you for calling the Contoso partner support line."]
    assert top_says(root) == [en.text(prompts.WELCOME_PARTNER, company="Contoso")]
    assert spoken(gather_of(root)) == en.text(prompts.ASK_CASE)


def test_a_configured_company_is_named_in_the_greeting(redis_url):
    settings = settings_with(company="Acme")
    app = build_app(redis_url, settings=settings)
    try:
        root = Caller(Twilio(app), US).ring()
    finally:
        close_app(app)

    assert top_says(root) == ["Thank you for calling Acme technical support for the United States."]


def test_a_call_to_an_unconfigured_number_is_answered_on_the_default_line_and_counted(app, twilio, services):
    for _ in range(2):
        caller = Caller(twilio, UNCONFIGURED)
        greeting = caller.ring()
        assert top_says(greeting) == [speaker(app, "us", "en").text(prompts.WELCOME_REGION["us"], company="Contoso")]
        assert query(gather_of(greeting).get("action"))["line"] == US
        prompt = caller.press(greeting, "1")  # later steps name the line: not counted again
        assert query(gather_of(prompt).get("action"))["line"] == US

    assert services.calls.unconfigured_numbers() == {UNCONFIGURED: 2}


def test_calls_to_configured_numbers_are_never_counted_as_unconfigured(twilio, settings, services):
    for number in settings.lines:
        Caller(twilio, number).ring()

    assert services.calls.unconfigured_numbers() == {}


# ---------------------------------------------------------------------------------------------- 2. case prompt


@pytest.mark.parametrize("key, language", [(1, "en"), (2, "de")])
def test_the_case_prompt_listens_for_keys_and_speech_with_the_language_number_words(app, twilio, key, language):
    prompt = Caller(twilio, EMEA).choose(key)

    gather = gather_of(prompt)
    assert gather.get("input") == "dtmf speech"
    assert gather.get("hints") == SPEECH_HINTS[language]
    assert spoken(gather) == speaker(app, "emea", language).text(prompts.ASK_CASE)
    assert (path_of(gather.get("action")), query(gather.get("action"))["attempt"]) == ("/voice/case", "1")


def test_the_first_case_prompt_says_where_to_find_the_number_and_what_to_do_without_one(twilio):
    prompt = Caller(twilio, EMEA).choose(1)

    assert spoken(gather_of(prompt)) == (
        "Please enter your eight-digit case number, or say it. You will find it in the e-mail that confirmed your "
        "case, and on the customer portal. If you do not have a case number, press star.")


@pytest.mark.parametrize("digits, problem", [
    (UNKNOWN, lambda voice: voice.text(prompts.CASE_UNKNOWN, case=spaced(UNKNOWN))),
    ("1234", lambda voice: voice.text(prompts.CASE_MALFORMED)),
])
def test_a_wrong_number_is_explained_then_asked_for_again(twilio, en, digits, problem):
    caller = Caller(twilio)

    again = caller.press(caller.choose(1), digits)

    assert top_says(again) == [problem(en)]
    assert spoken(gather_of(again)) == en.text(prompts.ASK_CASE_AGAIN)
    assert query(gather_of(again).get("action"))["attempt"] == "2"
    assert caller.outcome is None


# ---------------------------------------------------------------------------------------------- 3. no case: star


def test_star_at_the_case_prompt_tells_how_to_open_a_case_and_offers_the_sms_and_a_repeat(twilio, en):
    caller = Caller(twilio)

    root = caller.press(caller.choose(1), "*")

    assert caller.outcome == "refused:no_case"
    assert verbs(root) == ["Say", "Gather", "Say", "Hangup"]
    assert said_before_gather(root) == [en.text(prompts.REFUSED["no_case"], portal=PORTAL)]
    assert said_before_gather(root) == [
        "Phone support starts from a support case. Please open a case on the customer portal at support.example.com. "
        "We will send you its number by e-mail; then please call us again with that number."]
    assert says_in_gather(root) == [en.text(prompts.PORTAL_SMS_OFFER, key="1"), en.text(prompts.REPEAT_OFFER)]
    assert path_of(gather_of(root).get("action")) == "/voice/refusal"
    assert_says_goodbye_and_hangs_up(root, en)


# ---------------------------------------------------------------------------------------------- 4. speech


ENGLISH_QUEUED = "three oh oh oh oh oh oh two"
GERMAN_QUEUED = "drei null null null null null null zwei"


def read_back_to(caller: Caller, words: str) -> ET.Element:
    return caller.say(caller.choose(1), words)


def assert_read_back(root: ET.Element, voice, number: str, tries: int = 1) -> None:
    """A read-back <Gather> to /voice/case-confirm, and nothing routed."""
    assert verbs(root) == ["Gather", "Redirect"]
    gather = gather_of(root)
    assert spoken(gather) == voice.text(prompts.CASE_READ_BACK, case=spaced(number))
    assert gather.get("input") == "dtmf speech"
    assert path_of(gather.get("action")) == "/voice/case-confirm"
    assert query(gather.get("action"))["tries"] == str(tries)


def assert_queued(caller: Caller, root: ET.Element, services, queue: str) -> None:
    assert verbs(root)[-1] == "Enqueue"
    assert root.find("Enqueue").text == queue
    assert caller.outcome == f"queue:{queue}"
    assert services.waiting.callers(queue) == [caller.sid]


def test_a_spoken_case_number_is_read_back_digit_by_digit_before_anything_is_routed(twilio, en, services):
    caller = Caller(twilio)

    root = read_back_to(caller, ENGLISH_QUEUED)

    assert_read_back(root, en, QUEUED)
    assert spoken(root) == ("You said case number 3 0 0 0 0 0 0 2. If that is right, press 1 or say yes. "
                            "If not, press 2 or say no.")
    assert caller.outcome is None
    assert services.waiting.callers("emea-en") == []
    assert "decision" not in services.calls.get(caller.sid)


@pytest.mark.parametrize("answer", [{"Digits": "1"}, {"SpeechResult": "yes"}])
def test_confirming_the_read_back_routes_the_call(twilio, services, answer):
    caller = Caller(twilio)
    root = read_back_to(caller, ENGLISH_QUEUED)

    routed = caller.post(gather_of(root).get("action"), **answer)

    assert_queued(caller, routed, services, "emea-en")


@pytest.mark.parametrize("answer", [{"Digits": "2"}, {"SpeechResult": "no"}])
def test_denying_the_read_back_asks_for_the_number_again_on_the_next_attempt(twilio, en, services, answer):
    caller = Caller(twilio)
    root = read_back_to(caller, ENGLISH_QUEUED)

    again = caller.post(gather_of(root).get("action"), **answer)

    assert verbs(again) == ["Gather", "Redirect"]
    assert spoken(gather_of(again)) == en.text(prompts.ASK_CASE_AGAIN)
    assert (path_of(gather_of(again).get("action")), query(gather_of(again).get("action"))["attempt"]) == (
        "/voice/case", "2")
    assert services.waiting.callers("emea-en") == []


def test_silence_after_the_read_back_reads_it_once_more_then_asks_again(twilio, en, services):
    caller = Caller(twilio)
    root = read_back_to(caller, ENGLISH_QUEUED)

    once_more = caller.silence(root)
    assert_read_back(once_more, en, QUEUED, tries=2)

    again = caller.silence(once_more)
    assert spoken(gather_of(again)) == en.text(prompts.ASK_CASE_AGAIN)
    assert query(gather_of(again).get("action"))["attempt"] == "2"
    assert services.waiting.callers("emea-en") == []


def test_a_german_caller_saying_the_number_in_german_hears_it_read_back_in_german(twilio, de, services):
    caller = Caller(twilio)

    root = caller.say(caller.choose(2), GERMAN_QUEUED)

    assert_read_back(root, de, QUEUED)
    assert gather_of(root).get("language") == "de-DE"
    routed = caller.say(root, "ja")
    assert_queued(caller, routed, services, "emea-de")


def test_a_keyed_case_number_is_routed_without_a_read_back(twilio, services):
    caller = Caller(twilio)

    routed = caller.press(caller.choose(1), QUEUED)

    assert_queued(caller, routed, services, "emea-en")


# ---------------------------------------------------------------------------------------------- 5. three tries


def assert_refusal_then_options(caller: Caller, root: ET.Element, voice, reason: str, **values) -> None:
    """The refusal for a reason, then the SMS and repeat offers, then goodbye."""
    assert caller.outcome == f"refused:{reason}"
    assert said_before_gather(root) == [voice.text(prompts.REFUSED[reason], portal=PORTAL, **values)]
    assert spoken(gather_of(root)) == " ".join([voice.text(prompts.PORTAL_SMS_OFFER, key="1"),
                                                voice.text(prompts.REPEAT_OFFER)])
    assert_says_goodbye_and_hangs_up(root, voice)


def test_three_silences_end_with_where_to_find_the_case_number_never_case_not_found(twilio, en):
    caller = Caller(twilio)
    root = caller.choose(1)
    for attempt in (2, 3):
        root = caller.silence(root)
        assert top_says(root) == [en.text(prompts.CASE_NO_INPUT)]
        assert query(gather_of(root).get("action"))["attempt"] == str(attempt)

    refused = caller.silence(root)

    assert_refusal_then_options(caller, refused, en, "no_case_number")
    assert "could not find" not in spoken(refused)


def test_three_unknown_numbers_end_with_case_not_found(twilio, en):
    caller = Caller(twilio)
    root = caller.choose(1)
    for _ in range(2):
        root = caller.press(root, UNKNOWN)
        assert top_says(root) == [en.text(prompts.CASE_UNKNOWN, case=spaced(UNKNOWN))]

    refused = caller.press(root, UNKNOWN)

    assert_refusal_then_options(caller, refused, en, "case_not_found")


# ---------------------------------------------------------------------------------------------- 6. closed case


@pytest.mark.parametrize("number", [CLOSED, CANCELLED])
def test_a_closed_case_first_asks_for_another_number(twilio, en, number):
    caller = Caller(twilio)

    root = caller.press(caller.choose(1), number)

    assert caller.outcome is None  # not refused yet
    assert verbs(root) == ["Gather", "Redirect"]
    assert spoken(gather_of(root)) == en.text(prompts.CASE_CLOSED_TRY_ANOTHER, case=spaced(number))
    assert path_of(gather_of(root).get("action")) == "/voice/case"
    assert query(root.find("Redirect").text)["closed"] == "1"


def test_after_a_closed_case_an_open_case_number_is_routed(twilio, services):
    caller = Caller(twilio)
    root = caller.press(caller.choose(1), CLOSED)

    routed = caller.press(root, QUEUED)

    assert_queued(caller, routed, services, "emea-en")


def test_silence_after_a_closed_case_says_how_to_open_a_new_one_naming_the_closed_case(twilio, en):
    caller = Caller(twilio)
    root = caller.press(caller.choose(1), CLOSED)

    refused = caller.silence(root)

    assert_refusal_then_options(caller, refused, en, "case_closed", case=spaced(CLOSED))
    assert "case 3 0 0 0 0 0 0 6" in said_before_gather(refused)[0]


# ---------------------------------------------------------------------------------------------- 7. refusal options


REFUSALS = {
    # reason: (what the caller gives at the case prompt: digits, or None for silence; the attempt; the moment)
    "no_case": ("*", 1, None),
    "no_case_number": (None, 3, None),
    "case_not_found": (UNKNOWN, 3, None),
    "case_closed": (CLOSED, 3, None),
    "no_phone_support": (NO_PHONE, 1, None),
    "maintenance_expired": (EXPIRED, 1, None),
    "general_inquiry": (GENERAL, 1, None),
    "outside_hours": (BUSINESS_HOURS, 1, SATURDAY),
}
"""Every refusal the demo directory can give a caller on the EMEA line in English, and how to get it."""

SMS_KEY = {"outside_hours": "2"}
"""The portal-by-SMS key: 1, or 2 where 1 is the callback at the opening."""


def sms_body(voice, reason: str) -> str:
    if reason == "case_closed":
        return voice.text(prompts.PORTAL_SMS_CLOSED_CASE, case=CLOSED, portal=PORTAL)
    if reason == "maintenance_expired":
        return voice.text(prompts.PORTAL_SMS_RENEWAL, renewals=RENEWALS, portal=PORTAL)
    if reason in ("no_case", "no_case_number", "case_not_found"):
        return voice.text(prompts.PORTAL_SMS_NEW_CASE, portal=PORTAL)
    return voice.text(prompts.PORTAL_SMS_PORTAL, portal=PORTAL)


def refused(caller: Caller, reason: str) -> ET.Element:
    """Get a refusal for a reason at the case prompt (the last attempt where it takes three)."""
    digits, attempt, caller.at = REFUSALS[reason]
    if digits is None:
        root = caller.post(case_url(caller.line, "en", attempt, silent=1))
    else:
        root = caller.post(case_url(caller.line, "en", attempt), Digits=digits)
    assert caller.outcome == f"refused:{reason}"
    return root


@pytest.mark.parametrize("reason", REFUSALS)
def test_star_replays_a_refusal_twice_and_then_no_longer_offers_it(twilio, en, reason):
    caller = Caller(twilio)
    first = refused(caller, reason)
    told = said_before_gather(first)
    assert told and path_of(gather_of(first).get("action")) == "/voice/refusal"
    assert en.text(prompts.REPEAT_OFFER) in says_in_gather(first)

    second = caller.press(first, "*")
    assert said_before_gather(second) == told
    assert en.text(prompts.REPEAT_OFFER) in says_in_gather(second)
    assert path_of(gather_of(second).get("action")) == "/voice/refusal"

    third = caller.press(second, "*")
    assert said_before_gather(third) == told
    assert en.text(prompts.REPEAT_OFFER) not in says_in_gather(third)  # the last time it is heard
    assert en.text(prompts.PORTAL_SMS_OFFER, key=SMS_KEY.get(reason, "1")) in says_in_gather(third)

    ended = caller.press(third, "*")
    assert top_says(ended) == [en.text(prompts.GOODBYE)]
    assert verbs(ended) == ["Say", "Hangup"]


@pytest.mark.parametrize("reason", REFUSALS)
def test_the_sms_key_texts_the_portal_link_that_fits_the_refusal(redis_url, settings, twilio, twilio_api, en, reason):
    caller = Caller(twilio)
    root = refused(caller, reason)
    key = SMS_KEY.get(reason, "1")
    assert en.text(prompts.PORTAL_SMS_OFFER, key=key) in says_in_gather(root)

    sent = caller.press(root, key)

    assert top_says(sent) == [en.text(prompts.PORTAL_SMS_SENT)]
    assert verbs(sent) == ["Say", "Hangup"]
    [text] = texts_sent(redis_url, settings, twilio_api)
    assert (text["To"], text["From"]) == (CALLER, EMEA)
    assert text["Body"] == sms_body(en, reason)


def test_the_renewal_sms_names_the_renewals_contact(redis_url, settings, twilio, twilio_api):
    caller = Caller(twilio)
    caller.press(refused(caller, "maintenance_expired"), "1")

    [text] = texts_sent(redis_url, settings, twilio_api)

    assert text["Body"] == ("Technical support: to renew your maintenance contract, please contact +442079460555. "
                            "Customer portal: support.example.com.")


def test_the_no_phone_support_sms_gives_the_portal(redis_url, settings, twilio, twilio_api, en):
    caller = Caller(twilio)
    caller.press(refused(caller, "no_phone_support"), "1")

    [text] = texts_sent(redis_url, settings, twilio_api)

    assert text["Body"] == en.text(prompts.PORTAL_SMS_PORTAL, portal=PORTAL)


def test_the_expired_maintenance_refusal_reads_the_renewals_number_digit_by_digit(twilio, en):
    caller = Caller(twilio)

    root = refused(caller, "maintenance_expired")

    assert said_before_gather(root) == [
        "Your maintenance contract has expired, so phone support is not available. To renew it, please contact "
        "+ 4 4 2 0 7 9 4 6 0 5 5 5. You can also write to us through the customer portal at support.example.com."]


BEFORE_OPENING = "2026-12-07T07:59:50+00:00"
"""Ten seconds before a basic plan's phones open in London on a Monday."""
AFTER_OPENING = "2026-12-07T08:00:05+00:00"
"""A key pressed at the end of the refusal heard then: phones have opened meanwhile."""


def refused_just_before_opening(twilio) -> tuple[Caller, ET.Element]:
    caller = Caller(twilio, at=BEFORE_OPENING)
    root = caller.post(case_url(EMEA, "en"), Digits=BUSINESS_HOURS)
    assert caller.outcome == "refused:outside_hours"
    caller.at = AFTER_OPENING
    return caller, root


def test_star_pressed_just_after_phones_open_is_answered_without_a_fault(twilio, en):
    caller, root = refused_just_before_opening(twilio)

    again = caller.press(root, "*")  # the app is STRICT: a fault raises here instead of hiding behind the fail-safe

    assert en.text(prompts.TECHNICAL_TROUBLE) not in spoken(again)


def test_the_callback_key_pressed_just_after_phones_open_sends_no_text_message(redis_url, settings, twilio,
                                                                               twilio_api, en):
    caller, root = refused_just_before_opening(twilio)
    assert says_in_gather(root)[0] == en.text(prompts.OUTSIDE_HOURS_CALLBACK_OFFER, key="1")

    answer = caller.press(root, "1")

    assert en.text(prompts.PORTAL_SMS_SENT) not in spoken(answer)
    assert texts_sent(redis_url, settings, twilio_api) == []


@pytest.mark.parametrize("reason", REFUSALS)
def test_a_withheld_number_is_offered_the_repeat_but_no_sms(twilio, en, reason):
    caller = Caller(twilio, number="anonymous")

    root = refused(caller, reason)

    assert says_in_gather(root) == [en.text(prompts.REPEAT_OFFER)]
    again = caller.press(root, "*")
    assert says_in_gather(again) == [en.text(prompts.REPEAT_OFFER)]
    last = caller.press(again, "*")  # nothing left to offer: told, then goodbye
    assert root.find("Gather") is not None and last.find("Gather") is None
    assert_says_goodbye_and_hangs_up(last, en)


# ---------------------------------------------------------------------------------------------- 8. hours


HOURS_ACCOUNTS = [
    {"id": "lineszone", "name": "No Zone Ltd", "plan": "evaluation", "maintenance_expires": "2099-12-31",
     "timezone": None},
    {"id": "ownzone", "name": "Own Zone Ltd", "plan": "evaluation", "maintenance_expires": "2099-12-31",
     "timezone": "Europe/London"},
    {"id": "gb", "name": "British Ltd", "plan": "basic", "maintenance_expires": "2099-12-31", "timezone": None,
     "country": "GB"},
    {"id": "us", "name": "American Inc", "plan": "basic", "maintenance_expires": "2099-12-31", "timezone": None,
     "country": "US"},
    {"id": "de", "name": "Deutsche GmbH", "plan": "basic", "maintenance_expires": "2099-12-31", "timezone": None,
     "country": "DE"},
    {"id": "nocountry", "name": "Somewhere Ltd", "plan": "basic", "maintenance_expires": "2099-12-31",
     "timezone": None},
]
HOURS_CASES = {"lineszone": "10000001", "ownzone": "10000002", "gb": "10000003", "us": "10000004",
               "de": "10000005", "nocountry": "10000006"}
HOURS_DOCUMENT = {
    "accounts": HOURS_ACCOUNTS,
    "engineers": [],
    "cases": [{"number": number, "account": account, "type": "technical", "severity": 2, "status": "open",
               "engineer": None} for account, number in HOURS_CASES.items()],
}


@pytest.fixture
def hours_app(redis_url):
    with app_with(redis_url, HOURS_DOCUMENT) as app:
        yield app


def call_at(app, account: str, at: str, line: str = EMEA) -> tuple[Caller, ET.Element]:
    """Give an account's case at a moment, in English; return the caller and the answer."""
    caller = Caller(Twilio(app), line, at=at)
    return caller, caller.post(case_url(line, "en"), Digits=HOURS_CASES[account])


@pytest.mark.parametrize("line, at, zone, opening, said", [
    # The EMEA line speaks British English: "8 am" (tests/unit/test_spoken_times.py).
    (EMEA, FRIDAY_EVENING, "Europe/London", MONDAY_8AM_LONDON, "on Monday at 8 am, London time."),
    (US, "2026-12-04T18:00:00-05:00", "America/New_York",
     datetime(2026, 12, 7, 8, 0, tzinfo=ZoneInfo("America/New_York")), "on Monday at 8 AM, New York time."),
])
def test_outside_hours_without_an_account_zone_names_the_line_zone_and_the_opening(hours_app, line, at, zone,
                                                                                   opening, said):
    region = hours_app.extensions["ivr"].settings.lines[line].region
    voice = speaker(hours_app, region, "en")
    now = datetime.fromisoformat(at)

    caller, root = call_at(hours_app, "lineszone", at, line)

    assert caller.outcome == "refused:outside_hours"
    told = said_before_gather(root)
    when = voice.when(opening, now.astimezone(ZoneInfo(zone)))
    assert told[0] == voice.text(prompts.OUTSIDE_HOURS_ZONE, when=when, city=voice.zone_city(zone))
    assert told[0] == "Phone support for your plan is closed right now. It opens again " + said
    assert told[1:] == [voice.text(prompts.PLAN_HOURS_WEEKDAYS, opens=voice.clock(time(8)),
                                   closes=voice.clock(time(17))),
                        voice.text(prompts.PORTAL_ANY_TIME, portal=PORTAL)]


def test_the_plan_hours_are_said_with_the_outside_hours_refusal(hours_app):
    _caller, root = call_at(hours_app, "lineszone", "2026-12-04T18:00:00-05:00", US)

    assert said_before_gather(root)[1] == "Your plan includes phone support Monday to Friday, from 8 AM to 5 PM."


def test_outside_hours_with_an_account_zone_says_your_local_time(hours_app):
    voice = speaker(hours_app, "emea", "en")

    caller, root = call_at(hours_app, "ownzone", FRIDAY_EVENING)

    assert caller.outcome == "refused:outside_hours"
    told = said_before_gather(root)
    assert told[0] == voice.text(prompts.REFUSED["outside_hours"],
                                 when=voice.when(MONDAY_8AM_LONDON, datetime.fromisoformat(FRIDAY_EVENING)))
    assert told[0] == ("Phone support for your plan is closed right now. It opens again on Monday at 8 am, "
                       "your local time.")
    assert "London time" not in spoken(root)


def test_outside_hours_offers_a_callback_at_the_opening_then_the_sms(hours_app):
    voice = speaker(hours_app, "emea", "en")

    caller, root = call_at(hours_app, "ownzone", FRIDAY_EVENING)

    assert says_in_gather(root) == [voice.text(prompts.OUTSIDE_HOURS_CALLBACK_OFFER, key="1"),
                                                voice.text(prompts.PORTAL_SMS_OFFER, key="2"),
                                                voice.text(prompts.REPEAT_OFFER)]


@pytest.mark.parametrize("line, at, closed, open_", [
    # Monday 2026-12-28: Boxing Day (observed) in the UK only.
    (US, "2026-12-28T12:00:00-05:00", "gb", "us"),
    # Friday 2026-07-03: Independence Day (observed) in the US only; the US line's own calendar is the US one.
    (US, "2026-07-03T12:00:00-04:00", "nocountry", "gb"),
    # Thursday 2026-05-14: Ascension Day in Germany, a working day in the UK (the EMEA line's calendar).
    (EMEA, "2026-05-14T12:00:00+01:00", "de", "nocountry"),
])
def test_the_account_country_holidays_close_phones_for_that_account_only(hours_app, line, at, closed, open_):
    queue = f"{hours_app.extensions['ivr'].settings.lines[line].region}-en"

    refused_caller, _ = call_at(hours_app, closed, at, line)
    routed_caller, routed = call_at(hours_app, open_, at, line)

    assert refused_caller.outcome == "refused:outside_hours"
    assert routed_caller.outcome == f"queue:{queue}"
    assert verbs(routed)[-1] == "Enqueue" and routed.find("Enqueue").text == queue


# ---------------------------------------------------------------------------------------------- 9. spoken names


NAMED_DOCUMENT = {
    "accounts": [{"id": "tokyo", "name": "Tokyo KK", "plan": "production", "maintenance_expires": "2099-12-31",
                  "timezone": None}],
    "engineers": [{"id": "anna", "name": "Anna Weber", "spoken_name": {"ja": "アンナ"}, "languages": ["en", "ja"],
                   "regions": ["apac"], "client": "anna", "phone": None, "active": True}],
    "cases": [{"number": "40000001", "account": "tokyo", "type": "technical", "severity": 2, "status": "open",
               "engineer": "anna"}],
}


@pytest.fixture
def named_app(redis_url):
    with app_with(redis_url, NAMED_DOCUMENT, presence={"anna": "available"}) as app:
        yield app


def rung(app, key: int) -> tuple[ET.Element, list[str]]:
    """Call the APAC line in a language, give the case, and return the <Dial> answer and the engineer's whisper."""
    caller = Caller(Twilio(app), APAC)
    root = caller.press(caller.choose(key), "40000001")
    assert caller.outcome == "engineer:anna"
    client = root.find("Dial").find("Client")
    whisper = caller.twilio.post(client.get("url"), call_params("CA" + "e" * 32, APAC, ParentCallSid=caller.sid))
    return root, [(say.text or "").strip() for say in twiml(whisper).iter("Say")]


def test_a_japanese_caller_hears_the_engineer_spoken_name_and_so_does_the_whisper(named_app):
    ja = speaker(named_app, "apac", "ja")

    root, whisper = rung(named_app, 2)

    assert top_says(root) == [ja.text(prompts.CONNECTING_ENGINEER, engineer="アンナ")]
    assert "Anna Weber" not in spoken(root)
    assert whisper == [ja.text(prompts.WHISPER, engineer="アンナ", case=spaced("40000001"),
                               plan=ja.plan_name("production"), severity="2", language=ja.language_name("ja"))]
    assert whisper[0].startswith("アンナ")


def test_an_english_caller_hears_the_engineer_plain_name(named_app):
    root, whisper = rung(named_app, 1)

    assert top_says(root) == ["Connecting you to Anna Weber, who has been working on your case. Please hold."]
    assert whisper == ["Anna Weber, a support call for case 4 0 0 0 0 0 0 1. Plan: Production. Severity 2. "
                       "The caller speaks English."]


# ---------------------------------------------------------------------------------------------- 10. callback offer


def wait_url_of(twilio, sid: str) -> str:
    caller = Caller(twilio, sid=sid)
    root = caller.press(caller.choose(1), QUEUED)
    return root.find("Enqueue").get("waitUrl")


def hold(twilio, sid: str, wait_url: str, queue_time: int) -> ET.Element:
    return twiml(twilio.post(wait_url, call_params(sid, QueueSid="QU" + "1" * 32, QueuePosition="1",
                                                   QueueTime=str(queue_time), AvgQueueTime="0",
                                                   CurrentQueueSize="1")))


def test_the_callback_is_offered_at_the_first_announcement_and_every_third_after(twilio, en):
    sid = new_sid()
    wait_url = wait_url_of(twilio, sid)
    offer = en.text(prompts.OFFER_CALLBACK, key="1")

    offered = [offer in says_in_gather(hold(twilio, sid, wait_url, 60 * n)) for n in range(1, 8)]

    assert offered == [True, False, False, True, False, False, True]


def test_past_the_longest_wait_the_callback_is_offered_every_time(twilio, en, settings):
    sid = new_sid()
    wait_url = wait_url_of(twilio, sid)
    offer = en.text(prompts.OFFER_CALLBACK, key="1")
    hold(twilio, sid, wait_url, 60)  # the first announcement, offered anyway

    for extra in range(4):  # announcements 2 to 5: none a multiple-of-three one
        root = hold(twilio, sid, wait_url, settings.max_wait + extra)
        assert offer in says_in_gather(root)
        assert top_says(root) == [en.text(prompts.LONG_WAIT)]


# ---------------------------------------------------------------------------------------------- 11. ivr call


def simulator(app, rehearsal: bool) -> CallSimulator:
    """`ivr call` against the in-process app, as its commands.py call() wires it."""
    client = app.test_client()

    def send(absolute, params, headers):
        reply = client.post(absolute, data=params, headers=headers)
        return reply.status_code, reply.get_data(as_text=True), reply.headers

    return CallSimulator("http://localhost/", TOKEN, send, rehearsal=rehearsal)


def staff_queue(ivr) -> list:
    result = ivr("staff", "queue", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("rehearsal", [True, False])
def test_a_simulated_call_left_holding_leaves_no_waiting_caller(app, services, ivr, rehearsal):
    result = simulator(app, rehearsal).call(EMEA, CALLER, ["1", QUEUED])

    assert result.outcome == {"kind": "queue", "target": "emea-en", "reason": "queue"}
    assert services.waiting.callers("emea-en") == []
    assert staff_queue(ivr) == []


def test_a_rehearsal_keeps_the_hold_announcement_twiml(app):
    result = simulator(app, True).call(EMEA, CALLER, ["1", QUEUED])

    [hold_twiml] = result.as_json()["hold"]
    root = ET.fromstring(hold_twiml)
    assert root.tag == "Response"
    gather = root.find("Gather")
    assert gather is not None and path_of(gather.get("action")) == "/voice/queue-key"
    assert gather.find("Play") is not None


def test_a_rehearsal_callback_request_leaves_no_pending_callback(app, services, en):
    result = simulator(app, True).call(EMEA, CALLER, ["1", QUEUED, "1", "1"])

    assert result.outcome == {"kind": "hangup", "target": "emea-en", "reason": "callback"}
    assert result.heard[-1]["text"] == en.text(prompts.CALLBACK_CONFIRMED, case=spaced(QUEUED),
                                               number=spaced(CALLER))
    assert services.callbacks.pending("emea-en") == []
    assert services.callbacks.requests() == []
    assert services.waiting.callers("emea-en") == []
