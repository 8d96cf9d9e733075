"""Calling a customer back once an engineer took the callback's offer: the engineer first, then the customer.

The engineer waits in the offer's conference; a worker calls the number the caller confirmed (never
one typed into a form), and the customer joins the conference on answering. A customer who does not
answer is tried again `callback.retry_interval` seconds later, up to `callback.attempts` times; then
the callback is closed and the case system told.
"""
from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import VoiceResponse

from ivr.adapters.calls.offers import Offer
from ivr.services.case_events import publish
from ivr.voice import prompts
from ivr.voice.speech import Catalogs
from ivr.wiring import Services

from .bridge import public_url
from .rest import with_backoff

log = logging.getLogger(__name__)

CUSTOMER_RING = 30
"""Seconds the customer's phone rings."""


def call_customer(services: Services, rest, catalogs: Catalogs, offer_id: str) -> str:
    """Place the call to the customer of a taken callback offer; say what became of it."""
    offer = services.offers.get(offer_id)
    if offer is None or offer.kind != "callback" or offer.state != "accepted":
        return "not_accepted"
    base = public_url(services)
    if not base:
        log.error("callback offer %s: no public URL to give Twilio", offer.id)
        return customer_missed(services, rest, catalogs, offer, "no_public_url")
    common = {"offer": offer.id, "line": offer.line, "lang": offer.language}
    line = services.settings.lines.get(offer.line, services.settings.default_line)
    try:
        call = with_backoff(lambda: rest.calls.create(
            to=offer.number, from_=line.number, url=f"{base}/voice/offer/customer?{urlencode(common)}",
            method="POST", status_callback=f"{base}/voice/offer/customer-status?{urlencode(common)}",
            status_callback_method="POST", timeout=CUSTOMER_RING))
    except (TwilioException, OSError) as error:
        log.error("callback offer %s: the call to the customer could not be placed: %s", offer.id, error)
        return customer_missed(services, rest, catalogs, offer, "failed")
    services.offers.note(offer.id, customer_call=call.sid)
    log.info("calling back case %s for %s: %s", offer.case, offer.engineer, call.sid)
    return "calling"


def customer_missed(services: Services, rest, catalogs: Catalogs, offer: Offer, reason: str) -> str:
    """Free the engineer (telling them), and put the callback back in line for later, or close it when tried enough."""
    if not services.offers.caller_gone(offer):
        return "already_ended"
    settings = services.settings
    attempts = services.callbacks.retry_later(offer.call, time.time() + settings.callback_retry_interval)
    if attempts >= settings.callback_attempts:
        services.callbacks.close(offer.call, offer.queue, "failed")
        publish(services, "callback_failed", offer.case, f"callback-failed:{offer.call}", attempts=attempts,
                reason=reason, sid=offer.call)
        outcome = "failed"
    else:
        outcome = "retry_later"
    _tell_engineer(services, rest, catalogs, offer)
    services.offers.wake()
    return outcome


def _tell_engineer(services: Services, rest, catalogs: Catalogs, offer: Offer) -> None:
    if not offer.engineer_call or rest is None:
        return
    line = services.settings.lines.get(offer.line, services.settings.default_line)
    language = offer.language if offer.language in line.languages else line.first_language
    voice = catalogs.speaker(line.region, language)
    response = VoiceResponse()
    response.say(voice.text(prompts.CALLBACK_NO_ANSWER), voice=voice.voice.voice, language=voice.voice.say_language)
    response.hangup()
    try:
        with_backoff(lambda: rest.calls(offer.engineer_call).update(twiml=str(response)))
    except (TwilioException, OSError) as error:
        log.warning("callback offer %s: could not tell %s the customer did not answer: %s", offer.id,
                    offer.engineer, error)
