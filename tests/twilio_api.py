"""A local stand-in for Twilio's REST API that the real twilio-python client talks to.

Point a client at it with `client.api.base_url = api.url`. It answers the calls the service
makes (create a call, update a call, update a queue member, send a text message) the way Twilio does,
records every request so tests can assert what was sent, and fails on demand.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional, Union
from urllib.parse import parse_qs, urlsplit

API = "/2010-04-01/Accounts/(?P<account>[^/]+)"
CALLS = re.compile(API + r"/Calls\.json$")
CALL = re.compile(API + r"/Calls/(?P<call>[^/]+)\.json$")
MEMBER = re.compile(API + r"/Queues/(?P<queue>[^/]+)/Members/(?P<call>[^/]+)\.json$")
MESSAGES = re.compile(API + r"/Messages\.json$")

NOT_FOUND = 20404
"""Twilio's code for any resource it does not know, including a member no longer in the queue."""

INVALID_CALL_STATE = 21220
"""Twilio's code (HTTP 400) when a call that has ended is redirected."""


@dataclass(frozen=True)
class Request:
    """One request as the stand-in received it."""

    method: str
    path: str
    form: dict[str, list[str]]
    user: Optional[str]
    at: float
    """time.monotonic() when it arrived."""

    def __getitem__(self, name: str) -> str:
        return self.form[name][0]

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """Return the first value of a form field, or default."""
        values = self.form.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        """Return every value of a repeated form field such as StatusCallbackEvent."""
        return list(self.form.get(name, []))


@dataclass
class _Failure:
    path_contains: str
    status: int
    times: int
    code: Optional[int]
    message: str
    retry_after: Optional[int]


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Request] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    calls: dict[str, dict] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)


def _error(status: int, code: int, message: str) -> dict:
    return {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


def _call_json(account: str, sid: str, form: dict[str, list[str]], status: str) -> dict:
    def first(name: str) -> Optional[str]:
        return (form.get(name) or [None])[0]

    now = formatdate(usegmt=True)
    return {
        "sid": sid, "account_sid": account, "parent_call_sid": None,
        "to": first("To"), "to_formatted": first("To"),
        "from": first("From"), "from_formatted": first("From"),
        "status": status, "direction": "outbound-api", "api_version": "2010-04-01",
        "date_created": now, "date_updated": now, "start_time": None, "end_time": None,
        "duration": None, "price": None, "price_unit": "USD", "answered_by": None,
        "queue_time": "0", "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json",
        "subresource_uris": {},
    }


def _message_json(account: str, sid: str, form: dict[str, list[str]]) -> dict:
    def first(name: str) -> Optional[str]:
        return (form.get(name) or [None])[0]

    now = formatdate(usegmt=True)
    return {
        "sid": sid, "account_sid": account, "messaging_service_sid": first("MessagingServiceSid"),
        "to": first("To"), "from": first("From"), "body": first("Body"), "status": "queued",
        "direction": "outbound-api", "num_segments": "1", "num_media": "0", "api_version": "2010-04-01",
        "date_created": now, "date_updated": now, "date_sent": None, "price": None, "price_unit": "USD",
        "error_code": None, "error_message": None,
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json", "subresource_uris": {},
    }


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args) -> None:
        pass  # keep pytest output to what the test itself prints

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        url = urlsplit(self.path)
        form = parse_qs(body or url.query, keep_blank_values=True)
        record = Request(self.command, url.path, form, self._user(), time.monotonic())
        state = self.server.state
        with state.lock:
            state.requests.append(record)
            status, payload, headers = self._answer(state, record)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _user(self) -> Optional[str]:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        return base64.b64decode(token).decode().partition(":")[0]

    def _answer(self, state: _State, r: Request) -> tuple[int, dict, dict]:
        """Return (status, JSON body, extra headers); the caller holds the lock."""
        for failure in state.failures:
            if failure.path_contains in r.path:
                failure.times -= 1
                if failure.times == 0:
                    state.failures.remove(failure)
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
                code = failure.code or failure.status
                return failure.status, _error(failure.status, code, failure.message), headers
        missing = (404, _error(404, NOT_FOUND, f"The requested resource {r.path} was not found"), {})
        if r.method == "POST" and (m := CALLS.match(r.path)):
            sid = "CA" + uuid.uuid4().hex
            state.calls[sid] = _call_json(m["account"], sid, r.form, "queued")
            return 201, state.calls[sid], {}
        if r.method == "POST" and (m := CALL.match(r.path)):
            if m["call"] in state.gone:
                return 400, _error(400, INVALID_CALL_STATE,
                                   "Call is not in-progress. Cannot redirect."), {}
            # Inbound calls reach us by webhook, never by create, so any sid is a live call.
            call = state.calls.setdefault(
                m["call"], _call_json(m["account"], m["call"], {}, "in-progress"))
            return 200, call, {}
        if r.method == "POST" and (m := MEMBER.match(r.path)):
            if m["call"] in state.gone:
                return missing
            return 200, {
                "call_sid": m["call"], "queue_sid": m["queue"], "position": 1, "wait_time": 0,
                "date_enqueued": formatdate(usegmt=True),
                "uri": r.path,
            }, {}
        if r.method == "POST" and (m := MESSAGES.match(r.path)):
            return 201, _message_json(m["account"], "SM" + uuid.uuid4().hex, r.form), {}
        return missing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class TwilioApi:
    """Serve a fake Twilio REST API on an ephemeral 127.0.0.1 port until stop()."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self._state = _State()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll keeps stop() (and so every test's teardown) from waiting half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="twilio-api")
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> "TwilioApi":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail(self, path_contains: str, status: int, times: int = 1, *, code: Optional[int] = None,
             message: str = "Scripted failure", retry_after: Optional[int] = None) -> None:
        """Answer the next `times` requests whose path contains `path_contains` with an error.

        Failures are consumed in the order they were scripted; `code` defaults to `status`.
        """
        with self._state.lock:
            self._state.failures.append(
                _Failure(path_contains, status, times, code, message, retry_after))

    def hang_up(self, call_sid: str) -> None:
        """Treat the call as ended: its member update answers 404, its redirect 400."""
        with self._state.lock:
            self._state.gone.add(call_sid)

    def requests(self, path_contains: Optional[str] = None,
                 method: Optional[str] = None) -> list[Request]:
        """Return the recorded requests, oldest first, optionally filtered."""
        with self._state.lock:
            return [r for r in self._state.requests
                    if (path_contains is None or path_contains in r.path)
                    and (method is None or r.method == method)]

    def wait_for(self, match: Union[str, Callable[[Request], bool]], count: int = 1,
                 timeout: float = 5.0) -> list[Request]:
        """Poll until `count` requests match (a path substring or a predicate) and return them."""
        predicate = (lambda r: match in r.path) if isinstance(match, str) else match
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.requests() if predicate(r)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = "\n".join(f"  {r.method} {r.path} {r.form}" for r in self.requests())
                raise AssertionError(
                    f"expected {count} request(s) matching {match!r} within {timeout}s, "
                    f"got {len(found)}; received:\n{seen or '  nothing'}")
            time.sleep(0.01)

    def clear(self) -> None:
        """Forget the recorded requests; scripted failures and hung-up calls stay."""
        with self._state.lock:
            self._state.requests.clear()
