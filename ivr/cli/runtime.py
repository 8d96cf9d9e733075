"""What every command needs: the checked settings and a Redis, embedded unless REDIS_URL says."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ivr.adapters.server.connection import check_url
from ivr.adapters.server.embedded import EmbeddedRedis, Supervisor, default_data_dir, private_dir
from ivr.adapters.directory.store import COMMAND_TIMEOUT
from ivr.config import Settings, load_settings
from ivr.wiring import Services


@dataclass
class Runtime:
    settings: Settings
    redis_url: str | None = None
    data_dir: Path | None = None
    embedded: EmbeddedRedis | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, config: str | None = None, data_dir: str | None = None) -> Runtime:
        """Read the settings and REDIS_URL; raise `ConfigError` naming what is wrong with either."""
        url = os.environ.get("REDIS_URL") or None
        if url:
            check_url(url)  # a malformed URL stops the command here, naming REDIS_URL, before anything starts
        return cls(load_settings(config), url, Path(data_dir) if data_dir else default_data_dir())

    def url(self) -> str:
        """Return the Redis URL, starting the embedded server when none was given."""
        if self.redis_url:
            return self.redis_url
        if self.embedded is None:
            self.embedded = EmbeddedRedis(self.data_dir).start()
        return self.embedded.url

    def services(self, timeout: float = COMMAND_TIMEOUT) -> Services:
        """Return the command's services (see `ivr.wiring`), on the embedded Redis unless REDIS_URL says."""
        return Services.for_commands(self.settings, self.url(), timeout)

    def private_data_dir(self) -> Path:
        """Create the data directory readable by this user only, and return it."""
        return private_dir(self.data_dir)

    def supervise(self, interval: float = 0.5) -> Supervisor | None:
        """Restart the embedded server if it dies, while this process runs; None with REDIS_URL."""
        if self.embedded is None:
            return None  # not ours: an operator's Redis is the operator's to supervise
        return self.embedded.supervise(interval)

    def close(self) -> None:
        if self.embedded is not None:
            # Stops the supervisor first: it would restart the server this process may shut down.
            self.embedded.stop()
