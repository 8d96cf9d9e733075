"""`ivr route` and `ivr lines`: routing decisions through the real store and configuration."""
from __future__ import annotations

import json

import pytest

from .conftest import EMEA, EMEA_PARTNER, US

KEYS = ["decision", "reason", "engineer", "queue", "deadline", "next_open"]
FRIDAY = "2026-11-27"
"""A Friday that is a working day in the UK and the US (the holiday calendars of the lines used)."""


def refused(reason: str, next_open: str | None = None) -> dict:
    return {"decision": "refused", "reason": reason, "engineer": None, "queue": None,
            "deadline": None, "next_open": next_open}


def queued(queue: str, deadline: str) -> dict:
    return {"decision": "queue", "reason": "queue", "engineer": None, "queue": queue,
            "deadline": deadline, "next_open": None}


def ringing(engineer: str, queue: str, deadline: str) -> dict:
    return {"decision": "engineer", "reason": "preferred_engineer", "engineer": engineer, "queue": queue,
            "deadline": deadline, "next_open": None}


# --- the JSON object ------------------------------------------------------------------------------


def test_json_output_is_exactly_the_documented_object(loaded):
    result = loaded("route", "07123457", "--line", EMEA, "--language", "de", "--at", f"{FRIDAY}T10:00:00", "--json")

    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    out = json.loads(result.stdout)
    assert list(out) == KEYS
    # production, severity 3: 360 minutes round the clock, said in the customer's zone (Berlin).
    assert out == queued("emea-de", f"{FRIDAY}T16:00:00+01:00")


# --- the preferred engineer and the queue ---------------------------------------------------------


def test_the_preferred_engineer_rings_when_available(loaded):
    assert loaded("presence", "anna", "available").exit_code == 0

    out = loaded.route("07123456", language="de", at=f"{FRIDAY}T10:00:00")

    # production, severity 2: 180 minutes
    assert out == ringing("anna", "emea-de", f"{FRIDAY}T13:00:00+01:00")


def test_the_preferred_engineer_is_not_rung_before_saying_so(loaded):
    out = loaded.route("07123456", language="de", at=f"{FRIDAY}T10:00:00")

    # Nobody has set anna's presence: offline by default, so the caller queues.
    assert out == queued("emea-de", f"{FRIDAY}T13:00:00+01:00")


def test_a_busy_preferred_engineer_sends_the_caller_to_the_queue(loaded):
    assert loaded("presence", "anna", "busy").exit_code == 0

    out = loaded.route("07123456", language="en", at=f"{FRIDAY}T10:00:00")

    assert out == queued("emea-en", f"{FRIDAY}T13:00:00+01:00")
    text = loaded("route", "07123456", "--line", EMEA, "--language", "en", "--at", f"{FRIDAY}T10:00:00")
    assert text.exit_code == 0
    assert "queue emea-en" in text.stdout
    assert "first claim for busy engineer anna" in text.stdout


@pytest.mark.parametrize(("case", "line", "language", "engineer", "why"), [
    ("07123456", EMEA, "fr", "anna", "anna does not speak French"),
    ("07123456", US, "en", "anna", "anna does not cover the US"),
    ("07123468", EMEA, "en", "bob", "bob covers the US only"),
    ("07123469", EMEA, "de", "carl", "carl is not active"),
])
def test_an_available_engineer_who_cannot_take_the_call_is_skipped(loaded, case, line, language, engineer, why):
    assert loaded("presence", engineer, "available").exit_code == 0

    out = loaded.route(case, line=line, language=language, at=f"{FRIDAY}T10:00:00")

    assert out["decision"] == "queue", why
    assert out["engineer"] is None
    assert out["queue"] == f"{'us' if line == US else 'emea'}-{language}"


def test_a_case_without_engineer_queues_in_the_language_chosen(loaded):
    out = loaded.route("07123457", language="it", at=f"{FRIDAY}T10:00:00")

    assert out == queued("emea-it", f"{FRIDAY}T16:00:00+01:00")


def test_awaiting_customer_is_still_routed(loaded):
    assert loaded.route("07123457", language="de", at=f"{FRIDAY}T10:00:00")["decision"] == "queue"


def test_severity_1_on_production_is_routed_round_the_clock(loaded):
    out = loaded.route("07123472", language="de", at="2026-11-29T03:00:00")  # Sunday night

    assert out == queued("emea-de", "2026-11-29T04:00:00+01:00")


