"""Changing an engineer's presence by hand (console, `ivr presence`): kept with its time, and dispatch woken."""
from __future__ import annotations

from ivr.wiring import Services


def change_presence(services: Services, engineer: str, state: str) -> None:
    """Set an engineer's presence; an engineer who becomes available wakes the dispatcher at once.

    Raises `ivr.adapters.store.UnknownEngineer` for an engineer not in the directory and
    ValueError for a state that is not one of `routing.model.PRESENCE_STATES`.
    """
    services.store.set_presence(engineer, state)
    if state == "available":
        services.offers.wake()


def take_next(services: Services, engineer: str):
    """Make an engineer available now and offer them their next caller; return that caller's row, if any.

    Stub until the dispatcher lands: sets `available` and wakes the dispatcher.
    """
    change_presence(services, engineer, "available")
    return None
