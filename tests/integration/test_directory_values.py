"""Values already in the directory that today's `ivr load` would refuse (loaded by an older version)
still never break a call: TwiML stays well formed and headers stay legal (issue 6, item 2)."""
from __future__ import annotations

import uuid
from urllib.parse import unquote

import pytest

from ivr.adapters.directory.store import Store, connect
from routing import Account, Case, Engineer
from routing.records import Directory
from tests.integration.webhook_support import (Twilio, build_app, call_params, close_app, settings_with, twiml,
                                               verbs)

ODD = [
    pytest.param("зоя", "зоя", id="cyrillic-id"),
    pytest.param("zoe\nX-Injected: 1", "zoe", id="newline-in-id"),
    pytest.param("zoe", "zoe\x07\x1b[31m", id="control-in-identity"),
    pytest.param("zoe", "zoe\ud800", id="lone-surrogate-in-identity"),
]


@pytest.fixture
def app(redis_url):
    app = build_app(redis_url, settings=settings_with())
    yield app
    close_app(app)


def _store_directly(redis_url: str, ident: str, client: str) -> None:
    """Write records the way an older `ivr load` could have, with no checks."""
    store = Store(connect(redis_url))
    store.save(Directory(
        accounts=[Account("acme", "Acme", "production", False, None, "Europe/Berlin")],
        engineers=[Engineer(ident, "Зоя\x0b Иванова", ("en",), ("emea",), client, "+4930123456", True)],
        cases=[Case("07123456", "acme", "technical", 2, "open", ident)]))
    store.set_presence(ident, "available")
    store.redis.close()


@pytest.mark.parametrize(("ident", "client"), ODD)
def test_a_call_to_an_engineer_with_odd_stored_values_gets_well_formed_twiml_and_legal_headers(app, redis_url,
                                                                                                ident, client):
    _store_directly(redis_url, ident, client)
    sid = "CA" + uuid.uuid4().hex

    reply = Twilio(app).post("/voice/case?line=%2B442079460100&lang=en&attempt=1", call_params(sid, Digits="07123456"))

    root = twiml(reply)  # parses: no control character or surrogate reached the XML
    assert verbs(root) == ["Say", "Dial"]
    identity = root.find("Dial/Client/Identity").text
    assert identity and all(ch.isprintable() for ch in identity)
    outcome = reply.headers["X-Ivr-Outcome"]
    assert outcome.isascii() and "\n" not in outcome
    assert unquote(outcome, errors="surrogatepass").startswith("engineer:")


def test_a_control_character_in_a_stored_phone_number_never_reaches_the_twiml(app, redis_url):
    store = Store(connect(redis_url))
    store.save(Directory(
        accounts=[Account("acme", "Acme", "production", False, None, "Europe/Berlin")],
        engineers=[Engineer("desk", "Desk Phone", ("en",), ("emea",), None, "+4930123456\x07", True)],
        cases=[Case("07123456", "acme", "technical", 2, "open", "desk")]))
    store.set_presence("desk", "available")
    store.redis.close()

    reply = Twilio(app).post("/voice/case?line=%2B442079460100&lang=en&attempt=1",
                             call_params("CA" + uuid.uuid4().hex, Digits="07123456"))

    assert twiml(reply).find("Dial/Number").text == "+4930123456"
