"""The case number: taken by keypad or speech, looked up, and routed."""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from ivr.adapters.calls.offers import RING_GRACE
from ivr.adapters.calls.waiting import parse_queue_entry, queue_entry
from ivr.services.routing import at_opening, route_call
from workers import alert, send_portal_link
from workers.queues import CALLBACKS
from routing import Enqueue, Refused
from routing.records import CASE_NUMBER

from . import prompts
from .numbers import callable_number
from .speech import spaced_digits
from .spoken_numbers import spoken_digits, spoken_yes_no
from .twiml import (CASE_ATTEMPTS, CONFIRM_KEYS, GATHER_TIMEOUT, NO_CASE_KEY, REFUSAL_REPEATS, REPEAT_KEY, ask_case,
                    Answer, case_digits, case_gather, current_language, current_line, guess_key, dial, enqueue, number_param, param,
                    refusal_keys, refuse, rehearsal, say, services, speaker, twiml)

bp = Blueprint("case", __name__)
log = logging.getLogger(__name__)

CONFIRM_TRIES = 2
"""Times a spoken case number is read back when the caller neither confirms nor denies it."""

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
    """Take a case number, keyed or said: route it, read a spoken one back first, or ask again, up to three tries."""
    line = current_line()
    language = current_language(line)
    attempt = number_param("attempt", 1, 1, CASE_ATTEMPTS)
    sid = param("CallSid")
    svc = services()
    response = VoiceResponse()
    if param("silent"):
        if param("closed"):
            # Told their case is closed, the caller gave no other number: how to open a new one.
            closed = svc.calls.get(sid).get("closed_case", "")
            return _refused(response, line, language, sid, Refused("case_closed", case=closed or None), closed)
        return _try_again(response, line, language, sid, attempt, "", "")
    keyed = request.form.get("Digits") or ""
    if NO_CASE_KEY in keyed:
        return _refused(response, line, language, sid, Refused("no_case"), "")
    speech = request.form.get("SpeechResult") or ""
    if speech and not keyed:
        heard = spoken_digits(speech, language)
        if CASE_NUMBER.match(heard):
            # Speech is misheard more often than keys are mistyped: the caller confirms before it routes.
            svc.calls.update(sid, heard_case=heard)
            return twiml(read_back(response, line, language, attempt, heard, 1))
        return _try_again(response, line, language, sid, attempt, speech, heard)
    return take_number(response, line, language, sid, attempt, case_digits(keyed), keyed)


def read_back(response: VoiceResponse, line, language: str, attempt: int, heard: str, tries: int) -> VoiceResponse:
    """Read a spoken case number back digit by digit and ask whether it is right (a key, or yes or no)."""
    voice = speaker(line, language)
    common = {"line": line.number, "lang": language, "attempt": attempt, "tries": tries}
    with response.gather(input="dtmf speech", num_digits=1, timeout=GATHER_TIMEOUT, speech_timeout="auto",
                         language=voice.voice.gather_language, action=url_for("voice.case.confirm", **common),
                         method="POST") as gather:
        say(gather, voice, voice.text(prompts.CASE_READ_BACK, case=spaced_digits(heard)))
    response.redirect(url_for("voice.case.confirm", silent=1, **common), method="POST")
    return response


@bp.post("/voice/case-confirm")
def confirm():
    """Route the spoken case number once the caller confirms it; on a no, ask for it again."""
    line = current_line()
    language = current_language(line)
    attempt = number_param("attempt", 1, 1, CASE_ATTEMPTS)
    tries = number_param("tries", 1, 1, CONFIRM_TRIES)
    sid = param("CallSid")
    response = VoiceResponse()
    heard = services().calls.get(sid).get("heard_case", "")
    answer = None
    if not param("silent"):
        keyed = request.form.get("Digits") or ""
        answer = CONFIRM_KEYS.get(keyed) if keyed else spoken_yes_no(request.form.get("SpeechResult") or "", language)
    if answer and CASE_NUMBER.match(heard):
        return take_number(response, line, language, sid, attempt, heard, heard)
    if answer is None and tries < CONFIRM_TRIES and heard:
        return twiml(read_back(response, line, language, attempt, heard, tries + 1))
    # Not the number they meant (or no answer twice): never routed on a guess.
    if attempt >= CASE_ATTEMPTS:
        return _refused(response, line, language, sid, Refused("no_case_number"), "")
    return twiml(ask_case(response, line, language, attempt + 1))


