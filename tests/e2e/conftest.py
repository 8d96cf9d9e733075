"""The end-to-end tier: two real `ivr serve --demo` processes (gunicorn) sharing one real Redis.

Calls are placed through the real `ivr call --url` command (a subprocess per call) or, where
many calls are needed or a call must leave state behind, through the same CallSimulator over real
HTTP with `requests` (the `phone` fixture). `ivr call --url` makes a rehearsal: the server offers it
to no engineer and records nothing of it, and the call ends as Twilio ends one (a caller still
waiting hangs up, then a `completed` status callback), so it leaves nobody waiting. `phone` places
real calls and keeps a queued caller on hold, sending no closing callbacks.
"""
from __future__ import annotations

import copy
import json
import os
import signal
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
import redis
import requests
from twilio.request_validator import RequestValidator

from ivr.cli.simulator import CallResult, CallSimulator, parse_presses
from ivr.config import DEFAULTS, build_settings
from ivr.wiring import Services
from tests.redis_server import free_port

IVR = str(Path(sys.executable).with_name("ivr"))
"""The console script installed next to the interpreter running the tests."""

TOKEN = "e2e-fixed-auth-token-0123456789abcdef"
"""The auth token both servers verify signatures with (TWILIO_AUTH_TOKEN)."""

E2E_DB = 10
"""A scratch database of its own: the integration tier flushes database 9 around each test."""

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
CALL_TIMEOUT = 30.0

# SPEC §2 lines (ivr/config.py DEFAULTS) and the demo data's region digits (ivr/demo.py).
US, CA, EMEA, EMEA_PARTNER, APAC, LATAM = (
    "+18005550100", "+18885550101", "+442079460100", "+442079460199", "+6518005550100", "+5511555500100")
LINES = {"us": US, "ca": CA, "emea": EMEA, "apac": APAC, "latam": LATAM}
LANGUAGES = {"us": ("en", "es"), "ca": ("en", "fr"), "emea": ("en", "de", "fr", "ru", "es", "it"),
             "apac": ("en", "ja", "zh"), "latam": ("en", "es", "pt")}
TIMEZONES = {"us": "America/New_York", "ca": "America/Toronto", "emea": "Europe/London",
             "apac": "Asia/Singapore", "latam": "America/Sao_Paulo"}
DIGIT = {"us": "1", "ca": "2", "emea": "3", "apac": "4", "latam": "5"}

WEDNESDAY = "2026-11-18"
"""A working day in every region's holiday calendar (US, CA, GB, SG, BR)."""
SATURDAY = "2026-11-21"


def at(region: str, day: str = WEDNESDAY, clock: str = "12:00") -> str:
    """Return an ISO-8601 moment with offset: a wall-clock time in the region's default zone."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo(TIMEZONES[region])).isoformat()


@dataclass
class Servers:
    redis_url: str
    ports: list[int]
    data_dirs: list[Path]
    logs: list[Path]
    token: str = TOKEN

    def url(self, i: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def services(self) -> Services:
        """The service's own adapters on the servers' Redis (see `services_at`); close with `.close()`."""
        return services_at(self.redis_url)


def services_at(redis_url: str, timeout: float = 2.0) -> Services:
    """The service's own adapters on a Redis, with the settings `ivr serve` runs with here (the defaults).

    Tests read state through these (`calls`, `waiting`, `callbacks`, `events`, `store`), never by key
    name: the key layout lives in `ivr.adapters` alone. Close with `.close()`.
    """
    return Services.for_commands(build_settings(copy.deepcopy(DEFAULTS)), redis_url, timeout)


SERVER_CONFIG = "[dispatch]\nwrap_up = 0\n[calls]\nrecord_delay = 0\n"
"""The built-in defaults (SPEC §2–§4) but no wrap-up (calls one after another ring the same demo engineer) and
records written at once (`ivr worker --burst` finds them)."""


def _server_env(redis_url: str, data_dir: Path) -> dict:
    env = dict(os.environ)
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir.parent / "e2e.toml"
    config.write_text(SERVER_CONFIG)
    env.update(REDIS_URL=redis_url, TWILIO_AUTH_TOKEN=TOKEN, IVR_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1",
               IVR_CONFIG=str(config))
    return env


def _stop(process: subprocess.Popen) -> None:
    """Stop a server (gunicorn master) and, if it will not go, its whole process group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the group this fixture started, no other
        except ProcessLookupError:
            pass
        process.wait(STOP_TIMEOUT)


