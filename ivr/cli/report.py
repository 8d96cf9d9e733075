"""`ivr report`: calls per region, language and outcome, waits, targets met and engineer occupancy, for a period."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import click

from ivr.services.report import Period, Report, Row, Stats, build_report

from .background import parse_day
from .commands import _store, fail, main
from .report_page import duration, moment, percent, render
from .runtime import Runtime

DAY = 86400


def today_utc(now: float) -> float:
    """Return the epoch seconds of today's 00:00 UTC."""
    return now - now % DAY


def parse_until(text: str | None) -> float | None:
    """Return the end of a period: a date means the end of that day (UTC), so `--until` a date includes it."""
    end = parse_day(text, "--until")
    return end + DAY if end is not None and len(text or "") == 10 else end


@main.command("report")
@click.option("--since", help="From this date (00:00 UTC) or ISO-8601 moment on [default: today 00:00 UTC].")
@click.option("--until", help="Up to this moment, or to the end of this date (UTC) [default: now].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the period, the rows and occupancy.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, writable=True),
              help="Also write the report as a self-contained HTML page with charts to this file.")
@click.pass_obj
def report(runtime: Runtime, since: str | None, until: str | None, as_json: bool, html_file: str | None) -> None:
    """Report the calls that ended in a period per region, language and outcome: calls, answered, refused by
    reason, abandoned, median and 90th-percentile wait, the share answered within the response target; and
    engineer occupancy from the presence history."""
    from ivr.adapters.calls.presence_log import PresenceLog
    from ivr.adapters.calls.records import Records

    now = time.time()
    start = parse_day(since, "--since")
    end = parse_until(until)
    start = today_utc(now) if start is None else start
    end = now if end is None else end
    if end <= start:
        raise click.BadParameter(f"the period must end after it starts ({moment(start)})", param_hint="--until")
    store = _store(runtime)
    records = Records(store.redis).since(start, until=end)
    presence = PresenceLog(store.redis).entries(until=end)
    engineer_regions = {e.id: e.regions for e in store.engineers()}
    line_regions = {number: line.region for number, line in runtime.settings.lines.items()}
    found = build_report(records, presence, Period(start, end), line_regions, engineer_regions)
    if html_file:
        _write(Path(html_file), render(found, now))
        click.echo(f"wrote {html_file}: {found.overall.calls} calls", err=True)
    if as_json:
        click.echo(json.dumps(found.as_json(), ensure_ascii=False))
    elif not html_file:
        click.echo(text_report(found))


def _write(path: Path, page: str) -> None:
    """Write the page whole or not at all: a reader never sees half a report."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as error:
        fail(f"cannot write {path}: {error.strerror or error}")


# -- the text table ---------------------------------------------------------------------------------------

COLUMNS = ("region", "language", "outcome", "calls", "answered", "refused", "callback", "abandoned",
           "median wait", "p90 wait", "within target", "refused by reason")
NUMERIC = frozenset(COLUMNS[3:11])


def _cells(region: str, language: str, outcome: str, stats: Stats) -> list[str]:
    target = (f"{percent(stats.share_within_target)} ({stats.within_target}/{stats.judged})"
              if stats.judged else "-")
    reasons = ", ".join(f"{reason} {n}" for reason, n in stats.refused.items())
    return [region, language, outcome, str(stats.calls), str(stats.answered), str(stats.refused_total),
            str(stats.callback), str(stats.abandoned), duration(stats.waits.median_s).replace("–", "-"),
            duration(stats.waits.p90_s).replace("–", "-"), target, reasons]


def _table(header: tuple[str, ...], rows: list[list[str]], numeric: frozenset[str]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if h in numeric else c.ljust(w)
                         for c, w, h in zip(cells, widths, header)).rstrip()
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _rows(found: Report) -> list[list[str]]:
    out = []
    for total in found.totals:
        grouped: list[Row] = [r for r in found.rows if (r.region, r.language) == (total.region, total.language)]
        out += [_cells(r.region, r.language, r.outcome, r.stats) for r in grouped]
        if len(grouped) > 1:  # one outcome: its row is the total already
            out.append(_cells(total.region, total.language, "all", total.stats))
    out.append(_cells("all", "", "", found.overall))
    return out


def text_report(found: Report) -> str:
    """Return the report as text tables: calls, then occupancy."""
    lines = [f"Calls that ended from {moment(found.period.start)} to {moment(found.period.until)}", ""]
    if found.overall.calls:
        lines += _table(COLUMNS, _rows(found), NUMERIC)
        lines.append("")
        lines.append("Waits: time in a queue; median and p90 are nearest-rank. Within target: of answered calls.")
    else:
        lines.append("no calls ended in this period")
    occ = found.occupancy
    lines += ["", "Engineer occupancy (occupied: busy or wrap-up; on shift: available, busy or wrap-up)", ""]
    if not occ.engineers:
        lines.append("no engineer was on shift in this period")
        return "\n".join(lines)
    header = ("", "occupancy", "occupied", "on shift")
    rows = [["overall", percent(occ.overall.share), duration(occ.overall.occupied_s),
             duration(occ.overall.on_shift_s)]]
    rows += [[f"region {code}", percent(o.share), duration(o.occupied_s), duration(o.on_shift_s)]
             for code, o in occ.regions.items()]
    rows += [[f"engineer {who}", percent(o.share), duration(o.occupied_s), duration(o.on_shift_s)]
             for who, o in occ.engineers.items()]
    lines += _table(header, [[c.replace("–", "-") for c in r] for r in rows],
                    frozenset({"occupancy", "occupied", "on shift"}))
    return "\n".join(lines)

