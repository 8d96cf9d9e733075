"""Case-number guessing: whose failed tries a call counts against, and how many they may make."""
from __future__ import annotations

WITHHELD = "withheld"
"""Whose tries a call from a withheld (or uncallable) number counts against: all such callers together."""

WITHHELD_SHARE = 10
"""Callers who withhold their number share one count of failed tries: theirs may be this many times the limit,
so one of them guessing does not shut the others out at once (a surge on the line still alerts)."""


def guess_allowance(number: str | None, limit: int) -> tuple[str, int]:
    """Return whose failed tries a call counts against (its callable number, else the withheld callers') and
    how many they may make in the window."""
    return (number, limit) if number else (WITHHELD, limit * WITHHELD_SHARE)
