"""`ivr report --html`: the report as one self-contained page, with charts drawn as inline SVG.

Nothing is fetched when the page is opened: the styles are inline, the charts are SVG written here
(no script, no font, no image, no URL of any kind), so it reads the same offline, attached to an
e-mail or archived. Every value that comes from the data (regions, languages, reasons, engineers) is
escaped with `html.escape`, in text and in attributes alike. Each chart has a title and a description
for screen readers, writes its values as text next to its bars, and is followed by the same figures
in a table.
"""
from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime
from html import escape

from ivr.services.journey import OUTCOMES
from ivr.services.report import Occupancy, Report, Row, Stats

COLOURS = {"answered": "#009e73", "refused": "#d55e00", "callback": "#0072b2", "abandoned": "#e69f00"}
"""Outcome colours from the Okabe–Ito palette, told apart with colour-blindness too; text says the values anyway."""
OTHER = "#7f7f7f"
BAR = "#0072b2"

STYLE = """
:root { color-scheme: light; --ink: #1b1b1b; --muted: #555; --rule: #d0d0d0; --panel: #f6f6f6; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 1.5rem; max-width: 70rem; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--rule); padding-bottom: .25rem; }
p.period, footer, .note { color: var(--muted); }
dl.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: .5rem; margin: 0; }
dl.tiles div { background: var(--panel); border-radius: .4rem; padding: .6rem .8rem; }
dl.tiles dt { font-size: .85rem; color: var(--muted); }
dl.tiles dd { margin: 0; font-size: 1.35rem; font-weight: 600; }
figure { margin: 0 0 1rem; }
figcaption { color: var(--muted); font-size: .9rem; }
svg { display: block; width: 100%; height: auto; max-width: 100%; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: var(--ink); }
svg .axis { stroke: var(--rule); }
.legend { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; padding: 0; margin: .25rem 0; }
.legend span { display: inline-block; width: .9rem; height: .9rem; border-radius: .15rem; vertical-align: -.1rem;
               margin-right: .3rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--rule); vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; background: var(--panel); }
@media print { body { padding: 0; } h2 { break-after: avoid; } figure, table { break-inside: avoid; } }
"""


def duration(seconds: float | None) -> str:
    """Return seconds as people read them: `42 s`, `3 min 5 s`, `2 h 10 min`; `–` for none."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.0f} s" if seconds >= 1 or seconds == 0 else f"{seconds:.1f} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s" if whole % 60 else f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f} %"


def moment(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _e(value) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    """A coordinate: short, and never `nan` or an exponent."""
    return f"{value:.1f}".rstrip("0").rstrip(".") if math.isfinite(value) else "0"


class _Ids:
    """Element ids for the charts' titles and descriptions: made here, never from the data."""

    def __init__(self):
        self._next = itertools.count(1)

    def __call__(self, kind: str) -> str:
        return f"{kind}-{next(self._next)}"


def _svg(ids: _Ids, width: float, height: float, title: str, desc: str, body: list[str]) -> str:
    t, d = ids("t"), ids("d")
    return (f'<svg role="img" aria-labelledby="{t} {d}" viewBox="0 0 {_num(width)} {_num(height)}" '
            f'preserveAspectRatio="xMinYMin meet">'
            f'<title id="{t}">{_e(title)}</title><desc id="{d}">{_e(desc)}</desc>' + "".join(body) + "</svg>")


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str = "") -> str:
    tip_el = f"<title>{_e(tip)}</title>" if tip else ""
    return (f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" height="{_num(max(h, 0))}" '
            f'fill="{_e(fill)}">{tip_el}</rect>')


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>{_e(text)}</text>'


def _legend(outcomes: list[str]) -> str:
    items = "".join(f'<li><span style="background:{_e(COLOURS.get(o, OTHER))}"></span>{_e(o)}</li>' for o in outcomes)
    return f'<ul class="legend" aria-hidden="true">{items}</ul>'


def _outcomes_in(counts: list[dict[str, int]]) -> list[str]:
    seen = {o for c in counts for o, n in c.items() if n}
    return [o for o in OUTCOMES if o in seen] + sorted(seen - set(OUTCOMES))


# -- charts ----------------------------------------------------------------------------------------------


