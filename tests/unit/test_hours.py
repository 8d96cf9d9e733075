"""Phone hours in the customer's local time: window edges, weekends, DST changes, holidays."""
from __future__ import annotations

from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing import DEFAULT_PLANS, Hours, holiday_calendar
from routing.hours import no_holidays

from .builders import FRIDAY, LONDON, MONDAY, NEW_YORK, SATURDAY, SUNDAY, WEDNESDAY, local, utc

EVALUATION = DEFAULT_PLANS["evaluation"].hours
BASIC = DEFAULT_PLANS["basic"].hours
PRODUCTION = DEFAULT_PLANS["production"].hours
PREMIUM = DEFAULT_PLANS["premium"].hours
HOURS = {"evaluation": EVALUATION, "basic": BASIC, "production": PRODUCTION, "premium": PREMIUM}
US_HOLIDAYS = holiday_calendar("US")
GB_HOLIDAYS = holiday_calendar("GB")


@pytest.mark.parametrize(
    ("plan", "day", "hour", "minute", "is_open"),
    [
        ("evaluation", WEDNESDAY, 7, 59, False),
        ("evaluation", WEDNESDAY, 8, 0, True),
        ("evaluation", WEDNESDAY, 16, 59, True),
        ("evaluation", WEDNESDAY, 17, 0, False),
        ("evaluation", FRIDAY, 16, 59, True),
        ("evaluation", SATURDAY, 12, 0, False),
        ("evaluation", SUNDAY, 12, 0, False),
        ("basic", WEDNESDAY, 7, 59, False),
        ("basic", WEDNESDAY, 8, 0, True),
        ("basic", WEDNESDAY, 17, 0, True),
        ("basic", WEDNESDAY, 19, 59, True),
        ("basic", WEDNESDAY, 20, 0, False),
        ("basic", FRIDAY, 19, 59, True),
        ("basic", FRIDAY, 20, 0, False),
        ("basic", SATURDAY, 12, 0, False),
        ("basic", SUNDAY, 23, 59, False),
        ("basic", MONDAY, 8, 0, True),
        ("production", SUNDAY, 3, 0, True),
        ("production", SATURDAY, 23, 59, True),
        ("production", WEDNESDAY, 2, 0, True),
        ("premium", SUNDAY, 3, 0, True),
        ("premium", SATURDAY, 12, 0, True),
        ("premium", WEDNESDAY, 20, 0, True),
    ],
)
def test_plan_is_open_exactly_inside_its_window(plan, day, hour, minute, is_open):
    assert HOURS[plan].is_open(local(NEW_YORK, day, hour, minute), NEW_YORK) is is_open


def test_basic_plan_is_closed_at_eight_in_the_evening():
    assert not BASIC.is_open(local(NEW_YORK, WEDNESDAY, 20), NEW_YORK)


def test_opening_hours_are_judged_in_the_given_zone_not_the_moment_s_own():
    # 12:30 UTC on a June Wednesday is 08:30 in New York but 07:30 in Honolulu.
    moment = utc(2026, 6, 10, 12, 30)
    assert BASIC.is_open(moment, NEW_YORK)
    assert not BASIC.is_open(moment, ZoneInfo("Pacific/Honolulu"))


