"""What support staff see: the waiting callers in exactly the order they will be offered."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ivr.wiring import Services
from routing.dispatch import WaitingCaller, claimed_by, serving_order


@dataclass(frozen=True)
class WaitingRow:
    """One waiting caller as `ivr staff queue` and the console show them."""

    call_sid: str
    case: str
    queue: str
    plan: str
    severity: int
    waiting_s: int
    deadline: str
    claimed_by: str | None

    def as_json(self) -> dict:
        return dict(vars(self))


def waiting_in_order(services: Services, now: datetime | None = None) -> list[WaitingRow]:
    """Return every waiting caller of every configured queue, earliest deadline first (ties: longest wait)."""
    now = now or datetime.now(UTC)
    settings = services.settings
    queues = settings.queues
    found: dict[str, tuple] = {}
    for queue in queues:
        for sid, decision, joined in services.waiting.entries(queue):
            found[sid] = (decision, joined)
    callers = [WaitingCaller(sid, d.queue, d.deadline, datetime.fromtimestamp(joined, UTC), d.case, d.preferred)
               for sid, (d, joined) in found.items()]
    presences = services.store.presences({c.preferred for c in callers if c.preferred})
    window = timedelta(seconds=settings.claim_window)
    rows = []
    for caller in serving_order(callers):
        decision = found[caller.sid][0]
        rows.append(WaitingRow(caller.sid, caller.case, caller.queue, decision.plan, decision.severity,
                               max(0, int((now - caller.joined).total_seconds())),
                               caller.deadline.isoformat(timespec="seconds"),
                               claimed_by(caller, presences, now, window)))
    return rows
