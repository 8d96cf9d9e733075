"""SPEC §4–§5: deadlines, the preferred engineer, the regional language queue and overflow."""
from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest

from routing import (DialEngineer, Enqueue, Policy, Refused, Staffing, find_line, normalize_number, queue_name,
                     route)

from .builders import (
    CASE_NUMBER,
    EMEA_LINE,
    FRIDAY,
    HOLIDAY_POLICY,
    LONDON,
    MONDAY,
    NEW_YORK,
    NO_HOLIDAY_POLICY,
    US_LINE,
    WEDNESDAY,
    case_file,
    engineer,
    local,
)

NOW = local(NEW_YORK, WEDNESDAY, 10)
THURSDAY = WEDNESDAY + timedelta(days=1)


def at(day, hour, minute=0):
    return local(NEW_YORK, day, hour, minute)


@pytest.mark.parametrize(
    ("plan", "severity", "deadline"),
    [
        ("premium", 1, at(WEDNESDAY, 10, 30)),
        ("premium", 2, at(WEDNESDAY, 10, 30)),
        ("premium", 3, at(WEDNESDAY, 10, 30)),
        ("premium", 4, at(WEDNESDAY, 10, 30)),
        ("production", 1, at(WEDNESDAY, 11)),
        ("production", 2, at(WEDNESDAY, 13)),
        ("production", 3, at(WEDNESDAY, 16)),
        ("production", 4, at(WEDNESDAY, 18)),
        # Business hours, 08:00-20:00 on weekdays.
        ("basic", 1, at(WEDNESDAY, 12)),
        ("basic", 2, at(WEDNESDAY, 18)),
        ("basic", 3, at(THURSDAY, 10)),
        ("basic", 4, at(FRIDAY, 10)),
        # Business hours, 08:00-17:00 on weekdays; severity 1 counts as severity 2.
        ("evaluation", 1, at(THURSDAY, 9)),
        ("evaluation", 2, at(THURSDAY, 9)),
        ("evaluation", 3, at(THURSDAY, 13)),
        ("evaluation", 4, at(FRIDAY, 16)),
    ],
)
def test_caller_s_deadline_is_the_plan_and_severity_target_from_now(plan, severity, deadline):
    decision = route(case_file(plan, severity=severity), US_LINE, "en", NOW, NO_HOLIDAY_POLICY)
    assert decision.deadline == deadline
    assert (decision.plan, decision.severity, decision.case) == (plan, severity, CASE_NUMBER)


def test_basic_severity_one_call_at_friday_19_59_is_due_monday_09_59():
    decision = route(case_file("basic", severity=1), US_LINE, "en", at(FRIDAY, 19, 59), NO_HOLIDAY_POLICY)
    assert decision.deadline == at(MONDAY, 9, 59)


@pytest.mark.parametrize(
    ("plan", "severity", "start", "minutes"),
    [
        pytest.param("production", 2, local(NEW_YORK, date(2026, 11, 1), 0), 180, id="new-york-autumn"),
        pytest.param("production", 2, local(NEW_YORK, date(2026, 3, 8), 0, 30), 180, id="new-york-spring"),
        pytest.param("premium", 1, local(NEW_YORK, date(2026, 11, 1), 1, 45), 30, id="new-york-repeated-hour"),
        pytest.param("production", 3, local(NEW_YORK, date(2026, 10, 31), 23), 360, id="new-york-overnight"),
    ],
)
def test_round_the_clock_deadline_is_absolute_minutes_across_a_clock_change(plan, severity, start, minutes):
    decision = route(case_file(plan, severity=severity), US_LINE, "en", start, NO_HOLIDAY_POLICY)
    assert decision.deadline.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=minutes)


def test_london_production_deadline_across_the_autumn_change_is_three_real_hours():
    start = local(LONDON, date(2026, 10, 25), 0, 30)  # 23:30 UTC the day before
    decision = route(case_file("production", severity=2), EMEA_LINE, "en", start, NO_HOLIDAY_POLICY)
    assert decision.deadline.astimezone(UTC) == start.astimezone(UTC) + timedelta(hours=3)
    assert (decision.deadline.hour, decision.deadline.utcoffset()) == (2, timedelta(0))


def test_business_hours_deadline_across_the_spring_change_is_local_business_time():
    start = local(NEW_YORK, date(2026, 3, 6), 15)  # Friday before New York springs forward
    decision = route(case_file("basic", severity=2), US_LINE, "en", start, NO_HOLIDAY_POLICY)
    assert decision.deadline == local(NEW_YORK, date(2026, 3, 9), 11)
    assert decision.deadline.utcoffset() == timedelta(hours=-4)


