"""What the jobs of a worker process use: its services, Twilio's REST client and the prompt catalogs.

`ivr worker` hands its own over before working; a worker started otherwise (`rq worker`) builds
them from the environment on the first job.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the composition root imports this package for its queue names
    from ivr.voice.speech import Catalogs
    from ivr.wiring import Services


@dataclass
class Context:
    services: Services
    rest: object | None
    """twilio-python's client; None when no Twilio account is configured (jobs that need it fail, saying so)."""
    catalogs: Catalogs


_context: Context | None = None
_lock = threading.Lock()


def use(services: Services, rest) -> None:
    """Give this process's jobs the worker's services and REST client."""
    from ivr.voice.speech import Catalogs

    global _context
    with _lock:
        _context = Context(services, rest, Catalogs())


def forget() -> None:
    """Drop this process's context (a test that is done with its services)."""
    global _context
    with _lock:
        _context = None


def context() -> Context:
    """Return the jobs' context, built from the environment the first time if `use` was not called."""
    global _context
    with _lock:
        if _context is None:
            from ivr.config import load_settings
            from ivr.dispatch.rest import MissingCredentials, rest_client
            from ivr.voice.speech import Catalogs
            from ivr.wiring import Services

            settings = load_settings()
            services = Services.for_commands(settings, os.environ["REDIS_URL"])
            try:
                rest = rest_client(settings)
            except MissingCredentials:
                rest = None
            _context = Context(services, rest, Catalogs())
        return _context


def rest():
    """Return the REST client, or raise saying which variables to set."""
    client = context().rest
    if client is None:
        from ivr.dispatch.rest import MissingCredentials

        raise MissingCredentials("TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET) "
                                 "must be set for the worker to reach Twilio's REST API")
    return client
