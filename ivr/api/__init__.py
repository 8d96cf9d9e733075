"""The case system's JSON API (`/api/`): single directory records put and deleted as it changes them.

Beside the webhooks and the console, sharing nothing of theirs: no Twilio signature check, no
TwiML fail-safe, no session. Every request carries `Authorization: Bearer <IVR_API_TOKEN>`,
compared in constant time; without a usable token (unset, or shorter than `MIN_TOKEN`) the API is
off and answers 503 naming IVR_API_TOKEN, while the webhooks work as ever. Every answer, errors
included, is JSON and carries `SECURITY_HEADERS` (never cached, framed or sniffed; set by the
console's header middleware, the one thing shared); a path or method no view takes is a 401 before
the token, as everything else is. Redis is reached on a client of the API's own, so a slow request
here never spends a webhook's budget or opens the webhooks' circuit breaker.
"""
from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ivr.adapters.directory.store import Store, connect
from ivr.config import Settings
from ivr.console.headers import SecurityHeaders

log = logging.getLogger(__name__)

MIN_TOKEN = 32
"""Characters IVR_API_TOKEN needs at least, as IVR_SECRET_KEY does: it lets its holder rewrite the directory."""

REDIS_TIMEOUT = 5.0
"""Seconds an API request waits on each Redis command: deleting an account or engineer reads every case."""

REALM = "ivr-directory"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",  # JSON: nothing to load or frame
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""On every response under /api/, set around the whole app: 404s, 405s and 413s included."""

bp = Blueprint("api", __name__, url_prefix="/api")


@dataclass
class DirectoryApi:
    """What the API needs, built once per process: its token, its store, the configured regions."""

    token: bytes | None
    problem: str | None
    """Why the API is off (no usable token), or None."""
    store: Store
    regions: tuple[str, ...]

    def close(self) -> None:
        self.store.redis.close()


def token_problem(token: str) -> str | None:
    """Say what makes an API token unusable, or None when it is fine."""
    if not token:
        return "IVR_API_TOKEN is not set"
    if len(token) < MIN_TOKEN:
        return f"IVR_API_TOKEN is too short ({len(token)} characters; at least {MIN_TOKEN})"
    if not all("!" <= char <= "~" for char in token):
        return "IVR_API_TOKEN must be printable ASCII without spaces (it travels in an HTTP header)"
    return None


def init_app(app: Flask, settings: Settings) -> None:
    """Read IVR_API_TOKEN, give the API its own Redis client (connected on first use) and register it."""
    token = app.config.get("IVR_API_TOKEN") or ""
    problem = token_problem(token)
    if problem and token:
        log.warning("the directory API is off: %s", problem)
    elif problem:
        log.info("the directory API is off: %s", problem)
    store = Store(connect(app.config["REDIS_URL"], REDIS_TIMEOUT))
    app.extensions["ivr_api"] = DirectoryApi(None if problem else token.encode(), problem, store,
                                             tuple(settings.regions))
    app.register_blueprint(bp)
    app.wsgi_app = SecurityHeaders(app.wsgi_app, bp.url_prefix, SECURITY_HEADERS)


def api() -> DirectoryApi:
    return current_app.extensions["ivr_api"]


def error(code: int, message: str, **extra) -> Response:
    response = jsonify(error=message, **extra)
    response.status_code = code
    return response


def _unauthorized(message: str, problem: str | None = None) -> Response:
    response = error(401, message)
    challenge = f'Bearer realm="{REALM}"'
    if problem:
        challenge += f', error="{problem}"'
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.before_request
def authenticate():
    """Refuse everything while the API is off, then anything without the right bearer token."""
    state = api()
    if state.token is None:
        return error(503, f"The directory API is off: {state.problem}.")
    scheme, _, sent = request.headers.get("Authorization", "").strip().partition(" ")
    sent = sent.strip()
    if scheme.lower() != "bearer" or not sent:
        return _unauthorized("Send the header Authorization: Bearer <IVR_API_TOKEN>.")
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), state.token):
        return _unauthorized("The bearer token is not IVR_API_TOKEN.", "invalid_token")
    return None


def _as_json(failure: HTTPException) -> Response:
    response = error(failure.code or 500, failure.description or failure.name)
    for name, value in failure.get_headers():
        if name.lower() != "content-type":  # e.g. Allow with a 405
            response.headers[name] = value
    return response


@bp.errorhandler(HTTPException)
def _http_error(failure: HTTPException):
    return _as_json(failure)


@bp.app_errorhandler(HTTPException)
def _outside_any_blueprint(failure: HTTPException):
    """A path under /api/ that no view takes (404), or a method none takes (405): JSON too, and only
    for the token's holder (401 before it, as for every other request: nothing is told about paths).

    Registered on the app by class, so a blueprint's own handlers (the webhooks', the console's)
    still come first for errors raised in their views; any other path gets the error as it was.
    """
    if request.path == "/api" or request.path.startswith("/api/"):
        return authenticate() or _as_json(failure)
    return failure


@bp.errorhandler(redis.RedisError)
def _redis_error(failure):
    log.error("redis error on %s: %s", request.path, failure)
    response = error(503, "The directory's database did not answer; the change may not have been made. "
                          "Try again: a PUT or DELETE may be repeated.")
    response.headers["Retry-After"] = "1"
    return response


@bp.errorhandler(Exception)
def _unexpected(failure):
    if current_app.config.get("STRICT"):
        raise failure
    log.exception("unexpected error on %s", request.path)
    return error(500, "Something went wrong on the server; it has been logged.")


# The views, registered once at import (a blueprint's setup is closed once an app has it).
from . import directory  # noqa: E402 - it uses the helpers above

bp.register_blueprint(directory.bp)
