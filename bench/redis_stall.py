#!/usr/bin/env python
"""Stop Redis (SIGSTOP) under a real `ivr serve` and time what callers and Twilio get meanwhile.

    python bench/redis_stall.py            # starts its own redis-server and ivr serve on loopback

Fires 64 concurrent signed case-number webhooks, then the fallback URL and /healthz, while
Redis is stopped; then every webhook of a call's journey (`every_webhook`, also used by
bench/run.py against its own server): a first burst trips each gunicorn worker's circuit
breaker, the bursts after it are answered from the breaker. Then resumes Redis and measures how
long until /readyz says ready again. Bounded in count and time; loopback only. Figures are
printed, never asserted.
"""
from __future__ import annotations

import os
import secrets
import shutil
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

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ivr.adapters.server.embedded import redis_server_binary

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


def every_webhook(base: str, token: str, redis_pid: int, paths: dict[str, str], language_key: str,
                  per_step: int = 6, bursts: int = 3) -> dict:
    """Stop Redis and send every webhook of a call `per_step` times at once, `bursts` times over; resume it.

    `paths` maps step names (incoming, language, case, wait, queue-result, whisper, dial-result,
    status) to the URLs the app's TwiML gives (bench/saturation.py `probe_paths`). The first burst
    is the one that finds Redis silent (each worker waits one command timeout, then opens its
    breaker); `from_breaker` are the webhooks sent one at a time after it (what one caller waits),
    `from_breaker_burst` the bursts after it (what a crowd waits, on this machine's cores; compare
    `redis_up_burst`). Redis is always resumed.
    """
    from bench.journey import QUEUE_CASE, twilio_fields, caller_number

    validator = RequestValidator(token)

    def request(name: str, n: int) -> tuple[str, dict]:
        call = "CA" + secrets.token_hex(16)
        fields = twilio_fields(call, caller_number(900_000_000 + n))
        extra = {"incoming": {"CallStatus": "ringing"}, "language": {"Digits": language_key},
                 "case": {"Digits": QUEUE_CASE},
                 "wait": {"QueueSid": "QU" + "c" * 32, "QueuePosition": "2", "QueueTime": "30"},
                 "queue-result": {"QueueResult": "hangup", "QueueSid": "QU" + "c" * 32, "QueueTime": "30"},
                 "whisper": {"To": "client:eng", "Direction": "outbound-dial", "ParentCallSid": call},
                 "dial-result": {"DialCallStatus": "completed", "DialCallSid": "CA" + secrets.token_hex(16)},
                 "status": {"CallStatus": "completed", "CallDuration": "42"}}.get(name, {})
        return base + paths[name], {**fields, **extra}

    def burst() -> dict[str, list[tuple[int, float]]]:
        results: dict[str, list[tuple[int, float]]] = {name: [] for name in paths}
        lock = threading.Lock()
        gate = threading.Barrier(per_step * len(paths))

        def one(name: str, n: int) -> None:
            url, params = request(name, n)
            headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
            with requests.Session() as own:
                gate.wait(10)
                started = time.perf_counter()
                try:
                    status = own.post(url, data=params, headers=headers, timeout=20).status_code
                except requests.RequestException:
                    status = 0
                ms = (time.perf_counter() - started) * 1000
            with lock:
                results[name].append((status, ms))

        threads = [threading.Thread(target=one, args=(name, i)) for name in paths for i in range(per_step)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return results

    def summary(runs: list[dict[str, list[tuple[int, float]]]]) -> dict:
        out = {}
        for name in paths:
            got = [r for run in runs for r in run[name]]
            times = sorted(ms for _s, ms in got)
            out[name] = {"n": len(got), "statuses": sorted({s for s, _ms in got}),
                         "p50_ms": round(statistics.median(times), 1), "max_ms": round(times[-1], 1)}
        return out

    def one_at_a_time(session, rounds: int) -> dict[str, list[tuple[int, float]]]:
        results: dict[str, list[tuple[int, float]]] = {name: [] for name in paths}
        for n in range(rounds):
            for name in paths:
                url, params = request(name, n)
                results[name].append(signed_post_with(session, validator, url, params))
        return results

    with requests.Session() as session:
        baseline = burst()
        baseline_sequential = one_at_a_time(session, 3)
        os.kill(redis_pid, signal.SIGSTOP)
        try:
            stopped_at = time.monotonic()
            tripping = burst()
            sequential = one_at_a_time(session, 5)
            answered = [burst() for _ in range(max(1, bursts - 1))]
            health = session.get(base + "/healthz", timeout=20).json()
            stopped_for = time.monotonic() - stopped_at
        finally:
            os.kill(redis_pid, signal.SIGCONT)
        back = wait_for(lambda: session.get(base + "/readyz", timeout=1).status_code == 200, 30)
    from_breaker = summary([sequential])
    concurrent = summary(answered)
    first = summary([tripping])
    return {"per_step": per_step, "concurrent": per_step * len(paths),
            "redis_up_one_at_a_time": summary([baseline_sequential]), "redis_up_burst": summary([baseline]),
            "first_burst": first, "from_breaker": from_breaker, "from_breaker_burst": concurrent,
            "healthz_while_stopped": health, "stopped_seconds": round(stopped_for, 2),
            "max_from_breaker_ms": max(v["max_ms"] for v in from_breaker.values()),
            "max_from_breaker_burst_ms": max(v["max_ms"] for v in concurrent.values()),
            "max_redis_up_burst_ms": max(v["max_ms"] for v in summary([baseline]).values()),
            "max_first_burst_ms": max(v["max_ms"] for v in first.values()),
            "ready_again_after_s": round(back, 2) if back is not None else None}


def signed_post_with(session, validator: RequestValidator, url: str, params: dict) -> tuple[int, float]:
    headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
    started = time.perf_counter()
    try:
        status = session.post(url, data=params, headers=headers, timeout=20).status_code
    except requests.RequestException:
        status = 0
    return status, (time.perf_counter() - started) * 1000


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
            from bench.saturation import probe_paths

            paths = probe_paths(base, TOKEN, "2")
            figures = every_webhook(base, TOKEN, redis.pid, paths, "2")
            print(f"every webhook with Redis stopped: first burst ({figures['concurrent']} at once) max "
                  f"{figures['max_first_burst_ms']:.0f} ms; then from the breaker, one at a time max "
                  f"{figures['max_from_breaker_ms']:.0f} ms, in bursts max {figures['max_from_breaker_burst_ms']:.0f} ms "
                  f"(the same burst with Redis up: max {figures['max_redis_up_burst_ms']:.0f} ms); "
                  f"/readyz ready again after {figures['ready_again_after_s']} s")
            for name, row in figures["from_breaker"].items():
                print(f"  {name:<14} HTTP {row['statuses']}  p50 {row['p50_ms']:.0f} ms  max {row['max_ms']:.0f} ms")
    finally:
        os.kill(redis.pid, signal.SIGCONT)
        server.terminate()
        server.wait(15)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
