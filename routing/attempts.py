"""Contact attempts (SPEC §5.9, the guide's case follow-up): when unanswered attempts cancel a case.

The guide: support contacts the customer about an open case on three different business days;
if it cannot reach them, the case is cancelled, and the customer may open a new case that refers
to the old one. Counted in the customer's calendar:

- An attempt counts for the customer's local date, if that date is a business day: a working
  weekday of the holiday country (Monday to Friday unless its weekend differs) that is not one
  of its public holidays. An attempt on a weekend or holiday is kept but counts for no day: the
  customer is not expected to answer then, and it is not carried over to the next business day.
- Attempts on one day count once.
- Contact resets the count: only attempts after the latest contact (a call about the case, see
  `is_contact`) count, and after an earlier cancellation only the attempts after the one that
  triggered it.
- The first attempt on the third counted business day makes the case due for cancellation.

Nothing here reads a clock or Redis: the attempts, contacts and calendar are passed in.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holiday_data

from .hours import HolidayCheck, holiday_calendar, no_holidays

REQUIRED_DAYS = 3
"""Business days with an unanswered attempt that cancel a case: the guide's "three times on different business days"."""

MONDAY_TO_FRIDAY = frozenset(range(5))
"""The working week where the holiday country does not say otherwise (Monday is 0)."""

NEW_DAY, SAME_DAY, NOT_BUSINESS_DAY, BEFORE_CONTACT = "new_day", "same_day", "not_business_day", "before_contact"
"""What one attempt did to the count: a business day counted, a day already counted, no business day, or
nothing because the customer has been in contact (or the case was cancelled) since."""


@lru_cache(maxsize=64)
def working_week(country: str | None) -> frozenset[int]:
    """Return the working weekdays (Monday 0) of a country: all but its weekend in the holidays library."""
    if not country:
        return MONDAY_TO_FRIDAY
    weekend = getattr(holiday_data.country_holidays(country), "weekend", None) or {5, 6}
    return frozenset(range(7)) - frozenset(weekend)


@dataclass(frozen=True)
class BusinessCalendar:
    """The customer's calendar: their time zone, their public holidays and their working week."""

    zone: ZoneInfo
    is_holiday: HolidayCheck = no_holidays
    workdays: frozenset[int] = MONDAY_TO_FRIDAY
    country: str | None = None
    """The ISO country of the holidays, for saying which calendar was used."""

    @classmethod
    def of(cls, zone: ZoneInfo, country: str | None) -> BusinessCalendar:
        """Return the calendar of a time zone with a country's public holidays and working week (None: neither)."""
        return cls(zone, holiday_calendar(country), working_week(country), country or None)

    def business_day(self, moment: datetime) -> date | None:
        """Return the customer's local date of a moment when it is a business day, else None."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        day = moment.astimezone(self.zone).date()
        if day.weekday() not in self.workdays or self.is_holiday(day):
            return None
        return day


@dataclass(frozen=True)
class Tally:
    """The business days counted towards cancelling a case, and whether it is due."""

    calendar: BusinessCalendar
    days: tuple[date, ...]
    """Distinct business days with an attempt after `since`, oldest first."""
    firsts: tuple[datetime, ...]
    """The first attempt of each day in `days`: the one that made it count."""
    since: datetime | None
    """The latest contact or earlier cancellation: attempts up to it do not count."""
    required: int = REQUIRED_DAYS
    attempts: int = 0
    """Attempts after `since`, on business days or not."""
    contacted: bool = field(default=False)
    """Whether `since` is a contact (rather than an earlier cancellation)."""

    @property
    def due(self) -> bool:
        """Whether the case must be cancelled: attempts on `required` business days without contact."""
        return len(self.days) >= self.required

    @property
    def trigger(self) -> datetime | None:
        """The attempt that made the case due: the first on the last required business day."""
        return self.firsts[self.required - 1] if self.due else None

    @property
    def remaining(self) -> int:
        """Business days still needed before the case is cancelled."""
        return max(0, self.required - len(self.days))

    def verdict(self, moment: datetime) -> str:
        """Say what an attempt at a moment did: NEW_DAY, SAME_DAY, NOT_BUSINESS_DAY or BEFORE_CONTACT."""
        if self.since is not None and moment <= self.since:
            return BEFORE_CONTACT
        day = self.calendar.business_day(moment)
        if day is None:
            return NOT_BUSINESS_DAY
        return NEW_DAY if moment in self.firsts else SAME_DAY


def tally(attempts: Iterable[datetime], calendar: BusinessCalendar, contacts: Iterable[datetime] = (),
          reset: datetime | None = None, required: int = REQUIRED_DAYS) -> Tally:
    """Count the distinct business days with an attempt since the latest contact or `reset` (an earlier cancellation)."""
    contacts = list(contacts)
    last_contact = max(contacts) if contacts else None
    marks = [m for m in (last_contact, reset) if m is not None]
    since = max(marks) if marks else None
    days: list[date] = []
    firsts: list[datetime] = []
    counted = 0
    for moment in sorted(attempts):
        if since is not None and moment <= since:
            continue
        counted += 1
        day = calendar.business_day(moment)
        if day is None or day in days:
            continue
        days.append(day)
        firsts.append(moment)
    return Tally(calendar, tuple(days), tuple(firsts), since, required, counted,
                 contacted=since is not None and since == last_contact)


def is_contact(record: Mapping[str, str]) -> bool:
    """Tell whether a finished call about a case was contact with the customer.

    Any call the customer made to us about the case is: they are reachable, whether an engineer
    took it, they left a callback request, were told the hours or hung up while waiting. A call
    we placed (a callback, `direction` outbound-…) is contact only when someone answered it.
    """
    if record.get("outcome") == "answered":
        return True
    return not (record.get("direction") or "inbound").startswith("outbound")
