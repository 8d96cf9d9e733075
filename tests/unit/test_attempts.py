"""Contact attempts: business days in the customer's calendar, once a day, reset by contact (SPEC §5.9)."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from routing.attempts import (BEFORE_CONTACT, NEW_DAY, NOT_BUSINESS_DAY, SAME_DAY, BusinessCalendar, is_contact,
                              tally, working_week)

from .builders import BERLIN, NEW_YORK, local, utc

# Thanksgiving week 2026 in the US: Thursday the 26th is a public holiday.
WED, THANKSGIVING, FRI, SAT, SUN = (date(2026, 11, d) for d in (25, 26, 27, 28, 29))
MON, TUE = date(2026, 11, 30), date(2026, 12, 1)

US = BusinessCalendar.of(NEW_YORK, "US")
GERMAN_CUSTOMER_IN_EMEA = BusinessCalendar.of(BERLIN, "GB")


def test_three_attempts_on_one_day_count_as_one_business_day():
    found = tally([local(NEW_YORK, FRI, 9), local(NEW_YORK, FRI, 13), local(NEW_YORK, FRI, 17)], US)

    assert found.days == (FRI,)
    assert not found.due and found.remaining == 2 and found.attempts == 3


def test_attempts_on_three_different_business_days_make_the_case_due():
    found = tally([local(NEW_YORK, WED, 10), local(NEW_YORK, FRI, 10), local(NEW_YORK, MON, 10)], US)

    assert found.days == (WED, FRI, MON)
    assert found.due and found.remaining == 0


def test_the_first_attempt_on_the_third_day_is_what_cancels():
    third = local(NEW_YORK, MON, 9)
    found = tally([local(NEW_YORK, WED, 10), local(NEW_YORK, FRI, 10), third, local(NEW_YORK, MON, 15)], US)

    assert found.trigger == third


@pytest.mark.parametrize("day", [SAT, SUN, THANKSGIVING], ids=["saturday", "sunday", "public holiday"])
def test_an_attempt_on_a_weekend_or_public_holiday_counts_for_no_day(day):
    found = tally([local(NEW_YORK, WED, 10), local(NEW_YORK, day, 10), local(NEW_YORK, FRI, 10)], US)

    assert found.days == (WED, FRI)
    assert found.verdict(local(NEW_YORK, day, 10)) == NOT_BUSINESS_DAY


def test_a_weekend_attempt_is_not_carried_over_to_the_next_business_day():
    found = tally([local(NEW_YORK, SAT, 10), local(NEW_YORK, MON, 10)], US)

    assert found.days == (MON,)


def test_holidays_are_the_configured_country_s():
    # Thanksgiving is a working day for a customer whose calendar has British holidays.
    found = tally([local(BERLIN, THANKSGIVING, 10)], GERMAN_CUSTOMER_IN_EMEA)

    assert found.days == (THANKSGIVING,)


def test_without_a_holiday_country_only_weekends_are_off():
    found = tally([local(NEW_YORK, THANKSGIVING, 10), local(NEW_YORK, SAT, 10)], BusinessCalendar.of(NEW_YORK, None))

    assert found.days == (THANKSGIVING,)


def test_the_working_week_follows_the_holiday_country_s_weekend():
    assert working_week("GB") == working_week(None) == frozenset({0, 1, 2, 3, 4})
    assert working_week("IL") == frozenset({6, 0, 1, 2, 3})  # Sunday to Thursday


def test_days_are_the_customer_s_local_dates_not_utc():
    # 23:30 on Monday and 00:30 on Tuesday in New York are both Tuesday morning in UTC.
    late_monday, early_tuesday = local(NEW_YORK, MON, 23, 30), local(NEW_YORK, TUE, 0, 30)
    assert late_monday.astimezone(ZoneInfo("UTC")).date() == early_tuesday.astimezone(ZoneInfo("UTC")).date()

    found = tally([late_monday, early_tuesday], US)

    assert found.days == (MON, TUE)


def test_two_attempts_an_hour_apart_in_utc_on_one_local_day_count_once():
    # 23:30 and 00:30 UTC are two UTC dates but one evening (Monday) in New York.
    found = tally([utc(2026, 11, 30, 23, 30), utc(2026, 12, 1, 0, 30)], US)

    assert found.days == (MON,)


def test_contact_after_an_attempt_starts_the_count_again():
    attempts = [local(NEW_YORK, WED, 10), local(NEW_YORK, FRI, 10), local(NEW_YORK, MON, 10)]
    called_back = local(NEW_YORK, FRI, 16)

    found = tally(attempts, US, contacts=[called_back])

    assert found.days == (MON,) and not found.due
    assert found.since == called_back and found.contacted
    assert found.verdict(attempts[0]) == BEFORE_CONTACT


def test_only_the_latest_contact_matters():
    attempts = [local(NEW_YORK, WED, 10), local(NEW_YORK, FRI, 10), local(NEW_YORK, MON, 10)]
    found = tally(attempts, US, contacts=[local(NEW_YORK, WED, 9), local(NEW_YORK, WED, 11)])

    assert found.days == (FRI, MON)


def test_contact_before_every_attempt_changes_nothing():
    attempts = [local(NEW_YORK, WED, 10), local(NEW_YORK, FRI, 10), local(NEW_YORK, MON, 10)]

    assert tally(attempts, US, contacts=[local(NEW_YORK, WED, 9)]).due


def test_after_a_cancellation_only_later_attempts_count():
    attempts = [local(NEW_YORK, WED, 10), local(NEW_YORK, FRI, 10), local(NEW_YORK, MON, 10), local(NEW_YORK, TUE, 10)]

    found = tally(attempts, US, reset=local(NEW_YORK, MON, 10))

    assert found.days == (TUE,) and not found.contacted


def test_verdicts_say_what_each_attempt_did():
    first, again = local(NEW_YORK, FRI, 9), local(NEW_YORK, FRI, 14)
    found = tally([first, again, local(NEW_YORK, SAT, 9)], US)

    assert [found.verdict(m) for m in (first, again, local(NEW_YORK, SAT, 9))] == [NEW_DAY, SAME_DAY, NOT_BUSINESS_DAY]


def test_a_moment_without_a_time_zone_is_refused():
    from datetime import datetime

    with pytest.raises(ValueError):
        US.business_day(datetime(2026, 11, 30, 10))


@pytest.mark.parametrize(("record", "contact"), [
    ({"outcome": "answered"}, True),
    ({"outcome": "refused", "reason": "outside_hours"}, True),
    ({"outcome": "abandoned"}, True),
    ({"outcome": "callback"}, True),
    ({"outcome": "abandoned", "direction": "outbound-api"}, False),
    ({"outcome": "answered", "direction": "outbound-api"}, True),
])
def test_a_call_the_customer_made_is_contact_and_an_unanswered_one_we_made_is_not(record, contact):
    assert is_contact(record) is contact
