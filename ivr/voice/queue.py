"""Waiting in a language queue: what the caller hears, callbacks, and how the wait ends."""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from ivr.adapters.calls.waiting import HoldView, parse_queue_entry
from workers import alert
from workers.queues import CALLBACKS
from routing.dispatch import expected_wait

from .numbers import callable_number, national_number

from . import prompts
from .speech import spaced_digits
from .twiml import current_language, current_line, number_param, param, rehearsal, say, services, speaker, twiml

bp = Blueprint("queue", __name__)
log = logging.getLogger(__name__)

ENDED = ("bridged", "hangup", "redirected")
"""QueueResult values after which the call is over: the caller must not be queued again."""

CALLBACK_KEY = "1"
"""The key a waiting caller presses to leave a callback request instead of holding, and to confirm its number."""

MANAGER_KEY = "9"
"""The key a waiting caller presses to ask for the duty manager (offered when alerts are configured)."""

CALLBACK_OFFER_EVERY = 3
"""The callback is offered at the first announcement and every third after it (and at every one past the
longest wait): a caller who chose to hold is not asked again each minute."""

MAX_TYPED_DIGITS = 15
"""The most digits a keyed-in callback number may have (E.164's limit)."""


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
    long_wait = waited >= settings.max_wait
    if long_wait:
        # Past the limit the caller is offered a callback with their place kept, or holds on: never pushed out.
        say(response, voice, voice.text(prompts.LONG_WAIT))
    # A rehearsal is never heard from, so no dispatcher offers it to an engineer (the sweep removes it if left).
    view = _hold(param("CallSid"), param("queue"), line.number)
    announcement = view.announcement if view else 1
    ahead = view.ahead if view and view.ahead is not None else number_param("QueuePosition", 1, 1, 10**6) - 1
    minutes = expected_wait(view.average, view.samples, ahead, view.on_shift) if view else None
    with response.gather(num_digits=1, timeout=1, action=url_for("voice.queue.key", **common), method="POST") as gather:
        if ahead == 0:
            say(gather, voice, voice.text(prompts.QUEUE_NEXT))
        else:
            say(gather, voice, voice.plural(prompts.QUEUE_AHEAD, ahead))
        if minutes is not None:
            say(gather, voice, voice.plural(prompts.EXPECTED_WAIT, minutes))
        if long_wait or announcement % CALLBACK_OFFER_EVERY == 1:
            say(gather, voice, voice.text(prompts.OFFER_CALLBACK, key=CALLBACK_KEY))
        if settings.alerts_webhook or settings.alerts_sms:  # only when someone can be told
            say(gather, voice, voice.text(prompts.OFFER_MANAGER, key=MANAGER_KEY))
        gather.play(settings.hold_music or url_for("audio.hold_audio", _external=True))
    return twiml(response)


def _hold(sid: str, queue: str, line: str) -> HoldView | None:
    """Note that the call is still holding, and its QueueSid, and read what it is told; the first time, wake
    the dispatcher for it.

    A rehearsal is never noted (no dispatcher offers it; the sweep removes it if left), and a failing
    Redis gives None: the caller then hears Twilio's own position, with no expected wait.
    """
    svc = services()
    try:
        if rehearsal():
            return svc.waiting.hold(sid, queue, "", line, note=False)
        # Twilio's QueueTime tells a retried request (the same announcement again) from the next one.
        view = svc.waiting.hold(sid, queue, request.form.get("QueueSid", ""), line,
                                queue_time=request.form.get("QueueTime", "")[:20])
        if view.announcement == 1:
            svc.offers.wake()
        return view
    except redis.RedisError as error:
        # Holding goes on; the sweep sweeps a call never heard from, so the next request must land.
        log.error("redis error noting that %s is holding: %s", sid, error)
        return None


@bp.post("/voice/queue-key")
def key():
    """Take a key pressed while waiting: 1 starts a callback request (the number to call, then a confirmation),
    anything else keeps waiting."""
    line, language, common = _common()
    response = VoiceResponse()
    if request.form.get("Digits") == MANAGER_KEY:
        return twiml(_ask_for_manager(response, line, language, common))
    if request.form.get("Digits") != CALLBACK_KEY:
        response.redirect(url_for("voice.queue.wait", **common), method="POST")
        return twiml(response)
    sid = param("CallSid")
    state = services().calls.get(sid)
    number = state.get("callback_typed") or callable_number(request.form.get("From", ""))
    if number:
        return twiml(_confirm_number(response, line, language, common, sid, number))
    # Caller ID withheld: they may key in one number in the line's country.
    voice = speaker(line, language)
    with response.gather(input="dtmf", finish_on_key="#", num_digits=MAX_TYPED_DIGITS, timeout=10,
                         action=url_for("voice.queue.number", **common), method="POST") as gather:
        say(gather, voice, voice.text(prompts.CALLBACK_ENTER_NUMBER))
    response.redirect(url_for("voice.queue.wait", **common), method="POST")
    return twiml(response)


