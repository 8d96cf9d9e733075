"""Playing Twilio's part in a call: signed webhooks, following the TwiML the app returns."""
from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin

from twilio.request_validator import RequestValidator

from ivr.voice.twiml import OUTCOME_HEADER, REHEARSAL_FIELD

STATUS_URL = "voice/status"
"""Where Twilio sends a call's status callbacks (configured on the number, as the README says)."""

MAX_STEPS = 40
"""Webhooks one simulated call may make: a flow that needs more is a loop."""


@dataclass
class CallResult:
    heard: list[dict] = field(default_factory=list)
    whisper: list[dict] = field(default_factory=list)
    outcome: dict = field(default_factory=lambda: {"kind": "hangup", "target": None, "reason": None})
    requests: list[tuple[str, int]] = field(default_factory=list)
    hold: list[str] = field(default_factory=list)
    """The TwiML of each hold announcement (the wait URL's answer), as received."""

    def as_json(self) -> dict:
        return {"heard": self.heard, "outcome": self.outcome, "whisper": self.whisper, "hold": self.hold}


class LoopError(RuntimeError):
    pass


def parse_presses(text: str) -> list[str]:
    """Split `--press` into one entry per gather: digits, `w` (wait), `n` (no answer), `s:words` (speech)."""
    return [p.strip() for p in text.split(",")] if text else []


