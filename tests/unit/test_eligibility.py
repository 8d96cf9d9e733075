"""SPEC §3: who gets phone support, and every reason routing refuses a call."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing import REFUSAL_REASONS, CaseFile, Enqueue, Refused, customer_timezone, route

from .builders import (
    BERLIN,
    CASE_NUMBER,
    EMEA_LINE,
    FRIDAY,
    HOLIDAY_POLICY,
    MONDAY,
    NEW_YORK,
    NO_HOLIDAY_POLICY,
    SATURDAY,
    SUNDAY,
    US_LINE,
    WEDNESDAY,
    case_file,
    engineer,
    local,
    utc,
)

OPEN_FOR_ALL = local(NEW_YORK, WEDNESDAY, 10)
"""A moment when every phone plan is open on the US line."""


def decide(case, *, now=OPEN_FOR_ALL, line=US_LINE, language="en", policy=NO_HOLIDAY_POLICY):
    return route(case, line, language, now, policy)


def test_unknown_case_is_refused_as_not_found():
    assert decide(None) == Refused("case_not_found")


def test_case_whose_account_is_missing_is_refused_as_not_found():
    found = case_file("production")
    assert decide(CaseFile(found.case, None)).reason == "case_not_found"


@pytest.mark.parametrize("plan", ["community", "free", "nfr"])
def test_plan_without_phone_support_is_refused(plan):
    decision = decide(case_file(plan))
    assert decision == Refused("no_phone_support", case=CASE_NUMBER, plan=plan, timezone="America/New_York")


@pytest.mark.parametrize("plan", ["evaluation", "basic", "production", "premium"])
def test_phone_plan_in_hours_is_queued(plan):
    assert isinstance(decide(case_file(plan)), Enqueue)


@pytest.mark.parametrize(
    ("expires", "timezone", "now", "expired"),
    [
        # The expiry day itself is still covered; the day after is not.
        pytest.param(WEDNESDAY, None, local(NEW_YORK, WEDNESDAY, 23, 59), False, id="last-minute-of-last-day"),
        pytest.param(WEDNESDAY, None, local(NEW_YORK, WEDNESDAY + timedelta(days=1), 0), True, id="next-day"),
        pytest.param(WEDNESDAY, None, local(NEW_YORK, WEDNESDAY - timedelta(days=1), 10), False, id="day-before"),
        # Line's zone: 22:00 on the expiry day in New York is already the next day in UTC.
        pytest.param(WEDNESDAY, None, utc(2026, 6, 11, 2), False, id="line-zone-still-the-last-day"),
        # Account's zone: Tokyo is already on the next day while New York is not.
        pytest.param(WEDNESDAY, "Asia/Tokyo", utc(2026, 6, 10, 16), True, id="tokyo-already-next-day"),
        # Account's zone: Los Angeles is still on the expiry day while New York is not.
        pytest.param(WEDNESDAY, "America/Los_Angeles", utc(2026, 6, 11, 5), False, id="los-angeles-still-last-day"),
        pytest.param(None, None, OPEN_FOR_ALL, False, id="no-expiry-date"),
        pytest.param(date(2020, 1, 1), None, OPEN_FOR_ALL, True, id="long-expired"),
    ],
)
def test_maintenance_expiry_is_judged_on_the_customer_s_local_date(expires, timezone, now, expired):
    decision = decide(case_file("production", expires=expires, timezone=timezone), now=now)
    if expired:
        assert decision.reason == "maintenance_expired"
    else:
        assert isinstance(decision, Enqueue)


def test_general_inquiry_is_refused():
    assert decide(case_file("basic", kind="general")).reason == "general_inquiry"


@pytest.mark.parametrize("kind", ["technical", "licensing"])
def test_technical_and_licensing_cases_are_routed(kind):
    assert isinstance(decide(case_file("basic", kind=kind)), Enqueue)


@pytest.mark.parametrize("status", ["resolved", "closed", "cancelled"])
def test_case_that_is_no_longer_open_is_refused_as_closed(status):
    assert decide(case_file("premium", status=status)).reason == "case_closed"


@pytest.mark.parametrize("status", ["open", "awaiting_customer"])
def test_open_case_and_case_awaiting_the_customer_are_routed(status):
    assert isinstance(decide(case_file("premium", status=status)), Enqueue)


def test_call_outside_hours_is_refused_with_the_next_opening():
    decision = decide(case_file("basic"), now=local(NEW_YORK, SATURDAY, 12))
    assert decision == Refused("outside_hours", case=CASE_NUMBER, plan="basic",
                               next_open=local(NEW_YORK, MONDAY, 8), timezone="America/New_York")
    assert decision.next_open.utcoffset() == timedelta(hours=-4)


@pytest.mark.parametrize(
    ("plan", "now", "refused"),
    [
        ("evaluation", local(NEW_YORK, WEDNESDAY, 7, 59), True),
        ("evaluation", local(NEW_YORK, WEDNESDAY, 8, 0), False),
        ("evaluation", local(NEW_YORK, WEDNESDAY, 16, 59), False),
        ("evaluation", local(NEW_YORK, WEDNESDAY, 17, 0), True),
        ("basic", local(NEW_YORK, WEDNESDAY, 7, 59), True),
        ("basic", local(NEW_YORK, WEDNESDAY, 8, 0), False),
        ("basic", local(NEW_YORK, FRIDAY, 19, 59), False),
        ("basic", local(NEW_YORK, FRIDAY, 20, 0), True),
        ("basic", local(NEW_YORK, SUNDAY, 23, 0), True),
        ("production", local(NEW_YORK, SUNDAY, 3, 0), False),
        ("premium", local(NEW_YORK, SATURDAY, 20, 0), False),
    ],
)
def test_phone_hours_decide_between_queue_and_outside_hours(plan, now, refused):
    decision = decide(case_file(plan), now=now)
    assert (decision.reason == "outside_hours") is refused
    assert isinstance(decision, Refused) is refused


# One call per refusal reason, several faults at once where a later check would also refuse:
# the reason given is the first that applies, in the order REFUSAL_REASONS lists them.
REFUSALS = [
    ("case_not_found", None),
    ("no_phone_support", case_file("community", expires=date(2020, 1, 1), kind="general", status="closed")),
    ("maintenance_expired", case_file("basic", expires=date(2020, 1, 1), kind="general", status="closed")),
    ("general_inquiry", case_file("basic", kind="general", status="cancelled")),
    ("case_closed", case_file("basic", status="resolved")),
    ("outside_hours", case_file("evaluation")),
]


def test_every_refusal_reason_has_a_case_below():
    assert [reason for reason, _ in REFUSALS] == list(REFUSAL_REASONS)


@pytest.mark.parametrize(("reason", "case"), REFUSALS)
def test_call_is_refused_for_the_first_reason_that_applies(reason, case):
    # Saturday: outside business hours for every business-hours plan.
    decision = decide(case, now=local(NEW_YORK, SATURDAY, 12))
    assert isinstance(decision, Refused)
    assert decision.reason == reason
    assert (decision.next_open is not None) is (reason == "outside_hours")


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [("Europe/Berlin", "Europe/Berlin"), ("Asia/Tokyo", "Asia/Tokyo"), (None, "America/New_York")],
)
def test_customer_time_zone_is_the_account_s_else_the_line_s(timezone, expected):
    assert customer_timezone(case_file("basic", timezone=timezone), US_LINE).key == expected


def test_account_time_zone_decides_the_hours_when_set():
    # 07:30 in New York is 13:30 in Berlin: closed for a New York customer, open for a Berlin one.
    now = local(NEW_YORK, WEDNESDAY, 7, 30)
    berlin = decide(case_file("basic", timezone="Europe/Berlin"), now=now)
    line_zone = decide(case_file("basic"), now=now)
    assert isinstance(berlin, Enqueue)
    assert line_zone.reason == "outside_hours"
    assert line_zone.next_open == local(NEW_YORK, WEDNESDAY, 8)
    assert line_zone.timezone == "America/New_York"


def test_next_open_is_given_in_the_account_s_time_zone():
    decision = decide(case_file("basic", timezone="Europe/Berlin"), now=local(NEW_YORK, SATURDAY, 12))
    assert decision.timezone == "Europe/Berlin"
    assert decision.next_open == local(BERLIN, MONDAY, 8)
    assert decision.next_open.utcoffset() == timedelta(hours=2)


def test_line_time_zone_decides_the_hours_when_the_account_has_none():
    # 08:30 in London is 03:30 in New York: the EMEA line opens, the US line does not.
    now = local(NEW_YORK, WEDNESDAY, 3, 30)
    assert isinstance(decide(case_file("basic"), now=now, line=EMEA_LINE), Enqueue)
    assert decide(case_file("basic"), now=now, line=US_LINE).reason == "outside_hours"


@pytest.mark.parametrize("plan", ["evaluation", "basic", "community", "free", "nfr"])
def test_partner_account_gets_production_support_around_the_clock(plan):
    now = local(NEW_YORK, SUNDAY, 3)
    decision = decide(case_file(plan, partner=True, severity=1), now=now)
    assert isinstance(decision, Enqueue)
    assert decision.plan == "production"
    assert decision.deadline == now + timedelta(minutes=60)


def test_partner_on_premium_keeps_premium():
    decision = decide(case_file("premium", partner=True, severity=3))
    assert decision.plan == "premium"
    assert decision.deadline == OPEN_FOR_ALL + timedelta(minutes=30)


def test_the_same_plan_without_partner_status_is_refused_on_sunday_night():
    assert decide(case_file("basic", severity=1), now=local(NEW_YORK, SUNDAY, 3)).reason == "outside_hours"


@pytest.mark.parametrize("plan", ["production", "premium"])
@pytest.mark.parametrize(
    "now",
    [
        pytest.param(local(NEW_YORK, SUNDAY, 3), id="sunday-3am"),
        pytest.param(local(NEW_YORK, SATURDAY, 23, 59), id="saturday-night"),
        pytest.param(local(NEW_YORK, WEDNESDAY, 2), id="weekday-night"),
        pytest.param(local(NEW_YORK, date(2026, 12, 25), 3), id="christmas-night"),
    ],
)
def test_severity_one_on_a_round_the_clock_plan_is_never_refused_for_hours(plan, now):
    decision = decide(case_file(plan, severity=1), now=now, policy=HOLIDAY_POLICY)
    assert isinstance(decision, Enqueue)
    assert decision.severity == 1


CHRISTMAS = date(2026, 12, 25)  # a Friday


@pytest.mark.parametrize("line", [US_LINE, EMEA_LINE], ids=["us", "emea"])
@pytest.mark.parametrize("plan", ["evaluation", "basic"])
def test_public_holiday_closes_business_hours_plans(plan, line):
    now = local(_zone(line), CHRISTMAS, 10)
    decision = decide(case_file(plan), now=now, line=line, policy=HOLIDAY_POLICY)
    assert decision.reason == "outside_hours"
    assert decision.next_open > now


@pytest.mark.parametrize(("line", "opens"), [(US_LINE, date(2026, 12, 28)), (EMEA_LINE, date(2026, 12, 29))],
                         ids=["us", "emea"])
def test_next_open_after_a_holiday_skips_the_region_s_holidays(line, opens):
    zone = _zone(line)
    decision = decide(case_file("basic"), now=local(zone, CHRISTMAS, 10), line=line, policy=HOLIDAY_POLICY)
    assert decision.next_open == local(zone, opens, 8)


@pytest.mark.parametrize("line", [US_LINE, EMEA_LINE], ids=["us", "emea"])
@pytest.mark.parametrize("plan", ["production", "premium"])
def test_public_holiday_does_not_close_round_the_clock_plans(plan, line):
    now = local(_zone(line), CHRISTMAS, 10)
    assert isinstance(decide(case_file(plan, severity=3), now=now, line=line, policy=HOLIDAY_POLICY), Enqueue)


@pytest.mark.parametrize("line", [US_LINE, EMEA_LINE], ids=["us", "emea"])
@pytest.mark.parametrize("plan", ["evaluation", "basic"])
def test_holidays_switched_off_leave_business_hours_plans_open(plan, line):
    now = local(_zone(line), CHRISTMAS, 10)
    assert isinstance(decide(case_file(plan), now=now, line=line, policy=NO_HOLIDAY_POLICY), Enqueue)


def test_holidays_are_those_of_the_line_s_region():
    # 4 July 2026 is a Saturday; the US observes it on Friday 3 July, Britain does not.
    friday = date(2026, 7, 3)
    us = decide(case_file("basic"), now=local(_zone(US_LINE), friday, 10), line=US_LINE, policy=HOLIDAY_POLICY)
    emea = decide(case_file("basic"), now=local(_zone(EMEA_LINE), friday, 10), line=EMEA_LINE, policy=HOLIDAY_POLICY)
    assert us.reason == "outside_hours"
    assert isinstance(emea, Enqueue)


def test_route_refuses_a_naive_moment():
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(case_file("basic"), now=local(NEW_YORK, WEDNESDAY, 10).replace(tzinfo=None))


def _zone(line):
    return ZoneInfo(line.timezone)


# ---------------------------------------------------------------------------------------------- the account's own


THANKSGIVING = date(2026, 11, 26)
"""A US public holiday and a plain Thursday in Great Britain."""


def test_an_accounts_country_decides_its_public_holidays_not_the_lines():
    noon = local(NEW_YORK, THANKSGIVING, 12)

    british = decide(case_file("basic", country="GB"), now=noon, policy=HOLIDAY_POLICY)
    american = decide(case_file("basic"), now=noon, policy=HOLIDAY_POLICY)

    assert isinstance(british, Enqueue)  # a working day in the account's country, though the line's is closed
    assert isinstance(american, Refused) and american.reason == "outside_hours"


def test_with_holidays_switched_off_an_accounts_country_closes_nothing():
    noon = local(NEW_YORK, THANKSGIVING, 12)
    assert isinstance(decide(case_file("basic", country="US"), now=noon, policy=NO_HOLIDAY_POLICY), Enqueue)


@pytest.mark.parametrize(("timezone", "own"), [("Europe/Berlin", True), (None, False)])
def test_a_refusal_says_whether_its_time_zone_is_the_accounts_own(timezone, own):
    refused = decide(case_file("basic", timezone=timezone), now=local(NEW_YORK, SATURDAY, 12))

    assert refused.reason == "outside_hours"
    assert refused.account_zone is own
    assert refused.timezone == (timezone or "America/New_York")


def test_the_engineer_is_named_as_the_callers_language_says_it():
    anna = engineer(regions=("us",), languages=("en", "es"), spoken_name={"es": "Ana"})
    for language, name in (("es", "Ana"), ("en", "Anna Weber")):
        dialled = decide(case_file("premium", assigned=anna, presence="available"), language=language)
        assert dialled.name == name
