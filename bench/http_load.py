#!/usr/bin/env python
"""Load a running `ivr serve` on loopback with concurrent signed case-number webhooks.

    ivr serve --demo --port 5000 &        # in one terminal (prints the token)
    python bench/http_load.py --url http://127.0.0.1:5000 --callers 50 --requests 4000

Each simulated caller sends the case step (routing, the heaviest webhook) back to back; the
static endpoint /healthz is measured the same way as a baseline. Bounded in count and time;
loopback addresses only.
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
import requests
from twilio.request_validator import RequestValidator

CASES = ("30000002", "31200001", "10000004", "30000006")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def run(url: str, token: str, callers: int, total: int, path: str, signed: bool) -> list[float]:
    validator = RequestValidator(token)
    times: list[float] = []
    lock = threading.Lock()
    remaining = [total]
    stop_at = time.monotonic() + 120

    def caller() -> None:
        session = requests.Session()
        while time.monotonic() < stop_at:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            params = {"CallSid": "CA" + secrets.token_hex(16), "To": "+442079460100", "From": "+14155550123",
                      "Digits": CASES[remaining[0] % len(CASES)]}
            full = url + path
            headers = {"X-Twilio-Signature": validator.compute_signature(full, params)} if signed else {}
            started = time.perf_counter()
            reply = session.post(full, data=params, headers=headers, timeout=5) if signed else session.get(full, timeout=5)
            elapsed = (time.perf_counter() - started) * 1000
            if reply.status_code >= 400:
                raise SystemExit(f"{full}: HTTP {reply.status_code}")
            with lock:
                times.append(elapsed)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def report(name: str, times: list[float], seconds: float) -> None:
    p = statistics.quantiles(times, n=100)
    print(f"{name:<22} {len(times):>6} req  {len(times) / seconds:>7.0f} req/s  p50 {p[49]:6.1f} ms  "
          f"p99 {p[98]:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--token", default=os.environ.get("TWILIO_AUTH_TOKEN"))
    args = parser.parse_args()
    if urlsplit(args.url).hostname not in LOOPBACK:
        raise SystemExit("load tests target loopback addresses only")
    token = args.token or (Path(os.environ.get("IVR_DATA_DIR") or platformdirs.user_data_dir("support-ivr"))
                           / "demo-token").read_text().strip()
    for name, path, signed in (("static (/healthz)", "/healthz", False),
                               ("case step (routing)", "/voice/case?line=%2B442079460100&lang=de&attempt=1", True)):
        started = time.monotonic()
        times = run(args.url.rstrip("/"), token, args.callers, args.requests, path, signed)
        report(name, times, time.monotonic() - started)


if __name__ == "__main__":
    main()
