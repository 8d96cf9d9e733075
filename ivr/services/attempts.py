"""Contact attempts (SPEC §5.9): record one, count the customer's business days, and cancel the case when due.

The rule is `routing.attempts`; this module finds what it needs and acts on it:

- The customer's calendar. The time zone is the account's; without one, the zone of the line the
  customer last called about the case, else of its region. Holidays and the working week are
  those of the region's holiday country (`regions.<code>.holidays`), the region being the line's
  the customer last called about the case, else the case engineer's first configured region,
  else the default line's.
- Contact: a recorded call about the case (its history, `ivr calls --case`), as `is_contact` says,
  at the moment it ended.
- When a third business day is reached, `workers.attempts.cancel_unreached` is queued; it counts
  again, so contact that came meanwhile, or a case closed meanwhile, stops it.
- Telling the customer: a `case_cancelled` event asks the case system to (it has their e-mail;
  the directory has not), and a text message goes to the number that last called about the case,
  in that call's language, from the line it called.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.adapters.calls.attempts import Attempts, moment
from ivr.adapters.calls.records import Records
from ivr.wiring import Services
from routing import CaseFile, Line, customer_timezone
from routing.attempts import REQUIRED_DAYS, BusinessCalendar, Tally, is_contact, tally
from routing.model import LANGUAGES, OPEN_STATUSES
from routing.records import E164

from .case_events import publish

log = logging.getLogger(__name__)

CANCELLED = "cancelled"


class UnknownCase(LookupError):
    def __init__(self, number: str):
        super().__init__(f"no case {number!r} in the directory")
        self.number = number


class CaseNotOpen(Exception):
    """Attempts are for open cases: a resolved, closed or cancelled one needs a new case instead."""

    def __init__(self, number: str, status: str):
        super().__init__(f"case {number} is {status}")
        self.number, self.status = number, status


@dataclass(frozen=True)
class FollowUp:
    """Where a case's follow-up stands: the business days counted, in whose calendar."""

    case_file: CaseFile
    tally: Tally
    region: str
    calls: list[dict]
    """The case's recorded calls, oldest first."""

    @property
    def timezone(self) -> str:
        return self.tally.calendar.zone.key

    @property
    def holidays(self) -> str | None:
        return self.tally.calendar.country

    def days(self) -> list[str]:
        return [day.isoformat() for day in self.tally.days]


@dataclass(frozen=True)
class Recorded:
    """An attempt just recorded, what it did to the count, and whether the case's cancellation was queued."""

    attempt: dict
    at: datetime
    verdict: str
    follow_up: FollowUp
    queued: bool


def attempts_of(services: Services) -> Attempts:
    return Attempts(services.redis, services.settings.record_ttl)


def customer_calendar(services: Services, case_file: CaseFile, calls: list[dict]) -> tuple[BusinessCalendar, str]:
    """Return the customer's business calendar and the region it comes from (see the module's docstring)."""
    settings = services.settings
    line = _last_line(services, calls)
    if line is not None:
        region, zone = line.region, customer_timezone(case_file, line)
    else:
        engineer = case_file.engineer
        region = next((r for r in (engineer.regions if engineer else ()) if r in settings.regions),
                      settings.default_line.region)
        account = case_file.account
        zone = ZoneInfo(account.timezone if account and account.timezone else settings.regions[region].timezone)
    return BusinessCalendar.of(zone, settings.regions[region].holidays), region


def follow_up(services: Services, case_file: CaseFile, calls: list[dict] | None = None) -> FollowUp:
    """Count a case's attempts since the latest contact (or its last cancellation) in the customer's calendar."""
    number = case_file.case.number
    calls = Records(services.redis).since(0, case=number) if calls is None else calls
    calendar, region = customer_calendar(services, case_file, calls)
    book = attempts_of(services)
    trigger = book.cancellation(number).get("trigger")
    contacts = [moment(r["ended_at"]) for r in calls if r.get("ended_at") and is_contact(r)]
    found = tally([moment(a["at"]) for a in book.of(number)], calendar, contacts,
                  reset=moment(trigger) if trigger else None)
    return FollowUp(case_file, found, region, calls)


def record_attempt(services: Services, number: str, when: Callable[[ZoneInfo], datetime], note: str = "") -> Recorded:
    """Record an attempt to reach the customer about an open case; queue its cancellation on a third business day.

    `when` gives the attempt's moment, told the customer's time zone (a time given without an offset is theirs).
    """
    case_file = services.store.case_file(number)
    if case_file is None or case_file.account is None:
        raise UnknownCase(number)
    if case_file.case.status not in OPEN_STATUSES:
        raise CaseNotOpen(number, case_file.case.status)
    calls = Records(services.redis).since(0, case=number)
    calendar, _region = customer_calendar(services, case_file, calls)
    attempt = attempts_of(services).add(number, when(calendar.zone), note)
    found = follow_up(services, case_file, calls)
    when = moment(attempt["at"])
    verdict = found.tally.verdict(when)
    publish(services, "contact_attempt", number, f"attempt:{number}:{attempt['id']}",
            at=when.isoformat(timespec="seconds"), note=note, counted=verdict, business_days=found.days(),
            attempts=len(found.tally.days), required=REQUIRED_DAYS, timezone=found.timezone, holidays=found.holidays)
    queued = queue_cancellation(services, number, found.tally) if found.tally.due else False
    return Recorded(attempt, when, verdict, found, queued)


