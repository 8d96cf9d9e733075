"""An offer's calls: the engineer answering it, and the waiting caller joining them once taken.

The engineer hears the whisper first. The app takes the call on answering; a phone must press a
key, so a voicemail that picks up is a missed offer and never a caller joined to a mailbox.
"""
from __future__ import annotations

import logging

from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from ivr.adapters.calls.offers import Offer, conference_name
from ivr.adapters.calls.waiting import parse_queue_entry
from ivr.services.offers import end_missed
from ivr.services.case_events import publish
from workers import bridge_offer, call_customer, customer_did_not_answer
from workers.queues import CALLBACKS, DISPATCH

from . import prompts
from .speech import Speaker, spaced_digits
from .twiml import current_language, current_line, enqueue, param, say, services, speaker, twiml

bp = Blueprint("offer", __name__)
log = logging.getLogger(__name__)

ACCEPT_KEY = "1"
"""The key an engineer on a phone presses to take the offered call."""

ACCEPT_TIMEOUT = 8
"""Seconds a phone engineer has to press the key after the whisper."""

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def _voice() -> Speaker:
    line = current_line()
    return speaker(line, current_language(line))


def _goodbye(voice: Speaker, text: str):
    response = VoiceResponse()
    say(response, voice, text)
    response.hangup()
    return twiml(response)


def _meet(response: VoiceResponse, offer: Offer) -> VoiceResponse:
    """Put this leg in the offer's conference; either side leaving ends it for both."""
    with response.dial() as dial:
        dial.conference(conference_name(offer.id), start_conference_on_enter=True, end_conference_on_exit=True,
                        beep=False)
    response.hangup()
    return response


def _whisper(voice: Speaker, offer: Offer) -> str:
    """Return what the engineer hears before taking the offer: who it is for, the case, and the caller's language."""
    if offer.kind == "callback":
        return voice.text(prompts.CALLBACK_WHISPER, case=spaced_digits(offer.case), plan=voice.plan_name(offer.plan),
                          severity=offer.severity, language=voice.language_name(offer.language))
    engineer = services().store.engineer(offer.engineer)
    name = engineer.name_in(voice.language) if engineer else offer.engineer
    return voice.text(prompts.WHISPER, engineer=name, case=spaced_digits(offer.case), plan=voice.plan_name(offer.plan),
                      severity=offer.severity, language=voice.language_name(offer.language))


def _still_there(offer: Offer) -> bool:
    """Tell whether the offer's caller still waits: on the line in their queue, or as a pending callback."""
    svc = services()
    if offer.kind == "callback":
        return svc.callbacks.get(offer.call).get("state") == "pending"
    return svc.waiting.deadline(offer.queue, offer.call) is not None


@bp.post("/voice/offer/answer")
def answer():
    """The engineer picked up the offer: whisper the case, then take the call (app) or ask for the key (phone)."""
    svc = services()
    voice = _voice()
    offer = svc.offers.get(param("offer"))
    again = offer is not None and _taken_by_this_call(offer)
    if offer is None or (offer.state != "ringing" and not again):
        # Rang past its time and was given to someone else, or the caller left.
        return _goodbye(voice, voice.text(prompts.OFFER_CALLER_GONE if offer and offer.state == "gone"
                                          else prompts.OFFER_NOT_TAKEN))
    # A retried request of the call that took the offer hears the same again: its caller may already have left
    # the queue for the conference, and must not be taken for gone.
    if not again and not _still_there(offer):
        svc.offers.caller_gone(offer)
        svc.offers.wake()
        return _goodbye(voice, voice.text(prompts.OFFER_CALLER_GONE))
    if offer.to.startswith("client:"):
        response = VoiceResponse()
        say(response, voice, _whisper(voice, offer))
        return _take(offer, response, voice)
    response = VoiceResponse()
    common = {"offer": offer.id, "line": param("line"), "lang": param("lang")}
    with response.gather(num_digits=1, timeout=ACCEPT_TIMEOUT, action=url_for("voice.offer.accept", **common),
                         method="POST") as gather:
        say(gather, voice, _whisper(voice, offer))
        say(gather, voice, voice.text(prompts.OFFER_ACCEPT, key=ACCEPT_KEY))
    # No key: an answering machine, or an engineer who let it pass. The status callback misses the offer.
    say(response, voice, voice.text(prompts.OFFER_NOT_TAKEN))
    response.hangup()
    return twiml(response)


