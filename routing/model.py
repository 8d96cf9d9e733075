"""The records routing decides on: accounts, engineers, cases and phone lines."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

LANGUAGES = ("en", "es", "fr", "de", "ru", "it", "ja", "zh", "pt")
"""Every language a caller can be spoken to in, in no particular order."""

CASE_TYPES = ("technical", "licensing", "general")
CASE_STATUSES = ("open", "awaiting_customer", "resolved", "closed", "cancelled")
OPEN_STATUSES = frozenset({"open", "awaiting_customer"})
"""Statuses a call may still be routed for; the rest need a new case on the portal."""

SEVERITIES = (1, 2, 3, 4)
AUDIENCES = ("customer", "partner")
PRESENCE_STATES = ("available", "busy", "away", "offline")
DEFAULT_PRESENCE = "offline"
"""An engineer nobody has heard from is not taking calls."""


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    plan: str
    partner: bool = False
    maintenance_expires: date | None = None
    timezone: str | None = None
    country: str | None = None
    """ISO 3166 code whose public holidays close the account's business-hours plan (else the line's)."""


@dataclass(frozen=True)
class Engineer:
    id: str
    name: str
    languages: tuple[str, ...]
    regions: tuple[str, ...]
    client: str | None = None
    phone: str | None = None
    active: bool = True
    spoken_name: Mapping[str, str] = field(default_factory=dict)
    """How a language's voice should say the name (e.g. its katakana reading), by language code."""

    def name_in(self, language: str) -> str:
        """Return the name as the voice of a language should say it."""
        return self.spoken_name.get(language) or self.name

    def serves(self, region: str, language: str) -> bool:
        """Tell whether the engineer takes calls in this language from this region."""
        return self.active and language in self.languages and region in self.regions

    @property
    def reachable(self) -> bool:
        return bool(self.client or self.phone)


@dataclass(frozen=True)
class Case:
    number: str
    account: str
    type: str
    severity: int
    status: str
    engineer: str | None = None


@dataclass(frozen=True)
class Line:
    number: str
    region: str
    audience: str
    languages: tuple[str, ...]
    timezone: str
    name: str = ""

    @property
    def first_language(self) -> str:
        return self.languages[0]


@dataclass(frozen=True)
class CaseFile:
    """A case with the account and engineer it refers to, as one read gives them."""

    case: Case
    account: Account | None
    engineer: Engineer | None = None
    presence: str = DEFAULT_PRESENCE


@dataclass(frozen=True)
class Staffing:
    """Whether anyone on shift serves each queue that was looked at (SPEC §5.4 overflow)."""

    on_shift: Mapping[str, bool] = field(default_factory=dict)

    def unstaffed(self, queue: str) -> bool:
        """Tell whether nobody on shift serves a queue; a queue nobody looked at counts as served."""
        return self.on_shift.get(queue) is False
