#!/usr/bin/env python
"""Benchmark `ivr load`: generate a large directory document and time loading it.

    python bench/load_cases.py                 # 100000 cases, embedded Redis in a scratch data dir
    REDIS_URL=redis://localhost:6379/5 python bench/load_cases.py --cases 20000

The document follows SPEC §6 (a few hundred accounts and engineers, N cases). It is loaded by
the installed `ivr load` as a separate process, so the figure includes what an operator waits
for: start-up, reading and checking the whole document, and the one Redis transaction.

Without REDIS_URL the embedded Redis is used: in IVR_DATA_DIR (or --data-dir) when given,
otherwise in a temporary data directory removed afterwards, so a user's own data is not touched.
With REDIS_URL the records are written there (case numbers from 90000000 up).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLANS = ("evaluation", "basic", "production", "premium", "community", "free", "nfr")
TIMEZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "America/Toronto", "Asia/Tokyo",
             "Asia/Singapore", "America/Sao_Paulo", None)
REGIONS = {"us": ("en", "es"), "ca": ("en", "fr"), "emea": ("en", "de", "fr", "ru", "es", "it"),
           "apac": ("en", "ja", "zh"), "latam": ("en", "es", "pt")}
TYPES = ("technical", "technical", "technical", "licensing", "general")
STATUSES = ("open", "open", "open", "awaiting_customer", "resolved", "closed", "cancelled")
FIRST_CASE = 90_000_000


def generate(cases: int, accounts: int, engineers: int, seed: int = 1) -> dict:
    """Return a valid SPEC §6 document of the given size, the same for the same seed."""
    rng = random.Random(seed)
    account_ids = [f"bench-acct-{i:05d}" for i in range(accounts)]
    engineer_ids = [f"bench-eng-{i:05d}" for i in range(engineers)]
    doc_accounts = [
        {"id": ident, "name": f"Bench Customer {i}", "plan": rng.choice(PLANS), "partner": rng.random() < 0.05,
         "maintenance_expires": f"{rng.randint(2025, 2030)}-{rng.randint(1, 12):02d}-28",
         "timezone": rng.choice(TIMEZONES)}
        for i, ident in enumerate(account_ids)
    ]
    doc_engineers = []
    for i, ident in enumerate(engineer_ids):
        region = rng.choice(tuple(REGIONS))
        languages = ["en", *rng.sample(REGIONS[region][1:], k=min(1, len(REGIONS[region]) - 1))]
        doc_engineers.append({
            "id": ident, "name": f"Bench Engineer {i}", "languages": languages, "regions": [region],
            "client": ident if i % 3 else None, "phone": f"+1202555{i % 10000:04d}" if i % 3 != 1 else None,
            "active": rng.random() < 0.95,
        })
    doc_cases = [
        {"number": f"{FIRST_CASE + i:08d}", "account": rng.choice(account_ids), "type": rng.choice(TYPES),
         "severity": rng.randint(1, 4), "status": rng.choice(STATUSES),
         "engineer": rng.choice(engineer_ids) if rng.random() < 0.7 else None}
        for i in range(cases)
    ]
    return {"accounts": doc_accounts, "engineers": doc_engineers, "cases": doc_cases}


def ivr_command() -> str:
    beside = Path(sys.executable).with_name("ivr")
    if beside.exists():
        return str(beside)
    found = shutil.which("ivr")
    if not found:
        sys.exit("load_cases: no `ivr` command found; run `pip install -e .` in the project first")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the document (default 100000)")
    parser.add_argument("--accounts", type=int, default=300, help="accounts in the document (default 300)")
    parser.add_argument("--engineers", type=int, default=200, help="engineers in the document (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated document")
    parser.add_argument("--data-dir", help="embedded Redis data directory (default: IVR_DATA_DIR, else a temporary one)")
    args = parser.parse_args(argv)
    if args.cases < 0 or args.accounts < 1 or args.engineers < 1:
        parser.error("--cases must be >= 0, --accounts and --engineers >= 1")

    env = dict(os.environ)
    env.pop("IVR_CONFIG", None)  # built-in lines and regions: the generated engineers use them
    scratch = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    try:
        if env.get("REDIS_URL"):
            target = f"REDIS_URL {env['REDIS_URL']}"
        else:
            data_dir = args.data_dir or env.get("IVR_DATA_DIR") or str(scratch / "data")
            env["IVR_DATA_DIR"] = data_dir
            target = f"embedded Redis in {data_dir}"

        started = time.perf_counter()
        document = generate(args.cases, args.accounts, args.engineers, args.seed)
        path = scratch / "directory.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        generated = time.perf_counter() - started
        records = sum(len(document[k]) for k in ("accounts", "engineers", "cases"))
        size = path.stat().st_size / 1e6
        print(f"document: {args.accounts} accounts, {args.engineers} engineers, {args.cases} cases "
              f"({size:.1f} MB, generated in {generated:.2f} s)")
        print(f"loading into {target}")

        started = time.perf_counter()
        done = subprocess.run([ivr_command(), "load", str(path)], env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            print(f"load_cases: `ivr load` failed with exit code {done.returncode}", file=sys.stderr)
            return done.returncode
        print(done.stdout.strip())
        print(f"elapsed: {elapsed:.2f} s for {records} records: {records / elapsed:,.0f} records/s")
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
