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
    kind: str = "call"
    """"call" (holding on the line) or "callback" (a pending callback request, in line by its deadline)."""

    def as_json(self) -> dict:
        return dict(vars(self))


def waiting_in_order(services: Services, now: datetime | None = None) -> list[WaitingRow]:
    """Return every waiting caller and pending callback of every configured queue, in the order they will be
    offered: earliest deadline first (ties: longest wait)."""
    now = now or datetime.now(UTC)
    settings = services.settings
    queues = settings.queues
    found: dict[str, tuple] = {}
    callers = []
    for queue in queues:
        for sid, d, joined in services.waiting.entries(queue):
            found[sid] = (d.plan, d.severity, "call")
            callers.append(WaitingCaller(sid, d.queue, d.deadline, datetime.fromtimestamp(joined, UTC), d.case,
                                         d.preferred))
    for candidate in services.offers.callbacks(queues, offered_too=True):
        found[candidate.caller.sid] = (candidate.plan, candidate.severity, "callback")
        callers.append(candidate.caller)
    presences = services.store.presences({c.preferred for c in callers if c.preferred})
    window = timedelta(seconds=settings.claim_window)
    rows = []
    for caller in serving_order(callers):
        plan, severity, kind = found[caller.sid]
        rows.append(WaitingRow(caller.sid, caller.case, caller.queue, plan, severity,
                               max(0, int((now - caller.joined).total_seconds())),
                               caller.deadline.isoformat(timespec="seconds"),
                               claimed_by(caller, presences, now, window), kind))
    return rows
