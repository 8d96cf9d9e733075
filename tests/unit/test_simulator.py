"""`ivr call` plays Twilio's part: what it makes of odd answers from a server (issue 6, item 2)."""
from ivr.cli.simulator import CallSimulator

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'


def _simulator(body: str, headers: dict) -> CallSimulator:
    return CallSimulator("http://localhost/", "token", lambda url, params, hdrs: (200, body, headers))


def test_unparseable_twiml_ends_the_call_with_the_reason_instead_of_a_traceback():
    result = _simulator("<Response><Say>\x07</Say>", {}).call("+442079460100", "+14155550123", [])

    assert result.outcome["kind"] == "hangup"
    assert result.outcome["reason"].startswith("invalid_twiml")


def test_the_outcome_header_is_read_percent_decoded():
    header = {"X-Ivr-Outcome": "engineer:%D0%B7%D0%BE%D1%8F"}

    result = _simulator('<Response><Dial><Client>x</Client></Dial></Response>', header).call("+1", "+1", [])

    assert result.outcome == {"kind": "engineer", "target": "зоя", "reason": "preferred_engineer"}
