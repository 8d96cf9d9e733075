"""Turning routing decisions into TwiML with twilio-python, in the caller's language."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response, current_app, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from routing import DialEngineer, Enqueue, Line, Refused
from routing.guessing import guess_allowance

from . import prompts
from .numbers import callable_number
from .speech import Speaker, spaced_digits
from .spoken_numbers import SPEECH_HINTS

CALLBACK_LATER_KEY = "1"
"""The key a caller refused outside hours presses for a callback when phones open."""

REPEAT_KEY = "*"
"""The key a refused caller presses to hear the refusal again."""

REFUSAL_REPEATS = 2
"""Times a refusal may be heard again: enough to write the portal's address down, never a loop."""

NO_CASE_KEY = "*"
"""The key a caller without a case number presses at the case prompt to hear what to do instead."""

CONFIRM_KEYS = {"1": True, "2": False}
"""Keys answering the read-back of a spoken case number: 1 yes, 2 no."""

def guess_key(caller: str | None) -> tuple[str, int]:
    """Return whose failed case-number tries a call counts against, and the limit for them (`routing.guessing`)."""
    return guess_allowance(callable_number(caller or ""), services().settings.guess_limit)


CASE_ATTEMPTS = 3
"""Tries a caller gets to give a case number before being told how to open one."""

MENU_ATTEMPTS = 2
"""Times the language menu is played before the line's first language is chosen."""

GATHER_TIMEOUT = 6
"""Seconds of silence before a menu or case number counts as no input."""


def services():
    return current_app.extensions["ivr"]


OUTCOME_HEADER = "X-Ivr-Outcome"
"""Where the call went, for `ivr call` and logs: `refused:<reason>`, `engineer:<id>`, `queue:<name>`."""


@dataclass(frozen=True)
class Answer:
    """TwiML for Twilio and, for `ivr call` and the logs, where the call went."""

    response: VoiceResponse
    outcome: str | None = None
    """`refused:<reason>`, `engineer:<id>` or `queue:<name>`."""


def twiml(answer: VoiceResponse | Answer) -> Response:
    """Return the HTTP reply for TwiML, with the call's outcome in a header when there is one."""
    if isinstance(answer, VoiceResponse):
        answer = Answer(answer)
    reply = Response(str(answer.response), mimetype="text/xml")
    if answer.outcome:
        # Percent-encoded: an HTTP header carries Latin-1 at best, and no line breaks at all.
        reply.headers[OUTCOME_HEADER] = quote(answer.outcome, safe=":@")
    return reply


REHEARSAL_FIELD = "IvrRehearsal"
"""The signed form field `ivr call --url` sets (Twilio never does): a rehearsal call is answered as any call,
but is never offered to an engineer, and leaves no callback, text message, alert or call record behind."""


def rehearsal() -> bool:
    """Tell whether this request belongs to a rehearsal call from `ivr call --url`."""
    return request.form.get(REHEARSAL_FIELD) == "1"


def param(name: str) -> str:
    """Return a webhook parameter from the signed URL or the form, never raising."""
    value = request.args.get(name)
    if value is None:
        value = request.form.get(name)
    return value or ""


def number_param(name: str, default: int, low: int, high: int) -> int:
    text = param(name)
    if not text.isascii() or not text.isdigit():
        return default
    significant = text.lstrip("0") or "0"
    if len(significant) > 18:  # int() refuses over 4300 digits; anything this long is past high
        return high
    return min(max(int(significant), low), high)


def current_line() -> Line:
    """Return the line of this call: the one named in our own URL, else the number called."""
    settings = services().settings
    named = param("line")
    if named in settings.lines:
        return settings.lines[named]
    return settings.line_for(request.form.get("To"))


def current_language(line: Line) -> str:
    lang = param("lang")
    return lang if lang in line.languages else line.first_language


