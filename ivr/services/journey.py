"""A finished call's journey, from what its live state kept: where it went, why, how long it waited, who took it.

Pure functions of the state's fields, so a record built twice, or after a late callback, comes
out the same; `ivr calls`, the case's history, the case system and `ivr report` all read it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

ANSWERED_DIAL = frozenset({"completed", "answered"})

OUTCOMES = ("answered", "refused", "callback", "abandoned")
"""How a call ended for the caller: they spoke to an engineer, were refused (with a reason), left a
callback request, or hung up (in the menu, or while waiting)."""


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def journey(sid: str, state: Mapping[str, str], ended_at: float, missed: Iterable[str] = (),
            offer: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a call's record: its state's fields and what they mean (outcome, wait, engineer, target met)."""
    record = {k: v for k, v in state.items() if k not in ("waiting", "fallback")}
    record["sid"], record["ended_at"] = sid, f"{ended_at:.3f}"
    offer = offer or {}
    decision = state.get("decision", "")
    engineer = ""
    answered_at = None
    if decision == "engineer" and state.get("dial_status") in ANSWERED_DIAL:
        engineer = state.get("engineer", "")
        answered_at = _number(state.get("engineer_answered"))
    elif offer.get("state") in ("bridged", "ended") or (offer and state.get("queue_result") == "bridged"):
        engineer = offer.get("engineer", "")
        answered_at = _number(offer.get("bridged_at")) or _number(state.get("left_at"))
    if engineer:
        outcome = "answered"
    elif decision == "refused":
        outcome = "refused"
    elif state.get("callback_at"):
        outcome = "callback"
    else:
        outcome = "abandoned"
    record["outcome"] = outcome
    record["answered_by"] = engineer
    offered = sorted(set(missed) | ({offer["engineer"]} if offer.get("engineer") else set()))
    record["offered_to"] = ",".join(offered)
    joined = _number(state.get("joined"))
    if joined is not None:
        left = _number(state.get("left_at")) or answered_at or ended_at
        record["wait_s"] = f"{max(0.0, left - joined):.1f}"
    deadline = state.get("deadline")
    if outcome == "answered" and decision == "engineer":
        record["within_target"] = "1"  # rung straight away: nobody waited
    elif outcome == "answered" and deadline and answered_at is not None:
        try:
            record["within_target"] = "1" if answered_at <= datetime.fromisoformat(deadline).timestamp() else "0"
        except ValueError:
            pass
    return record
