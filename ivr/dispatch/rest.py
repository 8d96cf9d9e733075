"""Twilio's REST API, through twilio-python only: the client, its base URL, 429 backoff, and `--demo`'s log.

Offers ring engineers (`Calls`), a taken offer moves its caller out of Twilio's queue
(`Queues/{QueueSid}/Members/{CallSid}`), and an engineer whose caller left is told so (`Calls/{Sid}`).
Nothing here runs on a webhook: the dispatcher and the worker's jobs call it.
"""
from __future__ import annotations

import json
import logging
import os
import random
import secrets
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import redis
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ivr.adapters import keys
from ivr.config import Settings

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 10.0
"""Seconds one REST request may take; the dispatcher's other work goes on meanwhile."""

RETRIES = 5
"""Tries of a request Twilio answers 429 Too Many Requests, waiting longer each time."""

BACKOFF = 0.5
"""Seconds before the first retry after a 429; doubled each time, with jitter, up to `BACKOFF_CAP`."""
BACKOFF_CAP = 8.0

T = TypeVar("T")


class MissingCredentials(RuntimeError):
    pass


def credentials(env: Mapping[str, str] = os.environ) -> tuple[str, str, str] | None:
    """Return (username, password, account SID) for the REST API, or None when none are set.

    An API key and secret are preferred to the account's auth token, which can then be rotated alone.
    """
    account = env.get("TWILIO_ACCOUNT_SID")
    key, secret = env.get("TWILIO_API_KEY"), env.get("TWILIO_API_SECRET")
    if account and key and secret:
        return key, secret, account
    token = env.get("TWILIO_AUTH_TOKEN")
    if account and token:
        return account, token, account
    return None


def rest_client(settings: Settings, env: Mapping[str, str] = os.environ,
                demo_log: redis.Redis | None = None) -> Client:
    """Return a twilio-python client for `twilio.api_base`.

    With `demo_log` and no account configured, requests are shown in the log and in Redis
    (`ivr:rest-log`, for the console) instead of being sent: the demo has no Twilio account.
    """
    found = credentials(env)
    if found is None:
        if demo_log is None:
            raise MissingCredentials(
                "TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET) must be set "
                "for dispatch to ring engineers through Twilio's REST API")
        found = ("ACdemo", "demo", "AC" + "0" * 32)
        http: HttpClient = ShownNotSent(demo_log)
    else:
        http = TwilioHttpClient(timeout=HTTP_TIMEOUT)
    username, password, account = found
    client = Client(username=username, password=password, account_sid=account, http_client=http)
    client.api.base_url = settings.api_base
    return client


def with_backoff(request: Callable[[], T], retries: int = RETRIES, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run a REST request, retrying while Twilio answers 429 Too Many Requests."""
    for attempt in range(retries):
        try:
            return request()
        except TwilioRestException as error:
            if error.status != 429 or attempt == retries - 1:
                raise
            delay = min(BACKOFF_CAP, BACKOFF * 2 ** attempt) * (0.5 + random.random() / 2)
            log.warning("Twilio answered 429 Too Many Requests; retrying in %.1f s", delay)
            sleep(delay)
    raise AssertionError("unreachable")


class ShownNotSent(HttpClient):
    """An HTTP client for twilio-python that logs each request and answers as Twilio would, sending nothing."""

    def __init__(self, client: redis.Redis):
        super().__init__(log, is_async=False)
        self.redis = client

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False) -> Response:
        form = {k: v for k, v in (data or {}).items() if v is not None}
        log.info("demo: not sent to Twilio: %s %s %s", method, uri, form)
        try:
            self.redis.xadd(keys.REST_LOG, {"at": f"{time.time():.3f}", "method": method, "url": uri,
                                            "params": json.dumps(form, default=str)},
                            maxlen=keys.REST_LOG_MAXLEN, approximate=True)
        except redis.RedisError as error:
            log.warning("could not keep the demo REST request for the console: %s", error)
        if method == "POST" and uri.endswith("/Calls.json"):
            return Response(201, json.dumps({"sid": "CA" + secrets.token_hex(16), "status": "queued",
                                             "to": form.get("To"), "from": form.get("From")}))
        if "/Members/" in uri:
            return Response(200, json.dumps({"call_sid": uri.rsplit("/", 1)[-1].removesuffix(".json"),
                                             "position": 1, "wait_time": 0}))
        return Response(200, json.dumps({"sid": uri.rsplit("/", 1)[-1].removesuffix(".json"), "status": "in-progress"}))
