"""The directory copy in Redis: accounts, engineers, cases and engineer presence."""
from __future__ import annotations

import json
import pickle
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, fields
from datetime import UTC, date, datetime

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from routing import Account, Case, CaseFile, Engineer, Staffing
from routing.dispatch import Presence, effective_presence, on_shift, queues_served
from routing.model import DEFAULT_PRESENCE, PRESENCE_STATES
from routing.records import Directory

from .. import keys
from ..server.connection import redis_from_url

COMMAND_TIMEOUT = 1.0
"""Seconds an `ivr` command waits on Redis (the webhooks have their own budget: `ivr.adapters.server.breaker`)."""

LOAD_CHUNK = 5000
"""Records per write when loading: a load of a million cases holds Redis up for a few milliseconds at a time."""


def connect(url: str, timeout: float = COMMAND_TIMEOUT, decode: bool = True) -> redis.Redis:
    """Return a client for a Redis URL (or a Sentinel set: `ivr.adapters.server.connection`) with short timeouts; it
    connects on first use."""
    # One quick retry covers a connection dropped by a Redis restart or a failover; more would outlast Twilio's
    # patience.
    return redis_from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=decode,
                          retry=Retry(NoBackoff(), 1))


def as_json(record) -> dict:
    """Return a directory record as its JSON object (the SPEC §6 shape, as stored)."""
    data = asdict(record)
    for key, value in data.items():
        if isinstance(value, date):
            data[key] = value.isoformat()
        elif isinstance(value, tuple):
            data[key] = list(value)
    return data


def _encode(record) -> str:
    return json.dumps(as_json(record), separators=(",", ":"))


_COMPACT = json.JSONEncoder(separators=(",", ":"))


_CASE_FIELDS = tuple(f.name for f in fields(Case))


def _encode_case(case: Case) -> str:
    """Encode a case as `_encode` does (its fields are plain values), without asdict's deep copy: a million
    cases are loaded at a time."""
    return _COMPACT.encode({name: getattr(case, name) for name in _CASE_FIELDS})


class CaseSpool:
    """Checked cases waiting to be stored, encoded as stored and kept in a temporary file, not in memory."""

    def __init__(self):
        self._file = tempfile.TemporaryFile(prefix="ivr-load-")
        self._batch: list[tuple[str, str]] = []
        self.count = 0

    def add(self, case: Case) -> None:
        self._batch.append((case.number, _encode_case(case)))
        self.count += 1
        if len(self._batch) >= LOAD_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            pickle.dump(self._batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._batch = []

    def chunks(self) -> Iterable[list[tuple[str, str]]]:
        """Yield the cases in chunks of (number, encoded case), in the order they were added."""
        self._flush()
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)  # our own file, written above: nothing else's to unpickle
            except EOFError:
                return

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CaseSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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


_LOOKUP = """
-- A case with its account, its engineer, the engineer's presence and engagement, and how many are on
-- shift for each queue asked about (KEYS[2..]): one round trip for the call's routing. The account and
-- engineer keys come from the case itself, so they are built here from the prefixes in ARGV (one
-- Redis, not a Cluster: see the README).
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local case = cjson.decode(raw)
local reply = {raw, redis.call('GET', ARGV[1] .. case['account']), false, false, false}
local engineer = case['engineer']
if engineer and engineer ~= cjson.null then
    reply[3] = redis.call('GET', ARGV[2] .. engineer)
    reply[4] = redis.call('GET', ARGV[3] .. engineer)
    reply[5] = redis.call('GET', ARGV[4] .. engineer)
end
for i = 2, #KEYS do reply[#reply + 1] = redis.call('SCARD', KEYS[i]) end
return reply
"""


def dial_token(call: str) -> str | None:
    """Return what engages an engineer rung directly for a call (see `Offers.engage`)."""
    return f"dial:{call}" if call else None


class UnknownEngineer(LookupError):
    pass


class MissingReference(LookupError):
    """A case names an account or engineer the directory does not hold (any more)."""

    def __init__(self, field: str, ident: str):
        super().__init__(f"{field} {ident!r} is not in the directory")
        self.field, self.ident = field, ident


class StillReferenced(Exception):
    """An account or engineer that cases still refer to: deleting it would leave them pointing nowhere."""

    def __init__(self, cases: list[str]):
        super().__init__(f"{len(cases)} case(s) refer to it")
        self.cases = cases


class DirectoryBusy(Exception):
    """A delete kept finding the cases changed while it looked for references to its record."""


DELETE_ATTEMPTS = 20
"""Times a delete looks again for cases referring to its record when a case came to refer to
something meanwhile, before giving up (the caller may try again); each look reads every case."""

