"""bench/load_cases.py works end to end (a small run; timings are printed, never asserted)."""
from __future__ import annotations

import re
import subprocess
import sys

import redis

from ivr.adapters.directory.store import Store

from .conftest import ROOT, subprocess_env


def test_the_load_benchmark_loads_its_document_and_reports_a_rate(redis_url):
    env = subprocess_env(REDIS_URL=redis_url)

    done = subprocess.run([sys.executable, str(ROOT / "bench" / "load_cases.py"), "--cases", "250",
                           "--accounts", "7", "--engineers", "5"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)

    assert done.returncode == 0, done.stderr
    assert "loaded 7 accounts, 5 engineers, 250 cases" in done.stdout
    assert re.search(r"^elapsed: [0-9.]+ s for 262 records: [0-9,]+ records/s$", done.stdout, re.M), done.stdout
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert Store(client).counts() == {"accounts": 7, "engineers": 5, "cases": 250}
    finally:
        client.close()