def _ask_for_manager(response: VoiceResponse, line, language: str, common: dict) -> VoiceResponse:
    """Have a worker tell the duty manager about this caller (once per call); the caller keeps holding."""
    svc = services()
    settings = svc.settings
    sid = param("CallSid")
    state = svc.calls.get(sid)
    case = state.get("case", "")
    if case and (settings.alerts_webhook or settings.alerts_sms):
        if rehearsal():
            log.info("rehearsal call %s: the duty manager is not told", sid)
        elif svc.calls.update_once(sid, "manager_requested"):
            details = {"queue": param("queue"), "caller": request.form.get("From", ""), "line": line.number,
                       "language": language, "sid": sid}
            svc.jobs.once(alert, "manager_requested", case, f"manager:{sid}", details, job_id=f"manager-{sid}",
                          queue=CALLBACKS, result_ttl=3600)
        voice = speaker(line, language)
        say(response, voice, voice.text(prompts.MANAGER_REQUESTED, case=spaced_digits(case)))
    response.redirect(url_for("voice.queue.wait", **common), method="POST")
    return response


@bp.post("/voice/queue-number")
def number():
    """Read a callback number keyed in by a caller whose caller ID is withheld: one per call, in the line's country."""
    line, language, common = _common()
    voice = speaker(line, language)
    response = VoiceResponse()
    sid = param("CallSid")
    typed = national_number(request.form.get("Digits", ""), line.number)
    if typed is None:
        say(response, voice, voice.text(prompts.CALLBACK_NUMBER_INVALID))
        response.redirect(url_for("voice.queue.wait", **common), method="POST")
        return twiml(response)
    services().calls.update(sid, callback_typed=typed)
    return twiml(_confirm_number(response, line, language, common, sid, typed))


def _confirm_number(response: VoiceResponse, line, language: str, common: dict, sid: str, number: str):
    """Read the number back and ask for the key that confirms it; silence or another key keeps the caller holding."""
    voice = speaker(line, language)
    services().callbacks.propose(sid, number)
    with response.gather(num_digits=1, timeout=6, action=url_for("voice.queue.confirm", **common),
                         method="POST") as gather:
        say(gather, voice, voice.text(prompts.CALLBACK_CONFIRM_NUMBER, number=spaced_digits(number),
                                      key=CALLBACK_KEY))
    response.redirect(url_for("voice.queue.wait", **common), method="POST")
    return response


@bp.post("/voice/queue-confirm")
def confirm():
    """Leave the queue with a callback request once the caller confirmed the number; otherwise keep holding.

    The request takes effect with the queue result that follows the <Leave>, so a caller who is
    told to keep holding (Redis failed here) is never also called back.
    """
    line, language, common = _common()
    response = VoiceResponse()
    sid = param("CallSid")
    proposed = services().calls.get(sid).get("callback_proposed", "")
    if request.form.get("Digits") == CALLBACK_KEY and proposed:
        services().callbacks.ask(sid, "caller", proposed)
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
    state: dict[str, str] = {}
    callback = False
    try:
        svc.waiting.leave(sid, param("queue"), outcome or "unknown")
        if outcome in ("leave", "queue-full"):
            state = svc.calls.get(sid)
            callback = _pending_callback(svc, sid, state, line, language, outcome)
            state = svc.calls.get(sid) if callback else state
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
        case = state.get("case", "")
        number = spaced_digits(state.get("callback_number") or state.get("callback_proposed", ""))
        if not case:  # never a sentence with an empty case number
            text = voice.text(prompts.CALLBACK_CONFIRMED_NO_CASE, number=number)
        elif outcome == "queue-full":
            text = voice.text(prompts.QUEUE_FULL_CALLBACK, case=spaced_digits(case), number=number)
        else:
            text = voice.text(prompts.CALLBACK_CONFIRMED, case=spaced_digits(case), number=number)
        say(response, voice, text)
    else:
        say(response, voice, voice.text(prompts.QUEUE_FAILED, portal=svc.settings.portal))
    response.hangup()
    return twiml(response)


def _pending_callback(svc, sid: str, state: dict[str, str], line, language: str, outcome: str) -> bool:
    """Make the caller's request (or a full queue's) a pending callback with the deadline they had; say whether."""
    # The queue the caller waited in, or the one routing gave them should their engineer not answer.
    decision = parse_queue_entry(state.get("waiting")) or parse_queue_entry(state.get("fallback"))
    if decision is None:  # queued by the fail-safe answer: no case and no deadline to keep a place with
        return False
    caller = request.form.get("From") or request.form.get("Caller") or ""
    if rehearsal():
        log.info("rehearsal call %s: its callback request is not recorded", sid)
        return True
    return svc.callbacks.confirm(
        sid, queue=decision.queue, deadline_ts=decision.deadline.timestamp(),
        reason="queue_full" if outcome == "queue-full" else None, number=callable_number(caller) or "", caller=caller,
        case=decision.case, line=line.number, language=language, plan=decision.plan,
        severity=decision.severity, deadline=decision.deadline.isoformat(), joined=state.get("joined", ""))
