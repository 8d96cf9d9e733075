"""Ringing the case's engineer: the whisper they hear, and what happens if nobody answers."""
from __future__ import annotations

import logging
from datetime import datetime

import redis
from flask import Blueprint, request
from twilio.twiml.voice_response import VoiceResponse

from routing import Enqueue, queue_name
from routing.model import SEVERITIES

from . import prompts
from .security import signed
from .speech import spaced_digits
from .twiml import current_language, current_line, enqueue, param, say, services, speaker, twiml

bp = Blueprint("dial", __name__)
log = logging.getLogger(__name__)

ANSWERED = frozenset({"completed", "answered"})
"""DialCallStatus values meaning the engineer took the call; anything else sends it to the queue."""


@bp.post("/voice/whisper")
@signed
def whisper():
    """Tell the engineer, before the bridge, which case and caller this is."""
    line = current_line()
    language = current_language(line)
    voice = speaker(line, language)
    severity = param("severity")
    text = voice.text(prompts.WHISPER, case=spaced_digits(param("case")), plan=voice.plan_name(param("plan")),
                      severity=severity if severity in {str(s) for s in SEVERITIES} else "?",
                      language=voice.language_name(language))
    response = VoiceResponse()
    say(response, voice, text)
    return twiml(response)


@bp.post("/voice/dial-result")
@signed
def result():
    """End the call after the engineer's conversation, or queue the caller without starting over."""
    line = current_line()
    language = current_language(line)
    sid = param("CallSid")
    status = request.form.get("DialCallStatus", "")
    svc = services()
    try:
        svc.calls.update(sid, event="dial_result", dial_status=status, engineer=param("engineer"))
    except redis.RedisError as error:
        if status not in ANSWERED:
            raise  # the safety net queues the caller
        log.error("redis error recording dial result of %s: %s", sid, error)  # the call is over anyway
    response = VoiceResponse()
    if status in ANSWERED:
        response.hangup()
        return twiml(response)
    voice = speaker(line, language)
    say(response, voice, voice.text(prompts.ENGINEER_UNAVAILABLE))
    region = svc.settings.regions.get(line.region)
    served = {queue_name(line.region, lang) for lang in (*line.languages, *(region.languages if region else ()))}
    queue = param("queue")
    if queue not in served:  # only a queue of this line's region, never text echoed into TwiML
        queue = queue_name(line.region, language)
    try:
        deadline = datetime.fromisoformat(param("deadline"))
    except ValueError:
        deadline = None
    if deadline is None or deadline.tzinfo is None:  # our own URLs carry an aware deadline
        deadline = datetime.now().astimezone()
    severity = param("severity")
    decision = Enqueue(queue=queue, deadline=deadline, case=param("case"), plan=param("plan"),
                       severity=int(severity) if severity in {"1", "2", "3", "4"} else 4, language=language,
                       overflow_from=param("overflow") or None)
    svc.calls.join_queue(sid, decision, language)
    return twiml(enqueue(response, line, language, decision, announce=False))
