#!/usr/bin/env python
"""Routing latency against directory size, Redis memory per 1,000,000 cases, and `ivr load` of a big document.

    python bench/scale.py [--cases 1000000] [--samples 3000]

On a fresh redis-server of its own (so INFO memory counts the directory and nothing else):

  * routing latency (`ivr.services.routing.route_call`: the store lookup and the routing decision,
    in-process over loopback TCP, as the case webhook calls it) at 1,000 cases with 10,000 engineers,
    then at the big size with 10 and with 10,000 engineers, each measured alternately with the
    reference directory of 1,000 cases and 10 engineers (another database of the same server), so
    the machine's other work slows both alike and the ratio is what size alone does;
  * `ivr load` of the big document (SPEC §6, bench/load_cases.py's generator) as a separate process:
    wall time, and its peak resident memory (from wait4) against the document's size;
  * Redis `used_memory` before and after that load, per 1,000,000 cases.

The engineers of the 10,000 corner on the big directory are loaded after it (a second document of
engineers only: `ivr load` adds and replaces by id), so the same cases are routed with 10 and with
10,000 engineers. Bounded in time: a load running past its limit is killed and reported.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load_cases import FIRST_CASE, generate  # noqa: E402
from bench.stack import ivr_command  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

ACCOUNTS = 300
LOAD_LIMIT = 300.0
"""Seconds `ivr load` of the big document may take before it is killed (and the run says so)."""


def _high_water_kb(pid: int) -> int:
    """Return a running process's peak resident memory (VmHWM) in kB, or 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def ivr_load(document: dict | None, path: Path, redis_url: str, limit: float = LOAD_LIMIT) -> dict:
    """Write the document (unless already written) and run `ivr load` on it; time it and read its peak RSS."""
    if document is not None:
        path.write_text(json.dumps(document), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "IVR_CONFIG"}
    env["REDIS_URL"] = redis_url
    started = time.perf_counter()
    process = subprocess.Popen([ivr_command(), "load", str(path)], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Output is a line or two; read after exit. The peak RSS is the child's own high-water mark, read from /proc
    # while it runs: wait4's ru_maxrss would count the memory of this (big) process it was forked from, since
    # Linux keeps the larger of the mark before and after exec.
    deadline = started + limit
    killed = False
    peak_kb = 0
    while True:
        peak_kb = max(peak_kb, _high_water_kb(process.pid))
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.kill(process.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(process.pid, 0)
            killed = True
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    out = process.stdout.read().decode(errors="replace").strip()
    err = process.stderr.read().decode(errors="replace").strip()
    process.stdout.close()
    process.stderr.close()
    return {"seconds": round(elapsed, 2), "peak_rss_mb": round((peak_kb or usage.ru_maxrss) / 1024, 1),
            "peak_rss_from": "/proc VmHWM, every 20 ms" if peak_kb else "wait4 ru_maxrss (no /proc)",
            "document_mb": round(path.stat().st_size / 1e6, 1), "exit_code": process.returncode,
            "killed_after_limit": killed, "output": out[-300:], "error": err[-500:]}


WARM_UP = 1000
BLOCKS = 5
REFERENCE = "1000 cases, 10 engineers"


def route_latency(targets: dict[str, tuple[str, int]], samples: int, seed: int = 7) -> dict[str, dict]:
    """Time `route_call` for random stored cases on the EMEA line, on several directories at once.

    `targets` maps a label to (Redis URL, number of cases). Calls alternate between the directories,
    so whatever else the machine does meanwhile slows each alike and their ratio stays honest. p50 is
    the median of BLOCKS blocks' medians; `p50_spread` the blocks' range around it.
    """
    from ivr.adapters.directory.store import Store, connect
    from ivr.config import load_settings
    from ivr.services.routing import route_call

    settings = load_settings(None)
    line = settings.lines["+442079460100"]
    stores = {label: Store(connect(url, 5)) for label, (url, _cases) in targets.items()}
    rng = random.Random(seed)
    numbers = {label: [f"{FIRST_CASE + rng.randrange(cases):08d}" for _ in range(samples + WARM_UP)]
               for label, (_url, cases) in targets.items()}
    now = datetime.now(UTC)
    kinds: dict[str, Counter] = {label: Counter() for label in targets}
    times: dict[str, list[float]] = {label: [] for label in targets}
    for i in range(samples + WARM_UP):
        for label, store in stores.items():
            started = time.perf_counter()
            decision = route_call(store, settings.policy, numbers[label][i], line, "en", lambda _zone: now).decision
            elapsed = (time.perf_counter() - started) * 1000
            if i >= WARM_UP:
                times[label].append(elapsed)
                kinds[label][decision.kind] += 1
    out = {}
    for label, store in stores.items():
        store.redis.close()
        values = times[label]
        size = max(1, len(values) // BLOCKS)
        medians = [statistics.median(values[b * size:(b + 1) * size]) for b in range(BLOCKS)]
        ordered = sorted(values)
        p50 = statistics.median(medians)
        out[label] = {"samples": len(values), "p50_ms": round(p50, 4),
                      "p50_spread": round((max(medians) - min(medians)) / p50, 3),
                      "mean_ms": round(statistics.fmean(values), 4),
                      "p99_ms": round(ordered[int(0.99 * len(ordered))], 4), "decisions": dict(kinds[label])}
    return out


def used_memory(redis_url: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def measure(scratch: Path, big: int, samples: int, log) -> dict:
    """Load the directories, time `ivr load` of the big one, and compare routing latency (see the module doc)."""
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "redis").mkdir(exist_ok=True)
    server = RedisServer(scratch / "redis")
    out: dict = {"big_cases": big, "latency": {}, "comparisons": []}
    try:
        big_db, small, small_10k = server.url(0), server.url(1), server.url(2)

        def compare(label: str, url: str, cases: int, engineers: int) -> None:
            """Route on `url` and on the reference (1,000 cases, 10 engineers) alternately."""
            figures = route_latency({label: (url, cases), REFERENCE: (small, 1000)}, samples)
            row, ref = figures[label], figures[REFERENCE]
            ratio = round(row["p50_ms"] / ref["p50_ms"], 3)
            out["latency"][label] = {"cases": cases, "engineers": engineers, **row, "p50_vs_smallest": ratio,
                                     "reference_p50_ms": ref["p50_ms"]}
            out["comparisons"].append({label: row, REFERENCE: ref})
            if REFERENCE not in out["latency"]:
                out["latency"][REFERENCE] = {"cases": 1000, "engineers": 10, **ref, "p50_vs_smallest": 1.0,
                                             "reference_p50_ms": ref["p50_ms"]}
            log(f"  routing p50 at {label}: {row['p50_ms'] * 1000:.0f} us vs {ref['p50_ms'] * 1000:.0f} us at "
                f"{REFERENCE} measured alternately: {ratio:.2f}x (blocks within {100 * row['p50_spread']:.0f} % and "
                f"{100 * ref['p50_spread']:.0f} %)")

        for url, engineers in ((small, 10), (small_10k, 10_000), (big_db, 10)):
            _check(ivr_load(generate(1000, ACCOUNTS, engineers), scratch / "small.json", url))
        compare("1000 cases, 10000 engineers", small_10k, 1000, 10_000)

        before = used_memory(big_db)
        started = time.perf_counter()
        document = generate(big, ACCOUNTS, 10)
        path = scratch / "big.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        del document
        log(f"  generated {big:,} cases ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s; "
            f"`ivr load` of it ...")
        loaded = ivr_load(None, path, big_db)
        path.unlink()
        out["load"] = {"cases": big, **loaded}
        _check(loaded)
        after = used_memory(big_db)
        added = big - 1000
        out["redis_memory"] = {"used_before_mb": round(before / 2**20, 1), "used_after_mb": round(after / 2**20, 1),
                               "cases_added": added,
                               "per_million_cases_mb": round((after - before) / max(added, 1) * 1e6 / 2**20, 1)}
        log(f"  ivr load: {loaded['seconds']:.1f} s, peak RSS {loaded['peak_rss_mb']:.0f} MB for a "
            f"{loaded['document_mb']:.0f} MB document; Redis memory {out['redis_memory']['per_million_cases_mb']:.0f} MB "
            f"per 1,000,000 cases")
        compare(f"{big} cases, 10 engineers", big_db, big, 10)

        _check(ivr_load(generate(0, ACCOUNTS, 10_000), scratch / "engineers.json", big_db))
        compare(f"{big} cases, 10000 engineers", big_db, big, 10_000)
    finally:
        server.stop()
    return out


def _check(loaded: dict) -> None:
    if loaded["exit_code"] != 0 or loaded["killed_after_limit"]:
        raise RuntimeError(f"ivr load failed: {loaded}")


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=3000)
    args = parser.parse_args()
    if not 2000 <= args.cases <= 5_000_000:
        parser.error("--cases is 2000 to 5000000")
    with tempfile.TemporaryDirectory(prefix="ivr-scale-") as tmp:
        print(json.dumps(measure(Path(tmp), args.cases, args.samples, print), indent=2))


if __name__ == "__main__":
    main()
