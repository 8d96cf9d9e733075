"""Running the webhooks under gunicorn, with the app factory."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from ivr.logs import mask_handlers


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
