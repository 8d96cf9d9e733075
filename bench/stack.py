"""The service under test, on loopback: a real redis-server, `ivr serve --no-worker` and the static baseline.

Used by bench/run.py. Every process is started here, in its own session, and stopped here by its
own id (a process group this module created, never a name).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.redis_server import RedisServer, free_port  # noqa: E402

from bench.journey import EMEA, LANGUAGE  # noqa: E402

START_TIMEOUT = 60.0
BENCH_ENGINEER = "bench-de-{:05d}"
BENCH_CASE_BASE = 36_000_000
"""Bench cases 36000000.. on the EMEA production account, one per bench engineer: `case -> engineer`."""


def ivr_command() -> str:
    beside = Path(sys.executable).with_name("ivr")
    if not beside.exists():
        raise SystemExit("no `ivr` beside this Python: run `pip install -e '.[bench]'` in the project's venv")
    return str(beside)


def bench_engineer(i: int) -> str:
    return BENCH_ENGINEER.format(i)


def bench_case(i: int) -> str:
    return f"{BENCH_CASE_BASE + i:08d}"


def directory(settings, engineers: int) -> tuple[dict, dict[str, str]]:
    """Return the demo directory (`ivr serve --demo`'s) plus `engineers` German-speaking EMEA engineers, each the
    engineer of one open production case; and every engineer's presence (demo's, bench ones available)."""
    from ivr.cli.demo import demo_document, demo_presence

    document, _guide = demo_document(settings)
    presence = demo_presence(document)
    for i in range(engineers):
        ident = bench_engineer(i)
        document["engineers"].append({"id": ident, "name": f"Bench Engineer {i}", "languages": ["de", "en"],
                                      "regions": ["emea"], "client": ident, "phone": None, "active": True})
        document["cases"].append({"number": bench_case(i), "account": "emea-production", "type": "technical",
                                  "severity": 2, "status": "open", "engineer": ident})
        presence[ident] = "available"
    return document, presence


class Stack:
    """redis-server + `ivr serve --no-worker` (the app) + bench/static_app.py (the baseline), on loopback."""

    def __init__(self, root: Path, token: str, engineers: int, workers: int = 2):
        self.root, self.token, self.engineers, self.workers = root, token, engineers, workers
        self.redis_server: RedisServer | None = None
        self.processes: list[subprocess.Popen] = []
        self.port = self.static_port = 0

    # -- start ----------------------------------------------------------------------------------------

    def start(self) -> Stack:
        (self.root / "redis").mkdir(parents=True, exist_ok=True)
        self.redis_server = RedisServer(self.root / "redis")
        self.redis_url = self.redis_server.url(0)
        self.env = {k: v for k, v in os.environ.items() if k not in ("IVR_CONFIG", "REDIS_URL")}
        self.env.update(REDIS_URL=self.redis_url, TWILIO_AUTH_TOKEN=self.token, IVR_DATA_DIR=str(self.root / "data"),
                        PYTHONUNBUFFERED="1")
        self.load_directory()
        self.port, self.static_port = free_port(), free_port()
        # The same command an operator runs, without the background worker (nothing here is dispatched).
        self.server = self._spawn("ivr-serve", [ivr_command(), "serve", "--no-worker", "--host", "127.0.0.1",
                                                "--port", str(self.port), "--workers", str(self.workers)])
        self.static = self._spawn("static-app", [sys.executable, str(ROOT / "bench" / "static_app.py"), "--port",
                                                 str(self.static_port), "--workers", str(self.workers)])
        self._wait(f"{self.base}/readyz", self.server)
        self._wait(f"{self.static_base}/answer", self.static)
        return self

    def load_directory(self) -> None:
        """`ivr load` the demo directory and the bench engineers, then set everyone's presence."""
        from ivr.adapters.directory.store import Store, connect
        from ivr.config import load_settings

        settings = load_settings(None)
        document, presence = directory(settings, self.engineers)
        path = self.root / "directory.json"
        path.write_text(json.dumps(document))
        done = subprocess.run([ivr_command(), "load", str(path)], env=self.env, capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"ivr load failed: {done.stderr}")
        self.load_message = done.stdout.strip()
        store = Store(connect(self.redis_url, 10))
        for engineer, state in presence.items():
            store.set_presence(engineer, state)
        store.redis.close()
        line = settings.lines[EMEA]
        self.language_key = str(line.languages.index(LANGUAGE) + 1)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        # stdout is gunicorn's access log (one line a request, as `ivr serve` writes it): kept, but not on disk.
        with (self.root / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(command, env=self.env, cwd=self.root, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        self.processes.append(process)
        return process

    def _wait(self, url: str, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with requests.Session() as session:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                try:
                    if session.get(url, timeout=2).status_code == 200:
                        return
                except requests.RequestException:
                    pass
                time.sleep(0.1)
        raise SystemExit(f"{url} did not come up:\n{self.logs()}")

    # -- use ------------------------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def static_base(self) -> str:
        return f"http://127.0.0.1:{self.static_port}"

    @property
    def redis_pid(self) -> int:
        return self.redis_server.process.pid

    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    def free_engineers(self) -> int:
        """End every engagement of the bench engineers (a dial's, a wrap-up's): all of them are free again."""
        from ivr.adapters import keys

        client = self.redis()
        removed = 0
        names = [keys.engaged(bench_engineer(i)) for i in range(self.engineers)]
        for start in range(0, len(names), 1000):
            removed += client.delete(*names[start:start + 1000])
        client.close()
        return removed

    def trouble(self) -> dict[str, int]:
        """Count, in the server's log so far: breaker trips, fail-safe answers by path, unexpected errors."""
        import re

        counts: dict[str, int] = {}
        try:
            text = (self.root / "ivr-serve.log").read_text(errors="replace")
        except OSError:
            return counts
        counts["breaker_opened"] = text.count("answering from configuration until it is back")
        for path, why in re.findall(r"redis error on (/\S+): (.*)", text):
            counts[f"failsafe {path}"] = counts.get(f"failsafe {path}", 0) + 1
            why = "failsafe because: " + re.sub(r"[0-9.]+", "N", why)[:120]
            counts[why] = counts.get(why, 0) + 1
        counts["unexpected_errors"] = text.count("unexpected error on")
        return counts

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.root.glob("*.log"))

    # -- stop -----------------------------------------------------------------------------------------

    def stop(self) -> None:
        if self.redis_server is not None:
            try:
                os.kill(self.redis_pid, signal.SIGCONT)  # never leave it stopped
            except ProcessLookupError:
                pass
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the group this module started for it
                process.wait(15)
        if self.redis_server is not None:
            self.redis_server.stop()
            self.redis_server = None

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
