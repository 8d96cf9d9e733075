"""The dispatcher: offers each free engineer the waiting caller with the earliest deadline they can serve.

It runs in `ivr worker` (and so beside `ivr serve`), woken when a caller reaches a queue or an
engineer becomes free, and on a short sweep so nothing waits on a lost event. Any number of
dispatchers may run: the pick is `routing.dispatch.offer_plan`, the reservation one Lua script
(`ivr.adapters.calls.offers`), so no caller and no engineer is ever in two offers.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import redis
from twilio.base.exceptions import TwilioException

from ivr.adapters import keys
from ivr.adapters.calls.offers import Candidate, Offer
from ivr.services.offers import end_missed
from ivr.wiring import Services
from routing.dispatch import QUIET_AFTER, gone_quiet, offer_plan, past_deadline
from workers import alert
from workers.queues import CALLBACKS
from routing.model import Engineer

from .rest import with_backoff

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 1.0
"""Seconds between passes when nothing wakes the dispatcher: the end of a wrap-up is noticed within this."""

RINGERS = 4
"""REST requests ringing engineers at once, so one slow request never holds up the next offer."""


class Dispatcher:
    """Makes offers and ends the ones nobody answers; one per worker process."""

    def __init__(self, services: Services, rest, clock=time.time):
        self.services, self.rest, self.clock = services, rest, clock
        settings = services.settings
        self.queues = settings.queues
        self.window = timedelta(seconds=settings.claim_window)
        self.pool = ThreadPoolExecutor(RINGERS, thread_name_prefix="ring")
        self._warned = False

    # -- one pass -------------------------------------------------------------------------------------

    def run_once(self) -> list[Offer]:
        """Sweep what went quiet or overdue, then make every offer that can be made now; return them."""
        now = self.clock()
        candidates = self.services.offers.candidates(self.queues)
        candidates = self._sweep(candidates, now)
        self._watch_deadlines(candidates, now)
        base = self.public_url()
        if base is None:
            return []
        # A call is offered once Twilio has it in the queue; a callback once it is due.
        by_sid = {c.caller.sid: c for c in candidates
                  if (c.heard is not None if c.kind == "call" else c.not_before <= now)}
        engineers = self.services.store.engineers()
        presences = self.services.store.presences(e.id for e in engineers)
        moment = datetime.fromtimestamp(now, UTC)
        made = []
        for engineer, caller in offer_plan(engineers, presences, [c.caller for c in by_sid.values()], moment,
                                           self.window):
            offer = self._reserve(engineer, by_sid[caller.sid], now)
            if offer is not None:
                made.append(offer)
                self.pool.submit(self.ring, offer, base)
        return made

    def _sweep(self, candidates: list[Candidate], now: float) -> list[Candidate]:
        """Drop waiting calls that stopped asking for hold music, and miss offers whose status never came."""
        moment = datetime.fromtimestamp(now, UTC)
        kept = []
        for candidate in candidates:
            caller = candidate.caller
            if candidate.kind == "callback":  # nobody is on the line to go quiet
                kept.append(candidate)
                continue
            last = datetime.fromtimestamp(candidate.heard, UTC) if candidate.heard else caller.joined
            if gone_quiet(last, moment):
                log.info("call %s went quiet in %s: no longer waiting", caller.sid, caller.queue)
                self.services.waiting.leave(caller.sid, caller.queue, "quiet")
            else:
                kept.append(candidate)
        for offer in self.services.offers.overdue(now):
            self.missed(offer, "no_status")
        return kept

    def _watch_deadlines(self, candidates: list[Candidate], now: float) -> None:
        """Alert the duty manager once for each caller or callback past its deadline, and write it on the case."""
        moment = datetime.fromtimestamp(now, UTC)
        for candidate in candidates:
            caller = candidate.caller
            if past_deadline(caller, moment) and self.services.offers.first_breach(caller.sid):
                details = {"kind": candidate.kind, "queue": caller.queue, "line": candidate.line,
                           "deadline": caller.deadline.isoformat(timespec="seconds"), "sid": caller.sid}
                log.warning("%s %s in %s passed its deadline %s", candidate.kind, caller.sid, caller.queue,
                            details["deadline"])
                self.services.jobs.once(alert, "sla_breach", caller.case, f"sla:{caller.sid}", details,
                                        job_id=f"sla-{caller.sid}", queue=CALLBACKS, result_ttl=3600)

    def _reserve(self, engineer: Engineer, candidate: Candidate, now: float) -> Offer | None:
        caller = candidate.caller
        to = _address(engineer, candidate)
        outcome, offer = self.services.offers.reserve(
            engineer.id, candidate, to=to, ring_for=self.services.settings.offer_timeout,
            quiet_before=now - QUIET_AFTER.total_seconds(), now=now)
        if offer is None:
            # Another dispatcher got there first, or something changed since the pick: the next pass sees it.
            log.debug("offer of %s to %s not made: %s", caller.sid, engineer.id, outcome)
        return offer

    # -- the REST side --------------------------------------------------------------------------------

    def public_url(self) -> str | None:
        """Return the base URL Twilio reaches the webhooks at: configured, else where they were last reached."""
        base = self.services.settings.public_url or self.services.redis.get(keys.PUBLIC_URL)
        if not base and not self._warned:
            log.warning("no public_url configured and no webhook reached yet: offers wait for the first call")
            self._warned = True
        return base or None

    def ring(self, offer: Offer, base: str) -> None:
        """Ring the engineer of an offer through Twilio; an offer that cannot be placed is missed."""
        settings = self.services.settings
        common = {"offer": offer.id, "line": offer.line, "lang": offer.language}
        try:
            call = with_backoff(lambda: self.rest.calls.create(
                to=offer.to, from_=offer.line or settings.default_line.number,
                url=f"{base}/voice/offer/answer?{urlencode(common)}", method="POST",
                status_callback=f"{base}/voice/offer/status?{urlencode(common)}", status_callback_method="POST",
                timeout=settings.offer_timeout))
        except (TwilioException, OSError) as error:
            log.error("offer %s to %s could not be placed: %s", offer.id, offer.engineer, error)
            self.missed(offer, "failed")
            return
        except Exception:  # a ringer thread must never die silently with the engineer reserved
            log.exception("offer %s to %s failed", offer.id, offer.engineer)
            self.missed(offer, "failed")
            return
        log.info("offered call %s (case %s) to %s: %s", offer.call, offer.case, offer.engineer, call.sid)
        self.services.offers.note(offer.id, engineer_call=call.sid)

    def missed(self, offer: Offer, reason: str) -> None:
        """End an offer nobody took: the engineer goes away, the caller goes to the next engineer."""
        if end_missed(self.services, offer, reason):
            log.info("offer %s of call %s missed by %s (%s): set away", offer.id, offer.call, offer.engineer, reason)

    # -- the loop -------------------------------------------------------------------------------------

    def loop(self, stop: threading.Event) -> None:
        """Dispatch until told to stop: at once when woken, else every `SWEEP_INTERVAL`."""
        while not stop.is_set():
            try:
                self.run_once()
                self.services.offers.wait_wake(SWEEP_INTERVAL)
            except redis.RedisError as error:
                log.error("dispatcher: redis error: %s", error)
                stop.wait(SWEEP_INTERVAL)
            except Exception:
                log.exception("dispatcher pass failed")
                stop.wait(SWEEP_INTERVAL)
        self.pool.shutdown(wait=True)

    def start(self) -> tuple[threading.Thread, threading.Event]:
        """Run the loop in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.loop, args=(stop,), name="dispatcher", daemon=True)
        thread.start()
        return thread, stop


def _address(engineer: Engineer, candidate: Candidate) -> str:
    """Return whom the offer rings: the engineer's app with the case as parameters, else their phone."""
    if engineer.client:
        caller = candidate.caller
        details = {"case": caller.case, "plan": candidate.plan, "severity": candidate.severity,
                   "language": candidate.language, "queue": caller.queue,
                   "deadline": caller.deadline.isoformat(timespec="seconds")}
        return f"client:{engineer.client}?{urlencode(details)}"
    return engineer.phone or ""
