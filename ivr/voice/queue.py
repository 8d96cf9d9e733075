"""Waiting in a language queue: what the caller hears, callbacks, and how the wait ends."""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from routing.dispatch import expected_wait

from . import prompts
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
    return line, language, {"line": line.number, "lang": language, "queue": param("queue")}


@bp.post("/voice/wait")
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
        try:
            services().callbacks.ask(param("CallSid"), "max_wait")
        except redis.RedisError as error:
            # Leaving all the same: the queue result tells the caller the request could not be taken.
            log.error("redis error asking a callback for %s: %s", param("CallSid"), error)
        response.leave()
        return twiml(response)
    _heard(param("CallSid"), line.number)
    ahead = _callers_ahead(param("queue"), param("CallSid"))
    minutes = _expected_wait(param("queue"), ahead)
    with response.gather(num_digits=1, timeout=1, action=url_for("voice.queue.key", **common), method="POST") as gather:
        if ahead == 0:
            say(gather, voice, voice.text(prompts.QUEUE_NEXT))
        else:
            say(gather, voice, voice.plural(prompts.QUEUE_AHEAD, ahead))
        if minutes is not None:
            say(gather, voice, voice.plural(prompts.EXPECTED_WAIT, minutes))
        say(gather, voice, voice.text(prompts.OFFER_CALLBACK, key=CALLBACK_KEY))
        gather.play(settings.hold_music or url_for("audio.hold_audio", _external=True))
    return twiml(response)


def _heard(sid: str, line: str) -> None:
    """Note that the call is still holding, and its QueueSid; the first time, wake the dispatcher for it."""
    svc = services()
    queue_sid = request.form.get("QueueSid", "")
    try:
        if svc.offers.heard(sid, queue_sid, line, svc.settings.state_ttl):
            svc.offers.wake()
    except redis.RedisError as error:
        # Holding goes on; the sweep sweeps a call never heard from, so the next request must land.
        log.error("redis error noting that %s is holding: %s", sid, error)


def _expected_wait(queue: str, ahead: int) -> int | None:
    """Return the minutes to tell a caller they can expect to wait, when an honest figure exists."""
    svc = services()
    try:
        average, samples = svc.waiting.answered_wait(queue)
        on_shift = len(svc.store.on_shift(queue))
    except redis.RedisError as error:
        log.error("redis error estimating the wait in %s: %s", queue, error)
        return None
    return expected_wait(average, samples, ahead, on_shift)


def _callers_ahead(queue: str, sid: str) -> int:
    """Return how many callers will be served before this one: Redis's deadline order, not Twilio's FIFO.

    A caller Redis does not know (queued by the fail-safe answer) or a failing Redis falls back
    to Twilio's own position.
    """
    try:
        ahead = services().waiting.ahead(queue, sid)
    except redis.RedisError as error:
        log.error("redis error reading the position of %s: %s", sid, error)
        ahead = None
    return ahead if ahead is not None else number_param("QueuePosition", 1, 1, 10**6) - 1


@bp.post("/voice/queue-key")
def key():
    """Take a key pressed while waiting: 1 asks for a callback and leaves the queue, anything else keeps waiting.

    The request takes effect with the queue result that follows the <Leave>, so a caller who is
    told to keep holding (Redis failed here) is never also called back.
    """
    line, language, common = _common()
    response = VoiceResponse()
    if request.form.get("Digits") == CALLBACK_KEY:
        services().callbacks.ask(param("CallSid"), "caller")
        response.leave()
    else:
        response.redirect(url_for("voice.queue.wait", **common), method="POST")
    return twiml(response)


@bp.post("/voice/queue-result")
def result():
    """Finish the call after its time in the queue, whatever the QueueResult."""
    line, language, _ = _common()
    sid = param("CallSid")
    outcome = request.form.get("QueueResult", "")
    svc = services()
    voice = speaker(line, language)
    response = VoiceResponse()
    case = ""
    try:
        svc.waiting.leave(sid, param("queue"), outcome or "unknown")
        callback = False
        if outcome in ("leave", "queue-full"):
            case = svc.calls.get(sid).get("case", "")
            callback = svc.callbacks.confirm(
                sid, reason="queue_full" if outcome == "queue-full" else None, case=case,
                caller=request.form.get("From") or request.form.get("Caller"), line=line.number,
                language=language, queue=param("queue"))
    except redis.RedisError as error:
        # Never back into the queue from here: a full queue would bounce the caller forever.
        log.error("redis error recording queue result %r of %s: %s", outcome, sid, error)
        callback = False
    if outcome == "redirected" and sid:
        # Moved out of the queue for an engineer who took the offer: make sure they reach the engineer.
        offer = svc.offers.get(svc.calls.get(sid).get("offer", ""))
        if offer is not None and offer.call == sid and offer.state in ("accepted", "bridged"):
            response.redirect(url_for("voice.offer.join", offer=offer.id, line=line.number, lang=language,
                                      queue=offer.queue), method="POST")
            return twiml(response)
    if outcome in ENDED:
        # The caller spoke to an engineer, hung up, or another step took the call over.
        response.hangup()
        return twiml(response)
    if callback:
        say(response, voice, voice.text(prompts.CALLBACK_RECORDED, case=spaced_digits(case)))
    else:
        say(response, voice, voice.text(prompts.QUEUE_FAILED, portal=svc.settings.portal))
    response.hangup()
    return twiml(response)
