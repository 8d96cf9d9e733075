"""Pure routing rules: plans, hours, eligibility, engineer and queue choice.

Nothing here performs I/O or reads a clock: callers pass `now` and the records.
"""
from .decide import customer_timezone, route
from .decisions import REFUSAL_REASONS, Decision, DialEngineer, Enqueue, Refused
from .hours import Hours, holiday_calendar
from .lines import find_line, normalize_number, queue_name
from .model import Account, Case, CaseFile, Engineer, Line, Staffing
from .plans import DEFAULT_PLANS, PLAN_NAMES, Plan, Target, effective_plan_name
from .policy import Policy

__all__ = [
    "Account", "Case", "CaseFile", "DEFAULT_PLANS", "Decision", "DialEngineer", "Engineer",
    "Enqueue", "Hours", "Line", "PLAN_NAMES", "Plan", "Policy", "REFUSAL_REASONS", "Refused",
    "Target", "customer_timezone", "effective_plan_name", "find_line", "holiday_calendar",
    "Staffing", "normalize_number", "queue_name", "route",
]
