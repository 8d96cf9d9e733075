"""The case number: taken by keypad or speech, looked up, and routed."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from flask import Blueprint, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.adapters.offers import RING_GRACE
from ivr.adapters.store import dial_token
from ivr.adapters.waiting import parse_queue_entry, queue_entry
from ivr.services.routing import at_opening, route_call
from workers import send_portal_link
from workers.queues import CALLBACKS
from routing import Enqueue, Refused
from routing.records import CASE_NUMBER

from . import prompts
from .speech import spaced_digits
from .numbers import callable_number
from .twiml import (CALLBACK_LATER_KEY, CASE_ATTEMPTS, PORTAL_LINK_KEY, ask_case, case_digits, current_language, current_line, dial, enqueue,
                    number_param, param, refuse, say, services, speaker, twiml)

bp = Blueprint("case", __name__)

AT_FIELD = "IvrAt"
"""The form field `ivr call --at` sets; Twilio never sends it."""


def now() -> datetime:
    """Return the moment a call is routed at; `ivr call --at` may ask about another one.

    The moment comes as a signed form field, and only an app built to allow it listens.
    """
    at = request.form.get(AT_FIELD)
    if at and services().allow_at:
        try:
            moment = datetime.fromisoformat(at)
            # Far-off years would overflow deadline arithmetic; a what-if needs none of them.
            if moment.tzinfo and 1971 <= moment.year <= 9000:
                return moment
        except ValueError:
            pass
    return datetime.now(UTC)


@bp.post("/voice/case")
def number():
    """Route the call for the case number given, or ask again, up to three attempts."""
    line = current_line()
    language = current_language(line)
    attempt = number_param("attempt", 1, 1, CASE_ATTEMPTS)
    sid = param("CallSid")
    raw = "" if param("silent") else (request.form.get("Digits") or request.form.get("SpeechResult") or "")
    digits = case_digits(raw)
    voice = speaker(line, language)
    svc = services()
    response = VoiceResponse()

    if not raw.strip():
        problem = voice.text(prompts.CASE_NO_INPUT)
    elif not CASE_NUMBER.match(digits):
        problem = voice.text(prompts.CASE_MALFORMED)
    else:
        routed_call = route_call(svc.store, svc.settings.policy, digits, line, language, lambda _zone: now(), sid)
        if routed_call.case_file is not None:
            decision = routed_call.decision
            routed = {"case": digits, "decision": decision.kind, "reason": decision.reason}
            if isinstance(decision, Enqueue):
                # Recorded with the queue join: one write for the whole step.
                svc.waiting.join(sid, decision, routed)
                return twiml(enqueue(response, line, language, decision))
            if isinstance(decision, Refused):
                svc.calls.decide(sid, **routed)
                return twiml(refuse(response, line, language, decision))
            if not svc.offers.engage(decision.engineer, dial_token(sid), svc.settings.dial_timeout + RING_GRACE):
                # A dispatcher offered the engineer another caller a moment ago: this caller waits for them.
                decision = replace(decision.fallback, preferred=decision.engineer)
                svc.waiting.join(sid, decision, {**routed, "decision": decision.kind, "reason": "engineer_engaged"})
                return twiml(enqueue(response, line, language, decision))
            # The queue the caller goes to if the engineer does not answer: kept for the dial's result,
            # and not the call's queue, since the caller has not waited in it. A retried webhook keeps
            # the first routing's deadline.
            stored = svc.calls.decide(sid, engineer=decision.engineer, fallback=queue_entry(decision.fallback),
                                      **routed)
            first = parse_queue_entry(stored)
            if first is not None and first.queue == decision.fallback.queue:
                decision = replace(decision, fallback=first)
            return twiml(dial(response, line, language, decision, sid))
        problem = voice.text(prompts.CASE_UNKNOWN, case=spaced_digits(digits))

    if attempt >= CASE_ATTEMPTS:
        svc.calls.decide(sid, decision="refused", reason="case_not_found", case=digits)
        return twiml(refuse(response, line, language, Refused("case_not_found")))
    say(response, voice, problem)
    return twiml(ask_case(response, line, language, attempt + 1))


@bp.post("/voice/callback-later")
def later():
    """Record a callback for when phones open, for a caller refused outside hours who pressed the key for it."""
    line = current_line()
    language = current_language(line)
    voice = speaker(line, language)
    svc = services()
    sid = param("CallSid")
    response = VoiceResponse()
    number = callable_number(request.form.get("From", ""))
    case = svc.calls.get(sid).get("case", "")
    if request.form.get("Digits") != CALLBACK_LATER_KEY or not number or not case:
        response.hangup()
        return twiml(response)
    found = at_opening(svc.store, svc.settings.policy, case, line, language, now(), sid)
    if found is None:
        # Open again meanwhile, or no longer eligible: nothing honest to promise.
        say(response, voice, voice.text(prompts.QUEUE_FAILED, portal=svc.settings.portal))
        response.hangup()
        return twiml(response)
    opening, routed = found
    svc.callbacks.confirm(sid, queue=routed.queue, deadline_ts=routed.deadline.timestamp(), reason="outside_hours",
                          number=number, caller=request.form.get("From", ""), not_before=opening.timestamp(),
                          case=case, line=line.number, language=language, plan=routed.plan,
                          severity=routed.severity, deadline=routed.deadline.isoformat(),
                          joined=f"{opening.timestamp():.3f}")
    say(response, voice, voice.text(prompts.OUTSIDE_HOURS_CALLBACK_RECORDED, number=spaced_digits(number),
                                    case=spaced_digits(case), when=voice.when(opening)))
    response.hangup()
    return twiml(response)


@bp.post("/voice/portal-link")
def portal_link():
    """Text the portal's address to the number calling, once per number per day, for a caller who asked."""
    line = current_line()
    language = current_language(line)
    voice = speaker(line, language)
    svc = services()
    sid = param("CallSid")
    response = VoiceResponse()
    number = callable_number(request.form.get("From", ""))
    if request.form.get("Digits") != PORTAL_LINK_KEY or not number:
        response.hangup()
        return twiml(response)
    state = svc.calls.get(sid)
    if svc.calls.claim_daily_sms(number):
        svc.jobs.once(send_portal_link, number, line.number, language, state.get("case", ""), state.get("reason", ""),
                      job_id=f"portal-link-{sid}", queue=CALLBACKS, result_ttl=3600)
        say(response, voice, voice.text(prompts.PORTAL_SMS_SENT))
    else:
        say(response, voice, voice.text(prompts.PORTAL_SMS_ALREADY_SENT))
    response.hangup()
    return twiml(response)