@pytest.mark.parametrize(
    ("plan", "now", "opens"),
    [
        # Closing time on Friday: next open is Monday morning.
        ("basic", local(NEW_YORK, FRIDAY, 20), local(NEW_YORK, MONDAY, 8)),
        ("evaluation", local(NEW_YORK, FRIDAY, 17), local(NEW_YORK, MONDAY, 8)),
        # Friday 19:59 is still open; the minute after, the weekend has begun.
        ("basic", local(NEW_YORK, SATURDAY, 0, 0), local(NEW_YORK, MONDAY, 8)),
        ("basic", local(NEW_YORK, SATURDAY, 14), local(NEW_YORK, MONDAY, 8)),
        # Sunday night to Monday 08:00.
        ("basic", local(NEW_YORK, SUNDAY, 23, 59), local(NEW_YORK, MONDAY, 8)),
        ("evaluation", local(NEW_YORK, SUNDAY, 22), local(NEW_YORK, MONDAY, 8)),
        # Early on a weekday: the same morning; after closing: the next morning.
        ("basic", local(NEW_YORK, WEDNESDAY, 7, 59), local(NEW_YORK, WEDNESDAY, 8)),
        ("evaluation", local(NEW_YORK, WEDNESDAY, 18), local(NEW_YORK, WEDNESDAY + timedelta(days=1), 8)),
        # A moment given in UTC is answered in the customer's zone.
        ("basic", utc(2026, 6, 14, 3), local(NEW_YORK, MONDAY, 8)),
    ],
)
def test_next_open_is_the_next_local_opening_as_an_aware_datetime(plan, now, opens):
    result = HOURS[plan].next_open(now, NEW_YORK)
    assert result == opens
    assert result.tzinfo is NEW_YORK
    assert (result.hour, result.minute) == (opens.hour, opens.minute)
    assert result.utcoffset() == timedelta(hours=-4)  # EDT in June


def test_next_open_while_open_is_now_itself():
    now = local(NEW_YORK, FRIDAY, 19, 59)
    assert BASIC.next_open(now, NEW_YORK) == now


def test_friday_evening_at_seven_fifty_nine_is_open_and_a_minute_later_is_the_weekend():
    assert BASIC.is_open(local(NEW_YORK, FRIDAY, 19, 59), NEW_YORK)
    assert BASIC.next_open(local(NEW_YORK, FRIDAY, 20, 0), NEW_YORK) == local(NEW_YORK, MONDAY, 8)


# 2026 clock changes: New York springs forward on Sunday 8 March and falls back on Sunday 1 November;
# London springs forward on Sunday 29 March and falls back on Sunday 25 October.
DST_NEXT_OPEN = [
    pytest.param(NEW_YORK, local(NEW_YORK, date(2026, 3, 7), 12), utc(2026, 3, 9, 12), -4, id="new-york-spring"),
    pytest.param(NEW_YORK, local(NEW_YORK, date(2026, 10, 31), 12), utc(2026, 11, 2, 13), -5, id="new-york-autumn"),
    pytest.param(LONDON, local(LONDON, date(2026, 3, 28), 12), utc(2026, 3, 30, 7), 1, id="london-spring"),
    pytest.param(LONDON, local(LONDON, date(2026, 10, 24), 12), utc(2026, 10, 26, 8), 0, id="london-autumn"),
    # From inside the repeated hour of the autumn change (01:30 EST, the second time round).
    pytest.param(NEW_YORK, utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 13), -5, id="new-york-repeated-hour"),
    # From inside the skipped hour's day, just after the spring change.
    pytest.param(LONDON, utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 7), 1, id="london-after-the-gap"),
]


@pytest.mark.parametrize(("tz", "now", "opens_utc", "offset_hours"), DST_NEXT_OPEN)
def test_next_open_across_a_clock_change_is_eight_local_with_the_new_offset(tz, now, opens_utc, offset_hours):
    result = BASIC.next_open(now, tz)
    assert result == opens_utc
    assert (result.hour, result.minute) == (8, 0)
    assert result.utcoffset() == timedelta(hours=offset_hours)


@pytest.mark.parametrize(
    ("tz", "eight_local_utc"),
    [
        pytest.param(NEW_YORK, utc(2026, 3, 9, 12), id="new-york-spring"),
        pytest.param(NEW_YORK, utc(2026, 11, 2, 13), id="new-york-autumn"),
        pytest.param(LONDON, utc(2026, 3, 30, 7), id="london-spring"),
        pytest.param(LONDON, utc(2026, 10, 26, 8), id="london-autumn"),
    ],
)
def test_monday_after_a_clock_change_opens_at_eight_local_time(tz, eight_local_utc):
    assert BASIC.is_open(eight_local_utc, tz)
    assert EVALUATION.is_open(eight_local_utc, tz)
    assert not BASIC.is_open(eight_local_utc - timedelta(minutes=1), tz)
    assert not EVALUATION.is_open(eight_local_utc - timedelta(minutes=1), tz)


