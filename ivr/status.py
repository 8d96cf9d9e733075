"""Twilio's status callback, the fallback URL, and the safety net for any failed step."""
from __future__ import annotations

import logging
import re
import time

import redis
from flask import Blueprint, current_app, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from routing import queue_name
from workers import record_call

from . import prompts
from .security import signed
from .twiml import current_language, current_line, param, say, services, speaker, twiml

bp = Blueprint("status", __name__)
log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@bp.post("/voice/status")
@signed
def status():
    """Record a call's progress; a finished call leaves any queue it was waiting in."""
    sid = param("CallSid")
    call_status = request.form.get("CallStatus", "")
    calls = services().calls
    calls.update(sid, event="status", status=call_status, duration=request.form.get("CallDuration"))
    if call_status in FINAL_STATUSES:
        queue = calls.get(sid).get("queue")
        if queue:
            calls.leave_queue(sid, queue, "call_" + call_status)
        if sid:
            # One job per call, so a repeated callback does not record it twice.
            job_id = "record-" + re.sub(r"[^A-Za-z0-9_-]", "_", sid)[:100]
            services().jobs.enqueue(record_call, sid, time.time(), job_id=job_id, result_ttl=3600)
    return "", 204


def fallback_response() -> VoiceResponse:
    """Put the caller in the line's queue for their language, touching nothing but config."""
    line = current_line()
    language = current_language(line)
    voice = speaker(line, language)
    queue = queue_name(line.region, language)
    response = VoiceResponse()
    say(response, voice, voice.text(prompts.TECHNICAL_TROUBLE))
    common = {"line": line.number, "lang": language, "case": param("case"), "queue": queue}
    response.enqueue(queue, wait_url=url_for("queue.wait", **common), wait_url_method="POST",
                     action=url_for("queue.result", **common), method="POST")
    return response


@bp.post("/voice/fallback")
@signed
def fallback():
    """Answer Twilio's fallback URL: valid TwiML into the default queue, without Redis."""
    return twiml(fallback_response())


@bp.app_errorhandler(redis.RedisError)
def redis_trouble(error):
    """Keep the caller moving when Redis fails: straight to the language queue."""
    log.error("redis error on %s: %s", request.path, error)
    if not request.path.startswith("/voice/") or request.path == "/voice/status":
        return "", 204 if request.path == "/voice/status" else 503
    return twiml(fallback_response())


@bp.app_errorhandler(Exception)
def unexpected(error):
    """Never give Twilio a 5xx for a caller: log the fault and queue the caller."""
    from werkzeug.exceptions import HTTPException

    if isinstance(error, HTTPException):
        return error
    if current_app.config.get("STRICT"):
        raise error
    log.exception("unexpected error on %s", request.path)
    if not request.path.startswith("/voice/"):
        return "", 500
    return twiml(fallback_response())
