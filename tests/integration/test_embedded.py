"""The embedded default: no REDIS_URL, a redis-server per command, its data kept on disk (AOF)."""
from __future__ import annotations

import json
import logging
import os
import signal
import stat
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ivr.config import load_settings
from ivr.adapters.server.embedded import USERS_KEY, EmbeddedRedis, Supervisor
from ivr.cli.runtime import Runtime
from ivr.adapters.directory.store import Store

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
    return EmbeddedRedis(data_dir).answers()


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
    # This process joined before the crash and has not left: the replacement serves it still.
    assert len(servers_for(data_dir)) == 1 and answers(data_dir)
    crashed.stop()
    assert wait_for(lambda: servers_for(data_dir) == []), "its last user stopped it, though another started it"


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


# --- supervision (issue 6 item 3) ---------------------------------------------------------------------


def wait_for(condition, within: float = 5.0) -> bool:
    """Poll a condition (bounded); tell whether it came true."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def server_pid(data_dir: Path) -> int:
    return int((data_dir / "redis.pid").read_text())


def client_for(data_dir: Path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(data_dir / "redis.sock"), socket_timeout=1, retry=Retry(NoBackoff(), 0))


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to see the server processes")
def test_the_supervisor_restarts_a_killed_server_on_the_same_data(data_dir, caplog):
    caplog.set_level(logging.WARNING, logger="ivr.adapters.server.embedded")
    server = EmbeddedRedis(data_dir).start()
    supervisor = server.supervise(interval=0.1)
    client = client_for(data_dir)
    try:
        client.set("kept", "before the crash")
        killed = server_pid(data_dir)
        assert servers_for(data_dir) == [killed]

        os.kill(killed, signal.SIGKILL)

        # The count comes after the new server answers: wait for both.
        assert wait_for(lambda: supervisor.restarts == 1 and answers(data_dir)), "not restarted within 5 s"
        assert server_pid(data_dir) != killed
        assert client.get("kept") == b"before the crash", "the AOF was replayed"
        assert servers_for(data_dir) == [server_pid(data_dir)]
        assert "(restart 1)" in caplog.text and str(data_dir) in caplog.text
        assert client.sismember(USERS_KEY, os.getpid())
    finally:
        client.close()
        server.stop()
    assert not supervisor.running
    assert not answers(data_dir), "the last user stopped the server it restarted"
    assert servers_for(data_dir) == []


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to see the server processes")
def test_a_stalled_server_is_never_replaced_by_the_supervisor(data_dir, caplog):
    caplog.set_level(logging.WARNING, logger="ivr.adapters.server.embedded")
    server = EmbeddedRedis(data_dir).start()
    supervisor = server.supervise(interval=0.1)
    stalled = server_pid(data_dir)
    os.kill(stalled, signal.SIGSTOP)
    try:
        assert wait_for(lambda: "does not answer" in caplog.text, within=3)
        time.sleep(0.5)  # more ticks: still not replaced

        assert supervisor.restarts == 0
        assert servers_for(data_dir) == [stalled]
    finally:
        os.kill(stalled, signal.SIGCONT)
    try:
        assert wait_for(lambda: answers(data_dir))
        assert server_pid(data_dir) == stalled and supervisor.restarts == 0
    finally:
        server.stop()
    assert servers_for(data_dir) == []


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to see the server processes")
def test_another_command_never_starts_a_second_server_beside_a_stalled_one(data_dir):
    server = EmbeddedRedis(data_dir).start()
    [stalled] = servers_for(data_dir)
    os.kill(stalled, signal.SIGSTOP)
    try:
        # Two servers appending to one AOF would corrupt it: the command fails instead.
        other = run_ivr("presence", "anna", "available", env=subprocess_env(IVR_DATA_DIR=str(data_dir)))

        assert servers_for(data_dir) == [stalled]
        assert other.returncode == 1
        stderr = other.stderr.decode()
        assert f"(pid {stalled}) is running but does not answer" in stderr
        assert "Traceback" not in stderr
    finally:
        os.kill(stalled, signal.SIGCONT)
        for pid in set(servers_for(data_dir)) - {stalled}:  # pragma: no cover - only before the fix
            os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: answers(data_dir))
    server.stop()
    assert servers_for(data_dir) == []


def test_the_supervisor_rejoins_the_users_a_crash_may_have_lost(data_dir):
    server = EmbeddedRedis(data_dir).start()
    client = client_for(data_dir)
    try:
        server.supervise(interval=0.1)
        # As if the AOF lost the last second: this process is no longer listed as a user.
        client.srem(USERS_KEY, os.getpid())

        assert wait_for(lambda: client.sismember(USERS_KEY, os.getpid()), within=3)
    finally:
        client.close()
        server.stop()


def test_a_runtime_supervises_only_its_own_embedded_server(data_dir, redis_url):
    settings = load_settings(None)
    external = Runtime(settings, redis_url=redis_url, data_dir=data_dir)
    external.url()
    assert external.supervise() is None
    external.close()

    embedded = Runtime(settings, data_dir=data_dir)
    embedded.url()
    supervisor = embedded.supervise(interval=0.1)
    assert isinstance(supervisor, Supervisor) and supervisor.running

    embedded.close()

    assert not supervisor.running
    assert not answers(data_dir), "closed after its supervisor stopped: nothing restarted it"
    time.sleep(0.3)
    assert not answers(data_dir)


# --- file modes (issue 6 item 11) ---------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    """The usual umask, whatever the test runner has: files would come out 0644 without care."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_data_directory_and_its_files_are_readable_by_their_owner_only(data_dir, umask_022):
    server = EmbeddedRedis(data_dir).start()
    try:
        client_for(data_dir).set("caller", "+15555550123")
        files = [data_dir / name for name in ("appendonly.aof", "redis.log", "redis.pid", "start.lock")]

        assert mode(data_dir) == 0o700
        assert {f.name: oct(mode(f)) for f in files} == {f.name: oct(0o600) for f in files}
    finally:
        server.stop()
    assert oct(mode(data_dir / "appendonly.aof")) == oct(0o600)


