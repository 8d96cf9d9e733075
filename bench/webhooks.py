#!/usr/bin/env python
"""Benchmark each webhook step in-process: time per request and Redis round trips per request.

    python bench/webhooks.py                     # embedded Redis in a scratch data dir
    REDIS_URL=redis://127.0.0.1:6379/5 python bench/webhooks.py --requests 2000

It loads the demo directory, then replays signed requests for each step through the Flask app
(no HTTP server, so the figures are the app's own cost) next to a static-TwiML baseline, and
counts the commands sent to Redis per request (a pipeline counts as one round trip).
Prints one row per step: mean and p99 milliseconds, and round trips per request.
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time

import redis
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from ivr import create_app
from ivr.config import load_settings
from ivr.cli.demo import demo_document, demo_presence
from ivr.adapters.directory.document import load_document
from ivr.adapters.server.embedded import EmbeddedRedis
from ivr.adapters.directory.store import Store, connect

TOKEN = "bench-token"
LINE = "+442079460100"

ROUND_TRIPS = 0


def _count(original):
    def send(self, *args, **kwargs):
        global ROUND_TRIPS
        ROUND_TRIPS += 1
        return original(self, *args, **kwargs)
    return send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per step")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    embedded = None
    if not url:
        embedded = EmbeddedRedis(tempfile.mkdtemp(prefix="ivr-bench-")).start()
        url = embedded.url
    settings = load_settings(None)
    store = Store(connect(url, 30))
    document, _ = demo_document(settings)
    load_document(store, document, settings.regions)
    for engineer, state in demo_presence(document).items():
        store.set_presence(engineer, state)

    app = create_app({"TWILIO_AUTH_TOKEN": TOKEN, "REDIS_URL": url, "SETTINGS": settings})

    @app.post("/bench/static")
    def bench_static():
        response = VoiceResponse()
        response.say("Thank you for calling technical support.", voice="Polly.Amy-Neural", language="en-GB")
        return str(response), 200, {"Content-Type": "text/xml"}

    client = app.test_client()
    validator = RequestValidator(TOKEN)
    q = f"line=%2B{LINE[1:]}&lang=de"
    steps = [
        ("static TwiML (baseline)", "/bench/static", {}),
        ("incoming (menu)", "/voice/incoming", {}),
        ("language (key 2)", "/voice/language?line=%2B442079460100&attempt=1", {"Digits": "2"}),
        ("case -> engineer", f"/voice/case?{q}&attempt=1", {"Digits": "31200001"}),
        ("case -> queue", f"/voice/case?{q}&attempt=1", {"Digits": "30000002"}),
        ("case -> refused", f"/voice/case?{q}&attempt=1", {"Digits": "30000006"}),
        ("wait (position)", f"/voice/wait?{q}&case=30000002&queue=emea-de", {"QueuePosition": "3", "QueueTime": "40"}),
        ("status", "/voice/status", {"CallStatus": "in-progress"}),
    ]
    redis.connection.AbstractConnection.send_packed_command = _count(redis.connection.AbstractConnection.send_packed_command)
    global ROUND_TRIPS
    print(f"{'step':<26}{'mean ms':>9}{'p99 ms':>9}{'x base':>8}{'RTT/req':>9}")
    base = None
    for name, path, form in steps:
        times = []
        ROUND_TRIPS = 0
        for _ in range(args.requests):
            params = {"CallSid": "CA" + secrets.token_hex(16), "From": "+14155550123", "To": LINE, **form}
            headers = {"X-Twilio-Signature": validator.compute_signature("http://localhost" + path, params)}
            started = time.perf_counter()
            reply = client.post(path, data=params, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert reply.status_code in (200, 204), (path, reply.status_code)
        mean = statistics.fmean(times)
        p99 = statistics.quantiles(times, n=100)[98]
        base = base or mean
        print(f"{name:<26}{mean:>9.2f}{p99:>9.2f}{mean / base:>8.1f}{ROUND_TRIPS / args.requests:>9.1f}")
    if embedded:
        embedded.stop()


if __name__ == "__main__":
    main()