def _wait_healthy(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with requests.Session() as session:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"ivr serve on port {port} exited with {process.returncode}:\n"
                                   + log.read_text(errors="replace")[-3000:])
            try:
                reply = session.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if reply.status_code == 200 and reply.json() == {"status": "ok", "redis": "up"}:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"ivr serve on port {port} did not answer /healthz within {START_TIMEOUT:.0f} s:\n"
                                   + log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)


@pytest.fixture(scope="session")
def servers(redis_server, tmp_path_factory):
    """Two `ivr serve --demo --no-worker --workers 1` processes on loopback ports, sharing one Redis database

    (no dispatcher: these tests route calls, and offers would make the demo engineers busy under them)."""
    redis_url = redis_server.rsplit("/", 1)[0] + f"/{E2E_DB}"
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    root = tmp_path_factory.mktemp("e2e")
    processes, ports, data_dirs, logs = [], [], [], []
    try:
        for i in range(2):
            port = free_port()
            data_dir = root / f"data{i}"
            log = root / f"serve{i}.log"
            with log.open("wb") as out:
                processes.append(subprocess.Popen(
                    [IVR, "serve", "--demo", "--no-worker", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                    env=_server_env(redis_url, data_dir), stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True))
            ports.append(port)
            data_dirs.append(data_dir)
            logs.append(log)
        for process, port, log in zip(processes, ports, logs, strict=True):
            _wait_healthy(process, port, log)
        yield Servers(redis_url, ports, data_dirs, logs)
    finally:
        for process in processes:
            _stop(process)
        client.flushdb()
        client.close()


# --- placing calls ----------------------------------------------------------------------------------


def ivr_call(servers: Servers, to: str, press: str, when: str, *, port: int = 0, token: str | None = TOKEN,
             caller: str = "+15555550123") -> dict:
    """Run the real `ivr call --url ... --json` and return its JSON object.

    Without a token, `ivr call` must find the one `ivr serve --demo` left in the data directory.
    """
    env = dict(os.environ)
    env.pop("IVR_CONFIG", None)
    env.pop("TWILIO_AUTH_TOKEN", None)
    env["IVR_DATA_DIR"] = str(servers.data_dirs[port])
    done = subprocess.run(
        [IVR, "call", "--url", servers.url(port), *(["--token", token] if token else []), "--json", "--to", to,
         "--from", caller, "--press", press, "--at", when],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CALL_TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1, done.stdout
    return json.loads(done.stdout)


@dataclass
class Call:
    result: CallResult
    sid: str
    ports: list[int] = field(default_factory=list)
    sent: list[tuple[int, str]] = field(default_factory=list)
    """(port, path) of every webhook the call sent, the whisper included."""
    """The port each webhook request went to, in order."""

    @property
    def outcome(self) -> dict:
        return self.result.outcome

    @property
    def heard(self) -> list[dict]:
        return self.result.heard

    @property
    def paths(self) -> list[str]:
        return ["/" + urlsplit(url).path.lstrip("/") for url, _ in self.result.requests]


class Phone:
    """CallSimulator over real HTTP, optionally alternating its webhooks between the servers."""

    def __init__(self, servers: Servers, session: requests.Session):
        self.servers, self.session = servers, session
        self.validator = RequestValidator(servers.token)

    def call(self, to: str, press: str, when: str, *, rotate: tuple[int, ...] = (0,),
             caller: str = "+15555550123") -> Call:
        record = Call(CallResult(), "")
        counter = iter(range(10**6))

        def send(absolute: str, params: dict, headers: dict):
            record.sid = record.sid or params.get("ParentCallSid") or params["CallSid"]
            port = self.servers.ports[rotate[next(counter) % len(rotate)]]
            parts = urlsplit(absolute)
            url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))
            if url != absolute:
                # Twilio signs the URL it actually requests.
                headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params)}
            record.ports.append(port)
            record.sent.append((port, "/" + parts.path.lstrip("/")))
            reply = self.session.post(url, data=params, headers=headers, timeout=10)
            return reply.status_code, reply.text, reply.headers

        # The caller stays on hold after the script (no closing callbacks): tests read the queue they are in.
        simulator = CallSimulator(self.servers.url(rotate[0]), self.servers.token, send, when, hang_up=False)
        record.result = simulator.call(to, caller, parse_presses(press))
        return record


def logged_webhooks(log: Path) -> list[str]:
    """Return the paths of the webhooks a server's access log shows it answered, in order."""
    text = log.read_text(errors="replace")
    return [m.split("?", 1)[0] for m in re.findall(r'"POST (/voice/[^ ]+) HTTP', text)]


@pytest.fixture(scope="session")
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="session")
def phone(servers, http):
    return Phone(servers, http)


@pytest.fixture
def services(servers) -> Iterator[Services]:
    services = servers.services()
    yield services
    services.close()
