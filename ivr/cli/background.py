"""The `ivr` commands about what the background work keeps: call records and events for the case system."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

import click

from .commands import _store, fail, main
from .runtime import Runtime

RECORD_COLUMNS = ("ended_at", "sid", "case", "line", "language", "decision", "reason", "queue", "outcome",
                  "answered_by", "wait_s", "duration")


def parse_day(text: str | None, option: str) -> float | None:
    """Return the epoch seconds of a date (its UTC midnight) or an ISO-8601 moment; None for no bound."""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC).timestamp()
        moment = datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date like 2026-11-30 or a moment like 2026-11-30T08:00:00+01:00",
                                 param_hint=option) from None


@main.command("calls")
@click.option("--case", "case", help="Only the calls about this case (its history).")
@click.option("--since", help="Only calls that ended from this date (UTC) or moment on.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
def calls(runtime: Runtime, case: str | None, since: str | None, as_json: bool) -> None:
    """List the records of finished calls, oldest first: where each went, why, and how it ended."""
    from ivr.adapters.calls.records import Records

    start = parse_day(since, "--since") or 0.0
    store = _store(runtime)
    found = Records(store.redis).since(start, case=case)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    if not found:
        click.echo("no calls recorded" + (f" for case {case}" if case else ""))
    for record in found:
        ended = datetime.fromtimestamp(float(record["ended_at"]), UTC).isoformat(timespec="seconds")
        where = record.get("answered_by") or record.get("queue") or record.get("reason") or "-"
        wait = f" waited {record['wait_s']} s" if record.get("wait_s") else ""
        click.echo(f"{ended}  {record['sid']}  case {record.get('case') or '-':<8}  {record.get('language', '-'):<2}  "
                   f"{record.get('outcome', '-'):<9} {where}{wait}")


@main.command("events")
@click.option("--follow", is_flag=True, help="Keep printing new events as they come (Ctrl-C to stop).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (always, with --follow).")
@click.pass_obj
def events(runtime: Runtime, follow: bool, as_json: bool) -> None:
    """Print the events kept for the case system (assignments, call records, cancellations, manager requests)."""
    services = runtime.services(timeout=5.0)
    try:
        services.redis.ping()
    except Exception as error:  # noqa: BLE001 - say why, whatever the client raised
        fail(f"cannot reach Redis: {error}")
    last = "-"
    for last, event in services.outbox.events():
        _print_event(event, as_json or follow)
    if not follow:
        return
    last = last if last != "-" else "$"
    try:
        while True:
            for last, event in services.outbox.follow(last, block_ms=2000):
                _print_event(event, True)
    except KeyboardInterrupt:
        return


def _print_event(event: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(event, ensure_ascii=False, sort_keys=True), nl=True)
        return
    at = datetime.fromtimestamp(event["at"], UTC).isoformat(timespec="seconds")
    details = ", ".join(f"{k}={v}" for k, v in sorted(event["data"].items())
                        if k in ("engineer", "outcome", "reason", "caller", "attempts", "sid"))
    click.echo(f"{at}  case {event['case']}  {event['type']}  {details}")

