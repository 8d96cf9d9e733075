"""Twilio's status callback, the fallback URL, and the safety net for any failed step."""
from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import redis
from flask import Blueprint, Response, current_app, request, url_for
from rq.exceptions import DuplicateJobError
from twilio.twiml.voice_response import VoiceResponse

from routing import queue_name
from workers import record_call

from . import prompts
from .security import signed
from .twiml import current_language, current_line, param, say, services, speaker, twiml

bp = Blueprint("status", __name__)
log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})

WAIT_STEPS = frozenset({"/voice/wait", "/voice/queue-key"})
"""Steps Twilio runs for a caller already in a queue: their TwiML may not <Enqueue> or <Dial>."""


@bp.post("/voice/status")
@signed
def status():
    """Record a call's progress; a finished call leaves any queue it was still waiting in."""
    sid = param("CallSid")
    call_status = request.form.get("CallStatus", "")
    svc = services()
    duration = request.form.get("CallDuration")
    if call_status not in FINAL_STATUSES:
        svc.calls.update(sid, event="status", status=call_status, duration=duration)
        return "", 204
    state = svc.calls.finish(sid, call_status, duration)
    # Only a caller still waiting leaves here: how a wait ended (bridged, leave…) is never overwritten.
    svc.calls.leave_queue(sid, state.get("queue"), "call_" + call_status, only_if_waiting=True)
    # One job per call however often Twilio repeats the callback; its arguments never change.
    job_id = "record-" + re.sub(r"[^A-Za-z0-9_-]", "_", sid)[:100]
    try:
        svc.jobs.enqueue(record_call, sid, float(state["ended_at"]), svc.settings.record_ttl, job_id=job_id,
                         result_ttl=3600, unique=True)
    except DuplicateJobError:
        pass
    return "", 204


def _error_line_and_language():
    """Return the line and language of the step that failed, from Twilio's ErrorUrl when there is one."""
    failed = request.form.get("ErrorUrl", "")
    named = {k: v[0] for k, v in parse_qs(urlsplit(failed).query).items()} if failed else {}
    settings = services().settings
    line = settings.lines.get(named.get("line", "")) or current_line()
    language = named.get("lang", "")
    return line, language if language in line.languages else current_language(line), urlsplit(failed).path


def fallback_response(line=None, language=None) -> VoiceResponse:
    """Put the caller in the line's queue for their language, touching nothing but config."""
    line = line or current_line()
    language = language or current_language(line)
    voice = speaker(line, language)
    queue = queue_name(line.region, language)
    response = VoiceResponse()
    say(response, voice, voice.text(prompts.TECHNICAL_TROUBLE))
    common = {"line": line.number, "lang": language, "queue": queue}
    response.enqueue(queue, wait_url=url_for("queue.wait", **common), wait_url_method="POST",
                     action=url_for("queue.result", **common), method="POST")
    return response


def failsafe(path: str, line=None, language=None) -> Response | tuple:
    """Answer a step that failed with what is valid there and keeps the caller moving, without Redis."""
    if path == "/voice/status":
        return "", 204
    if not path.startswith("/voice/"):
        return "", 503
    line = line or current_line()
    language = language or current_language(line)
    voice = speaker(line, language)
    response = VoiceResponse()
    if path == "/voice/whisper":
        return twiml(response)  # the engineer is bridged without the whisper rather than not at all
    if path in WAIT_STEPS:
        # Already in the queue: keep holding (wait-URL verbs only), the wait URL comes round again.
        say(response, voice, voice.text(prompts.TECHNICAL_TROUBLE))
        common = {"line": line.number, "lang": language, "queue": param("queue")}
        response.redirect(url_for("queue.wait", **common), method="POST")
        return twiml(response)
    if path == "/voice/queue-result":
        # Never back into the queue from here: a full queue would bounce the caller forever.
        say(response, voice, voice.text(prompts.QUEUE_FAILED, portal=services().settings.portal))
        response.hangup()
        return twiml(response)
    return twiml(fallback_response(line, language))


@bp.post("/voice/fallback")
@signed
def fallback():
    """Answer Twilio's fallback URL from configuration alone, in the language the caller chose."""
    line, language, failed_path = _error_line_and_language()
    log.error("Twilio used the fallback URL after error %s on %s", request.form.get("ErrorCode", "?"),
              failed_path or "?")
    if failed_path in (*WAIT_STEPS, "/voice/whisper", "/voice/queue-result"):
        return failsafe(failed_path, line, language)
    return twiml(fallback_response(line, language))


@bp.app_errorhandler(redis.RedisError)
def redis_trouble(error):
    """Keep the caller moving when Redis fails, with what is valid at this step."""
    log.error("redis error on %s: %s", request.path, error)
    return failsafe(request.path)


@bp.app_errorhandler(Exception)
def unexpected(error):
    """Never give Twilio a 5xx for a caller: log the fault and answer with the step's fail-safe."""
    from werkzeug.exceptions import HTTPException

    if isinstance(error, HTTPException):
        return error
    if current_app.config.get("STRICT"):
        raise error
    log.exception("unexpected error on %s", request.path)
    return failsafe(request.path) if request.path.startswith("/voice/") else ("", 500)
