"""Running the webhooks under gunicorn, with the app factory."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading

from gunicorn.app.base import BaseApplication

from ivr.logs import mask_handlers

log = logging.getLogger(__name__)


class Server(BaseApplication):
    """Gunicorn with its options given in code rather than on a command line."""

    def __init__(self, factory, options: dict):
        self.factory, self.options = factory, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return self.factory()


def gunicorn_options(settings, host: str, port: int, workers: int) -> dict:
    """Return gunicorn's settings for `ivr serve`: what it trusts, logs and listens on."""
    def masked(_server_or_worker) -> None:  # gunicorn checks a hook takes exactly one argument
        mask_handlers("gunicorn.error", "gunicorn.access")

    return {
        "bind": f"{host}:{port}", "workers": workers,
        # Threads let a worker answer other webhooks while one waits on Redis.
        "worker_class": "gthread", "threads": 8,
        "accesslog": "-", "timeout": 30, "graceful_timeout": 5,
        # X-Forwarded-Proto and friends count from the configured proxies only, as in the app.
        "forwarded_allow_ips": ",".join(settings.trusted_proxies),
        # Each `ivr serve` would otherwise share one control socket in $HOME; nothing here uses it.
        "control_socket_disable": True,
        "when_ready": masked, "post_worker_init": masked,
    }


class BackgroundWorker:
    """`ivr worker` beside the webhooks, so one command runs the whole service; restarted if it dies."""

    RESTART_DELAY = 1.0

    def __init__(self, redis_url: str, demo: bool):
        self.command = [sys.executable, "-c", "from ivr.cli import main; main()", "worker"] + (["--demo"] if demo else [])
        # The embedded Redis is this process's: the worker is given its URL rather than starting its own.
        self.env = {**os.environ, "REDIS_URL": redis_url}
        self.owner = os.getpid()
        self.process: subprocess.Popen | None = None
        self.stopping = threading.Event()

    def start(self) -> BackgroundWorker:
        self._spawn()
        threading.Thread(target=self._watch, name="worker-watch", daemon=True).start()
        return self

    def _spawn(self) -> None:
        self.process = subprocess.Popen(self.command, env=self.env, stdin=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent)

    def _watch(self) -> None:
        while not self.stopping.is_set():
            if self.process.poll() is not None and not self.stopping.is_set():
                log.error("the background worker exited with %s; starting it again", self.process.returncode)
                self.stopping.wait(self.RESTART_DELAY)
                if not self.stopping.is_set():
                    self._spawn()
            self.stopping.wait(0.5)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker, letting it finish its job; only the process that started it does anything."""
        # Gunicorn's forked workers unwind through the same code when they exit: not theirs to stop.
        if os.getpid() != self.owner or self.process is None:
            return
        self.stopping.set()
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _die_with_parent() -> None:
    """Have Linux stop the worker if `ivr serve` is killed outright, so no orphan keeps dispatching."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
