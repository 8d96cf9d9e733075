"""Commands sharing one embedded Redis: whoever started it, the last one out stops it."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from redis.backoff import NoBackoff
from redis.retry import Retry

from ivr.adapters.server.embedded import USERS_KEY
from ivr.adapters.directory.store import Store
from tests.redis_server import free_port

from .conftest import IVR, ROOT, run_ivr, subprocess_env
from .test_embedded import servers_for

HOLD = """
import sys
from ivr.adapters.server.embedded import EmbeddedRedis
EmbeddedRedis(sys.argv[1]).start()
print("up", flush=True)
sys.stdin.read()
"""


def _hold(data_dir):
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "up"
    return process


def _release(process):
    process.stdin.close()
    process.wait(15)
    process.stdout.close()


def _serving(data_dir) -> bool:
    try:
        client = redis.Redis(unix_socket_path=str(data_dir / "redis.sock"), socket_timeout=1, retry=Retry(NoBackoff(), 0))
        return client.ping()
    except redis.RedisError:
        return False


def _stops(data_dir, within: float = 5) -> bool:
    """Wait (bounded) for the server to go; tell whether it went."""
    deadline = time.monotonic() + within
    while _serving(data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _serving(data_dir)


def test_the_server_outlives_the_command_that_started_it_while_another_still_uses_it(tmp_path):
    starter = _hold(tmp_path)
    later = _hold(tmp_path)
    _release(starter)
    time.sleep(0.2)
    assert _serving(tmp_path)
    _release(later)
    assert _stops(tmp_path)


def test_a_short_command_leaves_a_long_running_ones_server_up(tmp_path):
    long_running = _hold(tmp_path)
    quick = _hold(tmp_path)
    _release(quick)
    assert _serving(tmp_path)
    _release(long_running)
    assert _stops(tmp_path)


def _serve(data_dir, log):
    """Start `ivr serve --demo` on the embedded Redis and wait (bounded) until it answers."""
    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen([IVR, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                   env=subprocess_env(IVR_DATA_DIR=str(data_dir), TWILIO_AUTH_TOKEN="sharing-token"),
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                   start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.1)


def _leave(process):
    process.send_signal(signal.SIGCONT)
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group this test started, no other
        process.wait(15)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to see the server processes")
def test_a_command_that_restarts_a_killed_server_under_ivr_serve_leaves_it_running(short_dir):
    data_dir = short_dir / "data"
    serve = _serve(data_dir, short_dir / "serve.log")
    client = redis.Redis(unix_socket_path=str(data_dir / "redis.sock"), decode_responses=True, socket_timeout=2,
                         retry=Retry(NoBackoff(), 0))
    try:
        counts = Store(client).counts()
        [killed] = servers_for(data_dir)
        # Hold `ivr serve` still, so the command below is the one to start the replacement.
        serve.send_signal(signal.SIGSTOP)
        os.kill(killed, signal.SIGKILL)

        present = run_ivr("presence", "us-en", "busy", env=subprocess_env(IVR_DATA_DIR=str(data_dir)))

        assert present.returncode == 0, present.stderr
        # It left, and saw `ivr serve` among the users: the server it started is still up.
        assert _serving(data_dir)
        [replacement] = servers_for(data_dir)
        assert replacement != killed
        assert Store(client).counts() == counts, "the same data, replayed from the AOF"
        assert Store(client).presence("us-en") == "busy"
        assert client.smembers(USERS_KEY) == {str(serve.pid)}

        serve.send_signal(signal.SIGCONT)
        time.sleep(1.5)  # three supervisor ticks: it finds the server answering and leaves it be
        assert _serving(data_dir)
        assert servers_for(data_dir) == [replacement]
    finally:
        client.close()
        _leave(serve)
    # `ivr serve` was the last user: it stops the server another command started.
    assert _stops(data_dir)
