"""The event stream: every step of every call, appended in order, for workers and reports."""
from __future__ import annotations

import time

import redis

from .. import keys


def clean(fields: dict) -> dict[str, str]:
    """Return fields as Redis stores them: text, with None as empty."""
    return {k: ("" if v is None else str(v)) for k, v in fields.items()}


def pairs(fields: dict) -> list[str]:
    """Return fields flattened to name, value, name, value… for a Lua script's arguments."""
    return [item for pair in clean(fields).items() for item in pair]


def now() -> str:
    return f"{time.time():.3f}"


class Events:
    """Appends to and reads the decision log (`ivr:events`, capped)."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def of(self, sid: str, event: str | None = None) -> list[dict[str, str]]:
        """Return a call's events in order, or only those of one kind."""
        return [fields for _id, fields in self.redis.xrange(keys.EVENTS)
                if fields.get("sid") == sid and (event is None or fields.get("event") == event)]
