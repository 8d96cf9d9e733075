"""Personal data stays out of the URLs we give Twilio (and so out of every access log; issue 6, item 11)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
import xml.etree.ElementTree as ET

import pytest

from ivr.cli.simulator import CallSimulator, parse_presses
from tests.integration.webhook_support import BASE, TOKEN

US = "+18005550100"
EMEA = "+442079460100"
ALLOWED = {"line", "lang", "attempt", "silent", "queue", "call", "closed", "tries", "reason", "repeats"}
"""What our URLs may carry: the line, the language, the step (and its flags: a closed case was said, a read-back's
try, a refusal's reason and repeats), the queue, and the CallSid (no personal data)."""


@pytest.fixture
def app_options() -> dict:
    return {}  # strict, and no what-if moments


def _urls_of_a_call(app, to: str, press: str) -> list[str]:
    """Place a call and return every URL the app's TwiML gave Twilio (actions, waits, whispers, redirects)."""
    client = app.test_client()
    urls: list[str] = []

    def send(absolute, params, headers):
        reply = client.post(absolute, data=params, headers=headers)
        body = reply.get_data(as_text=True)
        if reply.status_code == 200:
            for node in ET.fromstring(body).iter():
                urls.extend(v for k, v in node.attrib.items() if k in ("action", "url", "waitUrl"))
                if node.tag == "Redirect":
                    urls.append(node.text or "")
        return reply.status_code, body, reply.headers

    CallSimulator(BASE, TOKEN, send).call(to, "+14155550123", parse_presses(press))
    return urls


@pytest.mark.parametrize(("to", "press", "case"), [
    (EMEA, "1,30000001,n", "30000001"),  # engineer rung, no answer, queued
    (EMEA, "2,30000002,1", "30000002"),  # queued, asks for a callback
    (US, "1,10000006", "10000006"),  # refused
])
def test_no_url_given_to_twilio_carries_a_case_number_engineer_or_deadline(app, to, press, case):
    urls = _urls_of_a_call(app, to, press)

    assert urls
    for url in urls:
        assert case not in url
        assert set(parse_qs(urlsplit(url).query)) <= ALLOWED, url
        assert "1415" not in url  # the caller's number
