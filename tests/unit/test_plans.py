"""SPEC §3 and §4: which plans get phone support, their hours and their response targets."""
from __future__ import annotations

import pytest

from routing import DEFAULT_PLANS, PLAN_NAMES, Target, effective_plan_name

PHONE_SUPPORT = [
    ("evaluation", True),
    ("basic", True),
    ("production", True),
    ("premium", True),
    ("community", False),
    ("free", False),
    ("nfr", False),
]


def test_the_plans_are_exactly_those_of_the_spec():
    assert set(PLAN_NAMES) == {name for name, _ in PHONE_SUPPORT}


@pytest.mark.parametrize(("plan", "phone"), PHONE_SUPPORT)
def test_plan_has_phone_support_exactly_when_the_spec_says_so(plan, phone):
    assert DEFAULT_PLANS[plan].phone is phone


@pytest.mark.parametrize(
    ("plan", "hours"),
    [
        ("evaluation", "mon,tue,wed,thu,fri 08:00-17:00"),
        ("basic", "mon,tue,wed,thu,fri 08:00-20:00"),
        ("production", "24/7"),
        ("premium", "24/7"),
    ],
)
def test_phone_plan_has_the_hours_of_the_spec(plan, hours):
    assert DEFAULT_PLANS[plan].hours.describe() == hours


@pytest.mark.parametrize("plan", ["community", "free", "nfr"])
def test_plan_without_phone_support_has_no_phone_hours(plan):
    assert DEFAULT_PLANS[plan].hours is None


@pytest.mark.parametrize(("plan", "closes"), [("evaluation", True), ("basic", True),
                                              ("production", False), ("premium", False)])
def test_only_business_hours_plans_close_on_public_holidays(plan, closes):
    assert DEFAULT_PLANS[plan].hours.closes_on_holidays is closes


BH = True
WALL = False
TARGETS = [
    # plan, severity, minutes, counted in business hours
    ("premium", 1, 30, WALL), ("premium", 2, 30, WALL), ("premium", 3, 30, WALL), ("premium", 4, 30, WALL),
    ("production", 1, 60, WALL), ("production", 2, 180, WALL),
    ("production", 3, 360, WALL), ("production", 4, 480, WALL),
    ("basic", 1, 120, BH), ("basic", 2, 480, BH), ("basic", 3, 720, BH), ("basic", 4, 1440, BH),
    # Evaluation has no severity 1 target of its own: it counts as severity 2.
    ("evaluation", 1, 480, BH), ("evaluation", 2, 480, BH), ("evaluation", 3, 720, BH), ("evaluation", 4, 1440, BH),
]


@pytest.mark.parametrize(("plan", "severity", "minutes", "business_hours"), TARGETS)
def test_plan_and_severity_have_the_response_target_of_the_spec(plan, severity, minutes, business_hours):
    assert DEFAULT_PLANS[plan].target(severity) == Target(minutes, business_hours)


def test_the_target_table_covers_every_phone_plan_and_severity():
    cells = {(plan, severity) for plan, severity, _, _ in TARGETS}
    expected = {(plan, s) for plan, p in DEFAULT_PLANS.items() if p.phone for s in (1, 2, 3, 4)}
    assert cells == expected


@pytest.mark.parametrize("plan", ["community", "free", "nfr"])
@pytest.mark.parametrize("severity", [1, 2, 3, 4])
def test_best_effort_plan_has_no_response_target(plan, severity):
    assert DEFAULT_PLANS[plan].target(severity) is None


@pytest.mark.parametrize(
    ("plan", "partner", "served_as"),
    [
        ("nfr", True, "production"),
        ("free", True, "production"),
        ("community", True, "production"),
        ("evaluation", True, "production"),
        ("basic", True, "production"),
        ("production", True, "production"),
        ("premium", True, "premium"),
        ("community", False, "community"),
        ("evaluation", False, "evaluation"),
        ("basic", False, "basic"),
        ("premium", False, "premium"),
    ],
)
def test_partner_is_served_at_production_level_or_better(plan, partner, served_as):
    assert effective_plan_name(plan, partner) == served_as
