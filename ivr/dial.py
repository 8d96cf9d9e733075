"""Ringing the case's engineer: the whisper they hear, and what happens if nobody answers."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, request
from twilio.twiml.voice_response import VoiceResponse

from routing import Enqueue
from routing.model import SEVERITIES

from . import prompts
from .security import signed
from .speech import spaced_digits
from .twiml import current_language, current_line, enqueue, param, say, services, speaker, twiml

bp = Blueprint("dial", __name__)

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
    svc.calls.update(sid, event="dial_result", dial_status=status, engineer=param("engineer"))
    response = VoiceResponse()
    if status in ANSWERED:
        response.hangup()
        return twiml(response)
    voice = speaker(line, language)
    say(response, voice, voice.text(prompts.ENGINEER_UNAVAILABLE))
    queue = param("queue")
    if not queue.startswith(f"{line.region}-"):
        queue = f"{line.region}-{language}"
    try:
        deadline = datetime.fromisoformat(param("deadline"))
    except ValueError:
        deadline = datetime.now().astimezone()
    severity = param("severity")
    decision = Enqueue(queue=queue, deadline=deadline, case=param("case"), plan=param("plan"),
                       severity=int(severity) if severity in {"1", "2", "3", "4"} else 4, language=language,
                       overflow_from=param("overflow") or None)
    return twiml(enqueue(response, line, language, decision, sid, announce=False))