class CallSimulator:
    def __init__(self, base_url: str, token: str, send_raw: Callable[[str, dict, dict], tuple[int, str, dict]],
                 at: str | None = None, rehearsal: bool = False, hang_up: bool = True):
        self.base = base_url.rstrip("/") + "/"
        self.hang_up = hang_up
        """Whether each call ends with Twilio's closing callbacks; tests keeping a caller on hold say no."""
        self._queue_action: str | None = None
        self.validator = RequestValidator(token)
        self.send_raw = send_raw
        self.at = at
        self.rehearsal = rehearsal

    def post(self, url: str, params: dict) -> tuple[int, str, dict]:
        absolute = urljoin(self.base, url)
        params = {k: str(v) for k, v in params.items()}
        if self.at:
            params["IvrAt"] = self.at
        if self.rehearsal:
            params[REHEARSAL_FIELD] = "1"
        signature = self.validator.compute_signature(absolute, params)
        return self.send_raw(absolute, params, {"X-Twilio-Signature": signature})

    def call(self, to: str, caller: str, presses: list[str]) -> CallResult:
        """Place one call and follow it to its end; return what the caller heard and where it went.

        The call ends as Twilio ends one, with the callbacks it sends: a caller still in a queue hangs
        up (the queue's action), and the status callback reports the call completed, so the service
        keeps no waiting caller or claim for it.
        """
        result = CallResult()
        sid = "CA" + secrets.token_hex(16)
        base = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": caller, "To": to, "Caller": caller,
                "Called": to, "Direction": "inbound", "CallStatus": "in-progress", "ApiVersion": "2010-04-01"}
        self._queue_action = None
        try:
            return self._play(base, list(presses), result)
        finally:
            if self.hang_up:
                if self._queue_action:
                    self.post(self._queue_action, dict(base, QueueResult="hangup", QueueTime="5"))
                self.post(STATUS_URL, dict(base, CallStatus="completed", CallDuration="30"))

    def _play(self, base: dict, presses: list[str], result: CallResult) -> CallResult:
        url, params = "voice/incoming", dict(base, CallStatus="ringing")
        for _ in range(MAX_STEPS):
            status, body, headers = self.post(url, params)
            result.requests.append((url, status))
            if status != 200:
                result.outcome = {"kind": "hangup", "target": None, "reason": f"http_{status}"}
                return result
            outcome = unquote(headers.get(OUTCOME_HEADER) or "")
            if outcome:
                kind, _, target = outcome.partition(":")
                result.outcome = ({"kind": "hangup", "target": None, "reason": target} if kind == "refused"
                                  else {"kind": kind, "target": target, "reason": "preferred_engineer" if kind == "engineer" else "queue"})
            try:
                root = ET.fromstring(body)
            except ET.ParseError as error:
                result.outcome = {"kind": "hangup", "target": None, "reason": f"invalid_twiml: {error}"}
                return result
            nxt = self._follow(root, base, presses, result, url)
            if nxt is None:
                return result
            url, params = nxt
        raise LoopError(f"call did not end within {MAX_STEPS} webhooks: {[u for u, _ in result.requests[-5:]]}")

    def _hear(self, node, into: list) -> None:
        into.append({"text": (node.text or "").strip(), "language": node.get("language"), "voice": node.get("voice")})

    def _follow(self, root, base, presses, result: CallResult, current: str):
        for verb in root:
            tag = verb.tag
            if tag == "Say":
                self._hear(verb, result.heard)
            elif tag == "Gather":
                for child in verb:
                    if child.tag == "Say":
                        self._hear(child, result.heard)
                press = presses.pop(0) if presses else "w"
                if press == "w" or press == "":
                    continue
                form = dict(base)
                if press.startswith("s:"):
                    form["SpeechResult"], form["Confidence"] = press[2:], "0.9"
                else:
                    form["Digits"] = press
                return verb.get("action") or current, form
            elif tag == "Redirect":
                return (verb.text or current).strip(), dict(base)
            elif tag == "Hangup":
                if result.outcome["kind"] != "hangup":
                    result.outcome = {"kind": "hangup", "target": None, "reason": None}
                return None
            elif tag == "Dial":
                return self._dial(verb, base, presses, result, current)
            elif tag == "Enqueue":
                return self._enqueue(verb, base, presses, result)
            elif tag == "Leave":
                return None
        return None

    def _dial(self, verb, base, presses, result: CallResult, current: str):
        action = verb.get("action")
        for noun in verb:
            if noun.get("url"):
                status, body, _ = self.post(noun.get("url"), dict(base, CallSid="CA" + secrets.token_hex(16),
                                                                  ParentCallSid=base["CallSid"]))
                if status == 200:
                    for say in ET.fromstring(body).iter("Say"):
                        self._hear(say, result.whisper)
                break
        if presses and presses[0] == "n":
            presses.pop(0)
            return action, dict(base, DialCallStatus="no-answer", DialCallDuration="0")
        if result.outcome["kind"] != "engineer":  # the app named no engineer: say who was rung
            identity = next((n.findtext("Identity") or n.text or "").strip() or None for n in verb)
            result.outcome = {"kind": "engineer", "target": identity, "reason": "preferred_engineer"}
        # The conversation ends: Twilio reports the dial's result, which frees the engineer after a wrap-up.
        if action:
            self.post(action, dict(base, DialCallStatus="completed", DialCallDuration="60"))
        return None

    def _enqueue(self, verb, base, presses, result: CallResult):
        queue = (verb.text or "").strip()
        result.outcome = {"kind": "queue", "target": queue, "reason": "queue"}
        # Until the caller leaves, hanging up ends the wait: Twilio then requests the queue's action.
        self._queue_action = verb.get("action")
        wait = verb.get("waitUrl")
        if not wait:
            return None
        status, body, _ = self.post(wait, dict(base, QueueSid="QU" + "0" * 32, QueuePosition="1", QueueTime="0",
                                               AvgQueueTime="0", CurrentQueueSize="1"))
        if status != 200:
            return None
        result.hold.append(body)
        left = False
        for node in ET.fromstring(body):
            if node.tag == "Say":
                self._hear(node, result.heard)
            elif node.tag == "Gather":
                for say in node.iter("Say"):
                    self._hear(say, result.heard)
                action = node.get("action")
                # A key may lead to another question (the callback number read back): each takes the next press.
                while action and presses and presses[0] not in ("w", ""):
                    press = presses.pop(0)
                    status, body, _ = self.post(action, dict(base, Digits=press))
                    reply = ET.fromstring(body) if status == 200 else None
                    if reply is None:
                        break
                    left = reply.find("Leave") is not None
                    for say in reply.iter("Say"):
                        self._hear(say, result.heard)
                    follow = reply.find("Gather")
                    action = follow.get("action") if follow is not None else None
            elif node.tag == "Leave":
                left = True
        if left and verb.get("action"):
            result.outcome = {"kind": "hangup", "target": queue, "reason": "callback"}
            self._queue_action = None  # the wait ended with <Leave>: its result is that, not a hang-up
            return verb.get("action"), dict(base, QueueResult="leave", QueueTime="5")
        return None