@pytest.mark.parametrize(
    ("plan", "start", "minutes", "deadline"),
    [
        # A basic severity-1 call at Friday 19:59 has one minute on Friday and the rest on Monday.
        ("basic", local(NEW_YORK, FRIDAY, 19, 59), 120, local(NEW_YORK, MONDAY, 9, 59)),
        ("evaluation", local(NEW_YORK, FRIDAY, 16), 480, local(NEW_YORK, MONDAY, 15)),
        # A target that ends exactly at closing time ends that day.
        ("basic", local(NEW_YORK, MONDAY, 8), 720, local(NEW_YORK, MONDAY, 20)),
        ("basic", local(NEW_YORK, MONDAY, 8), 1440, local(NEW_YORK, MONDAY + timedelta(days=1), 20)),
        ("evaluation", local(NEW_YORK, MONDAY, 8), 1440, local(NEW_YORK, MONDAY + timedelta(days=2), 14)),
        ("evaluation", local(NEW_YORK, WEDNESDAY, 10), 720, local(NEW_YORK, WEDNESDAY + timedelta(days=1), 13)),
    ],
)
def test_business_hours_target_counts_only_open_minutes(plan, start, minutes, deadline):
    assert HOURS[plan].add_open_time(start, minutes, NEW_YORK) == deadline


@pytest.mark.parametrize(
    ("tz", "start", "deadline_utc", "offset_hours"),
    [
        # Friday 15:00 + 8 business hours: five on Friday, three on Monday after the change.
        pytest.param(NEW_YORK, local(NEW_YORK, date(2026, 3, 6), 15), utc(2026, 3, 9, 15), -4, id="new-york-spring"),
        pytest.param(NEW_YORK, local(NEW_YORK, date(2026, 10, 30), 15), utc(2026, 11, 2, 16), -5, id="new-york-autumn"),
        pytest.param(LONDON, local(LONDON, date(2026, 3, 27), 15), utc(2026, 3, 30, 10), 1, id="london-spring"),
        pytest.param(LONDON, local(LONDON, date(2026, 10, 23), 15), utc(2026, 10, 26, 11), 0, id="london-autumn"),
    ],
)
def test_business_hours_deadline_spanning_a_clock_change_lands_at_local_business_time(
    tz, start, deadline_utc, offset_hours
):
    result = BASIC.add_open_time(start, 480, tz)
    assert result == deadline_utc
    assert (result.hour, result.minute) == (11, 0)
    assert result.utcoffset() == timedelta(hours=offset_hours)


WALL_CLOCK_ACROSS_DST = [
    # New York falls back at 02:00 EDT on 1 November: three hours from midnight EDT is 02:00 EST.
    pytest.param(NEW_YORK, local(NEW_YORK, date(2026, 11, 1), 0, 0), 180, id="new-york-autumn"),
    # New York springs forward at 02:00 EST on 8 March: three hours from 00:30 EST is 04:30 EDT.
    pytest.param(NEW_YORK, local(NEW_YORK, date(2026, 3, 8), 0, 30), 180, id="new-york-spring"),
    # Premium's half hour from 01:45 EDT, the first time round, ends at 01:15 EST.
    pytest.param(NEW_YORK, local(NEW_YORK, date(2026, 11, 1), 1, 45), 30, id="new-york-repeated-hour"),
    pytest.param(LONDON, local(LONDON, date(2026, 10, 25), 0, 30), 180, id="london-autumn"),
    pytest.param(LONDON, local(LONDON, date(2026, 3, 29), 0, 30), 60, id="london-spring"),
]