def queue_cancellation(services: Services, number: str, found: Tally) -> bool:
    """Queue the job that cancels a case due for it (once per triggering attempt); return whether it was queued."""
    from workers.attempts import cancel_unreached
    from workers.queues import CASE_SYSTEM

    trigger = int(found.trigger.timestamp() * 1000)
    return services.jobs.once(cancel_unreached, number, job_id=f"cancel-unreached-{number}-{trigger}",
                              queue=CASE_SYSTEM)


def cancel_if_unreached(services: Services, rest, catalogs, number: str) -> str:
    """Cancel a case whose customer was not reached on three business days, and tell them; say what was done.

    Counted again here, so contact since the job was queued, or a case closed or cancelled meanwhile,
    leaves the case alone. Running it twice has one effect: the status is set once (with the record
    of why, in one transaction), each event is published once, and the text message is claimed once.
    """
    store, book = services.store, attempts_of(services)
    case_file = store.case_file(number)
    if case_file is None:
        return f"case {number} is not in the directory"
    status = case_file.case.status
    if status in OPEN_STATUSES:
        found = follow_up(services, case_file).tally
        if not found.due:
            return f"case {number} is not due: {len(found.days)} of {found.required} business days since contact"
        trigger = found.trigger.timestamp()
        days = [d.isoformat() for d in found.days[:found.required]]
        before = store.set_case_status(number, CANCELLED, only_from=OPEN_STATUSES,
                                       also=book.cancelled(number, trigger, days, time.time()))
        if before not in OPEN_STATUSES:
            return f"case {number} is {before or 'gone'} now: left as it is"
    elif status != CANCELLED or not book.cancellation(number).get("trigger"):
        return f"case {number} is {status}: left as it is"
    _tell(services, rest, catalogs, case_file)
    return f"case {number} cancelled"


def _tell(services: Services, rest, catalogs, case_file: CaseFile) -> None:
    """Publish the cancellation for the case system and text the customer, each once per cancellation."""
    number = case_file.case.number
    book = attempts_of(services)
    done = book.cancellation(number)
    found = follow_up(services, case_file)  # the calendar and calls; the count itself was reset by the cancellation
    publish(services, "case_cancelled", number, f"cancelled:{number}:{done['trigger']}",
            status=CANCELLED, reason="customer_unreached", business_days=done.get("days", "").split(","),
            attempts=REQUIRED_DAYS, timezone=found.timezone, holidays=found.holidays, notify_customer=True,
            portal=services.settings.portal)
    if not book.claim_notice(number):
        return
    target = _last_caller(found.calls)
    if target is None:
        book.noticed(number, "none: no number has called about the case")
        return
    if rest is None:
        book.noticed(number, "none: no Twilio account to send text messages with")
        return
    from twilio.base.exceptions import TwilioRestException

    from ivr.dispatch.rest import with_backoff
    from ivr.voice import prompts

    line = services.settings.lines.get(target.get("line", "")) or services.settings.default_line
    language = target.get("language") if target.get("language") in LANGUAGES else line.first_language
    body = catalogs.speaker(line.region, language).text(prompts.CASE_CANCELLED_SMS, case=number,
                                                        portal=services.settings.portal)
    try:
        message = with_backoff(lambda: rest.messages.create(to=target["caller"], from_=line.number, body=body))
    except TwilioRestException as error:
        if error.status is not None and 400 <= error.status < 500 and error.status != 429:
            # The number takes no text messages (a landline) or is barred: trying again changes nothing.
            log.warning("the cancellation text for a case was refused by Twilio: %s %s", error.status, error.code)
            book.noticed(number, f"failed {error.code or error.status}")
            return
        book.release_notice(number)
        raise
    except Exception:
        book.release_notice(number)  # not sent: the job's retry sends it
        raise
    book.noticed(number, f"sent {message.sid}")
    publish(services, "customer_notified", number, f"notified:{number}:{done['trigger']}",
            channel="sms", to=target["caller"], language=language, sid=message.sid)


def _last_line(services: Services, calls: list[dict]) -> Line | None:
    """Return the configured line of the latest call about the case that has one."""
    lines = services.settings.lines
    return next((lines[r["line"]] for r in reversed(calls) if r.get("line") in lines), None)


def _last_caller(calls: list[dict]) -> dict | None:
    """Return the latest call the customer made about the case from a number that can take a text message."""
    return next((r for r in reversed(calls)
                 if E164.match(r.get("caller") or "") and not (r.get("direction") or "").startswith("outbound")),
                None)
