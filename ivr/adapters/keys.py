"""Every Redis key the service writes: its name, its type and what bounds it, in one place.

| key | type | bound |
|---|---|---|
| `ivr:account:<id>`, `ivr:engineer:<id>`, `ivr:case:<number>` | string (JSON) | the directory |
| `ivr:index:<accounts\\|engineers\\|cases>` | set | the directory |
| `ivr:case-references` | string: a counter of API changes that made a case refer to an account or engineer | one value |
| `ivr:presence:<engineer>` | string | the directory's engineers |
| `ivr:presence-since` | hash: engineer → when their presence last changed | the directory's engineers |
| `ivr:presence-log` | stream: every presence change with its time | `MAXLEN ~` `PRESENCE_LOG_MAXLEN` |
| `ivr:staff:<queue>` | set of engineers on shift | the directory's engineers |
| `ivr:call:<CallSid>` | hash: a live call's state | TTL `calls.state_ttl`, refreshed on each step |
| `ivr:waiting:<queue>` | sorted set: CallSid by deadline | entries leave with the call; stale ones swept on join; key TTL `calls.state_ttl` |
| `ivr:events` | stream: decision log | `MAXLEN ~` `EVENTS_MAXLEN` |
| `ivr:callbacks` | stream: callback requests | `MAXLEN ~` `CALLBACKS_MAXLEN` |
| `ivr:callback:<CallSid>` | hash: a pending callback (number, case, queue, deadline, attempts) | TTL 14 days |
| `ivr:pending:<queue>` | sorted set: pending callbacks by deadline, in line with the waiting callers | leave when done or failed |
| `ivr:record:<CallSid>` | hash: a finished call's record | TTL `calls.record_ttl` |
| `ivr:calls` | sorted set: CallSid by end time | trimmed to `calls.record_ttl` on each record |
| `ivr:records-due` | sorted set: CallSid of an ended call by end time, until a worker queues the job writing its record | entries leave when their job is queued |
| `ivr:case-calls:<case>` | sorted set: a case's calls by end time (its history) | trimmed to `calls.record_ttl`; key TTL the same |
| `ivr:attempts:<case>` | sorted set: attempts to reach the customer (JSON: id, when, note) by when | the newest `ATTEMPTS_KEPT`; key TTL `calls.record_ttl` from the last attempt |
| `ivr:attempts-cancel:<case>` | hash: the case's cancellation for want of contact (trigger, days, SMS) | key TTL `calls.record_ttl` |
| `ivr:offer:<id>` | hash: one offer of a caller to an engineer | TTL `calls.state_ttl` |
| `ivr:offered:<CallSid>` | string: the offer a waiting caller is in | TTL while it rings, `calls.state_ttl` once taken |
| `ivr:engaged:<engineer>` | string: the offer or call an engineer is on (presence `busy`) | TTL: ringing, the call, then `dispatch.wrap_up` |
| `ivr:missed:<CallSid>` | set: engineers who let this caller's offer pass | TTL `calls.state_ttl` |
| `ivr:offers:ringing` | sorted set: offer id by when it stops ringing | entries leave when answered or missed |
| `ivr:dispatch:wake` | list: a token that wakes the dispatchers | one element |
| `ivr:answered-wait` | hash: queue → moving average of answered waits, and its sample count | the configured queues |
| `ivr:rest-log` | stream: REST requests shown instead of sent (`--demo`) | `MAXLEN ~` `REST_LOG_MAXLEN` |
| `ivr:public-url` | string: the base URL webhooks were last reached at | one value |
| `ivr:case-events` | stream: events for the case system (`ivr events`) | `MAXLEN ~` `CASE_EVENTS_MAXLEN` |
| `ivr:outbox:<case>` | list: a case's events not yet delivered to `case_system.webhook` | emptied as delivered |
| `ivr:outbox-cases` | set: cases with undelivered events | the cases in `ivr:outbox:*` |
| `ivr:outbox-seen:<key>` | string: an event already published (idempotency) | TTL 30 days |
| `ivr:outbox-lock:<case>` | string: the worker delivering a case's events | TTL 120 s |
| `ivr:guesses:<number>` | sorted set: a calling number's failed case-number tries by time | trimmed to `security.guess_window`; key TTL the same |
| `ivr:line-failures:<line>` | sorted set: a line's failed case-number tries by time | trimmed to `security.surge_window`; key TTL the same |
| `ivr:unconfigured-numbers` | hash: a called number no line is configured for → calls it had | the numbers Twilio sends (signed) to this service |
| `ivr:sms-sent:<number>:<day>` | string: the CallSid the portal link was texted for, to a number that day | TTL one day |
| `ivr:alert:<key>:<channel>` | string: an alert delivered on a channel (webhook, sms) | TTL 30 days |
| `ivr:sla-alerted:<CallSid>` | string: a breach already alerted for a caller or callback | TTL 14 days |
| `ivr:embedded:users` | set of pids sharing the embedded server | the running `ivr` commands |
| `ivr:password:<engineer>` | string: the salted scrypt hash of the engineer's console password | the directory's engineers (`ivr staff set-password` needs one) |
| `ivr:signin-failures:<engineer\\|address>:<id>` | string: failed console sign-ins | TTL 15 min from the first failure; engineers in the directory, addresses (IPv6 by /64) |

RQ keeps its own keys under `rq:`, bounded by its job and result TTLs.
"""
from __future__ import annotations

