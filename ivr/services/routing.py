"""Routing a call, and putting a caller back in the queue when their engineer did not answer."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.adapters.calls.call_state import CallState
from ivr.adapters.directory.store import Store
from ivr.adapters.calls.waiting import Waiting, parse_queue_entry
from routing import CaseFile, Decision, Enqueue, Line, Policy, Refused, Staffing, customer_timezone, queue_name, route
from routing.records import CASE_NUMBER

ANSWERED = frozenset({"completed", "answered"})
"""DialCallStatus values meaning the engineer took the call; anything else sends it to the queue."""


@dataclass(frozen=True)
class Routed:
    case_file: CaseFile | None
    decision: Decision


def route_call(store: Store, policy: Policy, number: str, line: Line, language: str,
               when: Callable[[ZoneInfo], datetime], call: str = "") -> Routed:
    """Decide where a call about a case goes, for the webhook and `ivr route` alike.

    `when` gives the moment, told the customer's time zone (a what-if time may be local to it);
    `call` is the CallSid being routed, if any.
    """
    queue = queue_name(line.region, language)
    # Only a queue with an overflow rule needs to know whether anyone is on shift for it.
    asked = (queue,) if queue in policy.overflow else ()
    case_file, staffing = store.lookup(number, asked, call) if CASE_NUMBER.match(number) else (None, Staffing())
    zone = customer_timezone(case_file, line) if case_file else ZoneInfo(line.timezone)
    decision = route(case_file, line, language, when(zone), policy, staffing)
    return Routed(case_file, decision)


def at_opening(store: Store, policy: Policy, number: str, line: Line, language: str, now: datetime,
               call: str = "") -> tuple[datetime, Enqueue] | None:
    """Return when phones open for a case refused outside hours now, and the queue it would get then (with
    that moment's deadline); None when it is not refused for hours now, or would not be queued then."""
    refused = route_call(store, policy, number, line, language, lambda _zone: now, call).decision
    if not (isinstance(refused, Refused) and refused.reason == "outside_hours" and refused.next_open):
        return None
    opening = refused.next_open
    routed = route_call(store, policy, number, line, language, lambda _zone: opening, call).decision
    return (opening, routed) if isinstance(routed, Enqueue) else None


def requeue_unanswered(calls: CallState, waiting: Waiting, sid: str, status: str) -> Enqueue | None:
    """Record that the engineer did not answer and put the caller in the queue routing chose, with its deadline.

    Returns None when the call's routing is lost (its state expired): the caller must then not
    be given a made-up deadline.
    """
    state = calls.update_and_get(sid, "dial_result", dial_status=status)
    decision = parse_queue_entry(state.get("fallback"))
    if decision is not None:
        waiting.join(sid, decision)
    return decision
