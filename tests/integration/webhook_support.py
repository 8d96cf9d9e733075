"""Playing Twilio against the webhook app in-process: signed requests, demo data, TwiML parsing.

Shared by test_webhooks.py and test_webhooks_fuzz.py; not a test module itself.
"""
from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import redis
from flask import Flask
from twilio.request_validator import RequestValidator

import ivr
from ivr.adapters.directory.document import load_document
from ivr.adapters.directory.store import Store, connect
from ivr.cli.demo import demo_document, demo_presence
from ivr.config import DEFAULTS, Settings, _merge, build_settings
from ivr.wiring import Services
from routing import queue_name

TOKEN = "12345678901234567890123456789012"
"""The auth token the test apps are built with (any string works; this one looks like Twilio's)."""
BASE = "http://localhost"
"""Where Flask's test client sends requests; the URL Twilio would have signed."""

EMEA = "+442079460100"
"""Customer line, six languages: en de fr ru es it."""
EMEA_PARTNER = "+442079460199"
"""Partner (VCSP) line: English only."""
US = "+18005550100"
"""The default line: en es."""
CALLER = "+14155550123"
DOWN_REDIS = "redis://127.0.0.1:1/0"
"""Nothing listens on port 1: every Redis command fails with a connection error."""

ENDPOINTS = ("/voice/incoming", "/voice/language", "/voice/case", "/voice/whisper", "/voice/dial-result",
             "/voice/wait", "/voice/queue-key", "/voice/queue-result", "/voice/status", "/voice/fallback")

VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Dial", "Enqueue", "Leave", "Reject", "Record"}


def settings_with(**overrides) -> Settings:
    """Return settings from the built-in defaults with some keys overridden, as a TOML file would."""
    return build_settings(_merge(copy.deepcopy(DEFAULTS), overrides), "test overrides")


def queues(settings: Settings) -> set[str]:
    """Every configured queue: `<region>-<language>` for each language of each region."""
    return {queue_name(code, lang) for code, region in settings.regions.items() for lang in region.languages}


@contextmanager
def services_at(redis_url: str, settings: Settings | None = None) -> Iterator[Services]:
    """The service's own adapters on a Redis, to read back what a test did as the service reads it.

    Reads go through `calls`, `waiting`, `callbacks`, `events` and `store` (and `Records(services.redis)`),
    never through key names: the key layout lives in `ivr.adapters` alone.
    """
    services = Services.for_commands(settings or settings_with(), redis_url)
    try:
        yield services
    finally:
        services.close()


def build_app(redis_url: str, *, settings: Settings | None = None, allow_at: bool = False,
              strict: bool = True) -> Flask:
    """Build the webhook app through the public factory.

    STRICT makes the safety-net handler re-raise, and TESTING makes Flask hand the exception to the
    test instead of turning it into a 500 page: a bug cannot hide behind the fallback TwiML.
    """
    return ivr.create_app({
        "TWILIO_AUTH_TOKEN": TOKEN,
        "REDIS_URL": redis_url,
        "SETTINGS": settings or settings_with(),  # never whatever IVR_CONFIG the environment names
        "ALLOW_AT": allow_at,
        "STRICT": strict,
        "TESTING": strict,
    })


def close_app(app: Flask) -> None:
    """Close the Redis connection pools the factory opened (filterwarnings=error catches leaks)."""
    services = app.extensions["ivr"]
    services.redis.close()
    services.jobs.connection.close()


def load_demo(redis_url: str, settings: Settings) -> dict:
    """Load the demo directory (ivr/demo.py) and set every demo engineer's presence."""
    document, _guide = demo_document(settings)
    client = connect(redis_url)
    try:
        store = Store(client)
        result = load_document(store, document, settings.regions)
        assert result.ok, [str(e) for e in result.errors]
        for engineer, state in demo_presence(document).items():
            store.set_presence(engineer, state)
    finally:
        client.close()
    return document