def speaker(line: Line, language: str) -> Speaker:
    return services().catalogs.speaker(line.region, language)


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry: one echoed from a request would make the whole TwiML unparseable."""


def xml_text(value: object) -> str:
    """Return a value as text XML can carry: every value that reaches TwiML passes through here."""
    return _NOT_XML.sub("", str(value))


def say(node, voice: Speaker, text: str) -> None:
    node.say(xml_text(text), voice=voice.voice.voice, language=voice.voice.say_language)


def case_digits(raw: str) -> str:
    """Return the digits a caller keyed or said (speech gives '0 7 1 2…' or '07123456.')."""
    return "".join(re.findall(r"[0-9]", raw.translate(_WIDE_DIGITS)))


_WIDE_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def case_gather(response: VoiceResponse, line: Line, language: str, attempt: int, text: str,
                silent: dict | None = None) -> VoiceResponse:
    """Listen for a case number, keyed or said, after a sentence; silence comes back as a counted attempt."""
    voice = speaker(line, language)
    action = url_for("voice.case.number", line=line.number, lang=language, attempt=attempt)
    # "*" is taken as a digit, not as finishOnKey: a finish key pressed first is not reported to the action.
    with response.gather(
        input="dtmf speech",
        num_digits=8,
        finish_on_key="#",
        timeout=GATHER_TIMEOUT,
        speech_timeout="auto",
        language=voice.voice.gather_language,
        hints=SPEECH_HINTS[language],
        action=action,
        method="POST",
    ) as gather:
        say(gather, voice, text)
    response.redirect(url_for("voice.case.number", line=line.number, lang=language, attempt=attempt, silent=1,
                              **(silent or {})), method="POST")
    return response


def ask_case(response: VoiceResponse, line: Line, language: str, attempt: int) -> VoiceResponse:
    """Ask for the case number: the first time with where to find it and what to do without one."""
    voice = speaker(line, language)
    return case_gather(response, line, language, attempt,
                       voice.text(prompts.ASK_CASE if attempt == 1 else prompts.ASK_CASE_AGAIN))


def _weekdays_only(hours) -> bool:
    return not hours.always and hours.weekdays == frozenset(range(5))


def refusal_sentences(voice: Speaker, decision: Refused, now: datetime) -> list[str]:
    """Return what a refused caller hears: why, and what to do instead (portal, e-mail, hours)."""
    settings = services().settings
    values = {"portal": settings.portal, "email": settings.email, "case": spaced_digits(decision.case or ""),
              "renewals": spoken_contact(settings.renewals)}
    if decision.reason != "outside_hours" or decision.next_open is None:
        return [voice.text(prompts.REFUSED.get(decision.reason, prompts.REFUSED["case_not_found"]), **values)]
    zone = ZoneInfo(decision.timezone) if decision.timezone else decision.next_open.tzinfo
    opening = decision.next_open.astimezone(zone)
    when = voice.when(opening, now.astimezone(zone))
    if decision.account_zone:
        sentences = [voice.text(prompts.REFUSED["outside_hours"], when=when)]
    else:
        # The line's zone is not necessarily the caller's: it is named, never called "your local time".
        sentences = [voice.text(prompts.OUTSIDE_HOURS_ZONE, when=when, city=voice.zone_city(str(zone)))]
    plan = settings.policy.plans.get(decision.plan or "")
    if plan is not None and _weekdays_only(plan.hours):
        sentences.append(voice.text(prompts.PLAN_HOURS_WEEKDAYS, opens=voice.clock(plan.hours.start),
                                    closes=voice.clock(plan.hours.end or time(0))))
    sentences.append(voice.text(prompts.PORTAL_ANY_TIME, **values))
    return sentences


def spoken_contact(contact: str) -> str:
    """Return an e-mail address as it is, a phone number digit by digit."""
    return spaced_digits(contact) if contact.lstrip("+").replace(" ", "").isdigit() else contact


def refusal_keys(decision: Refused, caller: str | None) -> dict[str, str]:
    """Return the refused caller's options by key: a callback at the opening, the portal by SMS."""
    options = {}
    if caller and decision.reason == "outside_hours" and decision.next_open and decision.case:
        options[CALLBACK_LATER_KEY] = "callback"
    if caller:
        options[str(len(options) + 1)] = "portal_link"
    return options


