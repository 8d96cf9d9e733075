#!/usr/bin/env python
"""The load process: whole calls against a running `ivr serve` over HTTP, signed as Twilio signs them.

    python bench/callers.py --url http://127.0.0.1:5000 --token TOKEN --closed 50 --duration 10
    python bench/callers.py --url http://127.0.0.1:5000 --token TOKEN --rate 300 --duration 10

Closed loop (`--closed N`): N callers, each placing whole calls back to back (bench/journey.py), as fast
as the server answers: calls and webhooks per second.

Open loop (`--rate R`): webhooks leave at R a second on a fixed schedule whatever the server does:
each tick sends the next step of a call whose previous step was answered, or starts a new call. A
request's latency runs from its scheduled moment, so time spent queued behind a slow server counts.
The run says whether the server kept up: every request answered (2xx) within the timeout, the
in-flight cap never reached, and the last answer in within 250 ms of the last scheduled send.

Replay (`--replay FILE --connections 50`): the saturation fallback when wrk is not installed: pre-built
requests (a JSON list of {"path", "params", "signed"}) sent back to back on 50 connections, cycling.
The Python client is slower than wrk: its figures are bounded by the client as much as the server.

Half the calls (`--engineer-share`) key a bench case whose engineer is free (`--engineers START:END`,
each used once); the others the demo's premium case that queues. Bounded in count and time; loopback
only. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter, defaultdict, deque
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.journey import QUEUE_CASE, Call, Step, step_name  # noqa: E402

LOOPBACK = ("127.0.0.1", "localhost", "::1")
REQUEST_TIMEOUT = 5.0
IN_FLIGHT_CAP = 400
KEPT_PACE = 0.25
"""Seconds after the last scheduled send by which every answer must be in for the run to have kept up."""
IDLE_REUSE = 1.5
"""Seconds a pooled connection may sit idle and still be used (gunicorn closes keep-alives after 2 s)."""


class Http:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: cheap enough that the server is what is measured."""

    def __init__(self, url: str, token: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.base = f"http://{self.host}:{self.port}"
        self.validator = RequestValidator(token)
        self.idle: deque = deque()

    async def _connection(self):
        now = time.monotonic()
        while self.idle:
            reader, writer, used = self.idle.pop()
            if now - used < IDLE_REUSE and not reader.at_eof():
                return reader, writer, True
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return reader, writer, False

    async def post(self, step: Step, sign: bool = True) -> tuple[int, dict, str]:
        body = urlencode(step.params).encode()
        signature = self.validator.compute_signature(self.base + step.path, step.params) if sign else ""
        head = (f"POST {step.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                + (f"X-Twilio-Signature: {signature}\r\n" if sign else "")
                + "User-Agent: TwilioProxy/1.1\r\n\r\n").encode()
        for attempt in (1, 2):
            reader, writer, reused = await self._connection()
            try:
                writer.write(head + body)
                status, headers, text, keep = await _read_reply(reader)
            except (ConnectionError, asyncio.IncompleteReadError, EOFError):
                writer.close()
                if reused and attempt == 1:
                    continue  # the server closed an idle keep-alive just now: once more on a new connection
                raise
            if keep:
                self.idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            return status, headers, text
        raise ConnectionError("unreachable")

    def close(self) -> None:
        while self.idle:
            self.idle.pop()[1].close()


async def _read_reply(reader) -> tuple[int, dict, str, bool]:
    line = await reader.readline()
    if not line:
        raise EOFError("connection closed")
    status = int(line.split()[1])
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().title()] = value.strip()
    if "Content-Length" in headers:
        body = await reader.readexactly(int(headers["Content-Length"]))
    elif headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
    else:
        body = b""
    keep = headers.get("Connection", "").lower() != "close"
    return status, headers, body.decode("utf-8", "replace"), keep


class Calls:
    """Hands out new calls: every other one (by `share`) on a fresh engineer's case, the rest on the queued case."""

    def __init__(self, language_key: str, engineer_cases: list[str], share: float):
        self.language_key, self.engineer_cases, self.share = language_key, deque(engineer_cases), share
        self.n = 0
        self.engineer_due = 0.0

    def new(self) -> Call:
        self.n += 1
        self.engineer_due += self.share
        if self.engineer_due >= 1 and self.engineer_cases:
            self.engineer_due -= 1
            case = self.engineer_cases.popleft()
        else:
            case = QUEUE_CASE
        return Call(self.n, case, self.language_key)