def outcome_bars(ids: _Ids, totals: list[Row], rows: list[Row]) -> str:
    """Horizontal stacked bars: the calls of each queue by outcome, the counts written after each bar."""
    per_queue = {(t.region, t.language): {} for t in totals}
    labels = {(t.region, t.language): t.label for t in totals}
    for row in rows:
        per_queue[(row.region, row.language)][row.outcome] = row.stats.calls
    if not per_queue:
        return '<p class="note">No calls ended in this period.</p>'
    outcomes = _outcomes_in(list(per_queue.values()))
    biggest = max(sum(c.values()) for c in per_queue.values()) or 1
    label_w, bar_x, bar_w, row_h, top = 150, 160, 380, 28, 8
    height = top * 2 + row_h * len(per_queue)
    body = []
    for i, (key, counts) in enumerate(per_queue.items()):
        y = top + i * row_h
        queue = labels[key]
        body.append(_text(label_w, y + 18, queue, "end"))
        x = bar_x
        for outcome in outcomes:
            n = counts.get(outcome, 0)
            if n:
                w = bar_w * n / biggest
                body.append(_rect(x, y + 5, w, row_h - 10, COLOURS.get(outcome, OTHER), f"{queue}: {n} {outcome}"))
                x += w
        total = sum(counts.values())
        parts = " · ".join(f"{counts[o]} {o}" for o in outcomes if counts.get(o))
        body.append(_text(x + 6, y + 18, parts if len(counts) == 1 else f"{total} — {parts}"))
    desc = "; ".join(f"{labels[key]}: " + ", ".join(f"{n} {o}" for o, n in c.items()) for key, c in per_queue.items())
    svg = _svg(ids, 960, height, "Calls by outcome per queue", desc, body)
    return f"<figure>{_legend(outcomes)}{svg}<figcaption>Calls that ended in the period, per region and " \
           f"language, by how they ended.</figcaption></figure>"


def timeline_columns(ids: _Ids, report: Report) -> str:
    """Stacked columns: the calls ending in each hour (or day) of the period, by outcome."""
    buckets = report.timeline
    counts = [c for _at, c in buckets]
    if not any(counts):
        return '<p class="note">No calls ended in this period.</p>'
    outcomes = _outcomes_in(counts)
    hourly = report.timeline_step < 86400
    biggest = max(sum(c.values()) for c in counts)
    left, top, plot_h, width = 36, 16, 180, 960
    col_w = (width - left - 8) / len(buckets)
    body = [f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}"/>']
    for tick in sorted({0, biggest // 2, biggest}):
        y = top + plot_h - plot_h * tick / biggest
        body.append(_text(left - 6, y + 4, str(tick), "end"))
        body.append(f'<line class="axis" x1="{left}" y1="{_num(y)}" x2="{width - 8}" y2="{_num(y)}" '
                    f'stroke-dasharray="2 4"/>')
    label_every = max(1, math.ceil(len(buckets) / 24))
    for i, (at, c) in enumerate(buckets):
        x = left + i * col_w
        when = datetime.fromtimestamp(at, UTC)
        name = when.strftime("%H:00") if hourly else when.strftime("%m-%d")
        y = top + plot_h
        for outcome in outcomes:
            n = c.get(outcome, 0)
            if n:
                h = plot_h * n / biggest
                y -= h
                body.append(_rect(x + 1, y, col_w - 2, h, COLOURS.get(outcome, OTHER),
                                  f"{when:%Y-%m-%d %H:%M}: {n} {outcome}"))
        total = sum(c.values())
        if total and col_w >= 12:
            body.append(_text(x + col_w / 2, y - 3, str(total), "middle"))
        if i % label_every == 0:
            body.append(_text(x + col_w / 2, top + plot_h + 14, name, "middle"))
    desc = "; ".join(f"{datetime.fromtimestamp(at, UTC):%Y-%m-%d %H:%M}: {sum(c.values())} calls"
                     for at, c in buckets if c)
    svg = _svg(ids, width, top + plot_h + 22, "Calls through the period, by " + ("hour" if hourly else "day"),
               desc, body)
    return (f"<figure>{_legend(outcomes)}{svg}<figcaption>Calls by the {'hour' if hourly else 'day'} (UTC) they "
            f"ended in, by outcome.</figcaption></figure>")


def wait_columns(ids: _Ids, report: Report) -> str:
    """Columns: how many callers waited how long in a queue."""
    if not any(n for _label, n in report.waits):
        return '<p class="note">Nobody waited in a queue in this period.</p>'
    biggest = max(n for _label, n in report.waits)
    left, top, plot_h, col_w = 10, 20, 160, 120
    body = [f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + col_w * len(report.waits)}" '
            f'y2="{top + plot_h}"/>']
    for i, (label, n) in enumerate(report.waits):
        x = left + i * col_w
        h = plot_h * n / biggest
        body.append(_rect(x + 10, top + plot_h - h, col_w - 20, h, BAR, f"{label}: {n} callers"))
        body.append(_text(x + col_w / 2, top + plot_h - h - 4, str(n), "middle"))
        body.append(_text(x + col_w / 2, top + plot_h + 16, label, "middle"))
    desc = "; ".join(f"{label}: {n}" for label, n in report.waits)
    overall = report.overall.waits
    svg = _svg(ids, left * 2 + col_w * len(report.waits), top + plot_h + 24, "Wait in queue: callers per wait",
               desc, body)
    return (f"<figure>{svg}<figcaption>{overall.count} callers waited in a queue: median "
            f"{_e(duration(overall.median_s))}, 90th percentile {_e(duration(overall.p90_s))}."
            f"</figcaption></figure>")


def share_bars(ids: _Ids, title: str, caption: str, items: list[tuple[str, float | None, str]]) -> str:
    """Horizontal bars from 0 to 100 %: one per (label, share, detail), the figure written after each bar."""
    if not items:
        return f'<p class="note">{_e(caption)}</p>'
    label_w, bar_x, bar_w, row_h, top = 150, 160, 400, 26, 8
    body = [f'<line class="axis" x1="{bar_x + bar_w}" y1="{top}" x2="{bar_x + bar_w}" '
            f'y2="{top + row_h * len(items)}" stroke-dasharray="2 4"/>']
    for i, (label, share, detail) in enumerate(items):
        y = top + i * row_h
        body.append(_text(label_w, y + 17, label, "end"))
        body.append(_rect(bar_x, y + 5, bar_w, row_h - 10, "#e8e8e8"))
        if share is not None:
            body.append(_rect(bar_x, y + 5, bar_w * min(max(share, 0.0), 1.0), row_h - 10, BAR,
                              f"{label}: {percent(share)}"))
        body.append(_text(bar_x + bar_w + 8, y + 17, f"{percent(share)} {detail}".strip()))
    desc = "; ".join(f"{label}: {percent(share)} {detail}".strip() for label, share, detail in items)
    svg = _svg(ids, 960, top * 2 + row_h * len(items), title, desc, body)
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


# -- tables ----------------------------------------------------------------------------------------------


def _reasons(stats: Stats) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in stats.refused.items())


