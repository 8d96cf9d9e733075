"""The call's first step: which line was called and which language the caller wants."""
from __future__ import annotations

import logging

from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from routing.lines import normalize_number

from . import prompts
from .twiml import (GATHER_TIMEOUT, MENU_ATTEMPTS, Answer, ask_case, current_line, guess_key, number_param, param,
                    say, services, speaker, twiml)

bp = Blueprint("language", __name__)
log = logging.getLogger(__name__)


def menu(response: VoiceResponse, line, attempt: int) -> VoiceResponse:
    """Offer the line's languages in menu order, each option in its own language and voice."""
    action = url_for("voice.language.choose", line=line.number, attempt=attempt)
    with response.gather(num_digits=1, timeout=GATHER_TIMEOUT, action=action, method="POST") as gather:
        for key, lang in enumerate(line.languages, start=1):
            voice = speaker(line, lang)
            say(gather, voice, voice.text(prompts.LANGUAGE_OPTION, key=key))
    response.redirect(url_for("voice.language.choose", line=line.number, attempt=attempt, silent=1), method="POST")
    return response


def greeting(line) -> str:
    """Return the welcome naming the company and the line: partners are greeted as partners."""
    voice = speaker(line, line.first_language)
    if line.audience == "partner":
        msgid = prompts.WELCOME_PARTNER
    else:
        msgid = prompts.WELCOME_REGION.get(line.region, prompts.WELCOME)
    return voice.text(msgid, company=services().settings.company)


@bp.post("/voice/incoming")
def incoming():
    """Answer a new call: welcome, then the language menu (or the case prompt on one-language lines)."""
    line = current_line()
    called = request.form.get("To", "")
    svc = services()
    caller, limit = guess_key(request.form.get("From"))
    tried = svc.calls.arrive(param("CallSid"), caller, svc.settings.guess_window, line=line.number,
                             caller=request.form.get("From", ""), called=called)
    if normalize_number(called) not in svc.settings.lines and not param("line"):
        # Answered all the same, on the default line; but a number nobody configured must be noticed.
        count = svc.calls.unconfigured(normalize_number(called) or "(none)")
        log.warning("call %s to %r, which has no line configured: answered on the default line %s "
                    "(%d call(s) to it so far; see `ivr lines`)", param("CallSid"), called, line.number, count)
    response = VoiceResponse()
    if tried >= limit:
        # Guessing case numbers from this phone: told why in each of the line's languages, and no lookup at all.
        log.warning("call %s: %d failed case-number tries from this number lately: ended at the greeting",
                    param("CallSid"), tried)
        svc.calls.decide(param("CallSid"), decision="refused", reason="too_many_tries", case="")
        for lang in line.languages:
            voice = speaker(line, lang)
            say(response, voice, voice.text(prompts.TOO_MANY_TRIES, portal=svc.settings.portal))
        response.hangup()
        return twiml(Answer(response, "refused:too_many_tries"))
    first = speaker(line, line.first_language)
    say(response, first, greeting(line))
    if len(line.languages) == 1:
        return twiml(ask_case(response, line, line.first_language, attempt=1))
    return twiml(menu(response, line, attempt=1))


@bp.post("/voice/language")
def choose():
    """Take the menu key: a valid one picks the language. A wrong key (said in every language of the menu) or
    silence plays the menu once more; after that the call goes on in the line's first language, saying so."""
    line = current_line()
    attempt = number_param("attempt", 1, 1, MENU_ATTEMPTS)
    digits = request.form.get("Digits", "") if not param("silent") else ""
    keys = {str(key): lang for key, lang in enumerate(line.languages, start=1)}
    response = VoiceResponse()
    if digits in keys:
        language = keys[digits]
    elif attempt < MENU_ATTEMPTS:
        if digits:
            # Whoever pressed it may not understand the first language: each hears it in their own.
            for lang in line.languages:
                voice = speaker(line, lang)
                say(response, voice, voice.text(prompts.LANGUAGE_NOT_OFFERED))
        return twiml(menu(response, line, attempt + 1))
    else:
        language = line.first_language
        voice = speaker(line, language)
        say(response, voice, voice.text(prompts.CONTINUING_IN_LANGUAGE))
    services().calls.update(param("CallSid"), event="language", language=language)
    return twiml(ask_case(response, line, language, attempt=1))
