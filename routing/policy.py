"""The operator's rules routing runs on: plans, regional holidays and queue overflow."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .hours import holiday_calendar, no_holidays
from .plans import DEFAULT_PLANS, Plan


@dataclass(frozen=True)
class Policy:
    plans: Mapping[str, Plan] = field(default_factory=lambda: dict(DEFAULT_PLANS))
    holiday_countries: Mapping[str, str | None] = field(default_factory=dict)
    """Region code to the ISO country whose public holidays close business-hours plans."""
    overflow: Mapping[str, str] = field(default_factory=dict)
    """Queue nobody can serve now to the queue its callers go to instead."""
    holidays: bool = True
    """Whether public holidays close business-hours plans at all (an account's own country included)."""

    def holiday_check(self, region: str, country: str | None = None):
        """Return the holiday check for a call: the account's country when it has one, else the line's region's."""
        if not self.holidays:
            return no_holidays
        country = country or self.holiday_countries.get(region)
        return holiday_calendar(country) if country else no_holidays
