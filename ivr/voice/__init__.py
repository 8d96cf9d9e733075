"""The call's webhooks, under one parent blueprint.

Every request is checked before any view runs (Twilio's signature, then the fields Twilio
always sends), spends one Redis time budget, and gets an answer valid at its step when anything
fails: a caller is never left with Twilio's "application error". Nothing outside `/voice/`
(health, media, later the console and the API) inherits any of it.
"""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import HTTPException

from ivr.adapters import keys
from ivr.adapters.server.breaker import end_budget, start_budget

from . import case, dial, language, offer, queue, status
from .failsafe import failsafe
from .security import check_request

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__)
for _stage in (language, case, dial, queue, status, offer):
    bp.register_blueprint(_stage.bp)


@bp.before_request
def checked():
    check_request()
    g.budget = start_budget()
    _remember_public_url()


_noted_url: str | None = None


def _remember_public_url() -> None:
    """Keep the base URL Twilio reaches us at, for the URLs dispatch gives Twilio (unless `public_url` is set)."""
    global _noted_url
    base = request.url_root.rstrip("/")
    if base == _noted_url or current_app.extensions["ivr"].settings.public_url:
        return
    try:
        current_app.extensions["ivr"].redis.set(keys.PUBLIC_URL, base)
        _noted_url = base
    except redis.RedisError as error:  # the call goes on; the next request tries again
        log.warning("could not record the public URL: %s", error)


@bp.teardown_request
def budget_spent(_error=None):
    if "budget" in g:
        end_budget(g.pop("budget"))


@bp.errorhandler(redis.RedisError)
def redis_trouble(error):
    """Keep the caller moving when Redis fails, with what is valid at this step."""
    log.error("redis error on %s: %s", request.path, error)
    return failsafe(request.path)


@bp.errorhandler(Exception)
def unexpected(error):
    """Never give Twilio a 5xx for a caller: log the fault and answer with the step's fail-safe."""
    if isinstance(error, HTTPException):
        return error
    if current_app.config.get("STRICT"):
        raise error
    log.exception("unexpected error on %s", request.path)
    return failsafe(request.path)