def test_a_partner_on_a_business_hours_plan_gets_production_support_at_weekends(loaded):
    out = loaded.route("07123471", line=EMEA_PARTNER, language="en", at="2026-11-28T03:00:00")  # Saturday

    assert out == queued("emea-en", "2026-11-28T06:00:00+01:00")


def test_without_at_the_decision_is_for_now(loaded):
    # premium, 24/7, no maintenance end: routed at any moment
    out = loaded.route("07123473", line=EMEA, language="en")

    assert out["decision"] == "queue" and out["queue"] == "emea-en"
    assert out["deadline"].endswith("+09:00")  # said in the account's zone, Asia/Tokyo


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "reason"), [
    pytest.param("99999999", "case_not_found", id="not-stored"),
    pytest.param("0712345", "case_not_found", id="seven-digits"),
    pytest.param("abc", "case_not_found", id="not-a-number"),
    pytest.param("07123465", "case_closed", id="closed"),
    pytest.param("07123466", "case_closed", id="resolved"),
    pytest.param("07123467", "case_closed", id="cancelled"),
    pytest.param("07123461", "no_phone_support", id="community"),
    pytest.param("07123462", "no_phone_support", id="free"),
    pytest.param("07123463", "no_phone_support", id="nfr"),
    pytest.param("07123460", "maintenance_expired", id="maintenance"),
    pytest.param("07123464", "general_inquiry", id="general"),
])
def test_each_refusal_reason(loaded, case, reason):
    assert loaded("presence", "anna", "available").exit_code == 0

    out = loaded.route(case, language="de", at=f"{FRIDAY}T10:00:00")

    assert out == refused(reason)


def test_a_closed_case_is_refused_even_when_its_engineer_is_available(loaded):
    assert loaded("presence", "anna", "available").exit_code == 0

    assert loaded.route("07123465", language="de", at=f"{FRIDAY}T10:00:00") == refused("case_closed")


def test_maintenance_is_valid_through_its_last_local_day(loaded):
    # lapsed: production (24/7), maintenance_expires 2026-01-31, Europe/Berlin
    assert loaded.route("07123460", at="2026-01-31T23:59:00")["decision"] == "queue"
    assert loaded.route("07123460", at="2026-02-01T00:00:00") == refused("maintenance_expired")
    # 23:30 UTC on the 31st is already February in Berlin.
    assert loaded.route("07123460", at="2026-01-31T23:30:00+00:00") == refused("maintenance_expired")


def test_outside_hours_says_when_phones_open(loaded):
    # globex: basic, Mon-Fri 08:00-20:00 Berlin; Saturday morning
    out = loaded.route("07123458", language="de", at="2026-11-28T10:00:00")

    assert out == refused("outside_hours", "2026-11-30T08:00:00+01:00")


def test_outside_hours_on_a_public_holiday_of_the_line_region(loaded):
    # Christmas Day (Friday) and Boxing Day observed (Monday) close the UK line's business-hours plans.
    out = loaded.route("07123458", language="en", at="2026-12-25T10:00:00")

    assert out == refused("outside_hours", "2026-12-29T08:00:00+01:00")


# --- hour edges with --at -------------------------------------------------------------------------


@pytest.mark.parametrize(("at", "expected"), [
    pytest.param(f"{FRIDAY}T19:59:00", queued("emea-de", "2026-11-30T15:59:00+01:00"), id="basic-fri-19:59"),
    pytest.param(f"{FRIDAY}T20:00:00", refused("outside_hours", "2026-11-30T08:00:00+01:00"), id="basic-fri-20:00"),
    pytest.param("2026-11-30T07:59:00", refused("outside_hours", "2026-11-30T08:00:00+01:00"), id="basic-mon-07:59"),
    pytest.param("2026-11-30T08:00:00", queued("emea-de", "2026-11-30T16:00:00+01:00"), id="basic-mon-08:00"),
    # The same moments given in UTC: the window is the customer's (Berlin), not the caller's clock.
    pytest.param(f"{FRIDAY}T18:59:00Z", queued("emea-de", "2026-11-30T15:59:00+01:00"), id="basic-utc-18:59"),
    pytest.param(f"{FRIDAY}T19:00:00+00:00", refused("outside_hours", "2026-11-30T08:00:00+01:00"), id="basic-utc-19:00"),
])
def test_basic_hours_edges(loaded, at, expected):
    # globex: basic, severity 2 = 480 business minutes
    assert loaded.route("07123458", language="de", at=at) == expected