def sign(url: str, params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


class Twilio:
    """Sends webhooks the way Twilio does: form-encoded POSTs signed over the full URL."""

    def __init__(self, app: Flask, token: str = TOKEN, environ_base: dict | None = None):
        self.client = app.test_client()
        self.token = token
        self.environ_base = environ_base

    def post(self, path: str, params: dict | None = None, *, signed_url: str | None = None,
             signature: str | None = None, headers: dict | None = None):
        """POST form params to a path (with any query string, e.g. a URL from our own TwiML).

        The signature is over BASE + path unless another URL (signed_url) or signature is given.
        """
        params = {k: str(v) for k, v in (params or {}).items()}
        if signature is None:
            signature = sign(signed_url or BASE + path, params, self.token)
        all_headers = {"X-Twilio-Signature": signature} if signature != "" else {}
        all_headers.update(headers or {})
        kwargs = {"environ_base": self.environ_base} if self.environ_base else {}
        return self.client.post(path, data=params, headers=all_headers, **kwargs)


def call_params(sid: str, to: str = EMEA, **extra) -> dict:
    """The parameters Twilio sends with every webhook of an inbound call."""
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": to, "Caller": CALLER,
            "Called": to, "Direction": "inbound", "CallStatus": "in-progress", "ApiVersion": "2010-04-01", **extra}


def twiml(response) -> ET.Element:
    """Return the parsed TwiML of a 200 text/xml reply, checking its root is <Response>."""
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return root


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def says(node: ET.Element) -> list[str]:
    """Every sentence spoken under a node, in document order."""
    return [(say.text or "").strip() for say in node.iter("Say")]


def spoken(node: ET.Element) -> str:
    return " ".join(says(node))


def query(url: str) -> dict[str, str]:
    """The query parameters of a URL from our TwiML, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def path_of(url: str) -> str:
    return urlsplit(url).path


def keys(redis_url: str) -> set[str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return set(client.keys("*"))
    finally:
        client.close()


_READ = {
    # type: (queue its read on a pipeline, make the reply comparable)
    b"string": (lambda pipe, key: pipe.get(key), lambda raw: raw),
    b"hash": (lambda pipe, key: pipe.hgetall(key), lambda raw: tuple(sorted(raw.items()))),
    b"set": (lambda pipe, key: pipe.smembers(key), lambda raw: tuple(sorted(raw))),
    b"zset": (lambda pipe, key: pipe.zrange(key, 0, -1, withscores=True), tuple),
    b"list": (lambda pipe, key: pipe.lrange(key, 0, -1), tuple),
    b"stream": (lambda pipe, key: pipe.xrange(key),
                lambda raw: tuple((entry, tuple(sorted(fields.items()))) for entry, fields in raw)),
}


def snapshot(redis_url: str) -> dict[bytes, tuple]:
    """Every key with its type and contents, but not its TTL (which moves with the clock).

    Comparing two snapshots tells whether a request changed anything at all, including a field
    of a hash that already existed or an entry added to a stream. Pipelined (a few round trips
    however many keys), since the fuzz tests take two per refused request.
    """
    client = redis.Redis.from_url(redis_url)  # bytes: RQ's job hashes hold pickles, not text
    try:
        names = list(client.scan_iter(count=1000))
        pipe = client.pipeline(transaction=False)
        for key in names:
            pipe.type(key)
        kinds = pipe.execute()
        for key, kind in zip(names, kinds, strict=True):
            if kind in _READ:
                _READ[kind][0](pipe, key)
        replies = iter(pipe.execute())
        return {key: (kind, _READ[kind][1](next(replies)) if kind in _READ else None)
                for key, kind in zip(names, kinds, strict=True)}
    finally:
        client.close()


def run_jobs(redis_url: str, settings: Settings, rest=None) -> None:
    """Run the queued jobs as `ivr worker --burst` does: in this process, with the worker's services and REST
    client (None: no Twilio account)."""
    from rq import Queue, SimpleWorker

    from workers.context import forget, use
    from workers.queues import QUEUES, SERIALIZER
    from workers.records import queue_all_due_records

    connection = redis.Redis.from_url(redis_url)
    services = Services.for_commands(settings, redis_url)
    use(services, rest)
    try:
        queue_all_due_records(services)
        SimpleWorker([Queue(name, connection=connection, serializer=SERIALIZER) for name in QUEUES],
                     connection=connection, serializer=SERIALIZER).work(burst=True)
    finally:
        connection.close()
        forget()
        services.close()
