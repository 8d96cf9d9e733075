"""Every TwiML document a demo call produces nests its verbs and nouns as the TwiML schema allows.

The schema (../shared/twiml-schema/TwiML.xsd) is a partial third-party one: only its nesting is
trusted, not its attribute or voice lists, so attributes are not checked here.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivr.cli.simulator import CallSimulator, parse_presses

from .webhook_support import TOKEN, build_app, close_app, load_demo, settings_with

SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "twiml-schema" / "TwiML.xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"

NEWER_THAN_THE_SCHEMA = {"Client": {"Identity", "Parameter"}}
"""Children Twilio documents that the older schema lacks: <Client> takes <Identity> and custom
<Parameter>s (twilio-python's Client.identity() and Client.parameter())."""

CALLS = [
    # (line, presses, moment): one call per kind of step the app can answer.
    ("+442079460100", "2,31200001", "2026-11-18T12:00:00+00:00"),      # engineer, whisper
    ("+442079460100", "2,31200001,n", "2026-11-18T12:00:00+00:00"),    # no answer, then queue
    ("+18005550100", "1,10000002,1,1", "2026-11-18T12:00:00-05:00"),   # queue, callback, number confirmed
    ("+18005550100", "9,9,123,w,55555555", "2026-11-18T12:00:00-05:00"),  # menu and case retries
    ("+18005550100", "1,10000004", "2026-11-21T12:00:00-05:00"),       # outside hours
    ("+442079460199", "39000001", "2026-11-21T03:00:00+00:00"),        # partner line, no menu
    ("+6518005550100", "3,s:4 1 3 0 0 0 0 1,1", "2026-11-18T12:00:00+08:00"),  # speech, Mandarin
]

REGION_DIGIT = {"us": "1", "ca": "2", "emea": "3", "apac": "4", "latam": "5"}
"""The demo's case numbers start with their region's digit (ivr/cli/demo.py)."""


def journeys(settings) -> list[tuple[str, str, str]]:
    """Every line in every language through each new step: no case number (`*`, heard again, the portal by SMS),
    a closed case then silence, outside hours then a callback at the opening, a spoken number read back."""
    calls = []
    for line in settings.lines.values():
        digit = REGION_DIGIT[line.region]
        saturday = f"2026-11-21T12:00:00{'+00:00'}"
        for key, _language in enumerate(line.languages, start=1):
            menu = f"{key}," if len(line.languages) > 1 else ""
            calls += [
                (line.number, f"{menu}*,*,1", saturday),
                (line.number, f"{menu}{digit}0000006,w", saturday),
                (line.number, f"{menu}{digit}0000004,1", saturday),
                (line.number, f"{menu}s:{' '.join(digit + '0000002')},1", "2026-11-18T15:00:00+00:00"),
            ]
    return calls


def allowed_children() -> dict[str, set[str]]:
    """Return, for each TwiML element name, the element names the schema lets it contain."""
    root = ET.parse(SCHEMA).getroot()
    types = {t.get("name"): t for t in root.iter(f"{XS}complexType") if t.get("name")}
    allowed: dict[str, set[str]] = {}

    def children(node) -> set[str]:
        return {e.get("name") for e in node.iter(f"{XS}element") if e.get("name")}

    response = next(e for e in root.findall(f"{XS}element") if e.get("name") == "Response")
    allowed["Response"] = children(response)
    for element in root.iter(f"{XS}element"):
        name, kind = element.get("name"), element.get("type")
        if name and kind in types:
            allowed.setdefault(name, set()).update(children(types[kind]))
    for name, extra in NEWER_THAN_THE_SCHEMA.items():
        allowed.setdefault(name, set()).update(extra)
    return allowed


def misplaced(node: ET.Element, allowed: dict[str, set[str]]) -> list[str]:
    found = []
    for child in node:
        if child.tag not in allowed.get(node.tag, set()):
            found.append(f"<{child.tag}> inside <{node.tag}>")
        found.extend(misplaced(child, allowed))
    return found


@pytest.fixture
def documents(redis_url):
    settings = settings_with()
    load_demo(redis_url, settings)
    app = build_app(redis_url, settings=settings, allow_at=True)
    client = app.test_client()
    bodies: list[str] = []

    def send(url, params, headers):
        reply = client.post(url, data=params, headers=headers)
        body = reply.get_data(as_text=True)
        if reply.status_code == 200 and reply.mimetype == "text/xml":
            bodies.append(body)
        return reply.status_code, body, reply.headers

    for line, presses, moment in CALLS + journeys(settings):
        CallSimulator("http://localhost/", TOKEN, send, moment).call(line, "+14155550123", parse_presses(presses))
    yield bodies
    close_app(app)


@pytest.mark.skipif(not SCHEMA.exists(), reason=f"the shared TwiML schema is not at {SCHEMA}")
def test_every_twiml_document_of_the_demo_calls_nests_as_the_schema_allows(documents):
    allowed = allowed_children()
    assert {"Gather", "Dial", "Enqueue", "Leave", "Hangup", "Redirect", "Play"} <= {
        node.tag for body in documents for node in ET.fromstring(body).iter()}
    problems = {problem for body in documents for problem in misplaced(ET.fromstring(body), allowed)}
    assert problems == set()


def test_every_sentence_of_every_journey_is_whole_in_every_line_and_language(documents):
    said = [(say.text or "", say.get("language")) for body in documents for say in ET.fromstring(body).iter("Say")]
    assert {language for _text, language in said} >= {"en-US", "en-GB", "de-DE", "fr-CA", "fr-FR", "ja-JP", "cmn-CN",
                                                       "pt-BR", "ru-RU", "it-IT", "es-ES"}
    assert [text for text, _ in said if not text.strip() or "%(" in text or "  " in text] == []


def test_the_checker_itself_refuses_a_dial_inside_a_gather():
    if not SCHEMA.exists():
        pytest.skip(f"the shared TwiML schema is not at {SCHEMA}")
    bad = ET.fromstring("<Response><Gather><Dial><Number>+1</Number></Dial></Gather></Response>")
    assert misplaced(bad, allowed_children()) == ["<Dial> inside <Gather>"]
