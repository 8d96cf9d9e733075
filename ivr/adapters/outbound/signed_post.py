"""POSTing signed JSON to the case system and the duty manager's webhook.

The receiver checks `X-Ivr-Signature: v1=<hex>`, an HMAC-SHA256 with the shared secret over
`<X-Ivr-Timestamp>.<body>`, and refuses an old timestamp: a captured request cannot be replayed.
"""
from __future__ import annotations

import hashlib
import hmac
import time

import requests

TIMEOUT = 10.0
"""Seconds one POST may take; a slow receiver delays only its own queue's jobs."""


class Undelivered(RuntimeError):
    """The receiver did not take the event (no answer, or not a 2xx): the job is retried with backoff."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the `X-Ivr-Signature` value for a body sent at a timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def post_signed(url: str, body: str | bytes, secret: str, session: requests.Session | None = None) -> int:
    """POST a JSON body with its signature; return the status, or raise Undelivered for anything but 2xx."""
    data = body.encode() if isinstance(body, str) else body
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Ivr-Timestamp": timestamp,
               "X-Ivr-Signature": signature(secret, timestamp, data), "User-Agent": "support-ivr"}
    try:
        reply = (session or requests).post(url, data=data, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as error:
        raise Undelivered(f"{url}: {error}") from None
    if not 200 <= reply.status_code < 300:
        raise Undelivered(f"{url} answered {reply.status_code}")
    return reply.status_code
