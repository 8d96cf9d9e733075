#!/usr/bin/env python
"""Time dispatch: from a caller joining a queue to the REST request that rings a free engineer.

    python bench/dispatch_latency.py [--callers 40] [--servers 2] [--workers 2]

Starts its own redis-server, `ivr serve --no-worker` and `ivr worker` processes on loopback, and
the local stand-in for Twilio's REST API (`twilio.api_base`). One engineer per caller is free;
callers join one at a time (the case webhook, then Twilio's first wait-URL request, as Twilio
sends them), and the time until the stand-in receives the offer's `Calls` request is recorded.
Bounded in count and time; figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.site import Site  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.twilio_api import TwilioApi  # noqa: E402


def document(callers: int) -> dict:
    return {
        "accounts": [{"id": "acme", "name": "Acme GmbH", "plan": "production", "maintenance_expires": "2099-12-31",
                      "timezone": "Europe/Berlin"}],
        "engineers": [{"id": f"eng{i}", "name": f"Engineer {i}", "languages": ["de"], "regions": ["emea"],
                       "client": f"eng{i}", "phone": None, "active": True} for i in range(callers)],
        "cases": [{"number": f"0{i:07d}", "account": "acme", "type": "technical", "severity": 2, "status": "open",
                   "engineer": None} for i in range(callers)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=40)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "redis").mkdir()
        server = RedisServer(root / "redis")
        try:
            with TwilioApi() as api, Site(server.url(0), root, api, servers=args.servers,
                                          workers=args.workers) as site:
                site.start(document(args.callers))
                for i in range(args.callers):
                    site.presence(f"eng{i}", "available")
                time.sleep(1.0)
                latencies, joins = [], []
                for i in range(args.callers):
                    started = time.monotonic()
                    site.join(f"CA{i:032d}", f"0{i:07d}", server=i % args.servers)
                    joined = time.monotonic()
                    [offer] = api.wait_for(lambda r, n=i: "/Calls.json" in r.path and f"0{n:07d}" in r["To"],
                                           timeout=10)
                    latencies.append((offer.at - started) * 1000)
                    joins.append((joined - started) * 1000)
                report(latencies, joins, args)
        finally:
            server.stop()


def report(latencies: list[float], joins: list[float], args) -> None:
    latencies.sort()
    print(f"dispatch latency over {len(latencies)} callers ({args.servers} web processes, {args.workers} workers):")
    print(f"  caller joins (case webhook + first wait request): median {statistics.median(joins):.1f} ms")
    print(f"  caller joins -> offer REST request received: median {statistics.median(latencies):.1f} ms, "
          f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.1f} ms, max {latencies[-1]:.1f} ms")


if __name__ == "__main__":
    main()
