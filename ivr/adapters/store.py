"""The directory copy in Redis: accounts, engineers, cases and engineer presence."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from routing import Account, Case, CaseFile, Engineer, Staffing
from routing.dispatch import Presence, effective_presence, on_shift, queues_served
from routing.model import DEFAULT_PRESENCE, PRESENCE_STATES
from routing.records import Directory

from . import keys

COMMAND_TIMEOUT = 1.0
"""Seconds an `ivr` command waits on Redis (the webhooks have their own budget: `ivr.adapters.breaker`)."""

LOAD_CHUNK = 5000
"""Records queued per progress step when loading; the whole load is still one transaction."""


def connect(url: str, timeout: float = COMMAND_TIMEOUT, decode: bool = True) -> redis.Redis:
    """Return a client for a Redis URL with short timeouts; it connects on first use."""
    # One quick retry covers a connection dropped by a Redis restart; more would outlast Twilio's patience.
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=decode,
                                retry=Retry(NoBackoff(), 1))


def _encode(record) -> str:
    data = asdict(record)
    for key, value in data.items():
        if isinstance(value, date):
            data[key] = value.isoformat()
        elif isinstance(value, tuple):
            data[key] = list(value)
    return json.dumps(data, separators=(",", ":"))


def _account(raw: str | None) -> Account | None:
    if not raw:
        return None
    data = json.loads(raw)
    expires = data.get("maintenance_expires")
    data["maintenance_expires"] = date.fromisoformat(expires) if expires else None
    return Account(**data)


def _engineer(raw: str | None) -> Engineer | None:
    if not raw:
        return None
    data = json.loads(raw)
    data["languages"], data["regions"] = tuple(data["languages"]), tuple(data["regions"])
    return Engineer(**data)


def dial_token(call: str) -> str | None:
    """Return what engages an engineer rung directly for a call (see `Offers.engage`)."""
    return f"dial:{call}" if call else None


class UnknownEngineer(LookupError):
    pass


class Store:
    """Reads and writes the directory in Redis (key names in `ivr.adapters.keys`)."""

    _index = {section: keys.index(section) for section in ("accounts", "engineers", "cases")}

    def __init__(self, client: redis.Redis):
        self.redis = client

    key = staticmethod(keys.directory)

    def known_ids(self) -> tuple[set[str], set[str]]:
        """Return the ids of the accounts and engineers already stored."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.smembers(self._index["accounts"])
        pipe.smembers(self._index["engineers"])
        accounts, engineers = pipe.execute()
        return set(accounts), set(engineers)

    def counts(self) -> dict[str, int]:
        pipe = self.redis.pipeline(transaction=False)
        for key in self._index.values():
            pipe.scard(key)
        return dict(zip(self._index, pipe.execute(), strict=True))

    def save(self, directory: Directory, progress: Callable[[int], None] | None = None) -> None:
        """Store every record of a checked directory in one transaction, replacing by id.

        An engineer whose languages or regions change moves between the queues' shift sets,
        which needs what is stored now: those keys are watched, so a presence change or another
        load landing between the read and the write makes this one read again.
        """
        while True:
            with self.redis.pipeline(transaction=True) as pipe:
                try:
                    self._save(pipe, directory, progress)
                    return
                except redis.WatchError:
                    continue

    def _save(self, pipe, directory: Directory, progress: Callable[[int], None] | None) -> None:
        groups: Iterable[tuple[str, str, list, Callable]] = (
            ("account", "accounts", directory.accounts, lambda r: r.id),
            ("engineer", "engineers", directory.engineers, lambda r: r.id),
            ("case", "cases", directory.cases, lambda r: r.number),
        )
        before: list[tuple[str | None, str | None]] = []
        if directory.engineers:
            watched = [k for e in directory.engineers for k in (self.key("engineer", e.id), self.key("presence", e.id))]
            pipe.watch(*watched)
            found = pipe.mget(watched)
            before = list(zip(found[0::2], found[1::2], strict=True))
        pipe.multi()
        for engineer, (stored, presence) in zip(directory.engineers, before, strict=True):
            self._staff(pipe, engineer, presence or DEFAULT_PRESENCE, _engineer(stored))
        for kind, index, records, ident in groups:
            for start in range(0, len(records), LOAD_CHUNK):
                chunk = records[start:start + LOAD_CHUNK]
                pipe.mset({self.key(kind, ident(r)): _encode(r) for r in chunk})
                pipe.sadd(self._index[index], *(ident(r) for r in chunk))
                if progress:
                    progress(len(chunk))
        pipe.execute()

    def case_file(self, number: str) -> CaseFile | None:
        """Return a case with its account, engineer and presence."""
        return self.lookup(number)[0]

    def lookup(self, number: str, queues: Iterable[str] = (), call: str = "") -> tuple[CaseFile | None, Staffing]:
        """Return a case file and whether anyone on shift serves each of the queues, in two round trips.

        `call` is the call being routed: an engineer engaged by ringing that very call (a retried
        webhook) is not busy for it.
        """
        queues = tuple(queues)
        raw = self.redis.get(self.key("case", number))
        if raw is None:
            return None, Staffing()
        case = Case(**json.loads(raw))
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.key("account", case.account))
        if case.engineer:
            pipe.get(self.key("engineer", case.engineer))
            pipe.get(self.key("presence", case.engineer))
            pipe.get(keys.engaged(case.engineer))
        for queue in queues:
            pipe.scard(self.key("staff", queue))
        results = pipe.execute()
        account = _account(results[0])
        engineer = _engineer(results[1]) if case.engineer else None
        engaged = results[3] if case.engineer else None
        presence = (effective_presence(results[2] or DEFAULT_PRESENCE, engaged not in (None, dial_token(call)))
                    if case.engineer else DEFAULT_PRESENCE)
        staffed = results[len(results) - len(queues):]
        staffing = Staffing({queue: bool(count) for queue, count in zip(queues, staffed, strict=True)})
        return CaseFile(case, account, engineer, presence), staffing

    def assign_engineer(self, number: str, engineer: str, call_sid: str = "") -> bool:
        """Make an engineer the engineer of a case that has none (SPEC §5.5); return whether it changed.

        The change is kept as a `case_assigned` event for the case system; a case that gained an
        engineer meanwhile (another call, a load) keeps that one.
        """
        key = self.key("case", number)
        while True:
            with self.redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        return False
                    data = json.loads(raw)
                    if data.get("engineer"):
                        return False
                    data["engineer"] = engineer
                    pipe.multi()
                    pipe.set(key, json.dumps(data, separators=(",", ":")))
                    pipe.xadd(keys.EVENTS, {"sid": call_sid, "event": "case_assigned", "case": number,
                                            "engineer": engineer, "at": f"{time.time():.3f}"},
                              maxlen=keys.EVENTS_MAXLEN, approximate=True)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def engineer(self, ident: str) -> Engineer | None:
        return _engineer(self.redis.get(self.key("engineer", ident)))

    def set_presence(self, ident: str, state: str) -> None:
        """Set an engineer's presence; the engineer must be in the directory."""
        if state not in PRESENCE_STATES:
            raise ValueError(f"{state!r} is not one of {', '.join(PRESENCE_STATES)}")
        while True:
            with self.redis.pipeline(transaction=True) as pipe:
                try:
                    # Watched: a load changing the engineer's queues in between makes this read again.
                    pipe.watch(self.key("engineer", ident))
                    engineer = _engineer(pipe.get(self.key("engineer", ident)))
                    if engineer is None:
                        raise UnknownEngineer(ident)
                    pipe.multi()
                    pipe.set(self.key("presence", ident), state)
                    # Kept with its time: a first claim runs from the moment an engineer is free.
                    changed = f"{time.time():.3f}"
                    pipe.hset(keys.PRESENCE_SINCE, ident, changed)
                    pipe.xadd(keys.PRESENCE_LOG, {"engineer": ident, "state": state, "at": changed},
                              maxlen=keys.PRESENCE_LOG_MAXLEN, approximate=True)
                    self._staff(pipe, engineer, state)
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    def _staff(self, pipe, engineer: Engineer, state: str, before: Engineer | None = None) -> None:
        """Keep the set of engineers on shift per queue, which overflow rules ask about."""
        if before is not None:
            for queue in queues_served(before):
                pipe.srem(self.key("staff", queue), before.id)
        serving = on_shift(engineer, state)
        for queue in queues_served(engineer):
            if serving:
                pipe.sadd(self.key("staff", queue), engineer.id)
            else:
                pipe.srem(self.key("staff", queue), engineer.id)

    def on_shift(self, queue: str) -> set[str]:
        """Return the engineers on shift who serve a queue (what overflow asks about)."""
        return self.redis.smembers(self.key("staff", queue))

    def presences(self, idents: Iterable[str]) -> dict[str, Presence]:
        """Return engineers' presence with when it last changed (an engineer never set is offline since ever)."""
        idents = list(idents)
        if not idents:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        pipe.mget([self.key("presence", i) for i in idents])
        pipe.mget([keys.engaged(i) for i in idents])
        pipe.hmget(keys.PRESENCE_SINCE, idents)
        states, engaged, since = pipe.execute()
        return {i: Presence(effective_presence(state or DEFAULT_PRESENCE, bool(busy)),
                            datetime.fromtimestamp(float(at or 0), UTC))
                for i, state, busy, at in zip(idents, states, engaged, since, strict=True)}

    def engineers(self) -> list[Engineer]:
        """Return every engineer in the directory."""
        idents = sorted(self.redis.smembers(self._index["engineers"]))
        raws = self.redis.mget([self.key("engineer", i) for i in idents]) if idents else []
        return [e for e in map(_engineer, raws) if e is not None]

    def presence(self, ident: str) -> str:
        """Return an engineer's presence as dispatch sees it: busy while an offer or call engages them."""
        chosen, engaged = self.redis.mget([self.key("presence", ident), keys.engaged(ident)])
        return effective_presence(chosen or DEFAULT_PRESENCE, engaged is not None)
