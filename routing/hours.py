"""Phone hours: weekly windows in the customer's local time, closed on public holidays."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holiday_data

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

HolidayCheck = Callable[[date], bool]

SEARCH_DAYS = 400
"""How far ahead to look for an opening: further than any run of holidays and weekends."""


def no_holidays(_day: date) -> bool:
    return False


@lru_cache(maxsize=64)
def holiday_calendar(country: str | None) -> HolidayCheck:
    """Return a check for public holidays in a country (ISO 3166 code), or none at all."""
    if not country:
        return no_holidays
    calendar = holiday_data.country_holidays(country)
    return calendar.__contains__


@dataclass(frozen=True)
class Hours:
    """A weekly window [start, end) on some weekdays, or round the clock."""

    weekdays: frozenset[int] = frozenset(range(7))
    start: time = time(0)
    end: time | None = None
    always: bool = False
    closes_on_holidays: bool = True

    @classmethod
    def round_the_clock(cls) -> Hours:
        return cls(always=True, closes_on_holidays=False)

    def describe(self) -> str:
        if self.always:
            return "24/7"
        days = ",".join(WEEKDAYS[d] for d in sorted(self.weekdays))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"

    def _window(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.weekdays:
            return None
        opens = datetime.combine(day, self.start, tzinfo=tz)
        closes = datetime.combine(day, self.end, tzinfo=tz)
        return opens, closes

    def is_open(self, now: datetime, tz: ZoneInfo, is_holiday: HolidayCheck = no_holidays) -> bool:
        """Tell whether phones are open at an aware moment, in the given local time zone."""
        if self.always:
            return True
        local = now.astimezone(tz)
        if self.closes_on_holidays and is_holiday(local.date()):
            return False
        if local.weekday() not in self.weekdays:
            return False
        return self.start <= local.time().replace(tzinfo=None) < self.end

    def next_open(self, now: datetime, tz: ZoneInfo, is_holiday: HolidayCheck = no_holidays) -> datetime:
        """Return the first moment at or after now when phones are open, in local time."""
        local = now.astimezone(tz)
        if self.is_open(now, tz, is_holiday):
            return local
        for offset in range(SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            if self.closes_on_holidays and is_holiday(day):
                continue
            window = self._window(day, tz)
            if window and window[0].astimezone(UTC) >= local.astimezone(UTC):
                return window[0]
        raise ValueError(f"hours {self.describe()} never open within {SEARCH_DAYS} days")

    def add_open_time(
        self, start: datetime, minutes: int, tz: ZoneInfo, is_holiday: HolidayCheck = no_holidays
    ) -> datetime:
        """Return when `minutes` of open time have passed after start (business-hours clock)."""
        if self.always:
            # In UTC: adding to a local aware datetime would be wall-clock arithmetic across DST.
            return to_local(start.astimezone(UTC) + timedelta(minutes=minutes), tz)
        remaining = timedelta(minutes=minutes)
        local = start.astimezone(tz)
        for offset in range(SEARCH_DAYS * 4):
            day = local.date() + timedelta(days=offset)
            if self.closes_on_holidays and is_holiday(day):
                continue
            window = self._window(day, tz)
            if window is None:
                continue
            # Durations are taken in UTC: aware arithmetic in one zone is wall-clock arithmetic.
            begin = max(window[0].astimezone(UTC), local.astimezone(UTC))
            end = window[1].astimezone(UTC)
            if begin >= end:
                continue
            if remaining <= end - begin:
                return to_local(begin + remaining, tz)
            remaining -= end - begin
        raise ValueError(f"hours {self.describe()} never add up to {minutes} minutes")


def to_local(moment: datetime, tz: ZoneInfo) -> datetime:
    """Add nothing, but say the moment in local time (absolute arithmetic happened in UTC)."""
    return moment.astimezone(UTC).astimezone(tz)
