#!/usr/bin/env python
"""Time dispatch: from a caller joining a queue to the REST request that rings a free engineer.

    python bench/dispatch_latency.py [--callers 40] [--servers 2] [--workers 2] [--json]

Starts its own redis-server, `ivr serve --no-worker` and `ivr worker` processes on loopback, and
the local stand-in for Twilio's REST API (`twilio.api_base`). One engineer per caller is free;
callers join one at a time (the case webhook, then Twilio's first wait-URL request, as Twilio
sends them), and the time until the stand-in receives the offer's `Calls` request is recorded.
Bounded in count and time; figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import json
import math
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


def available(site: Site, callers: int) -> None:
    """Make every engineer available as `ivr presence ENGINEER available` does, in this process (one `ivr`
    process per engineer would take longer than the measurement)."""
    from ivr.config import load_settings
    from ivr.services.presence import change_presence
    from ivr.wiring import Services

    services = Services.for_commands(load_settings(site.root / "ivr.toml"), site.redis_url, 5.0)
    try:
        for i in range(callers):
            change_presence(services, f"eng{i}", "available")
    finally:
        services.close()


def measure(callers: int, servers: int, workers: int) -> dict:
    """Return the latencies in ms: `joins` (case webhook + first wait request), `offers` (join -> REST request)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "redis").mkdir()
        server = RedisServer(root / "redis")
        try:
            with TwilioApi() as api, Site(server.url(0), root, api, servers=servers, workers=workers) as site:
                site.start(document(callers))
                available(site, callers)
                time.sleep(1.0)
                latencies, joins = [], []
                for i in range(callers):
                    started = time.monotonic()
                    site.join(f"CA{i:032d}", f"0{i:07d}", server=i % servers)
                    joined = time.monotonic()
                    [offer] = api.wait_for(lambda r, n=i: "/Calls.json" in r.path and f"0{n:07d}" in r["To"],
                                           timeout=10)
                    latencies.append((offer.at - started) * 1000)
                    joins.append((joined - started) * 1000)
        finally:
            server.stop()
    return {"offers": latencies, "joins": joins}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=40)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object (p50/p90/p99/max) instead")
    args = parser.parse_args()
    if not 1 <= args.callers <= 1000:
        parser.error("--callers is 1 to 1000")
    figures = measure(args.callers, args.servers, args.workers)
    if args.json:
        print(json.dumps({"callers": args.callers, "servers": args.servers, "workers": args.workers,
                          "offer_ms": summary(figures["offers"]), "join_ms": summary(figures["joins"])}))
    else:
        report(figures["offers"], figures["joins"], args)


def summary(values: list[float]) -> dict:
    """Median and nearest-rank percentiles of a list of milliseconds."""
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))], 1)

    return {"n": len(ordered), "p50": round(statistics.median(ordered), 1), "p90": rank(0.90), "p99": rank(0.99),
            "max": round(ordered[-1], 1)}


def report(latencies: list[float], joins: list[float], args) -> None:
    figures = summary(latencies)
    print(f"dispatch latency over {len(latencies)} callers ({args.servers} web processes, {args.workers} workers):")
    print(f"  caller joins (case webhook + first wait request): median {statistics.median(joins):.1f} ms")
    print(f"  caller joins -> offer REST request received: median {figures['p50']:.1f} ms, "
          f"p90 {figures['p90']:.1f} ms, p99 {figures['p99']:.1f} ms, max {figures['max']:.1f} ms")


if __name__ == "__main__":
    main()
