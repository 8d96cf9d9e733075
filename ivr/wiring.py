"""The composition root: what each process talks to, built in one place from the settings.

The web app, the `ivr` commands and the worker all build their Redis clients, stores and job
queue here, so a setting (a timeout, the Redis URL, later the Twilio client) is applied once.
Nothing connects until it is first used.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError

from workers import queues

from .adapters.server.breaker import Breaker, guarded_client, pinger
from .adapters.calls.call_state import CallState
from .adapters.calls.callbacks import Callbacks
from .adapters.server.connection import redis_from_url
from .adapters.calls.events import Events
from .adapters.calls.offers import Offers
from .adapters.outbound.outbox import Outbox
from .adapters.directory.staff_accounts import StaffAccounts
from .adapters.directory.store import COMMAND_TIMEOUT, Store, connect
from .adapters.calls.waiting import Waiting
from .config import Settings


def job_name(ident: str) -> str:
    """Return a job id RQ accepts (letters, digits, `_` and `-`), distinct for distinct inputs."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", ident)
    if safe == ident and len(ident) <= 120:
        return ident
    return f"{safe[:100]}-{hashlib.sha1(ident.encode()).hexdigest()[:12]}"


class Jobs:
    """The background work queues (RQ, JSON-serialized): one job per id, however often the same work is asked for."""

    def __init__(self, connection: redis.Redis):
        # RQ stores job data as bytes, so its client must not decode responses.
        self.connection = connection
        self.queues = {name: Queue(name, connection=connection, serializer=queues.SERIALIZER)
                       for name in queues.QUEUES}

    def once(self, func: Callable, *args, job_id: str, queue: str = queues.CALLS, delay: float = 0,
             **options) -> bool:
        """Queue `func(*args)` (after `delay` seconds) unless a job with this id is queued; return whether it was.

        Jobs time out and are retried with backoff (`workers.queues`) unless told otherwise.
        """
        job_id = job_name(job_id)
        options.setdefault("job_timeout", queues.timeout(queue))
        options.setdefault("retry", queues.RETRY)
        target = self.queues[queue]
        try:
            if delay > 0:
                target.enqueue_in(timedelta(seconds=delay), func, *args, job_id=job_id, **options)
            else:
                target.enqueue(func, *args, job_id=job_id, unique=True, **options)
        except DuplicateJobError:
            return False
        return True

    def waiting(self, queue: str) -> list:
        """Return the jobs waiting in a queue (tests, `ivr` commands)."""
        return self.queues[queue].jobs


@dataclass
class Services:
    """Everything a process of the service talks to, built once per process."""

    settings: Settings
    redis: redis.Redis
    store: Store
    calls: CallState
    waiting: Waiting
    callbacks: Callbacks
    events: Events
    offers: Offers
    accounts: StaffAccounts
    """Console passwords and sign-in limits."""
    outbox: Outbox
    """Events for the case system."""
    jobs: Jobs
    breaker: Breaker | None = None
    """Webhooks only: fails fast while Redis is known to be down."""
    ping: Callable[[], bool] | None = None
    """Webhooks only: PING on a connection of its own, for health checks."""

    @classmethod
    def for_webhooks(cls, settings: Settings, url: str, **extra) -> Services:
        """Build for the web app: every Redis command budgeted and behind the circuit breaker."""
        ping = pinger(url)
        breaker = Breaker(ping)
        client = guarded_client(url, breaker)
        return cls(settings, client, *_call_adapters(client, settings), Jobs(guarded_client(url, breaker, decode=False)),
                   breaker, ping, **extra)

    @classmethod
    def for_commands(cls, settings: Settings, url: str, timeout: float = COMMAND_TIMEOUT) -> Services:
        """Build for an `ivr` command: plain clients with the command's own timeout."""
        client = connect(url, timeout)
        return cls(settings, client, *_call_adapters(client, settings), Jobs(connect(url, timeout, decode=False)))

    def close(self) -> None:
        """Close the connection pools (a test or a command that is done)."""
        self.redis.close()
        self.jobs.connection.close()


def _call_adapters(client: redis.Redis, settings: Settings) -> tuple[Store, CallState, Waiting, Callbacks, Events,
                                                                      Offers, StaffAccounts, Outbox]:
    state = CallState(client, settings.state_ttl)
    return (Store(client), state, Waiting(client, settings.state_ttl), Callbacks(client, state), Events(client),
            Offers(client, settings.state_ttl), StaffAccounts(client), Outbox(client, bool(settings.case_system_webhook)))


def worker_connection(url: str) -> redis.Redis:
    """Return the RQ worker's client: bytes, and no socket timeout, since it blocks on the queue between jobs."""
    return redis_from_url(url)
