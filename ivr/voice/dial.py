"""Ringing the case's engineer: the whisper they hear, and what happens if nobody answers."""
from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.adapters.directory.store import dial_token
from ivr.adapters.calls.waiting import parse_queue_entry
from ivr.services.routing import ANSWERED, requeue_unanswered

from . import prompts
from .failsafe import failsafe
from .speech import spaced_digits
from .twiml import current_language, current_line, enqueue, param, rehearsal, say, services, speaker, twiml

bp = Blueprint("dial", __name__)
log = logging.getLogger(__name__)


@bp.post("/voice/whisper")
def whisper():
    """Tell the engineer, before the bridge, which case and caller this is."""
    line = current_line()
    language = current_language(line)
    voice = speaker(line, language)
    response = VoiceResponse()
    # The caller's call state holds the case; its CallSid is in our own URL. Noting the answer and reading the
    # state is one round trip; a whisper is only asked for by an engineer's leg that answered.
    state = services().calls.update_and_get(param("call"), "", engineer_answered=f"{time.time():.3f}")
    routed = parse_queue_entry(state.get("fallback"))
    if state.get("engineer") and not rehearsal():
        # Answered: the engineer stays busy for the conversation, not just the ringing.
        services().offers.extend(state["engineer"], dial_token(param("call")), services().settings.state_ttl)
    if routed is None:
        log.warning("no routed case for the whisper of call %s", param("call"))
        return twiml(response)  # bridged without a whisper rather than not at all
    engineer = state.get("engineer_name") or state.get("engineer", "")
    say(response, voice, voice.text(prompts.WHISPER, engineer=engineer, case=spaced_digits(routed.case),
                                    plan=voice.plan_name(routed.plan), severity=str(routed.severity),
                                    language=voice.language_name(language)))
    return twiml(response)


@bp.post("/voice/dial-result")
def result():
    """End the call after the engineer's conversation, or queue the caller without starting over."""
    line = current_line()
    language = current_language(line)
    sid = param("CallSid")
    status = request.form.get("DialCallStatus", "")
    svc = services()
    response = VoiceResponse()
    if status in ANSWERED:
        try:
            state = svc.calls.update_and_get(sid, "dial_result", dial_status=status)
            if state.get("engineer") and not rehearsal():
                svc.offers.release(state["engineer"], dial_token(sid), svc.settings.wrap_up)
        except redis.RedisError as error:
            log.error("redis error recording dial result of %s: %s", sid, error)  # the call is over anyway
        response.hangup()
        return twiml(response)
    decision = requeue_unanswered(svc.calls, svc.waiting, sid, status)
    engineer = svc.calls.get(sid).get("engineer")
    if engineer and svc.offers.release(engineer, dial_token(sid)):
        svc.offers.wake()
    if decision is None:
        # Without the routed deadline the caller must not jump the queue with a made-up one: the
        # fail-safe answer queues them from configuration, outside the deadline order.
        log.error("call %s has no routed queue to fall back to (its state expired or was lost)", sid)
        return failsafe(request.path, line, language)
    voice = speaker(line, language)
    say(response, voice, voice.text(prompts.ENGINEER_UNAVAILABLE))
    return twiml(enqueue(response, line, language, decision, announce=False))
