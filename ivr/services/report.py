"""The report of a period: calls per region, language and outcome, their waits and targets, and engineer occupancy.

Pure functions of call records (the string dicts `ivr.services.journey.journey` writes), presence-log
entries (string dicts as `ivr.adapters.calls.presence_log.PresenceLog` reads them) and the period: no Redis,
Flask or clock. `ivr report` feeds them what Redis kept; the staffing what-if (ROADMAP item 4) can feed
them replayed calls and a simulated presence log and compare two rosters with the same arithmetic.

Rules, so two reports of the same data always agree:

- **Region** of a call: the prefix of its queue (`emea-de` → `emea`), else its line's region, else `-`.
  **Language**: the record's, else its queue's suffix, else `-` (a caller who hung up in the menu).
- **Wait**: `wait_s`, the time a call spent in a queue (join to answer, callback request or hang-up).
  A call rung straight through to its case's engineer, or refused, never waited and has no wait:
  it is not counted as a wait of zero.
- **Median and 90th percentile**: nearest-rank. Of n waits sorted ascending, the p-th percentile is
  the value at rank ⌈p·n/100⌉ (1-based). Every figure is a wait that really happened; the median of
  an even count is the lower of the two middle waits. No waits: no figure (None).
- **Share within target**: of the answered calls whose record says whether the response target was
  met (`within_target` "1" or "0"), the share that met it. Only an answered call can be judged: a
  caller who hung up or asked for a callback after five minutes has not (yet) missed a 30-minute target.
- **Occupancy**: occupied time / on-shift time over the period. The log has two layers:
  the presence the engineer *chose* (entries without `offer`/`call`: available, busy, away, offline)
  and what *engages* them (entries with `offer` or `call`: `busy` from ringing to the call's end,
  `wrap_up` until its `until`, `available` when an engagement ends). An engaged engineer (busy, or
  wrap_up before `until`) is occupied and on shift whatever they chose, since they are on a call;
  otherwise their choice counts: `busy` occupied and on shift, `available` on shift, `away` and
  `offline` neither. A wrap-up ends at `until` (or at a later entry ending the engagement), and the
  engineer is back to what they chose, normally `available`. Before an engineer's first entry they
  are `offline` (the log is capped: very old history may be gone). An engineer serving several regions
  counts fully in each of them; the overall figure counts each engineer once.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ivr.services.journey import OUTCOMES

UNKNOWN = "-"
"""The region or language of a call the record cannot place (e.g. a caller who hung up in the menu)."""

OCCUPIED = frozenset({"busy", "wrap_up"})
ON_SHIFT = frozenset({"available", "busy", "wrap_up"})

WAIT_BUCKETS: tuple[tuple[float, float, str], ...] = (
    (0, 30, "under 30 s"), (30, 60, "30–60 s"), (60, 120, "1–2 min"), (120, 300, "2–5 min"),
    (300, 600, "5–10 min"), (600, 1800, "10–30 min"), (1800, math.inf, "30 min or more"),
)
"""The wait distribution's bins, [low, high) seconds: fine where callers are patient, coarse where they are not."""

HOURLY_UP_TO = 2 * 86400
"""Periods up to two days are shown call by hour; longer ones by day."""


