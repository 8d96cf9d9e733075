"""Security headers on every response under a path prefix (the console's, the directory API's).

Set by a WSGI middleware wrapped around the whole app, not by an `after_request` hook: a
blueprint's hooks run only for requests routed to one of its views, so a 404 or 405 under its
prefix, or a body refused before Flask reads it (413), would otherwise go out without them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping


class SecurityHeaders:
    """Give every response to a path under `prefix` the `headers`, replacing any the app set.

    Under `cacheable` (a prefix of static files holding no data) Cache-Control is left as the
    app set it, so a browser may revalidate its copy instead of fetching the file each time.
    """

    def __init__(self, wsgi_app, prefix: str, headers: Mapping[str, str], cacheable: Iterable[str] = ()):
        self.app, self.prefix = wsgi_app, prefix.rstrip("/")
        self.headers = dict(headers)
        self.cacheable = tuple(cacheable)

    def applies(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        if not self.applies(path):
            return self.app(environ, start_response)
        headers = self.headers
        if self.cacheable and path.startswith(self.cacheable):
            headers = {name: value for name, value in headers.items() if name.lower() != "cache-control"}
        ours = {name.lower() for name in headers}

        def start(status, response_headers, exc_info=None):
            kept = [(name, value) for name, value in response_headers if name.lower() not in ours]
            return start_response(status, kept + list(headers.items()), exc_info)

        return self.app(environ, start)
