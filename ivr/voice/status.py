"""Twilio's status callback and the fallback URL."""
from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, request


from .failsafe import WAIT_STEPS, failsafe, fallback_response
from .twiml import current_language, current_line, param, rehearsal, services, twiml

bp = Blueprint("status", __name__)
log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})

@bp.post("/voice/status")
def status():
    """Record a call's progress; a finished call leaves any queue it was still waiting in."""
    sid = param("CallSid")
    call_status = request.form.get("CallStatus", "")
    svc = services()
    duration = request.form.get("CallDuration")
    if call_status not in FINAL_STATUSES:
        svc.calls.progress(sid, call_status, duration)
        return "", 204
    # Its dial's result may never have come: the engineer it rang is not left busy for hours. Only a caller still
    # waiting leaves their queue here: how a wait ended (bridged, leave…) is never overwritten. A worker writes
    # the record a little later (`calls.record_delay`), so the queue or dial result Twilio may still send is in it;
    # a rehearsal (`ivr call --url`) is cleaned up, but no record counts it.
    svc.calls.end(sid, call_status, duration, svc.settings.wrap_up, record=not rehearsal())
    return "", 204


def _error_line_and_language():
    """Return the line and language of the step that failed, from Twilio's ErrorUrl when there is one."""
    failed = request.form.get("ErrorUrl", "")
    named = {k: v[0] for k, v in parse_qs(urlsplit(failed).query).items()} if failed else {}
    settings = services().settings
    line = settings.lines.get(named.get("line", "")) or current_line()
    language = named.get("lang", "")
    return line, language if language in line.languages else current_language(line), urlsplit(failed).path


@bp.post("/voice/fallback")
def fallback():
    """Answer Twilio's fallback URL from configuration alone, in the language the caller chose."""
    line, language, failed_path = _error_line_and_language()
    log.error("Twilio used the fallback URL after error %s on %s", request.form.get("ErrorCode", "?"),
              failed_path or "?")
    if failed_path in (*WAIT_STEPS, "/voice/whisper", "/voice/queue-result"):
        return failsafe(failed_path, line, language)
    return twiml(fallback_response(line, language))