@dataclass(frozen=True)
class Period:
    """The half-open period [start, until) of a report, in epoch seconds."""

    start: float
    until: float

    def __post_init__(self):
        if not self.until > self.start:
            raise ValueError("a report's period must end after it starts")

    @property
    def seconds(self) -> float:
        return self.until - self.start

    def as_json(self) -> dict:
        return {"since": _iso(self.start), "until": _iso(self.until), "since_epoch": self.start,
                "until_epoch": self.until}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def percentile(values: Iterable[float], p: int) -> float | None:
    """Return the nearest-rank p-th percentile (0 < p ≤ 100) of values: the value at rank ⌈p·n/100⌉; None if empty."""
    if not 0 < p <= 100:
        raise ValueError("a percentile is over 0 and at most 100")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = -(-p * len(ordered) // 100)  # integer ceiling: no float rounding at the rank boundaries
    return ordered[max(rank, 1) - 1]


def _number(value) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None


def place(record: Mapping[str, str], line_regions: Mapping[str, str]) -> tuple[str, str]:
    """Return a call's (region, language): from its queue, its line and its language (see the module's rules)."""
    queue = record.get("queue") or ""
    region, _, queue_language = queue.partition("-") if "-" in queue else ("", "", "")
    region = region or line_regions.get(record.get("line") or "", "") or UNKNOWN
    language = record.get("language") or queue_language or UNKNOWN
    return region, language


@dataclass(frozen=True)
class Waits:
    count: int
    median_s: float | None
    p90_s: float | None

    @classmethod
    def of(cls, waits: Sequence[float]) -> Waits:
        return cls(len(waits), percentile(waits, 50), percentile(waits, 90))


@dataclass(frozen=True)
class Stats:
    """What happened to a group of calls."""

    calls: int
    answered: int
    refused: dict[str, int]
    """Refused calls by reason (`case_not_found`, `outside_hours`, …), most frequent first."""
    callback: int
    abandoned: int
    waits: Waits
    judged: int
    """Answered calls whose record says whether the response target was met."""
    within_target: int

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())

    @property
    def share_within_target(self) -> float | None:
        return self.within_target / self.judged if self.judged else None

    def as_json(self) -> dict:
        return {"calls": self.calls, "answered": self.answered, "refused": self.refused_total,
                "refused_by_reason": dict(self.refused), "callback": self.callback, "abandoned": self.abandoned,
                "waits": self.waits.count, "median_wait_s": self.waits.median_s, "p90_wait_s": self.waits.p90_s,
                "judged": self.judged, "within_target": self.within_target,
                "share_within_target": self.share_within_target}


def stats(records: Iterable[Mapping[str, str]]) -> Stats:
    """Return the counts, waits and target share of some call records."""
    outcomes: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    waits: list[float] = []
    judged = within = 0
    for record in records:
        outcome = record.get("outcome") or "abandoned"
        outcomes[outcome] += 1
        if outcome == "refused":
            refused[record.get("reason") or UNKNOWN] += 1
        wait = _number(record.get("wait_s"))
        if wait is not None and wait >= 0:
            waits.append(wait)
        if outcome == "answered" and record.get("within_target") in ("0", "1"):
            judged += 1
            within += record["within_target"] == "1"
    ordered = dict(sorted(refused.items(), key=lambda kv: (-kv[1], kv[0])))
    return Stats(sum(outcomes.values()), outcomes["answered"], ordered, outcomes["callback"],
                 sum(n for o, n in outcomes.items() if o not in ("answered", "refused", "callback")),
                 Waits.of(waits), judged, within)


@dataclass(frozen=True)
class Row:
    """The calls of one region and language, of one outcome (`outcome` "all": every outcome)."""

    region: str
    language: str
    outcome: str
    stats: Stats

    @property
    def label(self) -> str:
        """The queue's name, `emea-de`; `- de` or `emea -` for calls the records cannot place fully."""
        if UNKNOWN in (self.region, self.language):
            return f"{self.region} {self.language}"
        return f"{self.region}-{self.language}"

    def as_json(self) -> dict:
        return {"region": self.region, "language": self.language, "outcome": self.outcome, **self.stats.as_json()}


def _outcome_order(outcome: str) -> tuple[int, str]:
    return (OUTCOMES.index(outcome) if outcome in OUTCOMES else len(OUTCOMES), outcome)


def call_rows(records: Iterable[Mapping[str, str]], line_regions: Mapping[str, str]) -> tuple[list[Row], list[Row]]:
    """Return (rows per region × language × outcome, rows per region × language over every outcome), sorted."""
    groups: dict[tuple[str, str], list[Mapping[str, str]]] = defaultdict(list)
    for record in records:
        groups[place(record, line_regions)].append(record)
    rows, totals = [], []
    for (region, language), found in sorted(groups.items()):
        by_outcome: dict[str, list[Mapping[str, str]]] = defaultdict(list)
        for record in found:
            by_outcome[record.get("outcome") or "abandoned"].append(record)
        for outcome in sorted(by_outcome, key=_outcome_order):
            rows.append(Row(region, language, outcome, stats(by_outcome[outcome])))
        totals.append(Row(region, language, "all", stats(found)))
    return rows, totals


