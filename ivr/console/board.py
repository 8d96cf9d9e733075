"""What an engineer's console shows, gathered once for the page and for its JSON updates alike."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from ivr.services.staff import WaitingRow, waiting_in_order
from ivr.wiring import Services
from routing.dispatch import queues_served
from routing.model import CaseFile, Engineer

MAX_ROWS = 50
"""Waiting callers listed on the page; more are counted, not listed (the next ones offered come first)."""

REST_SHOWN = 20
"""Demo REST requests shown (the newest)."""

PRESENCE_CHOICES = ("available", "away", "offline")
"""What an engineer may set by hand; `busy` follows the calls."""

SOFTPHONE_VARIABLES = ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET")
"""What the access token is signed with; without all three the console works for desk phones only."""


def duration(seconds: float) -> str:
    """Say a length of time the way a person reads it at a glance: `45 s`, `12 min`, `2 h 05 min`."""
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def to_deadline(seconds: float) -> str:
    return f"in {duration(seconds)}" if seconds >= 0 else f"overdue by {duration(-seconds)}"


@dataclass(frozen=True)
class Caller:
    """One waiting caller as the console lists them."""

    call_sid: str
    case: str
    queue: str
    account: str
    plan: str
    severity: int
    waiting_s: int
    waiting: str
    deadline: str
    to_deadline_s: int
    to_deadline: str
    claimed_by: str | None
    """A busy case engineer holding a first claim on this caller (maybe the one looking)."""


@dataclass(frozen=True)
class CurrentCall:
    """The offer or call the engineer is on (the dispatcher's word for it), with its case."""

    case: str
    queue: str
    state: str
    """`ringing`, `accepted`, `bridged` or `wrap_up`."""
    since_s: int
    since: str = ""
    """How long it has been in that state, in words."""
    account: str = ""
    plan: str = ""
    severity: int | None = None
    call_sid: str = ""


@dataclass(frozen=True)
class Softphone:
    enabled: bool
    reason: str = ""
    """Why not, in words for the engineer, when disabled."""
    identity: str | None = None


@dataclass
class Desk:
    engineer: str
    name: str
    presence: str
    presence_since: str | None
    """When the presence last changed (ISO 8601, UTC), if ever."""
    queues: list[dict]
    """Each queue served with how many wait in it: `{"queue", "waiting"}`."""
    callers: list[Caller]
    more: int
    """Waiting callers beyond those listed."""
    call: CurrentCall | None
    softphone: Softphone
    rest: list[dict] = field(default_factory=list)
    now: str = ""

    def as_json(self) -> dict:
        return asdict(self)


def softphone_for(engineer: Engineer, config) -> Softphone:
    """Tell whether this engineer can take calls in the browser, and if not, why."""
    if not engineer.client:
        where = f" on {engineer.phone}" if engineer.phone else ""
        return Softphone(False, f"Calls ring your phone{where}: your directory record has no Twilio Client "
                                "identity, which the softphone needs.")
    missing = [name for name in SOFTPHONE_VARIABLES if not config.get(name)]
    if missing:
        return Softphone(False, f"The softphone is off on this server: {', '.join(missing)} "
                                f"{'is' if len(missing) == 1 else 'are'} not set. Calls for you ring your "
                                "Twilio Client app or phone as before.", engineer.client)
    return Softphone(True, "", engineer.client)


def softphone_config(app_config) -> dict:
    """Return the credentials access tokens are signed with, from the app's configuration (the environment)."""
    return {name: app_config.get(name) for name in SOFTPHONE_VARIABLES}


def desk(services: Services, engineer: Engineer, config, now: datetime | None = None) -> Desk:
    """Gather everything an engineer's console shows now."""
    now = now or datetime.now(UTC)
    served = queues_served(engineer)
    mine = set(served)
    rows = [row for row in waiting_in_order(services, now) if row.queue in mine]
    counts = {queue: 0 for queue in served}
    for row in rows:
        counts[row.queue] += 1
    seen: dict[str, CaseFile | None] = {}
    callers = [_caller(services, row, now, seen) for row in rows[:MAX_ROWS]]
    presence = services.store.presences([engineer.id])[engineer.id]
    offers = getattr(services, "offers", None)
    current = offers.current(engineer.id) if offers is not None else None
    rest = offers.rest_requests(REST_SHOWN) if offers is not None else []
    return Desk(
        engineer=engineer.id, name=engineer.name, presence=presence.state,
        presence_since=presence.since.isoformat(timespec="seconds") if presence.since.timestamp() > 0 else None,
        queues=[{"queue": q, "waiting": n} for q, n in counts.items()],
        callers=callers, more=max(0, len(rows) - MAX_ROWS),
        call=_current(services, current, now, seen) if current else None,
        softphone=softphone_for(engineer, softphone_config(config)),
        rest=[_rest(entry) for entry in rest],
        now=now.isoformat(timespec="seconds"),
    )


def _case_file(services: Services, case: str, seen: dict[str, CaseFile | None]) -> CaseFile | None:
    """Return a case with its account, read once per case per update."""
    if case not in seen:
        seen[case] = services.store.case_file(case) if case else None
    return seen[case]


def _caller(services: Services, row: WaitingRow, now: datetime, seen) -> Caller:
    found = _case_file(services, row.case, seen)
    left = int((datetime.fromisoformat(row.deadline) - now).total_seconds())
    return Caller(row.call_sid, row.case, row.queue, found.account.name if found and found.account else "",
                  row.plan, row.severity, row.waiting_s, duration(row.waiting_s), row.deadline, left,
                  to_deadline(left), row.claimed_by)


def _current(services: Services, current: dict, now: datetime, seen) -> CurrentCall:
    case = current.get("case") or ""
    found = _case_file(services, case, seen)
    account = found.account if found else None
    since = float(current.get("since") or 0)
    return CurrentCall(case=case, queue=current.get("queue") or "", state=current.get("state") or "",
                       since_s=max(0, int(now.timestamp() - since)) if since else 0,
                       since=duration(now.timestamp() - since) if since else "",
                       account=account.name if account else "", plan=account.plan if account else "",
                       severity=found.case.severity if found else None, call_sid=current.get("call_sid") or "")


def _rest(entry: dict) -> dict:
    """Return a demo REST request for display: when, the method and URL, and its parameters as pairs."""
    params = entry.get("params") or {}
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            params = {"": params}
    at = entry.get("at")
    try:
        when = datetime.fromtimestamp(float(at), UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        when = str(at or "")
    pairs = sorted(params.items()) if isinstance(params, dict) else [("", str(params))]
    return {"at": when, "method": str(entry.get("method") or ""), "url": str(entry.get("url") or ""),
            "params": [[str(k), str(v)] for k, v in pairs]}
