"""Running the webhooks under gunicorn, with the app factory."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


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
