"""Dispatch jobs: the REST requests a webhook asks for but must not wait on (the dequeue of a taken offer)."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the composition root imports this package for its queue name
    from ivr.voice.speech import Catalogs
    from ivr.wiring import Services


@dataclass
class Context:
    """What dispatch jobs use in this worker process: its services, the REST client and the catalogs."""

    services: Services
    rest: object
    catalogs: Catalogs


_context: Context | None = None
_lock = threading.Lock()


def use(services: Services, rest) -> None:
    """Give this process's jobs the worker's services and REST client (`ivr worker` does, before work)."""
    from ivr.voice.speech import Catalogs

    global _context
    with _lock:
        _context = Context(services, rest, Catalogs())


def context() -> Context:
    """Return the jobs' context, built from the environment in a worker `ivr worker` did not start."""
    global _context
    with _lock:
        if _context is None:
            from ivr.config import load_settings
            from ivr.dispatch.rest import rest_client
            from ivr.voice.speech import Catalogs
            from ivr.wiring import Services

            settings = load_settings()
            services = Services.for_commands(settings, os.environ["REDIS_URL"])
            _context = Context(services, rest_client(settings), Catalogs())
        return _context


def bridge_offer(offer_id: str) -> str:
    """Join a taken offer's caller to the engineer waiting for them (see `ivr.dispatch.bridge`)."""
    from ivr.dispatch.bridge import bridge

    ctx = context()
    return bridge(ctx.services, ctx.rest, ctx.catalogs, offer_id)