@pytest.mark.parametrize(
    ("policy", "deadline"),
    [(HOLIDAY_POLICY, local(NEW_YORK, date(2026, 12, 28), 12)), (NO_HOLIDAY_POLICY, local(NEW_YORK, date(2026, 12, 25), 12))],
    ids=["christmas-closed", "holidays-off"],
)
def test_business_hours_deadline_does_not_count_a_public_holiday(policy, deadline):
    # Thursday 24 December 16:00: four open hours that day, four more on the next business day.
    start = local(NEW_YORK, date(2026, 12, 24), 16)
    decision = route(case_file("basic", severity=2), US_LINE, "en", start, policy)
    assert decision.deadline == deadline


@pytest.mark.parametrize(
    ("line", "language", "queue"),
    [(US_LINE, "en", "us-en"), (US_LINE, "es", "us-es"), (EMEA_LINE, "de", "emea-de"), (EMEA_LINE, "ru", "emea-ru")],
)
def test_call_is_queued_on_the_region_and_language_queue(line, language, queue):
    decision = route(case_file("premium"), line, language, NOW, NO_HOLIDAY_POLICY)
    assert decision == Enqueue(queue=queue, deadline=NOW + timedelta(minutes=30), case=CASE_NUMBER,
                               plan="premium", severity=2, language=language)


def test_queue_name_is_region_dash_language():
    assert queue_name("apac", "ja") == "apac-ja"


# --- Preferred engineer (SPEC §5.1, §5.3) ---------------------------------------------------------

ANNA = engineer()


def emea_call(assigned, presence, language="de", line=EMEA_LINE, policy=NO_HOLIDAY_POLICY, staffing=Staffing()):
    return route(case_file("production", severity=2, assigned=assigned, presence=presence),
                 line, language, NOW, policy, staffing)


def test_available_preferred_engineer_is_dialled_with_the_queue_as_fallback():
    decision = emea_call(ANNA, "available")
    assert isinstance(decision, DialEngineer)
    assert (decision.engineer, decision.client, decision.phone) == ("anna", "anna", None)
    assert (decision.case, decision.plan, decision.severity, decision.language) == (
        CASE_NUMBER, "production", 2, "de")
    assert decision.fallback == Enqueue(queue="emea-de", deadline=NOW + timedelta(minutes=180),
                                        case=CASE_NUMBER, plan="production", severity=2, language="de")
    assert decision.queue == "emea-de"
    assert decision.deadline == NOW + timedelta(minutes=180)


def test_engineer_with_a_phone_only_is_dialled_on_the_phone():
    decision = emea_call(engineer(client=None, phone="+4930123456"), "available")
    assert isinstance(decision, DialEngineer)
    assert (decision.client, decision.phone) == (None, "+4930123456")


def test_engineer_who_covers_several_regions_is_dialled_from_each():
    decision = emea_call(engineer(regions=("us", "emea")), "available", language="en", line=US_LINE)
    assert isinstance(decision, DialEngineer)
    assert decision.queue == "us-en"


@pytest.mark.parametrize(
    ("assigned", "presence", "language", "line"),
    [
        pytest.param(engineer(active=False), "available", "de", EMEA_LINE, id="inactive"),
        pytest.param(ANNA, "away", "de", EMEA_LINE, id="away"),
        pytest.param(ANNA, "offline", "de", EMEA_LINE, id="offline"),
        pytest.param(ANNA, "available", "fr", EMEA_LINE, id="wrong-language"),
        pytest.param(ANNA, "available", "en", US_LINE, id="wrong-region"),
        pytest.param(engineer(client=None, phone=None), "available", "de", EMEA_LINE, id="unreachable"),
        pytest.param(None, "offline", "de", EMEA_LINE, id="no-engineer"),
        pytest.param(engineer(active=False), "busy", "de", EMEA_LINE, id="busy-but-inactive"),
        pytest.param(ANNA, "busy", "fr", EMEA_LINE, id="busy-wrong-language"),
        pytest.param(ANNA, "busy", "en", US_LINE, id="busy-wrong-region"),
    ],
)
def test_engineer_who_cannot_take_the_call_leaves_a_plain_queue(assigned, presence, language, line):
    decision = emea_call(assigned, presence, language, line)
    assert isinstance(decision, Enqueue)
    assert decision.queue == queue_name(line.region, language)
    assert decision.preferred is None
    assert decision.deadline == NOW + timedelta(minutes=180)


