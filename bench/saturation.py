"""Requests per second at saturation with wrk, one webhook step at a time, next to the static baseline.

wrk replays PRE-SIGNED requests: a Twilio signature covers the URL and every form field, so each
step gets a few thousand distinct signed bodies (fresh CallSids and calling numbers), written into
a Lua script whose `request()` hands out the next one (threads take alternate ones). `response()`
counts status codes and the app's X-Ivr-Outcome header, so the routing outcome of every
`case -> engineer` and `case -> queue` reply is known, not assumed.

Also read around each run: the CPU time the gunicorn workers and redis-server spent (from /proc),
per request.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.journey import QUEUE_CASE, Call, Step, caller_number, sid, twilio_fields
from bench.machine import CLK_TCK, children, stat_fields

CONNECTIONS = 50
THREADS = 2


@dataclass
class Target:
    name: str
    base: str
    steps: list[Step]
    signed: bool = True


def lua_string(text: str) -> str:
    """Return a Lua double-quoted string literal for text (CR and LF as escapes: Lua long strings would mangle them)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n") + '"'


def raw_request(host: str, step: Step, signature: str | None) -> str:
    body = urlencode(step.params)
    lines = [f"POST {step.path} HTTP/1.1", f"Host: {host}", "Content-Type: application/x-www-form-urlencoded",
             f"Content-Length: {len(body.encode())}", "User-Agent: TwilioProxy/1.1"]
    if signature is not None:
        lines.append(f"X-Twilio-Signature: {signature}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


LUA_TAIL = """
counts = {}  -- global: done() reads each thread's with thread:get
local threads = {}
local started = 0
function setup(thread)
  thread:set("offset", started)
  started = started + 1
  table.insert(threads, thread)
end
local i = nil
function request()
  if i == nil then i = offset or 0 end
  i = i + %(threads)d
  return reqs[(i %% #reqs) + 1]
end
function response(status, headers, body)
  local key = tostring(status) .. " " .. (headers["X-Ivr-Outcome"] or "-")
  counts[key] = (counts[key] or 0) + 1
end
function done(summary, latency, requests)
  io.write("OUTCOMES")
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do io.write("\\t" .. k .. "=" .. v) end
  end
  io.write("\\n")
end
"""


def write_lua(path: Path, target: Target, token: str) -> None:
    host = target.base.removeprefix("http://")
    validator = RequestValidator(token)
    parts = ["local reqs = {"]
    for step in target.steps:
        signature = validator.compute_signature(target.base + step.path, step.params) if target.signed else None
        parts.append(lua_string(raw_request(host, step, signature)) + ",")
    parts.append("}")
    parts.append(LUA_TAIL % {"threads": THREADS})
    path.write_text("\n".join(parts))


DEMO_ENGINEER_CASE = "31200001"
"""The demo's EMEA case whose engineer speaks German: `ivr serve --demo` rings them."""


def probe_paths(base: str, token: str, language_key: str, cases=(QUEUE_CASE, DEMO_ENGINEER_CASE)) -> dict[str, str]:
    """Play one call per case over HTTP and return the URLs the app's TwiML gives for each step."""
    import requests

    validator = RequestValidator(token)
    paths: dict[str, str] = {}
    with requests.Session() as session:
        for case in cases:
            call = Call(0, case, language_key)
            step = call.first()
            while step is not None:
                paths.setdefault(step.name, step.path)
                signature = validator.compute_signature(base + step.path, step.params)
                reply = session.post(base + step.path, data=step.params, timeout=10,
                                     headers={"X-Twilio-Signature": signature})
                step = call.next(step, reply.status_code, reply.headers, reply.text)
    return paths


def build_targets(stack, paths: dict[str, str], per_step: int, engineer_cases: list[str], round_no: int) -> list[Target]:
    """Return this round's runs: static baseline, then each webhook step on its own fresh calls.

    The language, case -> queue, wait and status steps continue the calls the incoming run of
    this round started (so `wait` finds each caller waiting, and `status` ends a call that queued).
    `case -> engineer` uses fresh CallSids on cases whose engineers are all free.
    """
    sids = [sid() for _ in range(per_step)]
    callers = [caller_number(round_no * 1_000_000 + i) for i in range(per_step)]
    key = stack.language_key

    def fields(i: int, **extra) -> dict[str, str]:
        return {**twilio_fields(sids[i], callers[i]), **extra}

    gather = {"FinishedOnKey": "", "msg": "Gather End"}
    incoming = [Step("incoming", paths["incoming"], fields(i, CallStatus="ringing")) for i in range(per_step)]
    targets = [
        Target("static TwiML (baseline)", stack.static_base,
               [Step("static", "/answer", s.params) for s in incoming], signed=False),
        Target("incoming", stack.base, incoming),
        Target("language", stack.base,
               [Step("language", paths["language"], fields(i, Digits=key, **gather)) for i in range(per_step)]),
        Target("case -> queue", stack.base,
               [Step("case", paths["case"], fields(i, Digits=QUEUE_CASE, **gather)) for i in range(per_step)]),
        Target("case -> engineer", stack.base,
               [Step("case", paths["case"], {**twilio_fields(sid(), callers[i]), "Digits": engineer_cases[i % len(engineer_cases)], **gather})
                for i in range(min(per_step, len(engineer_cases)))]),
        Target("wait", stack.base,
               [Step("wait", paths["wait"], fields(i, QueueSid="QU" + "c" * 32, QueuePosition="3", QueueTime="40",
                                                   AvgQueueTime="60", CurrentQueueSize="5")) for i in range(per_step)]),
        Target("status", stack.base,
               [Step("status", paths["status"], fields(i, CallStatus="completed", CallDuration="42",
                                                       CallbackSource="call-progress-events", SequenceNumber="0"))
                for i in range(per_step)]),
    ]
    return targets


# -- CPU accounting ------------------------------------------------------------------------------------

def _cpu_ticks(pid: int) -> int:
    fields = stat_fields(pid)
    return int(fields[11]) + int(fields[12]) if fields else 0  # utime, stime


def family(root_pid: int) -> list[int]:
    """A process and its children (gunicorn's master and workers)."""
    return [root_pid, *children(root_pid)]


def cpu_seconds(pids: list[int]) -> float:
    return sum(_cpu_ticks(p) for p in pids) / CLK_TCK


# -- wrk -------------------------------------------------------------------------------------------------

def ensure_wrk(log) -> str | None:
    """Return wrk's path; as root on Debian, install it with apt-get when missing; None when unavailable."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing: apt-get install -y wrk")
        for command in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            found = shutil.which("wrk")
            if found:
                return found
    return None


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([a-z]+)", text).groups()
    return float(number) * _UNIT[unit]


def parse_wrk(output: str) -> dict:
    out: dict = {"rps": 0.0, "requests": 0, "non_2xx": 0, "socket_errors": {}, "latency_ms": {}, "outcomes": {}}
    if m := re.search(r"Requests/sec:\s+([0-9.]+)", output):
        out["rps"] = float(m[1])
    if m := re.search(r"([0-9]+) requests in ([0-9.]+\w+)", output):
        out["requests"] = int(m[1])
    if m := re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", output):
        out["non_2xx"] = int(m[1])
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        out["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=True))
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+([0-9.]+\w+)\s*$", output, re.M):
        out["latency_ms"][f"p{pct}"] = round(_ms(value), 2)
    for line in output.splitlines():
        if line.startswith("OUTCOMES"):
            for item in line.split("\t")[1:]:
                key, _, count = item.rpartition("=")
                out["outcomes"][key] = out["outcomes"].get(key, 0) + int(count)
    return out


def run_wrk(wrk: str, lua: Path, url: str, seconds: float) -> dict:
    command = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "5s", "--latency",
               "-s", str(lua), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    result = parse_wrk(done.stdout)
    if done.returncode != 0 or not result["requests"]:
        result["error"] = (done.stderr or done.stdout)[-500:]
    return result


def run_python(target: Target, token: str, path: Path, seconds: float) -> dict:
    """The fallback without wrk: bench/callers.py --replay, 50 connections, the same pre-built requests."""
    import json
    import sys

    path.write_text(json.dumps([{"path": s.path, "params": s.params, "signed": target.signed} for s in target.steps]))
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("callers.py")), "--url", target.base,
                           "--token", token, "--replay", str(path), "--connections", str(CONNECTIONS),
                           "--duration", f"{seconds:g}"], capture_output=True, text=True, timeout=seconds + 60)
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {"rps": 0.0, "requests": 0, "non_2xx": 0, "socket_errors": {}, "latency_ms": {}, "outcomes": {},
                "error": done.stderr[-500:]}


def measure(wrk: str | None, stack, token: str, scratch: Path, rounds: int, seconds: float, per_step: int,
            engineer_cases: list[str], log) -> dict:
    """Run every target `rounds` times (round-robin, so drift hits all alike); return the runs per target.

    Without wrk (None) the Python replay client stands in, and says so in the results."""
    paths = probe_paths(stack.base, token, stack.language_key)
    server_pids = family(stack.server.pid)
    static_pids = family(stack.static.pid)
    runs: dict[str, list[dict]] = {}
    for round_no in range(rounds):
        for target in build_targets(stack, paths, per_step, engineer_cases, round_no):
            lua = scratch / f"wrk-{re.sub(r'[^a-z]+', '-', target.name.lower())}-{round_no}.lua"
            if wrk:
                write_lua(lua, target, token)
            if target.name == "case -> engineer":
                stack.free_engineers()  # every engineer free, as a fresh morning's callers find them
            pids = static_pids if target.base == stack.static_base else server_pids
            before = (cpu_seconds(pids), cpu_seconds([stack.redis_pid]), time.perf_counter())
            if wrk:
                result = run_wrk(wrk, lua, target.base + target.steps[0].path, seconds)
            else:
                result = run_python(target, token, lua, seconds)
            after = (cpu_seconds(pids), cpu_seconds([stack.redis_pid]), time.perf_counter())
            n = max(result["requests"], 1)
            result["server_cpu_ms_per_req"] = round((after[0] - before[0]) * 1000 / n, 3)
            result["redis_cpu_ms_per_req"] = round((after[1] - before[1]) * 1000 / n, 4)
            result["distinct_requests"] = len(target.steps)
            runs.setdefault(target.name, []).append(result)
            log(f"  round {round_no + 1}/{rounds} {target.name:<26} {result['rps']:>8.0f} req/s  "
                f"p50 {result['latency_ms'].get('p50') or 0:6.1f} ms  p99 {result['latency_ms'].get('p99') or 0:6.1f} ms  "
                f"cpu {result['server_cpu_ms_per_req']:.2f} ms/req  {summarise_outcomes(result['outcomes'])}"
                + (f"  ERROR {result['error']}" if "error" in result else ""))
            lua.unlink(missing_ok=True)
    return {"paths": paths, "runs": runs, "tool": f"wrk -t{THREADS} -c{CONNECTIONS}" if wrk else
            f"python replay client ({CONNECTIONS} connections; client-bound, wrk was not available)"}


def summarise_outcomes(outcomes: dict) -> str:
    from bench.report import group_outcomes

    outcomes = group_outcomes(outcomes)
    total = sum(outcomes.values()) or 1
    top = sorted(outcomes.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{k.strip()} {100 * v / total:.1f}%" for k, v in top)
