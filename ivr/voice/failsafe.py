"""Answers valid at each step when something failed: they keep the caller moving without Redis."""
from __future__ import annotations

from flask import Response, url_for
from twilio.twiml.voice_response import VoiceResponse

from routing import queue_name

from . import prompts
from .twiml import current_language, current_line, param, say, services, speaker, twiml

WAIT_STEPS = frozenset({"/voice/wait", "/voice/queue-key", "/voice/queue-number", "/voice/queue-confirm"})
"""Steps Twilio runs for a caller already in a queue: their TwiML may not <Enqueue> or <Dial>."""


ENGINEER_STEPS = frozenset({"/voice/offer/answer", "/voice/offer/accept"})
"""Steps of an engineer's call ringing with an offer: no caller is on it."""


def fallback_response(line=None, language=None) -> VoiceResponse:
    """Put the caller in the line's queue for their language, touching nothing but config."""
    line = line or current_line()
    language = language or current_language(line)
    voice = speaker(line, language)
    queue = queue_name(line.region, language)
    response = VoiceResponse()
    say(response, voice, voice.text(prompts.TECHNICAL_TROUBLE))
    common = {"line": line.number, "lang": language, "queue": queue}
    response.enqueue(queue, wait_url=url_for("voice.queue.wait", **common), wait_url_method="POST",
                     action=url_for("voice.queue.result", **common), method="POST")
    return response


def failsafe(path: str, line=None, language=None) -> Response | tuple:
    """Answer a step that failed with what is valid there and keeps the caller moving, without Redis."""
    if path in ("/voice/status", "/voice/offer/status", "/voice/offer/customer-status"):
        return "", 204
    if not path.startswith("/voice/"):
        return "", 503
    line = line or current_line()
    language = language or current_language(line)
    voice = speaker(line, language)
    response = VoiceResponse()
    if path == "/voice/whisper":
        return twiml(response)  # the engineer is bridged without the whisper rather than not at all
    if path == "/voice/portal-link":  # the refusal was said; only the text message is lost
        response.hangup()
        return twiml(response)
    if path in ENGINEER_STEPS:
        # The engineer's side of an offer: it stays ringing and is missed, the caller keeps their place.
        say(response, voice, voice.text(prompts.OFFER_NOT_TAKEN))
        response.hangup()
        return twiml(response)
    if path in WAIT_STEPS:
        # Already in the queue: keep holding (wait-URL verbs only), the wait URL comes round again.
        say(response, voice, voice.text(prompts.TECHNICAL_TROUBLE))
        common = {"line": line.number, "lang": language, "queue": param("queue")}
        response.redirect(url_for("voice.queue.wait", **common), method="POST")
        return twiml(response)
    if path in ("/voice/queue-result", "/voice/callback-later"):
        # Never back into the queue from here: a full queue would bounce the caller forever.
        say(response, voice, voice.text(prompts.QUEUE_FAILED, portal=services().settings.portal))
        response.hangup()
        return twiml(response)
    return twiml(fallback_response(line, language))
