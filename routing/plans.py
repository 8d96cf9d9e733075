"""Support plans: phone eligibility, phone hours and response targets (SPEC §3, §4)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from .hours import Hours


@dataclass(frozen=True)
class Target:
    """A response target: minutes of wall-clock time, or of the plan's business hours."""

    minutes: int
    business_hours: bool = False


@dataclass(frozen=True)
class Plan:
    name: str
    phone: bool
    hours: Hours | None
    targets: dict[int, Target | None] = field(default_factory=dict)

    def target(self, severity: int) -> Target | None:
        """Return the response target for a severity; a missing one borrows the next lower."""
        # Evaluation has no severity 1 target: SPEC §4 counts it as severity 2.
        for level in range(severity, 5):
            target = self.targets.get(level)
            if target is not None:
                return target
        return None


WEEKDAYS_ONLY = frozenset(range(5))


def _bh(*minutes: int | None) -> dict[int, Target | None]:
    return {i + 1: (Target(m, True) if m is not None else None) for i, m in enumerate(minutes)}


def _wall(*minutes: int) -> dict[int, Target | None]:
    return {i + 1: Target(m) for i, m in enumerate(minutes)}


DEFAULT_PLANS: dict[str, Plan] = {
    "evaluation": Plan("evaluation", True, Hours(WEEKDAYS_ONLY, time(8), time(17)), _bh(None, 480, 720, 1440)),
    "basic": Plan("basic", True, Hours(WEEKDAYS_ONLY, time(8), time(20)), _bh(120, 480, 720, 1440)),
    "production": Plan("production", True, Hours.round_the_clock(), _wall(60, 180, 360, 480)),
    "premium": Plan("premium", True, Hours.round_the_clock(), _wall(30, 30, 30, 30)),
    "community": Plan("community", False, None),
    "free": Plan("free", False, None),
    "nfr": Plan("nfr", False, None),
}
"""The plans of SPEC §3 with their hours and the targets of SPEC §4, in minutes."""

PLAN_NAMES = tuple(DEFAULT_PLANS)

PARTNER_PLAN = "production"
"""Service-provider partners get production-level support, 24/7 (SPEC §3)."""

PLAN_RANK = {name: rank for rank, name in enumerate(("nfr", "free", "community", "evaluation", "basic", "production", "premium"))}


def effective_plan_name(plan: str, partner: bool) -> str:
    """Return the plan a call is served under: partners get at least production."""
    if partner and PLAN_RANK.get(plan, 0) < PLAN_RANK[PARTNER_PLAN]:
        return PARTNER_PLAN
    return plan