def take_number(response: VoiceResponse, line, language: str, sid: str, attempt: int, digits: str, raw: str):
    """Route the call for a case number the caller keyed or confirmed, or say what was wrong and ask again."""
    svc = services()
    if not raw.strip() or not CASE_NUMBER.match(digits):
        return _try_again(response, line, language, sid, attempt, raw, digits)
    routed_call = route_call(svc.store, svc.settings.policy, digits, line, language, lambda _zone: now(), sid)
    if routed_call.case_file is None:
        return _try_again(response, line, language, sid, attempt, raw, digits)
    decision = routed_call.decision
    routed = {"case": digits, "decision": decision.kind, "reason": decision.reason}
    if isinstance(decision, Enqueue):
        # Recorded with the queue join: one write for the whole step.
        svc.waiting.join(sid, decision, routed)
        return twiml(enqueue(response, line, language, decision))
    if isinstance(decision, Refused):
        if decision.reason == "case_closed" and attempt < CASE_ATTEMPTS and not param("closed"):
            # A typo is likelier than a call about a closed case: another number is asked for first.
            svc.calls.update(sid, closed_case=digits)
            voice = speaker(line, language)
            return twiml(case_gather(response, line, language, attempt + 1,
                                     voice.text(prompts.CASE_CLOSED_TRY_ANOTHER, case=spaced_digits(digits)),
                                     silent={"closed": 1}))
        return _refused(response, line, language, sid, decision, digits)
    # The queue the caller goes to if the engineer does not answer: kept for the dial's result,
    # and not the call's queue, since the caller has not waited in it. A retried webhook keeps
    # the first routing's deadline.
    routed.update(engineer=decision.engineer, engineer_name=decision.name, fallback=queue_entry(decision.fallback))
    if rehearsal():  # `ivr call --url` rings nobody, so it must not make the engineer busy either
        stored = svc.calls.decide(sid, **routed)
    else:
        stored = svc.calls.ring(sid, svc.settings.dial_timeout + RING_GRACE, **routed)
    if stored is None:
        # A dispatcher offered the engineer another caller a moment ago: this caller waits for them.
        decision = replace(decision.fallback, preferred=decision.engineer)
        svc.waiting.join(sid, decision, {"case": digits, "decision": decision.kind, "reason": "engineer_engaged"})
        return twiml(enqueue(response, line, language, decision))
    first = parse_queue_entry(stored)
    if first is not None and first.queue == decision.fallback.queue:
        decision = replace(decision, fallback=first)
    return twiml(dial(response, line, language, decision, sid))


def _try_again(response: VoiceResponse, line, language: str, sid: str, attempt: int, raw: str, digits: str):
    """Say why the number was not taken and ask again; after the last try, say what to do instead."""
    voice = speaker(line, language)
    if raw.strip() and _guessed_too_often(sid, line, attempt):
        svc = services()
        svc.calls.decide(sid, decision="refused", reason="too_many_tries", case="")
        say(response, voice, voice.text(prompts.TOO_MANY_TRIES, portal=svc.settings.portal))
        response.hangup()
        return twiml(Answer(response, "refused:too_many_tries"))
    if attempt >= CASE_ATTEMPTS:
        # The words fit the cause: after silence nobody is told their case could not be found.
        reason = "no_case_number" if not raw.strip() else "case_not_found"
        return _refused(response, line, language, sid, Refused(reason), digits)
    if not raw.strip():
        problem = voice.text(prompts.CASE_NO_INPUT)
    elif not CASE_NUMBER.match(digits):
        problem = voice.text(prompts.CASE_MALFORMED)
    else:
        problem = voice.text(prompts.CASE_UNKNOWN, case=spaced_digits(digits))
    say(response, voice, problem)
    return twiml(ask_case(response, line, language, attempt + 1))


