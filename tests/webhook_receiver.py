"""A local receiver for the service's signed webhooks: the case system's end of `case_system.webhook`.

It does what a careful receiver does, written from the contract rather than from the sender's code:
it checks `X-Ivr-Signature: v1=<hex>` (HMAC-SHA256 with the shared secret over
`<X-Ivr-Timestamp>.<body>`) and refuses a timestamp outside its window, so a captured request
cannot be replayed; it applies each event once by its `id`, however often it is delivered, and
acknowledges a repeat with 2xx so the sender stops retrying. Tests read both what arrived (every
request, refused and repeated ones included) and what was applied (each event once, in the order
first applied), and script failures: answer an error to the next N requests, or hold the answer
S seconds after applying the event, so a delivery is in flight when its sender is killed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "receiver-shared-secret-0123456789abcdef0123"
"""The secret the tests share with the service (IVR_API_TOKEN: 32 or more printable characters)."""

WINDOW = 300.0
"""Seconds a request's timestamp may be from the receiver's clock, either way: older ones are replays."""

APPLIED = "applied"
DUPLICATE = "duplicate"
"""An event already applied: acknowledged (200), not applied again."""
FAILED = "failed"
"""A scripted failure: answered with an error, not applied."""
REFUSED = "refused"
"""No valid signature, or a timestamp outside the window: 401, not applied."""
MALFORMED = "malformed"
"""A signed body that is not a JSON event with an `id`: 400, not applied."""


@dataclass(frozen=True)
class Delivery:
    """One request as it arrived, and what the receiver made of it."""

    path: str
    headers: dict[str, str]
    body: bytes
    event: dict | None
    """The parsed JSON body, or None when it was not JSON."""
    at: float
    """time.time() when it arrived."""
    verdict: str
    """APPLIED, DUPLICATE, FAILED, REFUSED or MALFORMED."""
    status: int
    """The status it was answered with (or is being answered with, once a held answer is let go)."""
    why: str = ""

    @property
    def id(self) -> str | None:
        return self.event.get("id") if isinstance(self.event, dict) else None


@dataclass
class _Script:
    status: int | None
    """Answer this error (not applied); None: apply, then hold the answer `hold` seconds."""
    hold: float
    times: int


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    deliveries: list[Delivery] = field(default_factory=list)
    applied: list[dict] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    script: list[_Script] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    """Set to end every held answer at once (release(), stop())."""


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `v1=` signature a request with this timestamp and body must carry."""
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_signature(secret: str, headers: dict[str, str], body: bytes, now: float, window: float = WINDOW) -> str:
    """Return "" for a valid signature with a fresh timestamp, else why the request is refused."""
    timestamp, signature = headers.get("X-Ivr-Timestamp", ""), headers.get("X-Ivr-Signature", "")
    if not timestamp or not signature:
        return "no X-Ivr-Timestamp or X-Ivr-Signature"
    if not timestamp.isdigit():
        return f"timestamp {timestamp!r} is not whole seconds"
    if abs(now - int(timestamp)) > window:
        return f"timestamp {timestamp} is {now - int(timestamp):+.0f} s from now, outside {window:.0f} s"
    wanted = expected_signature(secret, timestamp, body)
    # Several schemes may be listed ("v1=…,v2=…" while a sender upgrades): one valid v1 suffices.
    if not any(hmac.compare_digest(part.strip(), wanted) for part in signature.split(",")):
        return "signature does not match"
    return ""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name: value for name, value in self.headers.items()}
        status, hold, released = self.server.receiver._receive(self.path, headers, body)
        if hold:
            released.wait(hold)
        data = b"{}" if status < 300 else json.dumps({"status": status}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the sender is gone (killed while we held the answer): nothing to tell it

    def log_message(self, format: str, *args) -> None:
        pass  # keep pytest output to what the test itself prints


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver


class WebhookReceiver:
    """Receive signed JSON events on an ephemeral 127.0.0.1 port until stop()."""

    def __init__(self, secret: str = SECRET, *, window: float = WINDOW, clock: Callable[[], float] = time.time):
        self.secret, self.window, self.clock = secret, window, clock
        self._state = _State()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/ivr-events"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True,
                                        name="webhook-receiver")
        self._thread.start()

    # -- lifecycle ------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Let go of held answers, stop serving and release the port."""
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------------------------

    def fail(self, times: int = 1, status: int = 500) -> None:
        """Answer the next `times` validly signed requests with `status`, applying nothing."""
        with self._state.lock:
            self._state.script.append(_Script(status, 0.0, times))

    def delay(self, seconds: float, times: int = 1) -> None:
        """Apply the next `times` events at once but hold their answers `seconds` (or until release())."""
        with self._state.lock:
            self._state.script.append(_Script(None, seconds, times))

    def release(self) -> None:
        """Answer every held request now; later delays hold again."""
        with self._state.lock:
            held, self._state.released = self._state.released, threading.Event()
        held.set()

    # -- reading --------------------------------------------------------------------------------------

    def deliveries(self, verdict: str | None = None) -> list[Delivery]:
        """Every request received, oldest first (optionally only those with a verdict)."""
        with self._state.lock:
            return [d for d in self._state.deliveries if verdict is None or d.verdict == verdict]

    def applied(self, kind: str | None = None, case: str | None = None) -> list[dict]:
        """The events applied, each once, in the order they were first applied (optionally of a type or case)."""
        with self._state.lock:
            return [e for e in self._state.applied
                    if (kind is None or e.get("type") == kind) and (case is None or e.get("case") == case)]

    def wait_for(self, count: int, timeout: float = 10.0, *, kind: str | None = None,
                 case: str | None = None) -> list[dict]:
        """Poll until `count` events (of a type or case) are applied and return them; fail saying what arrived."""
        what = " ".join(["applied", kind or "", "event(s)", f"of case {case}" if case else ""])
        return self._wait(lambda: self.applied(kind, case), count, timeout, " ".join(what.split()))

    def wait_for_deliveries(self, count: int, timeout: float = 10.0, verdict: str | None = None) -> list[Delivery]:
        """Poll until `count` requests (with a verdict) have arrived and return them."""
        return self._wait(lambda: self.deliveries(verdict), count, timeout, f"request(s) {verdict or ''}".strip())

    def _wait(self, read: Callable[[], list], count: int, timeout: float, what: str) -> list:
        deadline = time.monotonic() + timeout
        while True:
            found = read()
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {what} within {timeout:.0f} s, got {len(found)}; "
                                     f"received:\n{self.describe()}")
            time.sleep(0.02)

    def describe(self) -> str:
        """One line per request received, for assertion messages."""
        lines = [f"  {d.status} {d.verdict:<9} {d.id or '-'} {(d.event or {}).get('type', '-')} {d.why}"
                 for d in self.deliveries()]
        return "\n".join(lines) or "  nothing"

    # -- receiving ------------------------------------------------------------------------------------

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, float, threading.Event]:
        """Judge one request, record it and apply its event; return its status, how long to hold the answer, and
        the event that ends the hold early."""
        arrived = self.clock()
        why = check_signature(self.secret, headers, body, arrived, self.window)
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        state = self._state
        with state.lock:
            hold = 0.0
            if why:
                verdict, status = REFUSED, 401
            elif not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
                verdict, status, why = MALFORMED, 400, "not a JSON object with an id"
            elif state.script and state.script[0].status is not None:
                verdict, status, why = FAILED, state.script[0].status, "scripted"
                self._consume()
            else:
                if state.script:  # a scripted delay: applied now, answered later
                    hold = state.script[0].hold
                    self._consume()
                if event["id"] in state.ids:
                    verdict, status = DUPLICATE, 200
                else:
                    verdict, status = APPLIED, 200
                    state.ids.add(event["id"])
                    state.applied.append(event)
            state.deliveries.append(Delivery(path, headers, body, event, arrived, verdict, status, why))
            return status, hold, state.released

    def _consume(self) -> None:
        """Use up one request of the first scripted answer; the caller holds the lock."""
        first = self._state.script[0]
        first.times -= 1
        if first.times <= 0:
            self._state.script.pop(0)