class Figures:
    def __init__(self):
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.paths: Counter = Counter()
        self.calls_done = 0

    def record(self, name: str, ms: float, status: int) -> None:
        self.latency[name].append(ms)
        self.statuses[status] += 1

    def summary(self) -> dict:
        every = [ms for values in self.latency.values() for ms in values]
        return {
            "requests": len(every), "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(self.errors), "calls_completed": self.calls_done, "call_paths": dict(self.paths),
            "all": quantiles(every),
            "steps": {name: quantiles(values) for name, values in sorted(self.latency.items())},
        }


def quantiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(ordered), "p50": round(statistics.median(ordered), 2), "p90": at(0.90), "p99": at(0.99),
            "max": round(ordered[-1], 2), "mean": round(statistics.fmean(ordered), 2)}


async def send(http: Http, call: Call, step: Step, figures: Figures, since: float) -> Step | None:
    """Send one step; record its latency from `since` (its scheduled moment); return the call's next step."""
    try:
        status, headers, body = await asyncio.wait_for(http.post(step), REQUEST_TIMEOUT)
    except asyncio.TimeoutError:
        figures.errors["timeout"] += 1
        return None
    except (OSError, EOFError, asyncio.IncompleteReadError, ValueError) as error:
        figures.errors[type(error).__name__] += 1
        return None
    ms = (time.perf_counter() - since) * 1000
    figures.record(step_name(step, headers), ms, status)
    if status >= 400:
        figures.errors[f"http_{status}"] += 1
    following = call.next(step, status, headers, body)
    if following is None:
        figures.calls_done += 1
        figures.paths[call.path or "unfinished"] += 1
    return following


async def closed_loop(url: str, token: str, callers: int, duration: float, calls: Calls) -> dict:
    figures = Figures()
    stop_at = time.perf_counter() + duration

    async def caller() -> None:
        http = Http(url, token)
        try:
            while time.perf_counter() < stop_at:
                call = calls.new()
                step = call.first()
                while step is not None:
                    step = await send(http, call, step, figures, time.perf_counter())
        finally:
            http.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(caller()) for _ in range(callers)]
    done, pending = await asyncio.wait(tasks, timeout=duration + 2 * REQUEST_TIMEOUT + 5)
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - started
    out = figures.summary()
    out.update(mode="closed", callers=callers, seconds=round(elapsed, 2),
               calls_per_s=round(figures.calls_done / elapsed, 1),
               webhooks_per_s=round(out["requests"] / elapsed, 1), unfinished_tasks=len(pending))
    return out


