"""Waiting in a language queue: what the caller hears, callbacks, and how the wait ends."""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from . import prompts
from .hold import hold_clip
from .security import signed
from .speech import spaced_digits
from .twiml import current_language, current_line, number_param, param, say, services, speaker, twiml

bp = Blueprint("queue", __name__)
log = logging.getLogger(__name__)

ENDED = ("bridged", "hangup", "redirected")
"""QueueResult values after which the call is over: the caller must not be queued again."""

CALLBACK_KEY = "1"
"""The key a waiting caller presses to leave a callback request instead of holding."""


def _common():
    line = current_line()
    language = current_language(line)
    return line, language, {"line": line.number, "lang": language, "case": param("case"), "queue": param("queue")}


@bp.post("/voice/wait")
@signed
def wait():
    """Tell the waiting caller where they stand, offer a callback, then play hold audio."""
    line, language, common = _common()
    voice = speaker(line, language)
    settings = services().settings
    response = VoiceResponse()
    waited = number_param("QueueTime", 0, 0, 10**9)
    if waited >= settings.max_wait:
        # Nobody holds forever: past the limit the caller leaves with a callback request.
        say(response, voice, voice.text(prompts.LONG_WAIT))
        _record_callback(line, language, reason="max_wait")
        response.leave()
        return twiml(response)
    position = number_param("QueuePosition", 1, 1, 10**6)
    with response.gather(num_digits=1, timeout=1, action=url_for("queue.key", **common), method="POST") as gather:
        if position <= 1:
            say(gather, voice, voice.text(prompts.QUEUE_NEXT))
        else:
            say(gather, voice, voice.plural(prompts.QUEUE_AHEAD, position - 1))
        say(gather, voice, voice.text(prompts.OFFER_CALLBACK, key=CALLBACK_KEY))
        gather.play(settings.hold_music or url_for("queue.hold_audio", _external=True))
    return twiml(response)


@bp.get("/audio/hold.wav")
def hold_audio():
    """Serve the built-in hold audio; it is public and the same for every caller."""
    return Response(hold_clip(), mimetype="audio/wav", headers={"Cache-Control": "public, max-age=86400"})


def _record_callback(line, language, reason: str) -> None:
    services().calls.request_callback(
        param("CallSid"), case=param("case"), caller=request.form.get("From") or request.form.get("Caller"),
        line=line.number, language=language, queue=param("queue"), reason=reason)


@bp.post("/voice/queue-key")
@signed
def key():
    """Take a key pressed while waiting: 1 leaves a callback request, anything else keeps waiting."""
    line, language, common = _common()
    response = VoiceResponse()
    if request.form.get("Digits") == CALLBACK_KEY:
        _record_callback(line, language, reason="caller")
        response.leave()
    else:
        response.redirect(url_for("queue.wait", **common), method="POST")
    return twiml(response)


@bp.post("/voice/queue-result")
@signed
def result():
    """Finish the call after its time in the queue, whatever the QueueResult."""
    line, language, _ = _common()
    sid = param("CallSid")
    outcome = request.form.get("QueueResult", "")
    svc = services()
    voice = speaker(line, language)
    response = VoiceResponse()
    try:
        svc.calls.leave_queue(sid, param("queue"), outcome or "unknown")
        callback = outcome == "leave" and svc.calls.get(sid).get("callback") == "requested"
        if outcome == "queue-full":
            _record_callback(line, language, reason="queue_full")
            callback = True
    except redis.RedisError as error:
        # Never back into the queue from here: a full queue would bounce the caller forever.
        log.error("redis error recording queue result %r of %s: %s", outcome, sid, error)
        callback = None
    if outcome in ENDED:
        # The caller spoke to an engineer, hung up, or another step took the call over.
        response.hangup()
        return twiml(response)
    if callback:
        say(response, voice, voice.text(prompts.CALLBACK_RECORDED, case=spaced_digits(param("case"))))
    else:
        say(response, voice, voice.text(prompts.QUEUE_FAILED, portal=svc.settings.portal))
    response.hangup()
    return twiml(response)