def test_an_open_data_directory_of_ours_is_tightened(data_dir, umask_022):
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    log = data_dir / "redis.log"
    log.write_text("from an older version\n")
    log.chmod(0o644)

    EmbeddedRedis(data_dir).start().stop()

    assert oct(mode(data_dir)) == oct(0o700)
    assert oct(mode(log)) == oct(0o600)


def test_serve_creates_the_demo_token_file_0600_from_the_start(short_dir, redis_url, umask_022, monkeypatch):
    from click.testing import CliRunner

    import ivr.cli.serve
    from ivr.cli import main
    from ivr.cli.commands import DEMO_TOKEN_FILE

    data_dir = short_dir / "data"
    token_file = data_dir / DEMO_TOKEN_FILE
    exposed = []
    real_chmod, real_path_chmod = os.chmod, Path.chmod

    def note(path):
        # A chmod of the token file after it was written means it was readable by others until then.
        if Path(path) == token_file and Path(path).exists() and mode(Path(path)) & 0o077:
            exposed.append(oct(mode(Path(path))))

    def os_chmod(path, *args, **kwargs):
        note(path)
        return real_chmod(path, *args, **kwargs)

    def path_chmod(self, *args, **kwargs):
        note(self)
        return real_path_chmod(self, *args, **kwargs)

    class NoServer:
        def __init__(self, factory, options):
            pass

        def run(self):
            pass

    monkeypatch.setattr(os, "chmod", os_chmod)
    monkeypatch.setattr(Path, "chmod", path_chmod)
    monkeypatch.setattr(ivr.cli.serve, "Server", NoServer)

    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), "serve", "--demo"],
                                env={"REDIS_URL": redis_url, "IVR_CONFIG": "", "TWILIO_AUTH_TOKEN": "fixed-token"},
                                catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert token_file.read_text() == "fixed-token"
    assert exposed == []
    assert oct(mode(token_file)) == oct(0o600)
    assert oct(mode(data_dir)) == oct(0o700), "created for the token alone (REDIS_URL), still private"