@pytest.mark.parametrize(("tz", "start", "minutes"), WALL_CLOCK_ACROSS_DST)
@pytest.mark.parametrize("given_in", ["local", "utc"])
def test_round_the_clock_target_is_elapsed_minutes_even_across_a_clock_change(tz, start, minutes, given_in):
    moment = start if given_in == "local" else start.astimezone(UTC)
    result = PRODUCTION.add_open_time(moment, minutes, tz)
    assert result.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=minutes)
    assert result.tzinfo is tz


def test_round_the_clock_deadline_falls_in_the_repeated_hour_with_standard_time_offset():
    result = PREMIUM.add_open_time(local(NEW_YORK, date(2026, 11, 1), 1, 45), 30, NEW_YORK)
    # Compared in UTC: a fold=1 time never equals a moment in another zone (PEP 495).
    assert result.astimezone(UTC) == utc(2026, 11, 1, 6, 15)
    assert (result.hour, result.minute, result.fold) == (1, 15, 1)
    assert result.utcoffset() == timedelta(hours=-5)


CHRISTMAS = date(2026, 12, 25)  # a Friday


@pytest.mark.parametrize(("calendar", "tz"), [(US_HOLIDAYS, NEW_YORK), (GB_HOLIDAYS, LONDON)])
@pytest.mark.parametrize("plan", ["evaluation", "basic"])
def test_business_hours_plan_is_closed_on_a_public_holiday(plan, calendar, tz):
    moment = local(tz, CHRISTMAS, 10)
    assert HOURS[plan].is_open(moment, tz, no_holidays)
    assert not HOURS[plan].is_open(moment, tz, calendar)


@pytest.mark.parametrize(("calendar", "tz"), [(US_HOLIDAYS, NEW_YORK), (GB_HOLIDAYS, LONDON)])
@pytest.mark.parametrize("plan", ["production", "premium"])
def test_round_the_clock_plan_is_open_on_a_public_holiday(plan, calendar, tz):
    assert HOURS[plan].is_open(local(tz, CHRISTMAS, 10), tz, calendar)


@pytest.mark.parametrize(
    ("calendar", "tz", "opens"),
    [
        # The US is back on Monday 28 December; Britain observes Boxing Day on that Monday.
        (US_HOLIDAYS, NEW_YORK, date(2026, 12, 28)),
        (GB_HOLIDAYS, LONDON, date(2026, 12, 29)),
    ],
)
def test_next_open_skips_public_holidays(calendar, tz, opens):
    assert BASIC.next_open(local(tz, CHRISTMAS, 10), tz, calendar) == local(tz, opens, 8)


def test_business_hours_deadline_skips_a_public_holiday():
    start = local(NEW_YORK, date(2026, 12, 24), 16)  # Thursday: four open hours left
    assert BASIC.add_open_time(start, 480, NEW_YORK, US_HOLIDAYS) == local(NEW_YORK, date(2026, 12, 28), 12)
    assert BASIC.add_open_time(start, 480, NEW_YORK) == local(NEW_YORK, CHRISTMAS, 12)


@pytest.mark.parametrize(("country", "day", "holiday"), [
    ("US", CHRISTMAS, True), ("US", date(2026, 7, 3), True), ("US", date(2026, 12, 28), False),
    ("GB", CHRISTMAS, True), ("GB", date(2026, 12, 28), True), ("GB", date(2026, 7, 3), False),
    (None, CHRISTMAS, False), ("", CHRISTMAS, False),
])
def test_holiday_calendar_knows_the_country_s_public_holidays(country, day, holiday):
    assert holiday_calendar(country)(day) is holiday


def test_hours_that_never_open_say_so_instead_of_looping():
    never = Hours(frozenset(), start=local(NEW_YORK, MONDAY, 8).time(), end=local(NEW_YORK, MONDAY, 17).time())
    with pytest.raises(ValueError, match="never open"):
        never.next_open(local(NEW_YORK, MONDAY, 9), NEW_YORK)
