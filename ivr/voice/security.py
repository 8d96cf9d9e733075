"""Twilio request signatures, checked with twilio-python, and trusted TLS-terminating proxies."""
from __future__ import annotations

import hmac
import ipaddress
import io
import re
from collections.abc import Iterator

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
        # Addresses and networks alike (settings checked them): an address is a /32 or /128.
        self.networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)

    def __call__(self, environ, start_response):
        if self.trusts(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.plain(environ, start_response)

    def trusts(self, remote_addr) -> bool:
        """Tell whether a peer address lies in a trusted network; anything not an IP is untrusted."""
        try:
            address = ipaddress.ip_address(remote_addr)
        except ValueError:
            return False
        # A dual-stack socket shows an IPv4 proxy as ::ffff:a.b.c.d; it is still that proxy.
        mapped = getattr(address, "ipv4_mapped", None)
        return any(a in network for a in (address, mapped) if a is not None for network in self.networks)


def _urls(public_url: str) -> Iterator[str]:
    """Yield the URL as Twilio requested and signed it, then Werkzeug's rebuilt one (only if asked for).

    `request.url` re-quotes the query string (`%3A` becomes `:`, `%C3%AB` becomes `ë`), so a
    signature over the URL in our own TwiML would not match it when a value needed quoting.
    With `public_url` set, only that host counts, whatever the Host header says.
    """
    query = request.query_string.decode("latin-1")
    suffix = "?" + query if query else ""
    if public_url:
        yield public_url + request.script_root + request.path + suffix
        return
    yield request.base_url + suffix
    yield request.url


class _Fields(dict):
    """A request's fields as the validator reads them: Twilio sends each field once."""

    def getall(self, name: str) -> list[str]:  # what RequestValidator asks a Flask MultiDict first
        return [self[name]]


PARTY = re.compile(r"\+?[0-9]{1,15}|client:[A-Za-z0-9_.@-]{1,121}|sip:[^\s<>\"]{1,256}"
                   r"|(?i:anonymous|restricted|unknown|unavailable|private)")
"""What Twilio puts in `From` and `To`: a number, a Client identity, a SIP address, or a withheld caller ID."""


def _shaped_like_twilio(form) -> bool:
    """Tell whether a signed request has the fields every Twilio voice request carries, well formed.

    A signature covers the concatenated names and values, so the same signature fits the fields
    split differently (`To` folded into `From`): such a split leaves a field missing or malformed.
    """
    if not form.get("CallSid") or "To" not in form or "From" not in form:
        return False
    # ASCII first: a case-insensitive match would take the Kelvin sign for a "k".
    return all((form[name].isascii() and PARTY.fullmatch(form[name])) or (name == "To" and not form[name])
               for name in ("From", "To"))


def check_request() -> None:
    """Refuse with 403 a request not signed with the account's auth token, 400 one Twilio cannot have sent."""
    services = current_app.extensions["ivr"]
    validator: RequestValidator = services.validator
    signature = request.headers.get("X-Twilio-Signature", "")
    params = _Fields(request.form.to_dict(flat=True) if request.method == "POST" else {})
    public_url = services.settings.public_url
    # The URL exactly as requested is what Twilio signs, and one HMAC tells; validate() then tries the
    # variants Twilio may have signed instead (with or without the port, Werkzeug's quoting), two HMACs each.
    exact = validator.compute_signature(next(_urls(public_url)), params) if signature else ""
    if not signature or not (hmac.compare_digest(exact.encode(), signature.encode("utf-8", "replace"))
                             or any(validator.validate(url, params, signature) for url in _urls(public_url))):
        abort(403)
    if not _shaped_like_twilio(request.form):
        abort(400)


class BodyLimit:
    """Refuse a request body over the limit with 413 before the app reads any of it.

    A declared length is judged from the headers alone; a body without one (chunked) is read
    up to one byte past the limit and no further. The server is asked to close the connection
    rather than drain the rest.
    """

    def __init__(self, wsgi_app, limit: int):
        self.app, self.limit = wsgi_app, limit

    def __call__(self, environ, start_response):
        declared = environ.get("CONTENT_LENGTH") or ""
        if not declared and environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            body = environ["wsgi.input"].read(self.limit + 1)
            if len(body) > self.limit:
                return self._refuse(start_response, "413 Request Entity Too Large", "request body too large")
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            return self.app(environ, start_response)
        if declared and not (declared.isascii() and declared.isdigit()):
            return self._refuse(start_response, "400 Bad Request", "bad Content-Length")
        if declared and (len(declared) > 15 or int(declared) > self.limit):  # int() refuses 4300+ digits
            return self._refuse(start_response, "413 Request Entity Too Large", "request body too large")
        return self.app(environ, start_response)

    @staticmethod
    def _refuse(start_response, status: str, reason: str):
        body = (reason + "\n").encode()
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                                ("Connection", "close")])
        return [body]
