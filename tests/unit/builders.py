"""Small builders for routing records, so each test states only what it is about."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from routing import Account, Case, CaseFile, Engineer, Line, Policy

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")

US_LINE = Line("+18005550100", "us", "customer", ("en", "es"), "America/New_York", "US customer")
EMEA_LINE = Line("+442079460100", "emea", "customer", ("en", "de", "fr", "ru", "es", "it"), "Europe/London",
                 "EMEA customer")

HOLIDAY_POLICY = Policy(holiday_countries={"us": "US", "emea": "GB"})
"""Public holidays of the US and Great Britain close the business-hours plans."""
NO_HOLIDAY_POLICY = Policy(holiday_countries={}, holidays=False)

CASE_NUMBER = "07123456"

# A plain week with no US or GB public holiday in it.
WEDNESDAY = date(2026, 6, 10)
FRIDAY = date(2026, 6, 12)
SATURDAY = date(2026, 6, 13)
SUNDAY = date(2026, 6, 14)
MONDAY = date(2026, 6, 15)


def local(tz: ZoneInfo, day: date, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    """Return an aware moment at a local wall-clock time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz, fold=fold)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def engineer(**overrides) -> Engineer:
    fields = {"id": "anna", "name": "Anna Weber", "languages": ("en", "de", "ru"), "regions": ("emea",),
              "client": "anna", "phone": None, "active": True}
    fields.update(overrides)
    return Engineer(**fields)


def case_file(
    plan: str = "basic",
    *,
    partner: bool = False,
    expires: date | None = None,
    timezone: str | None = None,
    country: str | None = None,
    kind: str = "technical",
    severity: int = 2,
    status: str = "open",
    assigned: Engineer | None = None,
    presence: str = "offline",
) -> CaseFile:
    account = Account("acme", "Acme", plan, partner, expires, timezone, country)
    case = Case(CASE_NUMBER, account.id, kind, severity, status, assigned.id if assigned else None)
    return CaseFile(case, account, assigned, presence)