PREFIX = "ivr:"
"""Every key this service writes starts with this, so it can share a Redis."""

EVENTS = PREFIX + "events"
EVENTS_MAXLEN = 100_000
"""Decision log entries kept (approximately) for workers to pick up; older ones are trimmed."""

CALLBACKS = PREFIX + "callbacks"
CALLBACKS_MAXLEN = 10_000
"""Callback requests kept (approximately); far more than a day of callers asking to be called back."""

UNCONFIGURED = PREFIX + "unconfigured-numbers"
"""Calls answered on the default line because the number called has no line of its own."""

PRESENCE_SINCE = PREFIX + "presence-since"
PRESENCE_LOG = PREFIX + "presence-log"
PRESENCE_LOG_MAXLEN = 100_000
"""Presence changes kept (approximately): weeks of a large team's days, for occupancy reports."""

CALLS_INDEX = PREFIX + "calls"
"""Finished calls by end time, newest last, for `ivr calls` and reports."""
RECORDS_DUE = PREFIX + "records-due"
"""Ended calls by end time whose record job no worker has queued yet (`workers.records`)."""

EMBEDDED_USERS = PREFIX + "embedded:users"

CASE_REFERENCES = PREFIX + "case-references"
"""Bumped by each directory API change that makes a case refer to an account or engineer it did not
refer to; an API delete of an account or engineer watches it while it looks for the cases referring to it."""

RINGING = PREFIX + "offers:ringing"
"""Offers still ringing, by when they stop: a lost status callback is noticed by the sweep."""

WAKE = PREFIX + "dispatch:wake"
"""Pushed when something a dispatcher acts on happens (a caller queued, an engineer free)."""

ANSWERED_WAIT = PREFIX + "answered-wait"

REST_LOG = PREFIX + "rest-log"
REST_LOG_MAXLEN = 1000

PUBLIC_URL = PREFIX + "public-url"

CASE_EVENTS = PREFIX + "case-events"
CASE_EVENTS_MAXLEN = 100_000
"""Case-system events kept (approximately) for `ivr events`: weeks of a busy support line."""

OUTBOX_CASES = PREFIX + "outbox-cases"


def outbox(case: str) -> str:
    return f"{PREFIX}outbox:{case}"


def outbox_seen(key: str) -> str:
    return f"{PREFIX}outbox-seen:{key}"


def outbox_lock(case: str) -> str:
    return f"{PREFIX}outbox-lock:{case}"


def offer(ident: str) -> str:
    return f"{PREFIX}offer:{ident}"


def offered(sid: str) -> str:
    return f"{PREFIX}offered:{sid}"


def engaged(engineer: str) -> str:
    return f"{PREFIX}engaged:{engineer}"


def missed(sid: str) -> str:
    return f"{PREFIX}missed:{sid}"


def call(sid: str) -> str:
    return f"{PREFIX}call:{sid}"


def waiting(queue: str) -> str:
    return f"{PREFIX}waiting:{queue}"


def case_calls(case: str) -> str:
    return f"{PREFIX}case-calls:{case}"


def callback(sid: str) -> str:
    return f"{PREFIX}callback:{sid}"


def pending(queue: str) -> str:
    return f"{PREFIX}pending:{queue}"


def guesses(caller: str) -> str:
    return f"{PREFIX}guesses:{caller}"


def line_failures(line: str) -> str:
    return f"{PREFIX}line-failures:{line}"


def sms_sent(number: str, day: str) -> str:
    return f"{PREFIX}sms-sent:{number}:{day}"


def alert_sent(key: str, channel: str) -> str:
    return f"{PREFIX}alert:{key}:{channel}"


def sla_alerted(sid: str) -> str:
    return f"{PREFIX}sla-alerted:{sid}"


def record(sid: str) -> str:
    return f"{PREFIX}record:{sid}"


def directory(kind: str, ident: str) -> str:
    """Return the key of one directory record: `account`, `engineer`, `case`, `presence` or `staff`."""
    return f"{PREFIX}{kind}:{ident}"


def index(section: str) -> str:
    return f"{PREFIX}index:{section}"


def password(engineer: str) -> str:
    """Return the key of an engineer's console password hash."""
    return f"{PREFIX}password:{engineer}"


def signin_failures(kind: str, ident: str) -> str:
    """Return the key counting failed sign-ins of one `engineer` or from one `address`."""
    return f"{PREFIX}signin-failures:{kind}:{ident}"


ATTEMPTS_KEPT = 50
"""Contact attempts kept per case: far more than the three business days that cancel it."""


def attempts(case: str) -> str:
    """Return the key of a case's attempts to reach the customer."""
    return f"{PREFIX}attempts:{case}"


def attempts_cancel(case: str) -> str:
    """Return the key of what the attempts' cancellation of a case did."""
    return f"{PREFIX}attempts-cancel:{case}"
