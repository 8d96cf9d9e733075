"""Every Redis key the service writes: its name, its type and what bounds it, in one place.

| key | type | bound |
|---|---|---|
| `ivr:account:<id>`, `ivr:engineer:<id>`, `ivr:case:<number>` | string (JSON) | the directory |
| `ivr:index:<accounts\\|engineers\\|cases>` | set | the directory |
| `ivr:presence:<engineer>` | string | the directory's engineers |
| `ivr:presence-since` | hash: engineer → when their presence last changed | the directory's engineers |
| `ivr:presence-log` | stream: every presence change with its time | `MAXLEN ~` `PRESENCE_LOG_MAXLEN` |
| `ivr:staff:<queue>` | set of engineers on shift | the directory's engineers |
| `ivr:call:<CallSid>` | hash: a live call's state | TTL `calls.state_ttl`, refreshed on each step |
| `ivr:waiting:<queue>` | sorted set: CallSid by deadline | entries leave with the call; stale ones swept on join; key TTL `calls.state_ttl` |
| `ivr:events` | stream: decision log | `MAXLEN ~` `EVENTS_MAXLEN` |
| `ivr:callbacks` | stream: callback requests | `MAXLEN ~` `CALLBACKS_MAXLEN` |
| `ivr:record:<CallSid>` | hash: a finished call's record | TTL `calls.record_ttl` |
| `ivr:calls` | sorted set: CallSid by end time | trimmed to `calls.record_ttl` on each record |
| `ivr:embedded:users` | set of pids sharing the embedded server | the running `ivr` commands |

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

PRESENCE_SINCE = PREFIX + "presence-since"
PRESENCE_LOG = PREFIX + "presence-log"
PRESENCE_LOG_MAXLEN = 100_000
"""Presence changes kept (approximately): weeks of a large team's days, for occupancy reports."""

CALLS_INDEX = PREFIX + "calls"
"""Finished calls by end time, newest last, for `ivr calls` and reports."""

EMBEDDED_USERS = PREFIX + "embedded:users"


def call(sid: str) -> str:
    return f"{PREFIX}call:{sid}"


def waiting(queue: str) -> str:
    return f"{PREFIX}waiting:{queue}"


def record(sid: str) -> str:
    return f"{PREFIX}record:{sid}"


def directory(kind: str, ident: str) -> str:
    """Return the key of one directory record: `account`, `engineer`, `case`, `presence` or `staff`."""
    return f"{PREFIX}{kind}:{ident}"


def index(section: str) -> str:
    return f"{PREFIX}index:{section}"
