"""One caller's whole call as Twilio plays it: the webhooks it sends, each built from the TwiML of the last.

Shared by the HTTP load process (bench/callers.py) and the in-process measurement (bench/inprocess.py),
so both drive exactly the same journey:

    queue path:    incoming -> language -> case (Enqueue) -> wait -> queue-result (hangup) -> status
    engineer path: incoming -> language -> case (Dial)    -> whisper -> dial-result (completed) -> status

Requests carry the fields Twilio sends (AccountSid, Caller, Called, Direction, ...), so bodies and
signatures cost what real ones do. Nothing here does I/O: a transport sends a `Step` and hands the
reply back to `Call.next`.
"""
from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import unquote

ACCOUNT = "AC" + "b" * 32
EMEA = "+442079460100"
LANGUAGE = "de"
QUEUE_CASE = "30000002"
"""The demo's premium case on the EMEA line with no engineer: queued 24/7 in emea-de."""
OUTCOME_HEADER = "X-Ivr-Outcome"


def sid(prefix: str = "CA") -> str:
    return prefix + secrets.token_hex(16)


def caller_number(n: int) -> str:
    """A distinct, valid German mobile number per caller (the guess limit counts per calling number)."""
    return f"+4915{n % 10**9:09d}"


def twilio_fields(call_sid: str, caller: str, to: str = EMEA, status: str = "in-progress") -> dict[str, str]:
    """The fields Twilio puts in every voice webhook of an inbound call."""
    return {
        "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": call_sid, "CallStatus": status,
        "Called": to, "CalledCity": "", "CalledCountry": "GB", "CalledState": "", "CalledZip": "",
        "Caller": caller, "CallerCity": "", "CallerCountry": "DE", "CallerState": "", "CallerZip": "",
        "Direction": "inbound", "From": caller, "FromCity": "", "FromCountry": "DE", "FromState": "",
        "FromZip": "", "To": to, "ToCity": "", "ToCountry": "GB", "ToState": "", "ToZip": "",
    }


@dataclass
class Step:
    """One webhook request: a name for the figures, the path with its query (as signed), the form."""

    name: str
    path: str
    params: dict[str, str]


def outcome_kind(headers) -> str:
    """Return `engineer`, `queue` or `refused` from the outcome header ('' when there is none)."""
    value = unquote(headers.get(OUTCOME_HEADER, "") or "")
    return value.split(":", 1)[0]


def step_name(step: Step, headers) -> str:
    """The name a reply is counted under: the case step is split by where routing sent the call."""
    if step.name == "case":
        kind = outcome_kind(headers)
        return f"case->{kind}" if kind else "case->?"
    return step.name


@dataclass
class Call:
    """A caller on the EMEA line who picks German and keys `case`; `n` makes the calling number distinct."""

    n: int
    case: str
    language_key: str
    call_sid: str = field(default_factory=sid)
    child_sid: str = field(default_factory=sid)
    caller: str = ""
    steps: int = 0
    path: str = ""
    """`queue`, `engineer` or `refused` once the case step has answered."""

    def __post_init__(self):
        self.caller = self.caller or caller_number(self.n)

    def fields(self, **extra) -> dict[str, str]:
        return {**twilio_fields(self.call_sid, self.caller), **extra}

    def first(self) -> Step:
        return Step("incoming", "/voice/incoming", self.fields(CallStatus="ringing"))

    def next(self, step: Step, status: int, headers, body: str) -> Step | None:
        """Return the webhook Twilio sends after this reply, or None when the call is over."""
        self.steps += 1
        if status >= 400:
            return None
        if step.name == "status":
            return None
        final = Step("status", "/voice/status", self.fields(CallStatus="completed", CallDuration="42",
                                                             CallbackSource="call-progress-events",
                                                             SequenceNumber="0", Timestamp="Mon, 01 Jan 2024 00:00:00 +0000"))
        if step.name in ("queue-result", "dial-result"):
            return final
        try:
            root = ET.fromstring(body) if body else None
        except ET.ParseError:
            return final
        if root is None:
            return final
        if step.name == "incoming":
            gather = root.find("Gather")
            if gather is None:
                return final
            return Step("language", gather.get("action"),
                        self.fields(Digits=self.language_key, FinishedOnKey="", msg="Gather End"))
        if step.name == "language":
            gather = root.find("Gather")
            if gather is None:
                return final
            return Step("case", gather.get("action"), self.fields(Digits=self.case, FinishedOnKey="", msg="Gather End"))
        if step.name == "case":
            enqueue, dial = root.find("Enqueue"), root.find("Dial")
            if enqueue is not None:
                self.path = "queue"
                self.enqueue_action = enqueue.get("action")
                return Step("wait", enqueue.get("waitUrl"), self.fields(
                    QueueSid="QU" + "c" * 32, QueuePosition="1", QueueTime="0", AvgQueueTime="0",
                    CurrentQueueSize="1"))
            if dial is not None:
                self.path = "engineer"
                self.dial_action = dial.get("action")
                client = dial.find("Client")
                if client is not None and client.get("url"):
                    identity = client.findtext("Identity") or "engineer"
                    # The engineer's leg: its own CallSid, the caller's as the parent.
                    whisper = {**twilio_fields(self.child_sid, self.caller, "client:" + identity),
                               "Direction": "outbound-dial", "ParentCallSid": self.call_sid}
                    return Step("whisper", client.get("url"), whisper)
                return self._dial_result()
            self.path = "refused"
            return final
        if step.name == "wait":
            return Step("queue-result", self.enqueue_action, self.fields(
                QueueResult="hangup", QueueSid="QU" + "c" * 32, QueueTime="30"))
        if step.name == "whisper":
            return self._dial_result()
        return final

    def _dial_result(self) -> Step:
        return Step("dial-result", self.dial_action, self.fields(
            DialCallStatus="completed", DialCallSid=self.child_sid, DialCallDuration="30", DialBridged="true"))
