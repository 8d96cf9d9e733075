"""What routing decides for a call: refuse it, ring an engineer, or queue it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

REFUSAL_REASONS = (
    "case_not_found",
    "no_phone_support",
    "maintenance_expired",
    "general_inquiry",
    "case_closed",
    "outside_hours",
)
"""Every reason a call is refused, in the order they are checked."""


@dataclass(frozen=True)
class Refused:
    reason: str
    case: str | None = None
    plan: str | None = None
    next_open: datetime | None = None
    timezone: str | None = None
    account_zone: bool = False
    """Whether `timezone` is the account's own: if not, it is the line's and must be named to the caller."""

    kind = "refused"


@dataclass(frozen=True)
class Enqueue:
    queue: str
    deadline: datetime
    case: str
    plan: str
    severity: int
    language: str
    preferred: str | None = None
    """A busy preferred engineer who gets first claim on this caller when free."""
    overflow_from: str | None = None
    """The queue nobody could serve that sent the caller here."""

    kind = "queue"
    reason = "queue"


@dataclass(frozen=True)
class DialEngineer:
    engineer: str
    name: str
    """The engineer's name as the caller's language says it."""
    client: str | None
    phone: str | None
    case: str
    plan: str
    severity: int
    language: str
    fallback: Enqueue
    """Where the caller goes, without starting over, when the engineer does not answer."""

    kind = "engineer"
    reason = "preferred_engineer"

    @property
    def queue(self) -> str:
        return self.fallback.queue

    @property
    def deadline(self) -> datetime:
        return self.fallback.deadline


Decision = Refused | Enqueue | DialEngineer