@bp.post("/voice/offer/accept")
def accept():
    """Take the offer when the engineer pressed the key; any other key lets it pass."""
    svc = services()
    voice = _voice()
    offer = svc.offers.get(param("offer"))
    if offer is None or request.form.get("Digits") != ACCEPT_KEY:
        return _goodbye(voice, voice.text(prompts.OFFER_NOT_TAKEN))
    return _take(offer, VoiceResponse(), voice)


def _taken_by_this_call(offer: Offer) -> bool:
    """Tell whether the engineer's call making this request is the one that took the offer (Twilio retrying)."""
    return offer.state in ("accepted", "bridged") and bool(param("CallSid")) and offer.engineer_call == param("CallSid")


def _take(offer: Offer, response: VoiceResponse, voice: Speaker):
    """Record the offer as taken, have a worker move the caller over, and put the engineer in the conference."""
    svc = services()
    taken = svc.offers.accept(offer, param("CallSid"))
    if taken == 1:
        # The dequeue, or the call to the customer, is a REST request: a worker makes it, the webhook never waits.
        if offer.kind == "callback":
            svc.jobs.once(call_customer, offer.id, job_id=f"callback-{offer.id}", queue=CALLBACKS, result_ttl=3600)
        else:
            svc.jobs.once(bridge_offer, offer.id, job_id=f"bridge-{offer.id}", queue=DISPATCH, result_ttl=3600)
    elif not taken:
        return _goodbye(voice, voice.text(prompts.OFFER_NOT_TAKEN))
    say(response, voice, voice.text(prompts.OFFER_CONNECTING))
    return twiml(_meet(response, offer))


@bp.post("/voice/offer/join")
def join():
    """Put the caller, moved out of their queue for a taken offer, in the conference with their engineer."""
    svc = services()
    line = current_line()
    language = current_language(line)
    voice = speaker(line, language)
    sid = param("CallSid")
    offer = svc.offers.get(param("offer"))
    response = VoiceResponse()
    if offer is None or offer.call != sid or not svc.offers.bridged(offer):
        # Out of the queue but with nobody to meet: back in the queue with the deadline they had.
        log.error("call %s reached the join of offer %s, which does not expect it", sid, param("offer"))
        decision = parse_queue_entry(svc.calls.get(sid).get("waiting"))
        if decision is None:
            from .failsafe import fallback_response

            return twiml(fallback_response(line, language))
        svc.waiting.join(sid, decision)
        return twiml(enqueue(response, line, language, decision, announce=False))
    svc.waiting.leave(sid, offer.queue, "bridged")
    say(response, voice, voice.text(prompts.CALLER_CONNECTING))
    return twiml(_meet(response, offer))


@bp.post("/voice/offer/status")
def status():
    """End an offer with the engineer's call: missed if never taken, else the wrap-up starts."""
    svc = services()
    call_status = request.form.get("CallStatus", "")
    offer = svc.offers.get(param("offer"))
    if offer is None or call_status not in FINAL_STATUSES:
        return "", 204
    if offer.state == "ringing":
        end_missed(svc, offer, call_status)
    elif offer.state in ("accepted", "bridged"):
        svc.offers.finish(offer, svc.settings.wrap_up)
    return "", 204


@bp.post("/voice/offer/customer")
def customer():
    """The customer answered their callback: greet them and join them to the engineer waiting in the conference."""
    svc = services()
    voice = _voice()
    offer = svc.offers.get(param("offer"))
    if offer is None or offer.kind != "callback" or not svc.offers.bridged(offer):
        # The engineer gave up meanwhile: never leave the customer with nobody.
        return _goodbye(voice, voice.text(prompts.QUEUE_FAILED, portal=svc.settings.portal))
    if svc.callbacks.close(offer.call, offer.queue, "done"):
        publish(svc, "callback_made", offer.case, f"callback-made:{offer.call}", engineer=offer.engineer,
                sid=offer.call, customer_call=param("CallSid"))
    response = VoiceResponse()
    say(response, voice, voice.text(prompts.CALLBACK_GREETING, case=spaced_digits(offer.case)))
    return twiml(_meet(response, offer))


@bp.post("/voice/offer/customer-status")
def customer_status():
    """A callback's call to the customer ended: unanswered, a worker frees the engineer and tries again later."""
    svc = services()
    offer = svc.offers.get(param("offer"))
    call_status = request.form.get("CallStatus", "")
    if offer is not None and call_status in FINAL_STATUSES and offer.state == "accepted":
        svc.jobs.once(customer_did_not_answer, offer.id, call_status, job_id=f"no-answer-{offer.id}",
                      queue=CALLBACKS, result_ttl=3600)
    return "", 204
