"""Helpers for the integration tier: the real `ivr` command against a real Redis."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from ivr.cli import main
from ivr.wiring import Services

from .dispatch_support import world  # noqa: F401 - the dispatch world fixture, for every module of this tier
from .webhook_support import Twilio, build_app, close_app, load_demo, services_at, settings_with

ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).with_name("ivr"))
"""The console script installed next to the interpreter running the tests."""

EMEA = "+442079460100"
EMEA_PARTNER = "+442079460199"
US = "+18005550100"

# A small directory in the shape of SPEC §6, used by most tests.
BASE_DOCUMENT: dict = {
    "accounts": [
        {"id": "acme", "name": "Acme GmbH", "plan": "production", "partner": False,
         "maintenance_expires": "2027-06-30", "timezone": "Europe/Berlin"},
        {"id": "globex", "name": "Globex Ltd", "plan": "basic", "partner": False,
         "maintenance_expires": "2027-06-30", "timezone": "Europe/Berlin"},
        {"id": "initech", "name": "Initech", "plan": "evaluation", "partner": False,
         "maintenance_expires": "2027-06-30", "timezone": "Europe/Berlin"},
        {"id": "lapsed", "name": "Lapsed AG", "plan": "production", "partner": False,
         "maintenance_expires": "2026-01-31", "timezone": "Europe/Berlin"},
        {"id": "hobby", "name": "Hobbyist", "plan": "community", "partner": False,
         "maintenance_expires": None, "timezone": None},
        {"id": "freebie", "name": "Free user", "plan": "free"},
        {"id": "reseller", "name": "Reseller plc", "plan": "nfr", "timezone": "Europe/London"},
        {"id": "londonco", "name": "London Co", "plan": "basic", "partner": False,
         "maintenance_expires": "2027-06-30", "timezone": None},
        {"id": "vcsp", "name": "Cloud Partner", "plan": "basic", "partner": True,
         "maintenance_expires": "2027-06-30", "timezone": "Europe/Berlin"},
        {"id": "forever", "name": "Forever Inc", "plan": "premium", "partner": False,
         "maintenance_expires": None, "timezone": "Asia/Tokyo"},
    ],
    "engineers": [
        {"id": "anna", "name": "Anna Weber", "languages": ["de", "en"], "regions": ["emea"],
         "client": "anna", "phone": None, "active": True},
        {"id": "bob", "name": "Bob Smith", "languages": ["en", "es"], "regions": ["us"],
         "client": None, "phone": "+12125550123", "active": True},
        {"id": "carl", "name": "Carl Gone", "languages": ["de", "en"], "regions": ["emea"],
         "client": "carl", "phone": None, "active": False},
    ],
    "cases": [
        {"number": "07123456", "account": "acme", "type": "technical", "severity": 2,
         "status": "open", "engineer": "anna"},
        {"number": "07123457", "account": "acme", "type": "licensing", "severity": 3,
         "status": "awaiting_customer", "engineer": None},
        {"number": "07123458", "account": "globex", "type": "technical", "severity": 2,
         "status": "open", "engineer": "anna"},
        {"number": "07123459", "account": "initech", "type": "technical", "severity": 1,
         "status": "open", "engineer": None},
        {"number": "07123460", "account": "lapsed", "type": "technical", "severity": 2,
         "status": "open", "engineer": None},
        {"number": "07123461", "account": "hobby", "type": "technical", "severity": 2,
         "status": "open", "engineer": None},
        {"number": "07123462", "account": "freebie", "type": "technical", "severity": 2,
         "status": "open", "engineer": None},
        {"number": "07123463", "account": "reseller", "type": "technical", "severity": 2,
         "status": "open", "engineer": None},
        {"number": "07123464", "account": "acme", "type": "general", "severity": 4,
         "status": "open", "engineer": None},
        {"number": "07123465", "account": "acme", "type": "technical", "severity": 2,
         "status": "closed", "engineer": "anna"},
        {"number": "07123466", "account": "acme", "type": "technical", "severity": 2,
         "status": "resolved", "engineer": None},
        {"number": "07123467", "account": "acme", "type": "technical", "severity": 2,
         "status": "cancelled", "engineer": None},
        {"number": "07123468", "account": "acme", "type": "technical", "severity": 2,
         "status": "open", "engineer": "bob"},
        {"number": "07123469", "account": "acme", "type": "technical", "severity": 2,
         "status": "open", "engineer": "carl"},
        {"number": "07123470", "account": "londonco", "type": "technical", "severity": 2,
         "status": "open", "engineer": None},
        {"number": "07123471", "account": "vcsp", "type": "technical", "severity": 2,
         "status": "open", "engineer": None},
        {"number": "07123472", "account": "acme", "type": "technical", "severity": 1,
         "status": "open", "engineer": None},
        {"number": "07123473", "account": "forever", "type": "technical", "severity": 4,
         "status": "open", "engineer": None},
    ],
}


def document(**changes) -> dict:
    """Return a fresh copy of the base document, with whole sections replaced."""
    doc = copy.deepcopy(BASE_DOCUMENT)
    doc.update(copy.deepcopy(changes))
    return doc


def _value(client: redis.Redis, key: bytes, kind: bytes):
    # Compare contents, not DUMP bytes: a set's serialization order changes when members are re-added.
    if kind == b"string":
        return client.get(key)
    if kind == b"set":
        return tuple(sorted(client.smembers(key)))
    if kind == b"hash":
        return tuple(sorted(client.hgetall(key).items()))
    if kind == b"list":
        return tuple(client.lrange(key, 0, -1))
    if kind == b"zset":
        return tuple(client.zrange(key, 0, -1, withscores=True))
    return client.dump(key)


def dump_all(url: str) -> dict[bytes, tuple]:
    """Return every key of the database with its type, full contents and TTL."""
    client = redis.Redis.from_url(url)
    try:
        out = {}
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            out[key] = (kind, _value(client, key, kind), client.pttl(key))
        return out
    finally:
        client.close()


class Ivr:
    """Runs `ivr` in-process with click's CliRunner against one Redis URL."""

    def __init__(self, redis_url: str, tmp_path: Path):
        self.redis_url, self.tmp_path = redis_url, tmp_path
        self.runner = CliRunner()
        self._files = 0

    def env(self, **extra) -> dict:
        return {"REDIS_URL": self.redis_url, "IVR_CONFIG": "", **extra}

    def __call__(self, *args: str, input=None, env: dict | None = None):
        return self.runner.invoke(main, list(args), input=input, env=self.env(**(env or {})), catch_exceptions=False)

    def write(self, doc, name: str | None = None) -> Path:
        """Write a document (a dict, or raw text) to a file and return its path."""
        self._files += 1
        path = self.tmp_path / (name or f"doc{self._files}.json")
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
        return path

    def load(self, doc, name: str | None = None):
        return self("load", str(self.write(doc, name)))

    def route(self, case: str, *, line: str = EMEA, language: str = "de", at: str | None = None) -> dict:
        args = ["route", case, "--line", line, "--language", language, "--json"]
        if at:
            args += ["--at", at]
        result = self(*args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def ivr(redis_url, tmp_path) -> Ivr:
    return Ivr(redis_url, tmp_path)


@pytest.fixture
def services(redis_url) -> Iterator[Services]:
    """The service's own adapters on the test's Redis (default settings), closed after the test."""
    with services_at(redis_url) as services:
        yield services


@pytest.fixture
def loaded(ivr) -> Ivr:
    """The `ivr` runner with the base document already loaded."""
    result = ivr.load(BASE_DOCUMENT)
    assert result.exit_code == 0, result.output
    return ivr


def subprocess_env(**extra) -> dict:
    """The test process's environment without any Redis or configuration the user has set."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "IVR_CONFIG", "IVR_DATA_DIR")}
    env.update(extra)
    return env


def run_ivr(*args: str, env: dict, input: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed `ivr` console script as a real process."""
    return subprocess.run([IVR, *args], env=env, input=input, capture_output=True, timeout=timeout, cwd=ROOT)


@pytest.fixture
def short_dir():
    """A temporary directory with a short path: a Unix socket path is limited to ~100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="ivr-it-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def settings():
    """The built-in settings; a module overrides this fixture to change some."""
    return settings_with()


@pytest.fixture
def app_options() -> dict:
    """How `app` is built (`build_app`'s options); a module overrides this fixture to build it otherwise."""
    return {"allow_at": True}


@pytest.fixture
def app(redis_url, settings, app_options):
    """The webhook app on the demo directory, allowed `IvrAt` what-if moments by default (a module may override
    `settings`, `app_options` or this fixture)."""
    load_demo(redis_url, settings)
    app = build_app(redis_url, settings=settings, **app_options)
    yield app
    close_app(app)


@pytest.fixture
def twilio(app) -> Twilio:
    """Twilio's side of the webhooks: signed requests to the app."""
    return Twilio(app)
