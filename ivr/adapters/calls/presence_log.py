"""The presence log read back: every presence change with its time, for occupancy reports.

Written by the store (changes by hand) and the offers' scripts (busy while ringing and on a call, a
wrap-up with its `until`, free again); see `ivr.services.report` for what the entries mean.
"""
from __future__ import annotations

import redis

from .. import keys

BATCH = 5000
"""Entries read per round trip: a capped log of `keys.PRESENCE_LOG_MAXLEN` entries is a few dozen reads."""

CLOCK_MARGIN = 60.0
"""Seconds past `until` still read: an entry's id is Redis's clock, its `at` the writer's; `at` decides."""


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


class PresenceLog:
    """Reads the presence log (`ivr:presence-log`), oldest first."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def entries(self, until: float | None = None) -> list[dict[str, str]]:
        """Return every kept entry written up to `until` (epoch seconds; None: all), oldest first.

        Entries from before a report's period are included on purpose: they tell the state it starts in.
        Each is a dict of strings: `engineer`, `state`, `at`, and `until`, `offer` or `call` when written.
        """
        end = "+" if until is None else str(int((until + CLOCK_MARGIN) * 1000))
        found: list[dict[str, str]] = []
        start = "-"
        while True:
            batch = self.redis.xrange(keys.PRESENCE_LOG, start, end, count=BATCH)
            found += [{_text(k): _text(v) for k, v in fields.items()} for _id, fields in batch]
            if len(batch) < BATCH:
                return found
            start = "(" + _text(batch[-1][0])
