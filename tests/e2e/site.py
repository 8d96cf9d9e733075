"""A whole service on loopback for dispatch: `ivr serve` and `ivr worker` processes, one Redis database, and
the local stand-in for Twilio's REST API they send their requests to (`twilio.api_base`).

Used by tests/e2e/test_dispatch.py, tests/e2e/test_workers.py and bench/dispatch_latency.py. Callers and
engineers are played as Twilio plays them: signed webhooks over real HTTP.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import redis
import requests
from twilio.request_validator import RequestValidator

from tests.redis_server import free_port
from tests.twilio_api import TwilioApi

IVR = str(Path(sys.executable).with_name("ivr"))
TOKEN = "site-auth-token-0123456789abcdef01"
ACCOUNT = "AC" + "5" * 32
EMEA = "+442079460100"
QUEUE_SID = "QU" + "5" * 32
START_TIMEOUT = 60.0


class Site:
    """`servers` × `ivr serve --no-worker` and `workers` × `ivr worker`, sharing a Redis database."""

    def __init__(self, redis_url: str, root: Path, api: TwilioApi, *, servers: int = 2, workers: int = 2,
                 dispatch: dict | None = None, settings: dict[str, dict] | None = None, env: dict | None = None):
        """`settings`: more tables of the TOML file ({"calls": {"record_delay": 0}}); `env`: more variables."""
        self.redis_url, self.root, self.api = redis_url, root, api
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.redis.flushdb()
        config = root / "ivr.toml"
        lines = [f'[twilio]\napi_base = "{api.url}"', "[dispatch]"]
        lines += [f"{k} = {v}" for k, v in (dispatch or {}).items()]
        for table, values in (settings or {}).items():
            lines.append(f"[{table}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]  # JSON strings are TOML basic strings
        config.write_text("\n".join(lines) + "\n")
        self.env = {**os.environ, "REDIS_URL": redis_url, "IVR_CONFIG": str(config), "TWILIO_AUTH_TOKEN": TOKEN,
                    "TWILIO_ACCOUNT_SID": ACCOUNT, "PYTHONUNBUFFERED": "1", "IVR_DATA_DIR": str(root / "data"),
                    **(env or {})}
        self.processes: list[subprocess.Popen] = []
        self.ports: list[int] = []
        self.server_count, self.worker_count = servers, workers
        self.session = requests.Session()

    # -- processes ------------------------------------------------------------------------------------

    def start(self, document: dict) -> Site:
        doc = self.root / "directory.json"
        doc.write_text(json.dumps(document))
        loaded = subprocess.run([IVR, "load", str(doc)], env=self.env, capture_output=True, text=True, timeout=60)
        assert loaded.returncode == 0, loaded.stderr
        for i in range(self.server_count):
            port = free_port()
            self.ports.append(port)
            self._spawn(f"serve{i}", [IVR, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port),
                                      "--workers", "1"])
        for i in range(self.worker_count):
            self.start_worker(f"worker{i}")
        for port in self.ports:
            self._wait_healthy(port)
        return self

    def start_worker(self, name: str) -> subprocess.Popen:
        """Start one more `ivr worker`, logging to `<name>.log`."""
        return self._spawn(name, [IVR, "worker"])

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL a process this site started, with the children it forked (RQ's scheduler), as a crash would."""
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the group this site started, no other
        process.wait(15)

    def ivr(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run an `ivr` command against this site's Redis and configuration."""
        return subprocess.run([IVR, *args], env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        with (self.root / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(command, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def _wait_healthy(self, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if self.session.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"ivr serve on {port} did not start:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in self.root.glob("*.log"))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(15)
        self.session.close()
        self.redis.flushdb()
        self.redis.close()

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- playing Twilio -------------------------------------------------------------------------------

    def base(self, server: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[server]}"

    def post(self, url: str, params: dict) -> requests.Response:
        """POST an absolute URL of the service, signed as Twilio signs it."""
        params = {k: str(v) for k, v in params.items()}
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        return self.session.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=20)

    def caller(self, sid: str, **extra) -> dict:
        return {"CallSid": sid, "AccountSid": ACCOUNT, "From": "+4930999000", "To": EMEA, "Caller": "+4930999000",
                "Called": EMEA, "Direction": "inbound", "CallStatus": "in-progress", **extra}

    def join(self, sid: str, case: str, server: int = 0, language: str = "de") -> str:
        """Route a caller into their queue as Twilio would: the case webhook, then the first wait-URL request."""
        base = self.base(server)
        query = urlencode({"line": EMEA, "lang": language, "attempt": 1})
        reply = self.post(f"{base}/voice/case?{query}", self.caller(sid, Digits=case))
        assert reply.status_code == 200 and "<Enqueue" in reply.text, reply.text
        wait = reply.text.split('waitUrl="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        self.hold(sid, base + wait)
        return base + wait

    def hold(self, sid: str, wait_url: str) -> str:
        reply = self.post(wait_url, self.caller(sid, QueueSid=QUEUE_SID, QueuePosition=1, QueueTime=1,
                                                AvgQueueTime=0, CurrentQueueSize=1))
        assert reply.status_code == 200, reply.text
        return reply.text

    def presence(self, engineer: str, state: str) -> None:
        done = subprocess.run([IVR, "presence", engineer, state], env=self.env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr

    def engineer_leg(self, offer, status: str, sid: str) -> dict:
        """The fields Twilio sends on the engineer's leg of an offer (its To without the Client parameters)."""
        return {"CallSid": sid, "AccountSid": ACCOUNT,
                "From": offer["From"], "To": offer["To"].split("?")[0], "Direction": "outbound-api",
                "CallStatus": status}

    def answer(self, offer, sid: str) -> str:
        """The engineer's app answers the offer: Twilio requests the offer's URL."""
        reply = self.post(offer["Url"], self.engineer_leg(offer, "in-progress", sid))
        assert reply.status_code == 200, reply.text
        return reply.text

    def ended(self, offer, status: str, sid: str) -> None:
        reply = self.post(offer["StatusCallback"], self.engineer_leg(offer, status, sid))
        assert reply.status_code == 204, reply.text


def offer_case(offer) -> str:
    """The case number an offer request carries to the engineer's app."""
    return parse_qs(urlsplit(offer["To"]).query)["case"][0]
