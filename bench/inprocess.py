"""Each webhook in-process, on the real redis-server: Redis round trips, Redis commands, time, and a profile.

The same whole calls as the load process (bench/journey.py), through the Flask test client (no HTTP
server), as bench/webhooks.py does. Round trips are counted in-process by wrapping redis-py's
`send_packed_command`: one call sends one request and waits for its replies, so a pipeline or a
MULTI/EXEC transaction or an EVALSHA is ONE round trip. Commands are Redis's own count
(`INFO stats` total_commands_processed deltas): each command of a pipeline, transaction or script counts.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import time
from collections import defaultdict

import redis
from twilio.request_validator import RequestValidator

from bench.journey import QUEUE_CASE, Call, step_name, twilio_fields

BASE = "http://localhost"


class RoundTrips:
    """Count every request redis-py sends, in this process, while installed."""

    def __init__(self):
        self.count = 0
        self._original = None

    def __enter__(self) -> RoundTrips:
        cls = redis.connection.AbstractConnection
        self._original = original = cls.send_packed_command
        counter = self

        def send_packed_command(conn, *args, **kwargs):
            counter.count += 1
            return original(conn, *args, **kwargs)

        cls.send_packed_command = send_packed_command
        return self

    def __exit__(self, *exc) -> None:
        redis.connection.AbstractConnection.send_packed_command = self._original


def _commands(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


def measure(redis_url: str, token: str, language_key: str, engineer_cases: list[str], calls: int,
            profile_calls: int, log) -> dict:
    from ivr import create_app
    from ivr.config import load_settings

    from bench.static_app import app as static_app

    app = create_app({"TWILIO_AUTH_TOKEN": token, "REDIS_URL": redis_url, "SETTINGS": load_settings(None)})
    client = app.test_client()
    static = static_app.test_client()
    validator = RequestValidator(token)
    info = redis.Redis.from_url(redis_url)
    cases = iter(engineer_cases)

    def signed(step) -> dict:
        return {"X-Twilio-Signature": validator.compute_signature(BASE + step.path, step.params)}

    def post(step, headers=None):
        return client.post(step.path, data=step.params, headers=headers or signed(step))

    def journeys(n: int):
        """Yield (call, step) for n whole calls, half on a free engineer's case, half queued."""
        for i in range(n):
            case = next(cases, QUEUE_CASE) if i % 2 else QUEUE_CASE
            call = Call(10_000_000 + i, case, language_key)
            step = call.first()
            while step is not None:
                reply = yield step
                step = call.next(step, reply.status_code, reply.headers, reply.get_data(as_text=True))

    def drive(n: int, around):
        gen = journeys(n)
        step = next(gen, None)
        while step is not None:
            reply = around(step)
            try:
                step = gen.send(reply)
            except StopIteration:
                break

    # Warm-up: scripts loaded, the public URL noted, connections open.
    drive(6, post)

    round_trips: dict[str, list[int]] = defaultdict(list)
    commands: dict[str, list[int]] = defaultdict(list)
    times: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, set] = defaultdict(set)
    calibrate = -(_commands(info) - _commands(info))  # what one INFO adds to the count

    with RoundTrips() as counter:
        def counted(step):
            headers = signed(step)  # the caller's signing is Twilio's work, not the server's
            before_cmds = _commands(info)
            before = counter.count
            started = time.perf_counter()
            reply = post(step, headers)
            elapsed = (time.perf_counter() - started) * 1000
            trips = counter.count - before
            after_cmds = _commands(info)
            name = step_name(step, reply.headers)
            round_trips[name].append(trips)
            commands[name].append(after_cmds - before_cmds - calibrate)
            times[name].append(elapsed)
            statuses[name].add(reply.status_code)
            return reply

        drive(calls, counted)

    static_times = []
    for _ in range(max(200, calls)):
        started = time.perf_counter()
        static.post("/answer", data=twilio_fields("CA" + "0" * 32, "+4915000000000", status="ringing"))
        static_times.append((time.perf_counter() - started) * 1000)

    # Profiles: one per step, over fresh calls.
    collected: dict[str, pstats.Stats] = {}
    profiled: dict[str, int] = defaultdict(int)

    def profiled_post(step):
        headers = signed(step)
        profiler = cProfile.Profile()
        profiler.enable()
        reply = post(step, headers)
        profiler.disable()
        name = step_name(step, reply.headers)
        if name in collected:
            collected[name].add(profiler)
        else:
            collected[name] = pstats.Stats(profiler, stream=io.StringIO())
        profiled[name] += 1
        return reply

    drive(profile_calls, profiled_post)
    info.close()
    summaries = {name: profile_summary(stats, profiled[name]) for name, stats in collected.items()}

    steps = {}
    static_mean = statistics.fmean(static_times)
    for name in sorted(times):
        t = sorted(times[name])
        steps[name] = {
            "requests": len(t),
            "round_trips_mean": round(statistics.fmean(round_trips[name]), 2),
            "round_trips_max": max(round_trips[name]),
            "commands_mean": round(statistics.fmean(commands[name]), 2),
            "ms_mean": round(statistics.fmean(t), 3),
            "ms_p50": round(statistics.median(t), 3),
            "ms_p99": round(t[min(len(t) - 1, int(0.99 * len(t)))], 3),
            "x_static_inprocess": round(statistics.fmean(t) / static_mean, 2),
            "statuses": sorted(statuses[name]),
            "profile": summaries.get(name, {}),
        }
    return {"calls": calls, "static_inprocess_ms_mean": round(static_mean, 3), "steps": steps}


OWN_CODE = ("ivr/", "routing/", "workers/")


def profile_summary(stats: pstats.Stats, n: int, limit: int = 8) -> dict:
    """Where a step's time goes, per request: the functions with most own time, and the project's own
    functions with most cumulative time (what to look at first)."""
    n = max(n, 1)
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append((tt, ct, nc, f"{_short(filename)}:{line}({func})"))
    total = sum(r[0] for r in rows)

    def row(tt, ct, nc, f):
        return {"function": f, "own_ms": round(tt * 1000 / n, 3), "cum_ms": round(ct * 1000 / n, 3),
                "calls": round(nc / n, 1)}

    by_own = sorted(rows, key=lambda r: -r[0])[:limit]
    ours = sorted((r for r in rows if r[3].startswith(OWN_CODE)), key=lambda r: -r[1])[:limit]
    return {"profiled_requests": n, "total_ms": round(total * 1000 / n, 3),
            "top_own_time": [row(*r) for r in by_own], "top_cumulative_project": [row(*r) for r in ours]}


def _short(filename: str) -> str:
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1]) + "/"
    for marker in ("site-packages/", root, "lib/python3.11/", "lib/python3.12/", "lib/python3.13/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