def _stats_cells(stats: Stats) -> str:
    judged = (f"{percent(stats.share_within_target)} ({stats.within_target} of {stats.judged})"
              if stats.judged else "–")
    cells = [stats.calls, stats.answered, stats.refused_total, stats.callback, stats.abandoned,
             duration(stats.waits.median_s), duration(stats.waits.p90_s)]
    return ("".join(f'<td class="n">{_e(c)}</td>' for c in cells) + f'<td class="n">{_e(judged)}</td>'
            f"<td>{_e(_reasons(stats))}</td>")


HEADERS = ("calls", "answered", "refused", "callback", "abandoned", "median wait", "p90 wait", "within target")


def calls_table(report: Report) -> str:
    if not report.totals:
        return '<p class="note">No calls ended in this period.</p>'
    head = ("<tr><th scope=\"col\">region</th><th scope=\"col\">language</th><th scope=\"col\">outcome</th>"
            + "".join(f'<th scope="col" class="n">{h}</th>' for h in HEADERS)
            + '<th scope="col">refused by reason</th></tr>')
    body = []
    for total in report.totals:
        grouped = [r for r in report.rows if (r.region, r.language) == (total.region, total.language)]
        for row in grouped:
            body.append(f"<tr><td>{_e(row.region)}</td><td>{_e(row.language)}</td><td>{_e(row.outcome)}</td>"
                        f"{_stats_cells(row.stats)}</tr>")
        if len(grouped) > 1:  # one outcome: its row is the total already
            body.append(f'<tr class="total"><td>{_e(total.region)}</td><td>{_e(total.language)}</td><td>all</td>'
                        f"{_stats_cells(total.stats)}</tr>")
    body.append(f'<tr class="total"><td colspan="3">every call</td>{_stats_cells(report.overall)}</tr>')
    return (f"<table><caption class=\"note\">Per region, language and outcome; waits are nearest-rank "
            f"percentiles of the time in a queue.</caption><thead>{head}</thead><tbody>{''.join(body)}</tbody>"
            f"</table>")