@pytest.mark.parametrize(("at", "expected"), [
    # initech: evaluation (08:00-17:00), severity 1 counts as 2 = 480 business minutes
    pytest.param(f"{FRIDAY}T16:59:00", queued("emea-de", "2026-11-30T15:59:00+01:00"), id="evaluation-16:59"),
    pytest.param(f"{FRIDAY}T17:00:00", refused("outside_hours", "2026-11-30T08:00:00+01:00"), id="evaluation-17:00"),
    pytest.param("2026-11-30T08:00:00", queued("emea-de", "2026-11-30T16:00:00+01:00"), id="evaluation-08:00"),
])
def test_evaluation_hours_edges(loaded, at, expected):
    assert loaded.route("07123459", language="de", at=at) == expected


def test_an_account_without_time_zone_uses_the_line_zone(loaded):
    # londonco: basic, no time zone. 20:30 UTC is 20:30 in London (closed) but 15:30 in New York.
    at = f"{FRIDAY}T20:30:00+00:00"
    assert loaded.route("07123470", line=EMEA, language="en", at=at) == refused(
        "outside_hours", "2026-11-30T08:00:00+00:00")
    assert loaded.route("07123470", line=US, language="en", at=at) == queued("us-en", "2026-11-30T11:30:00-05:00")


# --- lines and languages --------------------------------------------------------------------------


def test_an_unknown_called_number_uses_the_default_line(loaded):
    result = loaded("route", "07123457", "--line", "+15550000000", "--language", "es",
                    "--at", f"{FRIDAY}T10:00:00", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == queued("us-es", f"{FRIDAY}T16:00:00+01:00")
    assert "+15550000000 is not a configured line; using the default line +18005550100" in result.stderr


def test_a_configured_number_written_with_spaces_is_that_line(loaded):
    result = loaded("route", "07123457", "--line", "+44 20 7946 0100", "--language", "de",
                    "--at", f"{FRIDAY}T10:00:00", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["queue"] == "emea-de"
    assert "not a configured line" not in result.stderr


@pytest.mark.parametrize(("line", "language", "offered"), [
    (EMEA_PARTNER, "de", "en"),
    ("+15550000000", "de", "en, es"),
    (EMEA, "pt", "en, de, fr, ru, es, it"),
    (EMEA, "xx", "en, de, fr, ru, es, it"),
])
def test_a_language_not_offered_on_the_line_is_a_usage_error(loaded, line, language, offered):
    result = loaded("route", "07123457", "--line", line, "--language", language, "--json")

    assert result.exit_code == 2
    assert f"'{language}' is not offered" in result.stderr
    assert f"({offered})" in result.stderr
    assert result.stdout == ""


def test_a_bad_moment_is_a_usage_error(loaded):
    result = loaded("route", "07123457", "--line", EMEA, "--language", "de", "--at", "next friday", "--json")

    assert result.exit_code == 2
    assert "'next friday' is not an ISO-8601 moment" in result.stderr


def test_human_output_names_the_engineer_and_fallback_queue(loaded):
    assert loaded("presence", "anna", "available").exit_code == 0

    result = loaded("route", "07123456", "--line", EMEA, "--language", "de", "--at", f"{FRIDAY}T10:00:00")

    assert result.exit_code == 0
    assert result.stdout.strip() == (
        f"ring engineer anna, then queue emea-de if unanswered (deadline {FRIDAY}T13:00:00+01:00)")


def test_human_output_of_a_refusal_says_when_phones_open(loaded):
    result = loaded("route", "07123458", "--line", EMEA, "--language", "de", "--at", f"{FRIDAY}T20:00:00")

    assert result.exit_code == 0
    assert result.stdout.strip() == "refused: outside_hours (phones open 2026-11-30T08:00:00+01:00)"


DEFAULT_LINES = [
    {"number": "+18005550100", "region": "us", "audience": "customer", "languages": ["en", "es"],
     "timezone": "America/New_York"},
    {"number": "+18885550101", "region": "ca", "audience": "customer", "languages": ["en", "fr"],
     "timezone": "America/Toronto"},
    {"number": "+442079460100", "region": "emea", "audience": "customer",
     "languages": ["en", "de", "fr", "ru", "es", "it"], "timezone": "Europe/London"},
    {"number": "+442079460199", "region": "emea", "audience": "partner", "languages": ["en"],
     "timezone": "Europe/London"},
    {"number": "+6518005550100", "region": "apac", "audience": "customer", "languages": ["en", "ja", "zh"],
     "timezone": "Asia/Singapore"},
    {"number": "+5511555500100", "region": "latam", "audience": "customer", "languages": ["en", "es", "pt"],
     "timezone": "America/Sao_Paulo"},
]


def test_lines_json_lists_the_built_in_lines_in_menu_order(ivr):
    result = ivr("lines", "--json")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [{k: row[k] for k in ("number", "region", "audience", "languages", "timezone")} for row in rows] == DEFAULT_LINES
    assert [row["number"] for row in rows if row["default"]] == ["+18005550100"]


def test_lines_come_from_the_configuration_file(ivr, tmp_path):
    config = tmp_path / "ivr.toml"
    config.write_text(
        'default_line = "+493055500100"\n'
        "[[lines]]\n"
        'number = "+493055500100"\nregion = "emea"\naudience = "customer"\n'
        'languages = ["de", "en"]\ntimezone = "Europe/Berlin"\n'
        "[[lines]]\n"
        'number = "+81355500100"\nregion = "apac"\n',
        encoding="utf-8",
    )

    result = ivr("lines", "--json", env={"IVR_CONFIG": str(config)})

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"number": "+493055500100", "region": "emea", "audience": "customer", "languages": ["de", "en"],
         "timezone": "Europe/Berlin", "default": True},
        {"number": "+81355500100", "region": "apac", "audience": "customer", "languages": ["en", "ja", "zh"],
         "timezone": "Asia/Singapore", "default": False},
    ]
    # Routing uses the same lines: an unconfigured number goes to the configured default line.
    routed = ivr("route", "99999999", "--line", EMEA, "--language", "fr", env={"IVR_CONFIG": str(config)})
    assert routed.exit_code == 2
    assert "'fr' is not offered on +493055500100 (de, en)" in routed.stderr


