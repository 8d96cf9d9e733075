"""The routing decision for one call about one case at one moment (SPEC §3–§5)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from .decisions import Decision, DialEngineer, Enqueue, Refused
from .lines import queue_name
from .model import OPEN_STATUSES, CaseFile, Line, Staffing
from .plans import effective_plan_name
from .policy import Policy


def customer_timezone(case_file: CaseFile, line: Line) -> ZoneInfo:
    """Return the customer's zone: the account's when it has one, else the line's."""
    account = case_file.account
    return ZoneInfo(account.timezone if account and account.timezone else line.timezone)


def route(
    case_file: CaseFile | None,
    line: Line,
    language: str,
    now: datetime,
    policy: Policy,
    staffing: Staffing = Staffing(),
) -> Decision:
    """Decide where a call about a case goes: refused with a reason, an engineer, or a queue."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if case_file is None or case_file.account is None:
        return Refused("case_not_found")
    case, account = case_file.case, case_file.account
    plan_name = effective_plan_name(account.plan, account.partner)
    plan = policy.plans[plan_name]
    tz = customer_timezone(case_file, line)

    def refuse(reason: str, **details) -> Refused:
        return Refused(reason, case=case.number, plan=plan_name, timezone=tz.key,
                       account_zone=bool(account.timezone), **details)

    if not plan.phone:
        return refuse("no_phone_support")
    # The contract is valid through its last day, in the customer's own calendar.
    if account.maintenance_expires and now.astimezone(tz).date() > account.maintenance_expires:
        return refuse("maintenance_expired")
    if case.type == "general":
        return refuse("general_inquiry")
    if case.status not in OPEN_STATUSES:
        return refuse("case_closed")
    is_holiday = policy.holiday_check(line.region, account.country)
    if not plan.hours.is_open(now, tz, is_holiday):
        return refuse("outside_hours", next_open=plan.hours.next_open(now, tz, is_holiday))

    target = plan.target(case.severity)
    if target is None:  # pragma: no cover - every phone plan has targets for severity 4
        raise ValueError(f"plan {plan_name} has no response target for severity {case.severity}")
    if target.business_hours:
        deadline = plan.hours.add_open_time(now, target.minutes, tz, is_holiday)
    else:
        deadline = plan.hours.add_open_time(now, target.minutes, tz)

    queue = queue_name(line.region, language)
    overflow_from = None
    if queue in policy.overflow and staffing.unstaffed(queue):
        queue, overflow_from = policy.overflow[queue], queue

    engineer = case_file.engineer
    preferred = engineer is not None and engineer.serves(line.region, language) and engineer.reachable
    enqueue = Enqueue(
        queue=queue,
        deadline=deadline,
        case=case.number,
        plan=plan_name,
        severity=case.severity,
        language=language,
        overflow_from=overflow_from,
        preferred=engineer.id if preferred and case_file.presence == "busy" else None,
    )
    if preferred and case_file.presence == "available":
        return DialEngineer(
            engineer=engineer.id,
            name=engineer.name_in(language),
            client=engineer.client,
            phone=engineer.phone,
            case=case.number,
            plan=plan_name,
            severity=case.severity,
            language=language,
            fallback=enqueue,
        )
    return enqueue


