"""Attempts to reach a customer about a case, and what cancelling the case for want of contact did.

Kept per case (`ivr:attempts:<case>`, `ivr:attempts-cancel:<case>`), as long as call records
(`calls.record_ttl`) from the last attempt: the count runs over days, across holidays.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from .. import keys

NOTE_LENGTH = 500
"""Characters of a note kept with an attempt: a line or two for the case system, not a transcript."""


def moment(epoch: float | str) -> datetime:
    return datetime.fromtimestamp(float(epoch), UTC)


class Attempts:
    """Records contact attempts per case and the one cancellation they lead to."""

    def __init__(self, client: redis.Redis, keep_for: int):
        self.redis, self.keep_for = client, keep_for

    def add(self, case: str, at: datetime, note: str = "") -> dict:
        """Record an attempt at a moment with a note; return it (`id`, `at` epoch seconds, `note`)."""
        if len(note) > NOTE_LENGTH:
            raise ValueError(f"a note has at most {NOTE_LENGTH} characters")
        attempt = {"id": secrets.token_hex(6), "at": round(at.timestamp(), 3), "note": note}
        key = keys.attempts(case)
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(key, {json.dumps(attempt, separators=(",", ":"), sort_keys=True): attempt["at"]})
        pipe.zremrangebyrank(key, 0, -keys.ATTEMPTS_KEPT - 1)
        pipe.expire(key, self.keep_for)
        pipe.expire(keys.attempts_cancel(case), self.keep_for)
        pipe.execute()
        return attempt

    def of(self, case: str) -> list[dict]:
        """Return a case's attempts, oldest first."""
        return [json.loads(raw) for raw in self.redis.zrange(keys.attempts(case), 0, -1)]

    def cancellation(self, case: str) -> dict[str, str]:
        """Return what the last cancellation of the case for want of contact did ({} if none)."""
        return {_text(k): _text(v) for k, v in self.redis.hgetall(keys.attempts_cancel(case)).items()}

    def cancelled(self, case: str, trigger: float, days: list[str], at: float) -> Callable:
        """Return the writes recording a cancellation, to queue on the transaction that cancels the case."""
        key = keys.attempts_cancel(case)

        def write(pipe) -> None:
            pipe.delete(key)
            pipe.hset(key, mapping={"trigger": f"{trigger:.3f}", "days": ",".join(days), "at": f"{at:.3f}"})
            pipe.expire(key, self.keep_for)

        return write

    def claim_notice(self, case: str) -> bool:
        """Take the customer's text message of this cancellation for one job; False if one has it or sent it."""
        return bool(self.redis.hsetnx(keys.attempts_cancel(case), "sms", "sending"))

    def noticed(self, case: str, outcome: str) -> None:
        """Record how the text message went (`sent <sid>`, `failed <code>`, `none: why`)."""
        self.redis.hset(keys.attempts_cancel(case), "sms", outcome)

    def release_notice(self, case: str) -> None:
        """Give the text message back for a retry (Twilio did not take it this time)."""
        self.redis.hdel(keys.attempts_cancel(case), "sms")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
