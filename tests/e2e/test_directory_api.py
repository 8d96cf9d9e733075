"""The case system's directory API on a real `ivr serve` (gunicorn, two workers) over real HTTP.

A server of its own, started with IVR_API_TOKEN in its environment on a Redis database of its
own; the call after a change is placed by the real `ivr call --url`.
"""
from __future__ import annotations

import copy
import subprocess

import pytest
import redis
import requests

from ivr.cli.demo import demo_document
from ivr.config import DEFAULTS, build_settings
from tests.redis_server import free_port

from .conftest import IVR, US, _server_env, _stop, _wait_healthy, at, ivr_call

API_DB = 11
"""Not the other e2e servers' database (10) nor the integration tier's (9)."""
API_TOKEN = "e2e-case-system-token-0123456789abcdef"


class Server:
    def __init__(self, port: int, data_dir):
        self.port, self.data_dirs = port, [data_dir]

    def url(self, _i: int = 0) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def server(redis_server, tmp_path_factory):
    redis_url = redis_server.rsplit("/", 1)[0] + f"/{API_DB}"
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    root = tmp_path_factory.mktemp("e2e-api")
    port, data_dir, log = free_port(), root / "data", root / "serve.log"
    env = _server_env(redis_url, data_dir)
    env["IVR_API_TOKEN"] = API_TOKEN
    with log.open("wb") as out:
        process = subprocess.Popen(
            [IVR, "serve", "--demo", "--no-worker", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_healthy(process, port, log)
        yield Server(port, data_dir)
    finally:
        _stop(process)
        client.flushdb()
        client.close()


def demo_case(number: str) -> dict:
    document, _guide = demo_document(build_settings(copy.deepcopy(DEFAULTS)))
    return next(c for c in document["cases"] if c["number"] == number)


def test_a_request_without_the_token_is_refused_over_http(server):
    reply = requests.put(f"{server.url()}/api/directory/cases/10000002", json=demo_case("10000002"), timeout=10)

    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="ivr-directory"'
    assert reply.headers["Content-Type"] == "application/json"


def test_a_case_closed_through_the_api_is_refused_on_the_next_call_whichever_worker_answers(server):
    noon = at("us")
    before = ivr_call(server, US, "1,10000002", noon, token=None)
    assert before["outcome"]["kind"] == "queue"

    closed = requests.put(f"{server.url()}/api/directory/cases/10000002",
                          json={**demo_case("10000002"), "status": "closed"},
                          headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)

    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    for _ in range(4):  # two gunicorn workers: each sees the change at once
        after = ivr_call(server, US, "1,10000002", noon, token=None)
        assert after["outcome"] == {"kind": "hangup", "target": None, "reason": "case_closed"}