def test_busy_preferred_engineer_gets_first_claim_on_the_queued_caller():
    decision = emea_call(ANNA, "busy")
    assert isinstance(decision, Enqueue)
    assert (decision.queue, decision.preferred) == ("emea-de", "anna")
    assert decision.deadline == NOW + timedelta(minutes=180)


def test_dialled_and_queued_callers_have_the_same_deadline():
    dialled = emea_call(ANNA, "available")
    queued = emea_call(ANNA, "away")
    assert dialled.fallback == queued


def test_refused_call_never_rings_the_preferred_engineer():
    decision = route(case_file("basic", assigned=ANNA, presence="available"), EMEA_LINE, "de",
                     local(LONDON, date(2026, 6, 13), 12), NO_HOLIDAY_POLICY)
    assert isinstance(decision, Refused)


# --- Overflow (SPEC §5.4) ---------------------------------------------------------------------------

OVERFLOW = Policy(overflow={"emea-ru": "emea-en"})


def test_unstaffed_queue_overflows_by_the_configured_rule():
    decision = emea_call(None, "offline", "ru", policy=OVERFLOW, staffing=Staffing({"emea-ru": False, "emea-de": False}))
    assert (decision.queue, decision.overflow_from) == ("emea-en", "emea-ru")
    assert decision.language == "ru"
    assert decision.deadline == NOW + timedelta(minutes=180)


def test_staffed_queue_keeps_its_callers():
    decision = emea_call(None, "offline", "ru", policy=OVERFLOW, staffing=Staffing({"emea-ru": True}))
    assert (decision.queue, decision.overflow_from) == ("emea-ru", None)


def test_only_the_caller_s_own_queue_s_staffing_counts():
    decision = emea_call(None, "offline", "ru", policy=OVERFLOW, staffing=Staffing({"emea-de": False, "emea-ru": True}))
    assert decision.queue == "emea-ru"


def test_without_a_staffing_check_nothing_overflows():
    assert emea_call(None, "offline", "ru", policy=OVERFLOW).queue == "emea-ru"


def test_queue_without_an_overflow_rule_stays_even_when_unstaffed():
    decision = emea_call(None, "offline", "de", policy=OVERFLOW, staffing=Staffing({"emea-ru": False, "emea-de": False}))
    assert (decision.queue, decision.overflow_from) == ("emea-de", None)


def test_preferred_engineer_s_fallback_follows_the_overflow():
    decision = emea_call(ANNA, "available", "ru", policy=OVERFLOW, staffing=Staffing({"emea-ru": False, "emea-de": False}))
    assert isinstance(decision, DialEngineer)
    assert (decision.fallback.queue, decision.fallback.overflow_from) == ("emea-en", "emea-ru")


def test_busy_preferred_engineer_keeps_first_claim_after_overflow():
    decision = emea_call(ANNA, "busy", "ru", policy=OVERFLOW, staffing=Staffing({"emea-ru": False, "emea-de": False}))
    assert (decision.queue, decision.preferred, decision.overflow_from) == ("emea-en", "anna", "emea-ru")


# --- Lines (SPEC §2) ------------------------------------------------------------------------------

LINES = {US_LINE.number: US_LINE, EMEA_LINE.number: EMEA_LINE}


@pytest.mark.parametrize(
    ("called", "expected"),
    [
        ("+18005550100", US_LINE),
        ("+442079460100", EMEA_LINE),
        ("+1 (800) 555-0100", US_LINE),
        (" +44 20 7946 0100 ", EMEA_LINE),
        ("+19995550199", US_LINE),  # not configured: the default line
        ("+33123456789", US_LINE),
        ("", US_LINE),
        (None, US_LINE),
        ("anonymous", US_LINE),
    ],
)
def test_find_line_returns_the_called_line_or_the_default(called, expected):
    assert find_line(LINES, called, default=US_LINE) is expected


def test_unknown_number_goes_to_whichever_line_is_the_default():
    assert find_line(LINES, "+19995550199", default=EMEA_LINE) is EMEA_LINE
    assert find_line(LINES, "+18005550100", default=EMEA_LINE) is US_LINE


@pytest.mark.parametrize(
    ("number", "normalized"),
    [
        ("+18005550100", "+18005550100"),
        ("+1 (800) 555-0100", "+18005550100"),
        ("18005550100", "+18005550100"),
        ("+44 20 7946 0100", "+442079460100"),
        ("", ""),
        (None, ""),
        ("anonymous", ""),
        ("+", ""),
    ],
)
def test_normalize_number_keeps_a_plus_and_the_digits(number, normalized):
    assert normalize_number(number) == normalized