def refuse(response: VoiceResponse, line: Line, language: str, decision: Refused, now: datetime,
           repeats: int = 0) -> Answer:
    """Tell the caller why phone support is refused and what to do instead, offer the next steps, then hang up."""
    voice = speaker(line, language)
    for sentence in refusal_sentences(voice, decision, now):
        say(response, voice, sentence)
    options = refusal_keys(decision, callable_number(request.form.get("From", "")))
    if options or repeats < REFUSAL_REPEATS:
        action = url_for("voice.case.refusal", line=line.number, lang=language, reason=decision.reason,
                         repeats=repeats)
        with response.gather(num_digits=1, timeout=5, method="POST", action=action) as gather:
            for key, option in options.items():
                if option == "callback":
                    # Phones are closed: a callback when they open, to the number calling, rather than calling again.
                    say(gather, voice, voice.text(prompts.OUTSIDE_HOURS_CALLBACK_OFFER, key=key))
                else:
                    # The portal's address by SMS, to the number calling and nowhere else.
                    say(gather, voice, voice.text(prompts.PORTAL_SMS_OFFER, key=key))
            if repeats < REFUSAL_REPEATS:
                say(gather, voice, voice.text(prompts.REPEAT_OFFER))
    say(response, voice, voice.text(prompts.GOODBYE))
    response.hangup()
    return Answer(response, f"refused:{decision.reason}")


def enqueue(response: VoiceResponse, line: Line, language: str, decision: Enqueue,
            announce: bool = True) -> Answer:
    """Put the caller in their queue, telling them why when it overflowed."""
    voice = speaker(line, language)
    if decision.overflow_from:
        english = decision.queue.endswith("-en")
        say(response, voice, voice.text(prompts.OVERFLOW_TO_ENGLISH if english else prompts.OVERFLOW_OTHER))
    if announce:
        # A caller held for their busy engineer is told so: the next free engineer is not who takes it.
        held = decision.preferred and not decision.overflow_from
        say(response, voice, voice.text(prompts.HELD_FOR_ENGINEER if held else prompts.ENTERING_QUEUE))
    # No case number or deadline in our URLs: Twilio's logs and ours keep URLs; the call's state keeps the rest.
    common = {"line": line.number, "lang": language, "queue": decision.queue}
    response.enqueue(
        decision.queue,
        action=url_for("voice.queue.result", **common),
        method="POST",
        wait_url=url_for("voice.queue.wait", **common),
        wait_url_method="POST",
    )
    return Answer(response, f"queue:{decision.queue}")


def dial(response: VoiceResponse, line: Line, language: str, decision: DialEngineer, sid: str) -> Answer:
    """Ring the case's engineer with a whisper; the dial's action queues the caller if unanswered."""
    voice = speaker(line, language)
    say(response, voice, voice.text(prompts.CONNECTING_ENGINEER, engineer=decision.name))
    # The whisper and the action find the case in the call's state, by the caller's CallSid.
    whisper = url_for("voice.dial.whisper", line=line.number, lang=language, call=sid)
    action = url_for("voice.dial.result", line=line.number, lang=language)
    fallback = decision.fallback
    with response.dial(action=action, method="POST", timeout=services().settings.dial_timeout,
                       answer_on_bridge=True) as d:
        # Both at once when the engineer has both: whichever answers first takes the call.
        if decision.client:
            # The engineer's app shows these before answering; the whisper says them.
            with d.client(url=whisper, method="POST") as client:
                client.identity(xml_text(decision.client))
                for name, value in (("case", decision.case), ("plan", decision.plan),
                                    ("severity", decision.severity), ("language", language),
                                    ("queue", fallback.queue), ("deadline", fallback.deadline.isoformat())):
                    client.parameter(name=name, value=xml_text(value))
        if decision.phone:
            d.number(xml_text(decision.phone), url=whisper, method="POST")
    return Answer(response, f"engineer:{decision.engineer}")
