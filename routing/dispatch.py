"""Who serves which waiting caller: queues served, on shift, earliest deadline first, first claim (SPEC §4–§5).

Pure functions of the waiting callers, the engineers' presence and `now`, so the dispatcher,
the staff console, `ivr staff queue` and a what-if replay all order callers the same way.
"""
from __future__ import annotations

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
        holder = claimed_by(caller, presences, now, window)
        if holder == engineer.id:
            own.append(caller)
        elif holder is None and caller.queue in served:
            others.append(caller)
    ordered = serving_order(own) or serving_order(others)
    return ordered[0] if ordered else None
