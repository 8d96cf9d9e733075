"""The `ivr cases` commands: following up support cases (SPEC §5.9, contact attempts)."""
from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta

import click

from ivr.adapters.calls.attempts import NOTE_LENGTH
from routing.attempts import BEFORE_CONTACT, NOT_BUSINESS_DAY, SAME_DAY
from routing.records import CASE_NUMBER

from .commands import _store, fail, main, parse_moment
from .runtime import Runtime

CLOCK_SKEW = timedelta(minutes=1)
"""How far ahead of this machine's clock an attempt's `--at` may be: a colleague's clock, not a plan."""

_MORE_DAYS = {1: "an unanswered attempt on one more business day cancels the case",
              2: "unanswered attempts on two more business days cancel the case",
              3: "unanswered attempts on three different business days cancel the case"}


@main.group()
def cases() -> None:
    """Following up support cases: attempts to reach the customer."""


@cases.command("attempt")
@click.argument("case")
@click.option("--note", default="", help=f"What was tried, kept for the case system (up to {NOTE_LENGTH} characters).")
@click.option("--at", "at", help="When the attempt was made, if not now: ISO-8601; without an offset, the "
                                 "customer's local time.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def attempt(runtime: Runtime, case: str, note: str, at: str | None, as_json: bool) -> None:
    """Record an attempt to reach the customer about CASE, without contact.

    Unanswered attempts on three different business days of the customer (their time zone, their
    region's public holidays excluded; attempts on one day count once) cancel the case: a worker
    sets it `cancelled`, tells the case system and texts the number that last called about it.
    A call about the case in between starts the count again.
    """
    from ivr.services.attempts import CaseNotOpen, UnknownCase, record_attempt

    if not CASE_NUMBER.match(case):
        raise click.BadParameter(f"{case!r} is not a case number (8 digits)", param_hint="CASE")
    _check_note(note)
    _store(runtime)
    services = runtime.services()

    def when(zone):
        moment = parse_moment(at, zone)
        if moment > datetime.now(UTC) + CLOCK_SKEW:
            raise click.BadParameter(f"{at!r} is in the future: record an attempt once it is made", param_hint="--at")
        return moment

    try:
        done = record_attempt(services, case, when, note)
    except UnknownCase:
        fail(f"no case {case!r} in the directory (load it with `ivr load`)")
    except CaseNotOpen as exc:
        fail(f"case {case} is {exc.status}: no attempt recorded; follow-up is for open cases, and a caller about "
             f"it is told to open a new case that mentions it")
    finally:
        services.close()
    found = done.follow_up
    tally = found.tally
    if as_json:
        click.echo(json.dumps({
            "case": case, "attempt": {**done.attempt, "at": done.at.isoformat(timespec="seconds")},
            "counted": done.verdict, "business_days": found.days(), "required": tally.required, "due": tally.due,
            "queued": done.queued, "timezone": found.timezone, "holidays": found.holidays,
            "since": tally.since.isoformat(timespec="seconds") if tally.since else None,
        }, ensure_ascii=False))
        return
    zone = tally.calendar.zone
    local = done.at.astimezone(zone)
    click.echo(f"case {case}: attempt recorded ({local:%Y-%m-%d %H:%M} {zone.key})")
    if done.verdict == SAME_DAY:
        click.echo(f"{local:%A %Y-%m-%d} is counted already: attempts on one day count once")
    elif done.verdict == NOT_BUSINESS_DAY:
        holidays = f", public holidays of {found.holidays}" if found.holidays else ""
        click.echo(f"{local:%A %Y-%m-%d} is not a business day for the customer ({zone.key}{holidays}): "
                   f"it does not count")
    elif done.verdict == BEFORE_CONTACT:
        click.echo("the customer has been in contact since: it does not count")
    days = ", ".join(found.days()) or "none"
    since = ""
    if tally.since is not None:
        what = "the customer's last call" if tally.contacted else "the last cancellation"
        since = f"; counted since {what}, {tally.since.astimezone(zone):%Y-%m-%d %H:%M}"
    click.echo(f"business days without contact: {len(tally.days)} of {tally.required} ({days}){since}")
    if tally.due:
        click.echo("the case is due for cancellation: a worker (`ivr worker`) cancels it and tells the customer")
    else:
        click.echo(_MORE_DAYS.get(tally.remaining, f"unanswered attempts on {tally.remaining} more business days "
                                                   f"cancel the case"))


def _check_note(note: str) -> None:
    """Refuse a note that is too long or holds control characters other than line breaks and tabs."""
    if len(note) > NOTE_LENGTH:
        raise click.BadParameter(f"is {len(note)} characters; at most {NOTE_LENGTH}", param_hint="--note")
    for char in note:
        if char not in "\n\t" and unicodedata.category(char) in ("Cc", "Cs"):
            raise click.BadParameter(f"holds the control character U+{ord(char):04X}", param_hint="--note")
