"""Alerts to the duty manager (an SLA breach, a caller asking for them) and the portal link by SMS.

Each channel is delivered once per alert: a retried job skips what already went out.
"""
from __future__ import annotations

import json
import logging
import os

from .context import context, rest

log = logging.getLogger(__name__)

SENT_FOR = 30 * 86400
"""Seconds a delivered alert is remembered, so a retried job never sends it twice."""

TEXTS = {
    "sla_breach": "Support SLA breached: {kind} for case {case} in {queue} passed its deadline {deadline}.",
    "manager_requested": "A caller asks for the duty manager: case {case} in {queue}, calling from {caller}.",
    "guess_surge": "Many wrong case numbers on line {line}: {count} in the last {minutes} minutes. Someone may be "
                   "guessing case numbers; callers past their limit are refused one by one.",
}
"""What the duty manager's SMS says; operator-facing, in English like the logs."""


def alert(kind: str, case: str, key: str, details: dict) -> dict:
    """Tell the duty manager (signed JSON to `alerts.webhook`, SMS to `alerts.sms`) and write it on the case."""
    from ivr.adapters import keys
    from ivr.adapters.outbound.signed_post import post_signed
    from ivr.services.case_events import publish

    ctx = context()
    services, settings = ctx.services, ctx.services.settings
    body = json.dumps({"type": kind, "case": case, "id": key, **details}, separators=(",", ":"), sort_keys=True)
    done = {}
    if settings.alerts_webhook and not services.redis.exists(keys.alert_sent(key, "webhook")):
        secret = os.environ.get("IVR_API_TOKEN", "")
        if not secret:
            raise RuntimeError("IVR_API_TOKEN must be set to sign the alerts sent to alerts.webhook")
        post_signed(settings.alerts_webhook, body, secret)  # raises: retried, this channel first again
        services.redis.set(keys.alert_sent(key, "webhook"), "1", ex=SENT_FOR)
        done["webhook"] = True
    if settings.alerts_sms and not services.redis.exists(keys.alert_sent(key, "sms")):
        line = settings.lines.get(details.get("line", ""), settings.default_line)
        text = TEXTS[kind].format(case=case or "-", **{k: details.get(k, "-") for k in ("kind", "queue", "deadline",
                                                                                          "caller", "line", "count",
                                                                                          "minutes")})
        rest().messages.create(to=settings.alerts_sms, from_=line.number, body=text)
        services.redis.set(keys.alert_sent(key, "sms"), "1", ex=SENT_FOR)
        done["sms"] = True
    if case:
        publish(services, kind, case, key, alert=details)
    return done


NEEDS_A_CASE = frozenset({"case_not_found", "no_case_number", "no_case", ""})
"""Refusals whose way on is a new case on the portal (and an unknown reason: the portal is where it starts)."""


def send_portal_link(to: str, line_number: str, language: str, case: str, reason: str) -> str:
    """Text the customer portal's address to the number that called (a refused caller who asked for it); once per
    job, however often RQ runs it."""
    from rq import get_current_job
    from twilio.base.exceptions import TwilioRestException

    from ivr.adapters import keys
    from ivr.voice import prompts

    ctx = context()
    job = get_current_job()
    # A job run again (retried, or its worker died after sending) must not text the customer twice.
    sent = keys.alert_sent(f"portal-link:{job.id}", "sms") if job is not None else None
    if sent and ctx.services.redis.exists(sent):
        return "sent"
    settings = ctx.services.settings
    line = settings.lines.get(line_number, settings.default_line)
    language = language if language in line.languages else line.first_language
    speaker = ctx.catalogs.speaker(line.region, language)
    if reason == "case_closed" and case:
        body = speaker.text(prompts.PORTAL_SMS_CLOSED_CASE, case=case, portal=settings.portal)
    elif reason == "maintenance_expired":
        body = speaker.text(prompts.PORTAL_SMS_RENEWAL, renewals=settings.renewals, portal=settings.portal)
    elif reason in NEEDS_A_CASE:
        body = speaker.text(prompts.PORTAL_SMS_NEW_CASE, portal=settings.portal)
    else:
        body = speaker.text(prompts.PORTAL_SMS_PORTAL, portal=settings.portal)
    try:
        message = rest().messages.create(to=to, from_=line.number, body=body)
    except TwilioRestException as error:
        if 400 <= error.status < 500 and error.status != 429:
            log.warning("the portal link could not be texted (Twilio answered %s): not retried", error.status)
            return "refused"
        raise
    if sent:
        ctx.services.redis.set(sent, message.sid, ex=SENT_FOR)
    return message.sid
