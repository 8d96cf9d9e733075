"""What every command needs: the checked settings and a Redis, embedded unless REDIS_URL says."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import redis

from .config import Settings, load_settings
from .embedded import EmbeddedRedis, default_data_dir
from .store import WEBHOOK_TIMEOUT, Store, connect


@dataclass
class Runtime:
    settings: Settings
    redis_url: str | None = None
    data_dir: Path | None = None
    embedded: EmbeddedRedis | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, config: str | None = None, data_dir: str | None = None) -> Runtime:
        return cls(load_settings(config), os.environ.get("REDIS_URL") or None,
                   Path(data_dir) if data_dir else default_data_dir())

    def url(self) -> str:
        """Return the Redis URL, starting the embedded server when none was given."""
        if self.redis_url:
            return self.redis_url
        if self.embedded is None:
            self.embedded = EmbeddedRedis(self.data_dir).start()
        return self.embedded.url

    def redis(self, timeout: float = WEBHOOK_TIMEOUT) -> redis.Redis:
        return connect(self.url(), timeout)

    def store(self, timeout: float = WEBHOOK_TIMEOUT) -> Store:
        return Store(self.redis(timeout))

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
