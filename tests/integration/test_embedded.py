"""The embedded default: no REDIS_URL, a redis-server per command, its data kept on disk (AOF)."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ivr.embedded import EmbeddedRedis
from ivr.store import Store

from .conftest import BASE_DOCUMENT, EMEA, document, run_ivr, subprocess_env

AT = "2026-11-27T10:00:00"


def servers_for(data_dir: Path) -> list[int]:
    """The pids of processes whose command line names this data directory (a redis-server)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(data_dir).encode() in part for part in cmdline) and b"redis-server" in cmdline[0]:
            pids.append(int(entry.name))
    return pids


def answers(data_dir: Path) -> bool:
    socket = data_dir / "redis.sock"
    if not socket.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket), socket_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        return client.ping()
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture
def data_dir(short_dir):
    path = short_dir / "data"
    yield path
    for pid in servers_for(path):  # pragma: no cover - only when a test failed half-way
        os.kill(pid, 9)


def route(env, case="07123456", language="de") -> dict:
    done = run_ivr("route", case, "--line", EMEA, "--language", language, "--at", AT, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to see the server processes")
def test_data_loaded_by_one_command_is_seen_by_the_next(data_dir, short_dir):
    env = subprocess_env(IVR_DATA_DIR=str(data_dir))
    doc = short_dir / "doc.json"
    doc.write_text(json.dumps(BASE_DOCUMENT), encoding="utf-8")

    loaded = run_ivr("load", str(doc), env=env)

    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.decode().strip() == ("loaded 10 accounts, 3 engineers, 18 cases; "
                                            "the directory holds 10 accounts, 3 engineers, 18 cases")
    # The command stopped the server it started; the data is in the append-only file.
    assert servers_for(data_dir) == []
    assert not answers(data_dir)
    assert (data_dir / "appendonly.aof").stat().st_size > 0

    present = run_ivr("presence", "anna", "available", env=env)

    assert present.returncode == 0, present.stderr
    assert present.stdout.decode().strip() == "anna is available"
    assert servers_for(data_dir) == []

    # A third server, restarted from the file, sees both the load and the presence.
    assert route(env) == {"decision": "engineer", "reason": "preferred_engineer", "engineer": "anna",
                          "queue": "emea-de", "deadline": "2026-11-27T13:00:00+01:00", "next_open": None}
    assert route(env, case="07123465")["reason"] == "case_closed"
    unknown = run_ivr("presence", "zed", "busy", env=env)
    assert unknown.returncode == 1
    assert "'zed'" in unknown.stderr.decode()
    assert servers_for(data_dir) == []


def test_a_refused_load_leaves_the_embedded_data_as_it_was(data_dir):
    env = subprocess_env(IVR_DATA_DIR=str(data_dir))
    assert run_ivr("load", "-", env=env, input=json.dumps(BASE_DOCUMENT).encode()).returncode == 0
    assert run_ivr("presence", "anna", "busy", env=env).returncode == 0
    bad = document()
    bad["cases"][0]["status"] = "closed"  # would change the routing below if it were stored
    bad["engineers"].append({"id": "dave", "languages": ["de"], "regions": ["emea"]})

    refused = run_ivr("load", "-", env=env, input=json.dumps(bad).encode())

    assert refused.returncode == 1
    assert "<stdin>: engineers[3] (dave): client: an engineer needs" in refused.stderr.decode()
    out = route(env)
    assert (out["decision"], out["queue"]) == ("queue", "emea-de")
    assert run_ivr("presence", "dave", env=env).returncode == 1


def test_a_running_embedded_server_is_shared_and_left_running(data_dir, short_dir):
    server = EmbeddedRedis(data_dir).start()
    client = redis.Redis(unix_socket_path=str(server.socket), decode_responses=True, socket_timeout=5)
    try:
        env = subprocess_env(IVR_DATA_DIR=str(data_dir))

        done = run_ivr("load", "-", env=env, input=json.dumps(BASE_DOCUMENT).encode())

        assert done.returncode == 0, done.stderr
        # The command found this server, used it, and did not stop what it had not started.
        assert server.process is not None and server.process.poll() is None
        assert client.ping()
        assert Store(client).counts() == {"accounts": 10, "engineers": 3, "cases": 18}
    finally:
        client.close()
        server.stop()
    assert not answers(data_dir)


def test_a_killed_server_leaves_a_stale_socket_the_next_command_replaces(data_dir):
    env = subprocess_env(IVR_DATA_DIR=str(data_dir))
    assert run_ivr("load", "-", env=env, input=json.dumps(BASE_DOCUMENT).encode()).returncode == 0
    crashed = EmbeddedRedis(data_dir).start()
    crashed.process.send_signal(signal.SIGKILL)
    crashed.process.wait()
    crashed.process = None
    assert (data_dir / "redis.sock").exists() and not answers(data_dir)

    present = run_ivr("presence", "anna", "available", env=env)

    assert present.returncode == 0, present.stderr
    assert route(env)["engineer"] == "anna"
    assert servers_for(data_dir) == []


def test_the_data_dir_option_places_the_embedded_data(short_dir):
    elsewhere = short_dir / "other"
    env = subprocess_env(IVR_DATA_DIR=str(short_dir / "unused"))

    done = run_ivr("--data-dir", str(elsewhere), "load", "-", env=env, input=json.dumps(BASE_DOCUMENT).encode())

    assert done.returncode == 0, done.stderr
    assert (elsewhere / "appendonly.aof").exists()
    assert not (short_dir / "unused").exists()


@pytest.mark.parametrize("args", [
    pytest.param(("load", "-"), id="load"),
    pytest.param(("lines",), id="lines"),
    pytest.param(("presence", "anna", "available"), id="presence"),
    pytest.param(("route", "07123456", "--line", EMEA, "--language", "de", "--json"), id="route"),
])
def test_a_bad_configuration_stops_the_real_command_before_any_redis_starts(short_dir, data_dir, args):
    config = short_dir / "ivr.toml"
    config.write_text('[regions.apac]\nlanguages = ["en", "klingon"]\n', encoding="utf-8")
    env = subprocess_env(IVR_DATA_DIR=str(data_dir), IVR_CONFIG=str(config))

    done = run_ivr(*args, env=env, input=json.dumps(BASE_DOCUMENT).encode())

    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert f"bad configuration: {config}: regions.apac.languages: 'klingon' is not one of" in stderr
    assert "Traceback" not in stderr
    assert done.stdout == b""
    assert not data_dir.exists()


def test_an_unusable_data_dir_fails_with_a_message(short_dir):
    blocker = short_dir / "file"
    blocker.write_text("not a directory")
    env = subprocess_env(IVR_DATA_DIR=str(blocker / "data"))

    done = run_ivr("presence", "anna", "available", env=env)

    assert done.returncode == 1
    stderr = done.stderr.decode()
    assert stderr.startswith("ivr: ")
    assert str(blocker) in stderr
    assert "Traceback" not in stderr