def _guessed_too_often(sid: str, line, attempt: int) -> bool:
    """Count a wrong case number against the calling number and the line; tell whether the number is past its limit.

    A surge of wrong numbers on the line alerts the duty manager (once per window) rather than locking the
    line's other callers out.
    """
    svc = services()
    settings = svc.settings
    caller, limit = guess_key(request.form.get("From"))
    tried, on_line = svc.calls.failed_try(sid, attempt, caller, line.number, settings.guess_window,
                                          settings.surge_window)
    if on_line >= settings.surge and (settings.alerts_webhook or settings.alerts_sms) and not rehearsal():
        bucket = int(time.time() // settings.surge_window)
        log.warning("line %s: %d wrong case numbers in %d s", line.number, on_line, settings.surge_window)
        svc.jobs.once(alert, "guess_surge", "", f"surge:{line.number}:{bucket}",
                      {"line": line.number, "count": on_line, "minutes": settings.surge_window // 60},
                      job_id=f"surge-{line.number.lstrip('+')}-{bucket}", queue=CALLBACKS, result_ttl=3600)
    return tried >= limit


def _refused(response: VoiceResponse, line, language: str, sid: str, decision: Refused, case: str):
    # Kept whole, so the caller hears the same refusal again, and acts on it, even if phones opened meanwhile.
    services().calls.decide(sid, decision="refused", reason=decision.reason, case=case or decision.case or "",
                            plan=decision.plan or "", timezone=decision.timezone or "",
                            account_zone="1" if decision.account_zone else "",
                            next_open=decision.next_open.isoformat() if decision.next_open else "")
    return twiml(refuse(response, line, language, decision, now()))


def _refusal_again(sid: str, reason: str) -> Refused:
    """Return the refusal a caller heard, as the call's state keeps it, to say again or act on."""
    state = services().calls.get(sid)
    if state.get("decision") == "refused" and state.get("reason") in prompts.REFUSED:
        try:
            next_open = datetime.fromisoformat(state["next_open"]) if state.get("next_open") else None
        except ValueError:
            next_open = None
        if state["reason"] != "outside_hours" or next_open is not None:
            return Refused(state["reason"], case=state.get("case") or None, plan=state.get("plan") or None,
                           next_open=next_open, timezone=state.get("timezone") or None,
                           account_zone=state.get("account_zone") == "1")
    # The state expired or was lost: what the URL says, with nothing to promise about hours.
    fallback = reason if reason in prompts.REFUSED and reason != "outside_hours" else "case_not_found"
    return Refused(fallback, case=state.get("case") or None)


@bp.post("/voice/refusal")
def refusal():
    """Take a refused caller's key: hear it again, a callback when phones open, or the portal's address by SMS."""
    line = current_line()
    language = current_language(line)
    voice = speaker(line, language)
    sid = param("CallSid")
    response = VoiceResponse()
    repeats = number_param("repeats", REFUSAL_REPEATS, 0, REFUSAL_REPEATS)
    key = request.form.get("Digits") or ""
    decision = _refusal_again(sid, param("reason"))
    if key == REPEAT_KEY and repeats < REFUSAL_REPEATS:
        return twiml(refuse(response, line, language, decision, now(), repeats + 1))
    number = callable_number(request.form.get("From", ""))
    option = refusal_keys(decision, number).get(key)
    if option == "callback" and number:
        return _callback_later(response, line, language, voice, sid, number, decision.case or "")
    if option == "portal_link" and number:
        return _portal_link(response, line, language, voice, sid, number, decision)
    say(response, voice, voice.text(prompts.GOODBYE))
    response.hangup()
    return twiml(response)


def _callback_later(response: VoiceResponse, line, language: str, voice, sid: str, number: str, case: str):
    """Record a callback for when phones open, for a caller refused outside hours who pressed the key for it."""
    svc = services()
    found = at_opening(svc.store, svc.settings.policy, case, line, language, now(), sid)
    if found is None:
        # Open again meanwhile, or no longer eligible: nothing honest to promise.
        say(response, voice, voice.text(prompts.QUEUE_FAILED, portal=svc.settings.portal))
        response.hangup()
        return twiml(response)
    opening, routed = found
    if rehearsal():
        log.info("rehearsal call %s: its callback at the opening is not recorded", sid)
    else:
        svc.callbacks.confirm(sid, queue=routed.queue, deadline_ts=routed.deadline.timestamp(),
                              reason="outside_hours", number=number, caller=request.form.get("From", ""),
                              not_before=opening.timestamp(), case=case, line=line.number, language=language,
                              plan=routed.plan, severity=routed.severity, deadline=routed.deadline.isoformat(),
                              joined=f"{opening.timestamp():.3f}")
    zone = opening.tzinfo
    say(response, voice, voice.text(prompts.OUTSIDE_HOURS_CALLBACK_RECORDED, number=spaced_digits(number),
                                    case=spaced_digits(case), when=voice.when(opening, now().astimezone(zone))))
    response.hangup()
    return twiml(response)


def _portal_link(response: VoiceResponse, line, language: str, voice, sid: str, number: str, decision: Refused):
    """Text the portal's address to the number calling, once per number per day, for a caller who asked."""
    svc = services()
    if rehearsal():
        log.info("rehearsal call %s: the portal link is not texted", sid)
        say(response, voice, voice.text(prompts.PORTAL_SMS_SENT))
    elif svc.calls.claim_daily_sms(number, sid):
        svc.jobs.once(send_portal_link, number, line.number, language, decision.case or "", decision.reason,
                      job_id=f"portal-link-{sid}", queue=CALLBACKS, result_ttl=3600)
        say(response, voice, voice.text(prompts.PORTAL_SMS_SENT))
    else:
        say(response, voice, voice.text(prompts.PORTAL_SMS_ALREADY_SENT))
    response.hangup()
    return twiml(response)