# -- occupancy -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occupancy:
    occupied_s: float
    on_shift_s: float

    @property
    def share(self) -> float | None:
        return self.occupied_s / self.on_shift_s if self.on_shift_s > 0 else None

    def __add__(self, other: Occupancy) -> Occupancy:
        return Occupancy(self.occupied_s + other.occupied_s, self.on_shift_s + other.on_shift_s)

    def as_json(self) -> dict:
        return {"occupied_s": round(self.occupied_s, 3), "on_shift_s": round(self.on_shift_s, 3),
                "occupancy": self.share}


NOBODY = Occupancy(0.0, 0.0)


@dataclass
class _Engineer:
    """An engineer's presence as the log has it so far: what they chose, and until when a call engages them."""

    chosen: str = "offline"
    engaged_until: float | None = None
    """None: not engaged; math.inf: on a call (or ringing); a number: in a wrap-up ending then."""

    def occupied(self, at: float) -> bool:
        return self.engaged(at) or self.chosen == "busy"

    def on_shift(self, at: float) -> bool:
        return self.engaged(at) or self.chosen in ON_SHIFT

    def engaged(self, at: float) -> bool:
        return self.engaged_until is not None and at < self.engaged_until


def _apply(engineer: _Engineer, entry: Mapping[str, str], at: float) -> None:
    state = entry.get("state", "")
    if entry.get("offer") or entry.get("call") or state == "wrap_up":
        if state == "busy":
            engineer.engaged_until = math.inf
        elif state == "wrap_up":
            engineer.engaged_until = _number(entry.get("until")) or at
        else:  # the engagement ended (`available`), at once or by Take next call
            engineer.engaged_until = None
    elif state in ("available", "busy", "away", "offline"):
        engineer.chosen = state


def _measure(engineer: _Engineer, start: float, end: float) -> Occupancy:
    """Return an engineer's occupied and on-shift seconds in [start, end), where only a wrap-up may end inside."""
    if end <= start:
        return NOBODY
    cuts = [start, end]
    if engineer.engaged_until is not None and start < engineer.engaged_until < end:
        cuts.insert(1, engineer.engaged_until)
    occupied = on_shift = 0.0
    for a, b in zip(cuts, cuts[1:]):
        occupied += (b - a) if engineer.occupied(a) else 0.0
        on_shift += (b - a) if engineer.on_shift(a) else 0.0
    return Occupancy(occupied, on_shift)


def engineer_occupancy(entries: Iterable[Mapping[str, str]], period: Period) -> dict[str, Occupancy]:
    """Return each engineer's occupied and on-shift seconds in the period, from the presence log.

    Entries before the period give the state it starts in; entries at or after its end are ignored.
    Entries are taken in the order of their `at` (the log's own order for equal times). Engineers
    never on shift in the period are left out.
    """
    timed = sorted(((at, i, e) for i, e in enumerate(entries)
                    if (at := _number(e.get("at"))) is not None and e.get("engineer")), key=lambda t: t[:2])
    state: dict[str, _Engineer] = defaultdict(_Engineer)
    last: dict[str, float] = {}
    totals: dict[str, Occupancy] = defaultdict(lambda: NOBODY)
    for at, _i, entry in timed:
        if at >= period.until:
            break
        who = entry["engineer"]
        engineer = state[who]
        if who in last:
            totals[who] += _measure(engineer, max(last[who], period.start), min(at, period.until))
        _apply(engineer, entry, at)
        last[who] = at
    for who, engineer in state.items():
        totals[who] += _measure(engineer, max(last[who], period.start), period.until)
    return {who: found for who, found in sorted(totals.items()) if found.on_shift_s > 0}


