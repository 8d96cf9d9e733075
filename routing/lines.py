"""Which line a call came in on, from the number called."""
from __future__ import annotations

from collections.abc import Mapping

from .model import Line


def normalize_number(number: str | None) -> str:
    """Return an E.164-looking key for a called number: '+' and digits only."""
    if not number:
        return ""
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"+{digits}" if digits else ""


def find_line(lines: Mapping[str, Line], called: str | None, default: Line) -> Line:
    """Return the line for a called number; numbers not configured go to the default line."""
    return lines.get(normalize_number(called), default)


def queue_name(region: str, language: str) -> str:
    """Return the regional language queue, `<region>-<language>`."""
    return f"{region}-{language}"
