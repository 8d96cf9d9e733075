"""The call's first step: which line was called and which language the caller wants."""
from __future__ import annotations

from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from . import prompts
from .twiml import (GATHER_TIMEOUT, MENU_ATTEMPTS, ask_case, current_line, number_param, param, say, services,
                    speaker, twiml)

bp = Blueprint("language", __name__)


def menu(response: VoiceResponse, line, attempt: int) -> VoiceResponse:
    """Offer the line's languages in menu order, each option in its own language and voice."""
    action = url_for("voice.language.choose", line=line.number, attempt=attempt)
    with response.gather(num_digits=1, timeout=GATHER_TIMEOUT, action=action, method="POST") as gather:
        for key, lang in enumerate(line.languages, start=1):
            voice = speaker(line, lang)
            say(gather, voice, voice.text(prompts.LANGUAGE_OPTION, key=key))
    response.redirect(url_for("voice.language.choose", line=line.number, attempt=attempt, silent=1), method="POST")
    return response


@bp.post("/voice/incoming")
def incoming():
    """Answer a new call: welcome, then the language menu (or the case prompt on one-language lines)."""
    line = current_line()
    services().calls.update(param("CallSid"), event="incoming", line=line.number,
                            caller=request.form.get("From", ""), called=request.form.get("To", ""))
    response = VoiceResponse()
    first = speaker(line, line.first_language)
    say(response, first, first.text(prompts.WELCOME))
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