@dataclass(frozen=True)
class OccupancyReport:
    overall: Occupancy
    engineers: dict[str, Occupancy]
    regions: dict[str, Occupancy] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"overall": self.overall.as_json(),
                "engineers": {who: o.as_json() for who, o in self.engineers.items()},
                "regions": {code: o.as_json() for code, o in self.regions.items()}}


def occupancy(entries: Iterable[Mapping[str, str]], period: Period,
              engineer_regions: Mapping[str, Iterable[str]] | None = None) -> OccupancyReport:
    """Return occupancy per engineer, per region (an engineer's regions from the directory) and overall."""
    engineer_regions = engineer_regions or {}
    engineers = engineer_occupancy(entries, period)
    regions: dict[str, Occupancy] = defaultdict(lambda: NOBODY)
    for who, found in engineers.items():
        for code in sorted(set(engineer_regions.get(who, ()))):
            regions[code] += found
    overall = sum(engineers.values(), NOBODY)
    return OccupancyReport(overall, engineers, dict(sorted(regions.items())))


# -- charts' series ----------------------------------------------------------------------------------------


def wait_histogram(records: Iterable[Mapping[str, str]]) -> list[tuple[str, int]]:
    """Return how many waits fell in each of `WAIT_BUCKETS`, in their order."""
    counts = [0] * len(WAIT_BUCKETS)
    for record in records:
        wait = _number(record.get("wait_s"))
        if wait is None or wait < 0:
            continue
        counts[next(i for i, (low, high, _) in enumerate(WAIT_BUCKETS) if low <= wait < high)] += 1
    return [(label, n) for (_low, _high, label), n in zip(WAIT_BUCKETS, counts)]


def timeline(records: Iterable[Mapping[str, str]], period: Period) -> tuple[float, list[tuple[float, dict[str, int]]]]:
    """Return (bucket seconds, [(bucket start, calls by outcome)]) of the calls' end times over the period.

    Hourly buckets (UTC hours) for periods up to `HOURLY_UP_TO`, else daily (UTC days); every bucket is
    listed, empty or not, so a chart shows the quiet hours too.
    """
    step = 3600.0 if period.seconds <= HOURLY_UP_TO else 86400.0
    first = math.floor(period.start / step) * step
    buckets = [(first + k * step, Counter()) for k in range(max(1, math.ceil((period.until - first) / step)))]
    for record in records:
        ended = _number(record.get("ended_at"))
        if ended is None or not period.start <= ended < period.until:
            continue
        buckets[min(int((ended - first) // step), len(buckets) - 1)][1][record.get("outcome") or "abandoned"] += 1
    return step, [(at, dict(counts)) for at, counts in buckets]


# -- the whole report --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    period: Period
    rows: list[Row]
    totals: list[Row]
    overall: Stats
    occupancy: OccupancyReport
    waits: list[tuple[str, int]]
    timeline_step: float
    timeline: list[tuple[float, dict[str, int]]]

    def as_json(self) -> dict:
        return {"period": self.period.as_json(),
                "rows": [r.as_json() for r in self.rows],
                "totals": [r.as_json() for r in self.totals],
                "overall": self.overall.as_json(),
                "occupancy": self.occupancy.as_json()}


def build_report(records: Sequence[Mapping[str, str]], presence: Iterable[Mapping[str, str]], period: Period,
                 line_regions: Mapping[str, str] | None = None,
                 engineer_regions: Mapping[str, Iterable[str]] | None = None) -> Report:
    """Return the report of a period from its call records and the presence log (see the module's rules).

    `records` are the calls that ended in the period; `line_regions` maps a line's number to its region
    (for calls that never reached a queue); `engineer_regions` maps an engineer to their regions.
    """
    rows, totals = call_rows(records, line_regions or {})
    step, buckets = timeline(records, period)
    return Report(period, rows, totals, stats(records), occupancy(presence, period, engineer_regions),
                  wait_histogram(records), step, buckets)