def test_lines_text_marks_the_default(ivr):
    result = ivr("lines")

    assert result.exit_code == 0
    rows = result.stdout.splitlines()
    assert len(rows) == 6
    assert rows[0].startswith("+18005550100") and rows[0].endswith("(default)")
    assert not any(row.endswith("(default)") for row in rows[1:])
    assert "en de fr ru es it" in rows[2]


# --- overflow: who is on shift comes from presence and from the loaded directory ---------------------


def test_overflow_follows_presence_and_reloads(loaded, tmp_path):
    config = tmp_path / "overflow.toml"
    config.write_text('[overflow]\n"emea-it" = "emea-en"\n', encoding="utf-8")
    env = {"IVR_CONFIG": str(config)}
    ida = {"id": "ida", "name": "Ida", "languages": ["it", "en"], "regions": ["emea"], "client": "ida", "active": True}

    def queue() -> str:
        result = loaded("route", "07123457", "--line", EMEA, "--language", "it", "--at", f"{FRIDAY}T10:00:00",
                        "--json", env=env)
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["decision"] == "queue"
        return out["queue"]

    def presence(state: str) -> None:
        assert loaded("presence", "ida", state, env=env).exit_code == 0

    # Nobody speaks Italian yet.
    assert queue() == "emea-en"
    assert loaded("load", str(loaded.write({"engineers": [ida]})), env=env).exit_code == 0
    assert queue() == "emea-en"  # offline until they say otherwise
    presence("available")
    assert queue() == "emea-it"
    presence("busy")
    assert queue() == "emea-it"  # busy is still on shift
    presence("away")
    assert queue() == "emea-en"
    presence("available")
    # A reload that drops Italian takes ida off the queue; one that restores it puts her back.
    assert loaded("load", str(loaded.write({"engineers": [{**ida, "languages": ["en"]}]})), env=env).exit_code == 0
    assert queue() == "emea-en"
    assert loaded("load", str(loaded.write({"engineers": [ida]})), env=env).exit_code == 0
    assert queue() == "emea-it"
    assert loaded("load", str(loaded.write({"engineers": [{**ida, "active": False}]})), env=env).exit_code == 0
    assert queue() == "emea-en"
    # Without the rule the caller stays in the Italian queue whoever is on shift.
    plain = loaded("route", "07123457", "--line", EMEA, "--language", "it", "--at", f"{FRIDAY}T10:00:00", "--json")
    assert json.loads(plain.stdout)["queue"] == "emea-it"