async def open_loop(url: str, token: str, rate: float, duration: float, calls: Calls) -> dict:
    figures = Figures()
    http = Http(url, token)
    ready: deque = deque()
    in_flight = 0
    lags: list[float] = []
    capped = False
    tasks: set = set()

    last_answer = 0.0

    async def one(call: Call, step: Step, scheduled: float) -> None:
        nonlocal in_flight, last_answer
        try:
            following = await send(http, call, step, figures, scheduled)
            last_answer = max(last_answer, time.perf_counter())
            if following is not None:
                ready.append((call, following))
        finally:
            in_flight -= 1

    start = time.perf_counter() + 0.05
    total = int(rate * duration)
    for n in range(total):
        scheduled = start + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append((time.perf_counter() - scheduled) * 1000)
        if in_flight >= IN_FLIGHT_CAP:
            capped = True
            break
        if ready:
            call, step = ready.popleft()
        else:
            call = calls.new()
            step = call.first()
        in_flight += 1
        task = asyncio.create_task(one(call, step, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent_for = time.perf_counter() - start
    last_scheduled = start + (len(lags) - 1) / rate
    if tasks:
        _done, pending = await asyncio.wait(set(tasks), timeout=REQUEST_TIMEOUT + 1)
        for task in pending:
            task.cancel()
    elapsed = time.perf_counter() - start
    http.close()
    out = figures.summary()
    answered_ok = sum(v for k, v in figures.statuses.items() if 200 <= k < 300)
    sent = len(lags) - (1 if capped else 0)
    # Kept up: every request answered 2xx, the in-flight cap never reached, and the answers kept pace with
    # the schedule: the last one came within KEPT_PACE of the last scheduled send.
    finish_lag = max(0.0, last_answer - last_scheduled)
    kept_up = not capped and not figures.errors and answered_ok == sent and finish_lag < KEPT_PACE
    out.update(mode="open", rate=rate, seconds=round(elapsed, 2), scheduled=total, sent=sent,
               achieved_per_s=round(answered_ok / elapsed, 1), in_flight_cap_hit=capped,
               client_lag_ms=quantiles(lags), sending_seconds=round(sent_for, 2),
               finish_lag_ms=round(finish_lag * 1000, 1), kept_up=kept_up)
    return out


async def replay(url: str, token: str, requests_file: str, connections: int, duration: float) -> dict:
    items = json.loads(Path(requests_file).read_text())
    steps = [Step("replay", item["path"], item["params"]) for item in items]
    signed = [item.get("signed", True) for item in items]
    figures = Figures()
    outcomes: Counter = Counter()
    stop_at = time.perf_counter() + duration
    cursor = [0]

    async def worker() -> None:
        http = Http(url, token)
        try:
            while time.perf_counter() < stop_at:
                i = cursor[0] % len(steps)
                cursor[0] += 1
                step = steps[i]
                started = time.perf_counter()
                try:
                    status, headers, _body = await asyncio.wait_for(
                        http.post(step, sign=signed[i]), REQUEST_TIMEOUT)
                except (asyncio.TimeoutError, OSError, EOFError, asyncio.IncompleteReadError, ValueError) as error:
                    figures.errors[type(error).__name__] += 1
                    continue
                figures.record("replay", (time.perf_counter() - started) * 1000, status)
                outcomes[f"{status} {headers.get('X-Ivr-Outcome', '-')}"] += 1
        finally:
            http.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(connections)]
    _done, pending = await asyncio.wait(tasks, timeout=duration + REQUEST_TIMEOUT + 5)
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - started
    out = figures.summary()
    return {"mode": "replay", "rps": round(out["requests"] / elapsed, 1), "requests": out["requests"],
            "latency_ms": {k: out["all"].get(k) for k in ("p50", "p90", "p99")},
            "non_2xx": sum(v for k, v in figures.statuses.items() if not 200 <= k < 400),
            "socket_errors": dict(figures.errors), "outcomes": dict(outcomes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--language-key", default="2")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--closed", type=int, metavar="N", help="N callers back to back")
    mode.add_argument("--rate", type=float, metavar="R", help="R webhooks a second, open loop")
    mode.add_argument("--replay", metavar="FILE", help="pre-built requests to send back to back (no wrk)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--engineers", default="", help="START:END: bench engineer cases to use, each once")
    parser.add_argument("--engineer-share", type=float, default=0.5)
    args = parser.parse_args()
    if urlsplit(args.url).hostname not in LOOPBACK:
        raise SystemExit("load tests target loopback addresses only")
    if not 0 < args.duration <= 120:
        raise SystemExit("--duration is 0 to 120 seconds")
    engineer_cases: list[str] = []
    if args.engineers:
        from bench.stack import bench_case

        first, last = (int(x) for x in args.engineers.split(":"))
        engineer_cases = [bench_case(i) for i in range(first, last)]
    calls = Calls(args.language_key, engineer_cases, args.engineer_share)
    if args.replay:
        result = asyncio.run(replay(args.url, args.token, args.replay, min(args.connections, 500), args.duration))
        print(json.dumps(result))
        return
    if args.closed:
        result = asyncio.run(closed_loop(args.url, args.token, min(args.closed, 500), args.duration, calls))
    else:
        result = asyncio.run(open_loop(args.url, args.token, min(args.rate, 5000), args.duration, calls))
    result["engineer_cases_used"] = len(engineer_cases) - len(calls.engineer_cases)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