_KINDS = {Account: ("account", "accounts"), Engineer: ("engineer", "engineers"), Case: ("case", "cases")}
_SECTION_KIND = {section: kind for kind, section in _KINDS.values()}


class Store:
    """Reads and writes the directory in Redis (key names in `ivr.adapters.keys`)."""

    _index = {section: keys.index(section) for section in ("accounts", "engineers", "cases")}

    def __init__(self, client: redis.Redis):
        self.redis = client
        self._lookup = client.register_script(_LOOKUP)

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

    def save_cases(self, spool: CaseSpool, progress: Callable[[int], None] | None = None) -> None:
        """Store spooled cases, replacing by number, a chunk per transaction: each case is whole, old or new, and
        Redis serves webhooks between chunks. A load cut short is finished by loading the same document again."""
        index = self._index["cases"]
        for chunk in spool.chunks():
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.mset({self.key("case", number): encoded for number, encoded in chunk})
                pipe.sadd(index, *(number for number, _ in chunk))
                pipe.execute()
            if progress:
                progress(len(chunk))

    def case_file(self, number: str) -> CaseFile | None:
        """Return a case with its account, engineer and presence."""
        return self.lookup(number)[0]

    def lookup(self, number: str, queues: Iterable[str] = (), call: str = "") -> tuple[CaseFile | None, Staffing]:
        """Return a case file and whether anyone on shift serves each of the queues, in one round trip.

        `call` is the call being routed: an engineer engaged by ringing that very call (a retried
        webhook) is not busy for it.
        """
        queues = tuple(queues)
        reply = self._lookup(keys=[self.key("case", number), *(self.key("staff", queue) for queue in queues)],
                             args=[self.key("account", ""), self.key("engineer", ""), self.key("presence", ""),
                                   keys.engaged("")])
        if not reply:
            return None, Staffing()
        raw, account_raw, engineer_raw, presence_raw, engaged, *staffed = reply
        case = Case(**json.loads(raw))
        account = _account(account_raw)
        engineer = _engineer(engineer_raw) if case.engineer else None
        presence = (effective_presence(presence_raw or DEFAULT_PRESENCE, engaged not in (None, dial_token(call)))
                    if case.engineer else DEFAULT_PRESENCE)
        staffing = Staffing({queue: bool(count) for queue, count in zip(queues, staffed, strict=True)})
        return CaseFile(case, account, engineer, presence), staffing

    def assign_engineer(self, number: str, engineer: str, call_sid: str = "") -> bool:
        """Make an engineer the engineer of a case that has none (SPEC §5.5); return whether it changed.

        The change is kept as a `case_assigned` event for the case system; a case that gained an
        engineer meanwhile (another call, a load) keeps that one.
        """
        def assign(data: dict) -> bool:
            if data.get("engineer"):
                return False
            data["engineer"] = engineer
            return True

        def record(pipe) -> None:
            pipe.xadd(keys.EVENTS, {"sid": call_sid, "event": "case_assigned", "case": number, "engineer": engineer,
                                    "at": f"{time.time():.3f}"}, maxlen=keys.EVENTS_MAXLEN, approximate=True)

        return bool(self._change_case(number, assign, record))

    def _change_case(self, number: str, change: Callable[[dict], object], also=None):
        """Change a stored case in one transaction: `change(data)` edits the record and returns a truthy value to
        write it (with `also(pipe)` queued beside it); a load or API change meanwhile makes this read again.

        Returns None for a case not stored, else what `change` returned.
        """
        key = self.key("case", number)
        while True:
            with self.redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        return None
                    data = json.loads(raw)
                    result = change(data)
                    if not result:
                        return result
                    pipe.multi()
                    pipe.set(key, json.dumps(data, separators=(",", ":")))
                    if also is not None:
                        also(pipe)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def engineer(self, ident: str) -> Engineer | None:
        return _engineer(self.redis.get(self.key("engineer", ident)))

    def exists(self, kind: str, ident: str) -> bool:
        """Tell whether the directory holds an `account`, `engineer` or `case`."""
        return bool(self.redis.exists(self.key(kind, ident)))

    def put(self, record: Account | Engineer | Case) -> bool:
        """Store one checked record in one transaction, replacing it by id; return whether it is new.

        An engineer moves between the queues' shift sets as `save` moves them (their record and
        presence are watched). A case's account and engineer must be stored: they are watched, so a
        delete landing meanwhile makes this read again and raise MissingReference. A case that comes
        to refer to an account or engineer bumps `CASE_REFERENCES`, which deletes watch.
        """
        kind, section = _KINDS[type(record)]
        ident = record.number if isinstance(record, Case) else record.id
        key = self.key(kind, ident)
        watched = [key]
        if isinstance(record, Engineer):
            watched.append(self.key("presence", ident))
        references: list[tuple[str, str]] = []
        if isinstance(record, Case):
            references = [("account", record.account)] + ([("engineer", record.engineer)] if record.engineer else [])
            watched += [self.key(field, ref) for field, ref in references]
        while True:
            with self.redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*watched)
                    found = pipe.mget(watched)
                    stored = found[0]
                    if isinstance(record, Case):
                        for (field, ref), raw in zip(references, found[1:], strict=True):
                            if raw is None:
                                raise MissingReference(field, ref)
                    pipe.multi()
                    if isinstance(record, Engineer):
                        self._staff(pipe, record, found[1] or DEFAULT_PRESENCE, _engineer(stored))
                    if isinstance(record, Case):
                        before = json.loads(stored) if stored else {}
                        if any(before.get(field) != ref for field, ref in references):
                            pipe.incr(keys.CASE_REFERENCES)
                    pipe.set(key, _encode(record))
                    pipe.sadd(self._index[section], ident)
                    pipe.execute()
                    return stored is None
                except redis.WatchError:
                    continue

    def delete(self, section: str, ident: str) -> bool:
        """Delete one record of `accounts`, `engineers` or `cases` in one transaction; return whether it was there.

        An account or engineer that cases still refer to is kept: StillReferenced names the cases.
        Looking for them watches `CASE_REFERENCES`, so a case put meanwhile makes the delete look
        again (DirectoryBusy after `DELETE_ATTEMPTS` looks). An engineer leaves the queues' shift
        sets, with their presence (an `offline` in the presence log if they were on) and console password.
        """
        kind = _SECTION_KIND[section]
        key = self.key(kind, ident)
        watched = [key]
        if kind == "engineer":
            watched.append(self.key("presence", ident))
        if kind != "case":
            watched.append(keys.CASE_REFERENCES)
        for _attempt in range(DELETE_ATTEMPTS):
            with self.redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*watched)
                    stored = pipe.get(key)
                    if stored is None:
                        return False
                    if kind != "case":
                        referring = self._referring(pipe, kind, ident)
                        if referring:
                            raise StillReferenced(referring)
                    presence = pipe.get(self.key("presence", ident)) if kind == "engineer" else None
                    pipe.multi()
                    pipe.delete(key)
                    pipe.srem(self._index[section], ident)
                    if kind == "engineer":
                        for queue in queues_served(_engineer(stored)):
                            pipe.srem(self.key("staff", queue), ident)
                        pipe.delete(self.key("presence", ident), keys.password(ident))
                        pipe.hdel(keys.PRESENCE_SINCE, ident)
                        if presence not in (None, DEFAULT_PRESENCE):
                            pipe.xadd(keys.PRESENCE_LOG, {"engineer": ident, "state": DEFAULT_PRESENCE,
                                                          "at": f"{time.time():.3f}"},
                                      maxlen=keys.PRESENCE_LOG_MAXLEN, approximate=True)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue
        raise DirectoryBusy(f"cases kept changing while looking for those that refer to {kind} {ident!r}")

    def _referring(self, pipe, field: str, ident: str) -> list[str]:
        """Return the cases whose `account` or `engineer` is ident, read on a watching pipeline."""
        needle = json.dumps(ident)  # as the stored JSON has it: a cheap test before decoding
        numbers = sorted(pipe.smembers(self._index["cases"]))
        found = []
        for start in range(0, len(numbers), LOAD_CHUNK):
            chunk = numbers[start:start + LOAD_CHUNK]
            raws = pipe.mget([self.key("case", n) for n in chunk])
            found += [n for n, raw in zip(chunk, raws, strict=True)
                      if raw and needle in raw and json.loads(raw).get(field) == ident]
        return found

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

    def set_case_status(self, number: str, status: str, only_from: Iterable[str] | None = None,
                        also: Callable | None = None) -> str | None:
        """Set a case's status in one transaction; return its status before (None: no such case).

        With `only_from`, a case in any other status is left as it is (a case closed meanwhile stays
        closed). `also(pipe)` queues more writes on the same transaction, so what records the change
        lands with it or not at all. A load or API change of the case meanwhile makes this read again.
        """
        from routing.model import CASE_STATUSES

        if status not in CASE_STATUSES:
            raise ValueError(f"{status!r} is not one of {', '.join(CASE_STATUSES)}")
        allowed = None if only_from is None else set(only_from)
        found: dict[str, str | None] = {}

        def set_status(data: dict) -> bool:
            found["before"] = before = data.get("status")
            if before == status or (allowed is not None and before not in allowed):
                return False
            data["status"] = status
            return True

        if self._change_case(number, set_status, also) is None:
            return None
        return found["before"]
