"""Changing an engineer's presence by hand (console, `ivr presence`): kept with its time, and dispatch woken."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr.services.staff import WaitingRow, waiting_in_order
from ivr.wiring import Services
from routing.dispatch import next_caller


def change_presence(services: Services, engineer: str, state: str) -> None:
    """Set an engineer's presence; an engineer who becomes available wakes the dispatcher at once.

    Raises `ivr.adapters.directory.store.UnknownEngineer` for an engineer not in the directory and
    ValueError for a state that is not one of `routing.model.PRESENCE_STATES`.
    """
    services.store.set_presence(engineer, state)
    if state == "available":
        services.offers.wake()


def take_next(services: Services, engineer: str, now: datetime | None = None) -> WaitingRow | None:
    """Make an engineer ready for a call now (ending any wrap-up) and wake the dispatcher; return the caller
    they will be offered, if anyone they serve is waiting."""
    services.offers.end_wrap_up(engineer)
    change_presence(services, engineer, "available")
    found = services.store.engineer(engineer)
    if found is None:
        return None
    now = now or datetime.now(UTC)
    callers = [c.caller for c in services.offers.candidates(services.settings.queues)]
    presences = services.store.presences({engineer} | {c.preferred for c in callers if c.preferred})
    chosen = next_caller(found, callers, presences, now, timedelta(seconds=services.settings.claim_window))
    if chosen is None:
        return None
    return next((row for row in waiting_in_order(services, now) if row.call_sid == chosen.sid), None)
