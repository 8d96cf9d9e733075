"""Who serves which waiting caller: queues served, on shift, earliest deadline first, first claim (SPEC §4–§5).

Pure functions of the waiting callers, the engineers' presence and `now`, so the dispatcher,
the staff console, `ivr staff queue` and a what-if replay all order callers the same way.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .lines import queue_name
from .model import Engineer

ON_SHIFT = frozenset({"available", "busy"})
"""Presence states in which an engineer counts as serving their queues (SPEC §5.4 overflow)."""


@dataclass(frozen=True)
class Presence:
    state: str
    since: datetime
    """When the engineer entered this state: a claim's window runs from the moment they became free."""


@dataclass(frozen=True)
class WaitingCaller:
    sid: str
    queue: str
    deadline: datetime
    joined: datetime
    case: str = ""
    preferred: str | None = None
    """The case's engineer, busy when the caller was routed: they have first claim on this caller."""
    missed_by: frozenset[str] = frozenset()
    """Engineers who let an offer of this caller pass: they are not offered this caller again."""


QUIET_AFTER = timedelta(seconds=150)
"""A waiting call with no wait-URL request for this long has gone: two hold cycles (a 45 s clip and
the prompts around it) with room to spare. Such a caller is never offered, and is swept."""

ANSWERED_WAIT_WEIGHT = 0.25
"""Weight of the newest answered wait in a queue's moving average (α = 1/4)."""

MIN_ANSWERED = 3
"""Answered waits a queue needs before callers are told an expected wait."""


def effective_presence(chosen: str, engaged: bool) -> str:
    """Return the presence dispatch acts on: the engineer's own choice, but busy while a call engages them."""
    return "busy" if engaged and chosen == "available" else chosen


def past_deadline(caller: WaitingCaller, now: datetime) -> bool:
    """Tell whether a waiting caller or pending callback has missed its response target (SPEC §5.8)."""
    return caller.deadline < now


def gone_quiet(last_heard: datetime, now: datetime, quiet: timedelta = QUIET_AFTER) -> bool:
    """Tell whether a waiting call has stopped asking for its hold music, so it is no longer there."""
    return now - last_heard > quiet


def queues_served(engineer: Engineer) -> list[str]:
    """Return the queues an engineer takes calls from: each of their regions in each of their languages."""
    return [queue_name(region, lang) for region in engineer.regions for lang in engineer.languages]


def on_shift(engineer: Engineer, state: str) -> bool:
    """Tell whether an engineer counts as serving their queues in a presence state."""
    return engineer.active and state in ON_SHIFT


def serving_order(callers: Iterable[WaitingCaller]) -> list[WaitingCaller]:
    """Return waiting callers earliest deadline first; ties go to whoever has waited longest."""
    return sorted(callers, key=lambda c: (c.deadline, c.joined, c.sid))


def claimed_by(caller: WaitingCaller, presences: Mapping[str, Presence], now: datetime,
               window: timedelta) -> str | None:
    """Return the engineer holding a first claim on a caller now, if any (SPEC §5.3).

    The caller is held while their engineer is busy, and for `window` after the engineer becomes
    free; an engineer who goes away or offline, or lets the window pass, releases the caller.
    """
    if not caller.preferred:
        return None
    presence = presences.get(caller.preferred)
    if presence is None:
        return None
    if presence.state == "busy":
        return caller.preferred
    if presence.state == "available" and now < presence.since + window:
        return caller.preferred
    return None


def next_caller(engineer: Engineer, callers: Iterable[WaitingCaller], presences: Mapping[str, Presence],
                now: datetime, window: timedelta) -> WaitingCaller | None:
    """Return the caller to offer a free engineer: their own claimed callers first, then the earliest deadline
    among the queues they serve that nobody else has a claim on."""
    if not engineer.active:
        return None
    served = set(queues_served(engineer))
    own, others = [], []
    for caller in callers:
        if engineer.id in caller.missed_by:
            continue
        holder = claimed_by(caller, presences, now, window)
        if holder == engineer.id:
            own.append(caller)
        elif holder is None and caller.queue in served:
            others.append(caller)
    ordered = serving_order(own) or serving_order(others)
    return ordered[0] if ordered else None


def offer_plan(engineers: Iterable[Engineer], presences: Mapping[str, Presence], callers: Iterable[WaitingCaller],
               now: datetime, window: timedelta) -> list[tuple[Engineer, WaitingCaller]]:
    """Pair free engineers with the callers to offer them: the engineer free longest chooses first, and
    each caller goes to one engineer."""
    free = [e for e in engineers
            if e.active and e.reachable and presences.get(e.id, _OFFLINE).state == "available"]
    free.sort(key=lambda e: (presences[e.id].since, e.id))
    left = list(callers)
    plan = []
    for engineer in free:
        caller = next_caller(engineer, left, presences, now, window)
        if caller is not None:
            plan.append((engineer, caller))
            left.remove(caller)
    return plan


_OFFLINE = Presence("offline", datetime.min)


def moving_average(previous: float | None, sample: float, weight: float = ANSWERED_WAIT_WEIGHT) -> float:
    """Return a queue's answered-wait average after one more answered wait."""
    return sample if previous is None else previous + weight * (sample - previous)


def expected_wait(average: float | None, samples: int, ahead: int, on_shift: int) -> int | None:
    """Return the minutes a caller can honestly expect to wait, or None when there is no honest figure.

    The queue's recent answered wait, scaled by the callers ahead over the engineers on shift;
    never a number with nobody on shift or too few answered calls, and never zero minutes.
    """
    if average is None or samples < MIN_ANSWERED or on_shift < 1 or ahead < 1:
        return None
    seconds = average * (ahead + 1) / on_shift
    return max(1, math.ceil(seconds / 60))
