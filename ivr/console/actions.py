"""What an engineer does from the console, for the page's forms and the JSON API alike."""
from __future__ import annotations

from flask import current_app
from werkzeug.exceptions import BadRequest

from ivr.services import presence
from routing.model import Engineer

from .board import PRESENCE_CHOICES


def set_presence(engineer: Engineer, state: str) -> str:
    """Change the engineer's presence; return what to tell them. A state not offered is a 400."""
    if state not in PRESENCE_CHOICES:
        raise BadRequest(f"Presence can be set to {', '.join(PRESENCE_CHOICES)}; not {state!r}.")
    presence.change_presence(current_app.extensions["ivr"], engineer.id, state)
    return f"You are {state}."


def take_next(engineer: Engineer) -> str:
    """Make the engineer available and offer them their next caller now; return what to tell them."""
    offered = presence.take_next(current_app.extensions["ivr"], engineer.id)
    case = offered.get("case") if isinstance(offered, dict) else getattr(offered, "case", None)
    if case:
        return f"You are available; the caller about case {case} is being offered to you."
    return "You are available: the next caller you can serve will be offered to you."
