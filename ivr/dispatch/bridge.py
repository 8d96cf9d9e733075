"""Joining an engineer who took an offer to their caller: the dequeue, run by the worker, never a webhook.

The engineer waits in the offer's conference; the caller is moved out of Twilio's queue to our
join URL, which puts them in it. Only now does the caller leave the queue: an offer that was
never taken never touched their place.
"""
from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.twiml.voice_response import VoiceResponse

from ivr.adapters import keys
from ivr.adapters.calls.offers import Offer
from ivr.services.case_events import publish
from ivr.voice import prompts
from ivr.voice.speech import Catalogs
from ivr.wiring import Services

from .rest import with_backoff

log = logging.getLogger(__name__)


def public_url(services: Services) -> str | None:
    return services.settings.public_url or services.redis.get(keys.PUBLIC_URL) or None


def bridge(services: Services, rest, catalogs: Catalogs, offer_id: str) -> str:
    """Move a taken offer's caller out of their queue to the engineer; say what became of it."""
    offer = services.offers.get(offer_id)
    if offer is None or offer.state != "accepted":
        return "not_accepted"
    # A run before this one (RQ retries, or a worker died) may have moved the caller already: a second move would
    # answer 404, read as the caller gone, and end the call the engineer is taking.
    if not offer.dequeued:
        outcome = _dequeue(services, rest, catalogs, offer)
        if outcome:
            return outcome
        # Noted at once: a retry after a failure below must not move (and so lose) the caller again.
        services.offers.note(offer.id, dequeued=f"{time.time():.3f}")
    # Twilio has taken them out of the queue: so does Redis, whether or not their join request arrives.
    services.waiting.leave(offer.call, offer.queue, "bridged")
    _learn_from(services, offer, first=not offer.dequeued)
    return "bridged"


def _dequeue(services: Services, rest, catalogs: Catalogs, offer: Offer) -> str | None:
    """Ask Twilio to move the caller out of their queue to the engineer; None when it did, else the outcome."""
    base = public_url(services)
    queue_sid = offer.queue_sid or services.calls.get(offer.call).get("queue_sid", "")
    if not base or not queue_sid:
        log.error("offer %s: no %s to dequeue call %s with", offer.id, "public URL" if not base else "QueueSid",
                  offer.call)
        return _release(services, rest, catalogs, offer, caller_left=False)
    common = {"offer": offer.id, "line": offer.line, "lang": offer.language, "queue": offer.queue}
    try:
        with_backoff(lambda: rest.queues(queue_sid).members(offer.call).update(
            url=f"{base}/voice/offer/join?{urlencode(common)}", method="POST"))
    except TwilioRestException as error:
        # 4xx: the caller is no longer in the queue (hung up meanwhile). Anything else: they may still be.
        left = 400 <= error.status < 500
        log.warning("offer %s: dequeue of %s answered %s", offer.id, offer.call, error.status)
        return _release(services, rest, catalogs, offer, caller_left=left)
    except (TwilioException, OSError) as error:
        log.error("offer %s: dequeue of %s failed: %s", offer.id, offer.call, error)
        return _release(services, rest, catalogs, offer, caller_left=False)
    return None


def _learn_from(services: Services, offer: Offer, first: bool) -> None:
    """Make the engineer the case's engineer if it had none, and fold the wait into the queue's average (once:
    on the `first` run, the one that moved the caller)."""
    if services.store.assign_engineer(offer.case, offer.engineer, offer.call):
        log.info("case %s now belongs to %s", offer.case, offer.engineer)
        publish(services, "engineer_assigned", offer.case, f"assigned:{offer.case}:{offer.id}",
                engineer=offer.engineer, call_sid=offer.call)
    joined = services.calls.get(offer.call).get("joined")
    if joined and first:
        services.waiting.answered(offer.queue, max(0.0, time.time() - float(joined)))


def _release(services: Services, rest, catalogs: Catalogs, offer: Offer, caller_left: bool) -> str:
    """Free the engineer of an offer that cannot be bridged, telling them why; a caller who left leaves the queue."""
    services.offers.caller_gone(offer)
    if caller_left:
        services.waiting.leave(offer.call, offer.queue, "hangup")
    if offer.engineer_call:
        line = services.settings.lines.get(offer.line, services.settings.default_line)
        language = offer.language if offer.language in line.languages else line.first_language
        voice = catalogs.speaker(line.region, language)
        response = VoiceResponse()
        told = prompts.OFFER_CALLER_GONE if caller_left else prompts.OFFER_NOT_TAKEN
        response.say(voice.text(told), voice=voice.voice.voice, language=voice.voice.say_language)
        response.hangup()
        try:
            with_backoff(lambda: rest.calls(offer.engineer_call).update(twiml=str(response)))
        except (TwilioException, OSError) as error:
            log.warning("offer %s: could not tell %s the caller left: %s", offer.id, offer.engineer, error)
    services.offers.wake()
    return "caller_gone" if caller_left else "failed"
