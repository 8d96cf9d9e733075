"""Twilio request signatures, checked with twilio-python, and trusted TLS-terminating proxies."""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxies:
    """Honour X-Forwarded-* headers only on requests from the configured proxy addresses.

    Twilio signs the public https URL; behind a proxy the app must rebuild that URL, but a
    caller reaching the app directly must not be able to choose it.
    """

    def __init__(self, wsgi_app, trusted: tuple[str, ...]):
        self.plain = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
        self.trusted = frozenset(trusted)

    def __call__(self, environ, start_response):
        if environ.get("REMOTE_ADDR") in self.trusted:
            return self.fixed(environ, start_response)
        return self.plain(environ, start_response)


def _urls() -> tuple[str, ...]:
    """Return the URL as Twilio requested and signed it, then Werkzeug's rebuilt one.

    `request.url` re-quotes the query string (`%3A` becomes `:`, `%C3%AB` becomes `ë`), so a
    signature over the URL in our own TwiML would not match it when a value needed quoting.
    """
    query = request.query_string.decode("latin-1")
    return request.base_url + ("?" + query if query else ""), request.url


def signed(view):
    """Refuse with 403 any request not signed with the account's auth token."""

    @wraps(view)
    def checked(*args, **kwargs):
        validator: RequestValidator = current_app.extensions["ivr"].validator
        signature = request.headers.get("X-Twilio-Signature", "")
        params = request.form.to_dict(flat=True) if request.method == "POST" else {}
        if not signature or not any(validator.validate(url, params, signature) for url in _urls()):
            abort(403)
        return view(*args, **kwargs)

    return checked
