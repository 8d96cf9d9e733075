"""The staff console: engineers sign in, set their presence, watch their queues and take calls.

Under `/console/`, beside the webhooks and sharing nothing of theirs: no Twilio signature
check, no TwiML fail-safe. Every page and API answers only a signed-in session (pages redirect
to the sign-in form, `/console/api/*` answers 401 JSON); every POST carries the session's CSRF
token (a form field, or the `X-CSRF-Token` header for `fetch`); errors are HTML pages or JSON,
never TwiML. Without `IVR_SECRET_KEY` the console is off (503) and the webhooks still work.
Static files (the stylesheet, the scripts, the vendored Voice SDK) hold no data and are public.

A session ends `SESSION_LIFETIME` after its sign-in, however busy (an absolute limit, checked
against the time of sign-in kept in the signed cookie), and at once when the engineer's password
changes or they leave the directory or are made inactive. There is no idle limit: the open page
polls `/console/api/desk` every 2 s, so a limit reset by any request would never fire, and an
engineer waiting for a call is not idle. Signing out clears the browser's cookie; a copy of the
cookie taken earlier stays valid until the lifetime ends or the password changes.

Every response under `/console/` (errors, redirects, static files and refusals made before Flask
reads the request included) carries `SECURITY_HEADERS`; all but the static files are `no-store`.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import time
from datetime import timedelta

import redis
from flask import (Blueprint, Flask, Response, current_app, g, jsonify, make_response, redirect, render_template,
                   request, session, url_for)
from werkzeug.exceptions import HTTPException, ServiceUnavailable, Unauthorized

from ivr.adapters.directory.staff_accounts import StaffAccounts
from ivr.config import Settings

from .headers import SecurityHeaders

log = logging.getLogger(__name__)

MIN_SECRET_KEY = 32
"""Characters IVR_SECRET_KEY needs at least: it signs every session, so it must not be guessable."""

SESSION_LIFETIME = timedelta(hours=12)
"""How long a sign-in lasts, however active the page (it polls): a shift, then sign in again.
Absolute, counted from the sign-in; there is no idle limit (see the module's docstring)."""

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
PUBLIC_ENDPOINTS = frozenset({"console.auth.sign_in", "console.static"})
"""Endpoints that answer without a session: the sign-in form and the files the pages load."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    # The Voice SDK signals over wss to Twilio, reports call quality over https and plays its ring tones.
    "connect-src 'self' wss://*.twilio.com https://*.twilio.com",
    "media-src 'self' blob: https://*.twilio.com",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
))
"""No inline script or style and nothing from elsewhere except Twilio's voice endpoints."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP 2
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # the pages and their JSON show callers' cases and accounts
}
"""Sent with every console response; Cache-Control is left as Flask sets it for the static files."""

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")


def init_app(app: Flask, settings: Settings) -> None:
    """Configure the console's session cookie and secret, and register its blueprints."""
    key = app.config.get("IVR_SECRET_KEY") or ""
    if len(key) >= MIN_SECRET_KEY:
        app.secret_key = key
    else:
        log.info("the staff console is off: %s", secret_key_problem(key))
    app.config.update(
        SESSION_COOKIE_NAME="ivr_console",
        SESSION_COOKIE_PATH="/console",  # never sent with a webhook
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.register_blueprint(bp)
    app.wsgi_app = SecurityHeaders(app.wsgi_app, bp.url_prefix, SECURITY_HEADERS,
                                   cacheable=(f"{bp.url_prefix}{bp.static_url_path}/",))


def now() -> float:
    """Return the time sessions are aged by, in seconds since the epoch (tests move it)."""
    return time.time()


def secret_key_problem(key: str) -> str:
    if not key:
        return "IVR_SECRET_KEY is not set (`ivr serve --demo` makes one)"
    return f"IVR_SECRET_KEY is too short ({len(key)} characters; at least {MIN_SECRET_KEY})"


def accounts() -> StaffAccounts:
    return current_app.extensions["ivr"].accounts


def wants_json() -> bool:
    """Tell whether this request is one of the console's JSON API calls."""
    return request.blueprint == "console.api" or request.path.startswith("/console/api/")


def csrf_token() -> str:
    """Return this session's CSRF token, making one for a new session."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def start_session(engineer: str) -> None:
    """Begin a signed-in session: a fresh cookie and a fresh CSRF token, nothing kept from before."""
    session.clear()
    session.permanent = True
    session.update(engineer=engineer, since=int(now()), pw=accounts().fingerprint(engineer),
                   csrf=secrets.token_urlsafe(32))


def end_session() -> None:
    session.clear()


@bp.app_context_processor
def _template_helpers():
    return {"csrf_token": csrf_token, "csrf_field": CSRF_FIELD}


@bp.before_request
def guard():
    """Refuse everything while the console is off, then check the session and the CSRF token."""
    if not current_app.secret_key:
        problem = secret_key_problem(current_app.config.get("IVR_SECRET_KEY") or "")
        raise ServiceUnavailable(f"The staff console is off: {problem}.")
    if request.endpoint not in PUBLIC_ENDPOINTS:
        g.engineer = _signed_in()
        if g.engineer is None:
            if wants_json():
                raise Unauthorized("Sign in first.")
            return redirect(url_for("console.auth.sign_in"))
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
        expected = session.get("csrf") or ""
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return _error(400, "This form has expired or did not come from the console: reload the page and try again.")
    return None


def _signed_in():
    """Return the signed-in engineer's directory record, or None (clearing a session that no longer holds)."""
    ident = session.get("engineer")
    if not ident:
        return None
    since = session.get("since")
    if not isinstance(since, int) or now() - since > SESSION_LIFETIME.total_seconds():
        end_session()
        return None
    services = current_app.extensions["ivr"]
    engineer = services.store.engineer(ident)
    # A new password, or an engineer gone from the directory or made inactive, ends the session.
    if engineer is None or not engineer.active or session.get("pw") != accounts().fingerprint(ident):
        end_session()
        return None
    return engineer


def _error(code: int, message: str) -> Response:
    """Answer an error as JSON for the API, as a page otherwise."""
    if wants_json():
        response = jsonify(error=message)
    else:
        response = make_response(render_template("console/error.html", code=code, message=message))
    response.status_code = code
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    response = _error(error.code or 500, error.description or error.name)
    if error.code == 429 and getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@bp.errorhandler(redis.RedisError)
def _redis_error(error):
    log.error("redis error on %s: %s", request.path, error)
    return _error(503, "The console cannot reach its database just now; it will try again.")


@bp.errorhandler(Exception)
def _unexpected(error):
    if current_app.config.get("STRICT"):
        raise error
    log.exception("unexpected error on %s", request.path)
    return _error(500, "Something went wrong on the server; it has been logged.")


# The pages and the API, registered once at import (a blueprint's setup is closed once an app has it).
from . import api, auth, desk  # noqa: E402 - they use the helpers above

for _child in (auth.bp, desk.bp, api.bp):
    bp.register_blueprint(_child)
