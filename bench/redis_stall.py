#!/usr/bin/env python
"""Stop Redis (SIGSTOP) under a real `ivr serve` and time what callers and Twilio get meanwhile.

    python bench/redis_stall.py            # starts its own redis-server and ivr serve on loopback

Fires 64 concurrent signed case-number webhooks, then the fallback URL and /healthz, while
Redis is stopped; then resumes Redis and measures how long until /readyz says ready again.
Bounded in count and time; loopback only. Figures are printed, never asserted.
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from twilio.request_validator import RequestValidator

from ivr.adapters.embedded import redis_server_binary

CONCURRENT = 64
TOKEN = "bench-" + secrets.token_hex(8)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, seconds: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if check():
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.02)
    return None


def signed_post(session, url: str, params: dict) -> tuple[int, float]:
    headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)}
    started = time.perf_counter()
    reply = session.post(url, data=params, headers=headers, timeout=20)
    return reply.status_code, (time.perf_counter() - started) * 1000


def burst(session, base: str, label: str) -> str:
    """Send CONCURRENT case webhooks at once, and the fallback URL and /healthz among them; say how they fared."""
    case_url = base + "/voice/case?line=%2B442079460100&lang=de&attempt=1"
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    started_all = time.monotonic()

    def caller() -> None:
        with requests.Session() as own:
            params = {"CallSid": "CA" + secrets.token_hex(16), "To": "+442079460100", "From": "+14155550123",
                      "Digits": "30000002"}
            outcome = signed_post(own, case_url, params)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=caller) for _ in range(CONCURRENT)]
    for t in threads:
        t.start()
    fallback = signed_post(session, base + "/voice/fallback",
                           {"CallSid": "CA" + secrets.token_hex(16), "To": "+442079460100", "From": "+14155550123"})
    started = time.perf_counter()
    health = session.get(base + "/healthz", timeout=20)
    health_ms = (time.perf_counter() - started) * 1000
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - started_all
    times = sorted(ms for _status, ms in results)
    statuses = sorted({status for status, _ms in results})
    return (f"{label}: {len(results)} concurrent case webhooks, HTTP {statuses}, p50 {statistics.median(times):.0f} ms, "
            f"max {times[-1]:.0f} ms, all within {elapsed:.2f} s; fallback URL HTTP {fallback[0]} in "
            f"{fallback[1]:.0f} ms; /healthz {health.json()} in {health_ms:.0f} ms")


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="ivr-stall-"))
    redis_port, port = free_port(), free_port()
    redis = subprocess.Popen([redis_server_binary(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(scratch)], stdout=subprocess.DEVNULL)
    env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", TWILIO_AUTH_TOKEN=TOKEN,
               IVR_DATA_DIR=str(scratch))
    env.pop("IVR_CONFIG", None)
    ivr = str(Path(sys.executable).with_name("ivr"))
    server = subprocess.Popen([ivr, "serve", "--demo", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with requests.Session() as session:
            if wait_for(lambda: session.get(base + "/readyz", timeout=1).status_code == 200, 60) is None:
                raise SystemExit("ivr serve did not become ready")
            print(burst(session, base, "Redis up (baseline)"))
            os.kill(redis.pid, signal.SIGSTOP)
            print(burst(session, base, "Redis stopped"))
            os.kill(redis.pid, signal.SIGCONT)
            back = wait_for(lambda: session.get(base + "/readyz", timeout=1).status_code == 200, 30)
            print(f"Redis resumed: /readyz ready again after {back:.2f} s" if back is not None
                  else "Redis resumed: not ready within 30 s")
    finally:
        os.kill(redis.pid, signal.SIGCONT)
        server.terminate()
        server.wait(15)
        redis.terminate()
        redis.wait(10)


if __name__ == "__main__":
    main()