def occupancy_table(name: str, found: dict[str, Occupancy], overall: Occupancy | None = None) -> str:
    """A table of occupancy per region or engineer, with the overall figure last when given."""
    rows = [("", k, o) for k, o in found.items()] + ([(' class="total"', "overall", overall)] if overall else [])
    if not found:
        return ""
    body = "".join(f'<tr{cls}><td>{_e(k)}</td><td class="n">{_e(percent(o.share))}</td>'
                   f'<td class="n">{_e(duration(o.occupied_s))}</td><td class="n">{_e(duration(o.on_shift_s))}</td>'
                   f"</tr>" for cls, k, o in rows)
    return (f'<table><thead><tr><th scope="col">{_e(name)}</th><th scope="col" class="n">occupancy</th>'
            f'<th scope="col" class="n">occupied</th><th scope="col" class="n">on shift</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _tile(label: str, value: str) -> str:
    return f"<div><dt>{_e(label)}</dt><dd>{_e(value)}</dd></div>"


def render(report: Report, generated_at: float) -> str:
    """Return the report as a complete HTML document (UTF-8 text)."""
    ids = _Ids()
    period = f"{moment(report.period.start)} to {moment(report.period.until)}"
    overall, occ = report.overall, report.occupancy
    tiles = "".join([
        _tile("calls", str(overall.calls)), _tile("answered", str(overall.answered)),
        _tile("refused", str(overall.refused_total)), _tile("callback requests", str(overall.callback)),
        _tile("abandoned", str(overall.abandoned)), _tile("median wait", duration(overall.waits.median_s)),
        _tile("90th percentile wait", duration(overall.waits.p90_s)),
        _tile("answered within target", percent(overall.share_within_target)),
        _tile("engineer occupancy", percent(occ.overall.share)),
    ])
    targets = [(t.label, t.stats.share_within_target, f"({t.stats.within_target} of {t.stats.judged} answered)")
               for t in report.totals if t.stats.judged]
    engineers = [(who, o.share, f"({duration(o.occupied_s)} of {duration(o.on_shift_s)} on shift)")
                 for who, o in occ.engineers.items()]
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Support lines report, {_e(period)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Support lines report</h1>
<p class="period">Calls that ended from <time datetime="{_e(report.period.as_json()['since'])}">{_e(moment(report.period.start))}</time>
to <time datetime="{_e(report.period.as_json()['until'])}">{_e(moment(report.period.until))}</time>.</p>
</header>
<main>
<section aria-labelledby="summary"><h2 id="summary">Summary</h2><dl class="tiles">{tiles}</dl></section>
<section aria-labelledby="day"><h2 id="day">Calls through the period</h2>{timeline_columns(ids, report)}</section>
<section aria-labelledby="queues"><h2 id="queues">Calls by outcome per queue</h2>{outcome_bars(ids, report.totals, report.rows)}</section>
<section aria-labelledby="waits"><h2 id="waits">Waits in queue</h2>{wait_columns(ids, report)}</section>
<section aria-labelledby="targets"><h2 id="targets">Answered within the response target</h2>{share_bars(
        ids, "Share answered within the response target, per queue",
        "Of the answered calls whose target could be judged." if targets else "No answered call in this period.",
        targets)}</section>
<section aria-labelledby="occupancy"><h2 id="occupancy">Engineer occupancy</h2>{share_bars(
        ids, "Occupancy per engineer: time busy or wrapping up over time on shift",
        "Occupied (busy, wrap-up) over on shift (available, busy, wrap-up), from the presence history."
        if engineers else "No engineer was on shift in this period.", engineers)}
{occupancy_table("region", occ.regions, occ.overall)}
{occupancy_table("engineer", occ.engineers)}</section>
<section aria-labelledby="details"><h2 id="details">Details</h2>{calls_table(report)}</section>
</main>
<footer><p>Made by <code>ivr report</code> at {_e(moment(generated_at))}. Times are UTC. Waits are the time a caller
spent in a queue; the median and the 90th percentile are nearest-rank (each a wait that happened). A call is
judged against its response target only once answered.</p></footer>
</body>
</html>
"""
