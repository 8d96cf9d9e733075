"""Redis for webhooks: one time budget per request, and a circuit breaker that fails fast.

Twilio gives up on a webhook after 15 s, and a caller hears every second of silence. With
Redis stalled, each command would otherwise wait for its socket timeout (and a retry), and
requests would pile up behind each other. Instead: every command of a webhook shares one
budget; a timeout or a refused connection opens the breaker, so every later command fails
at once (the webhooks answer from configuration) while a background probe PINGs Redis and
closes the breaker again as soon as it answers.
"""
from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .connection import redis_from_url

log = logging.getLogger(__name__)

WEBHOOK_BUDGET = 0.6
"""Seconds of Redis time one webhook may spend in all: well under a second, whatever Redis does."""

COMMAND_TIMEOUT = 0.15
"""Seconds one Redis command may take before it counts as a failure and opens the breaker."""

PROBE_INTERVAL = 0.25
"""Seconds between PINGs while the breaker is open: routing resumes this soon after Redis does."""


class RedisUnavailable(redis.ConnectionError):
    """Redis is known to be down (the breaker is open), or this webhook's time budget is spent."""


_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("redis_deadline", default=None)


def start_budget(seconds: float = WEBHOOK_BUDGET) -> contextvars.Token:
    """Give the current request a Redis time budget; reset it with the returned token."""
    return _deadline.set(time.monotonic() + seconds)


def end_budget(token: contextvars.Token) -> None:
    _deadline.reset(token)


class Breaker:
    """Open on the first Redis failure; closed again by a background probe, one per process."""

    def __init__(self, probe: Callable[[], bool], interval: float = PROBE_INTERVAL):
        self.probe, self.interval = probe, interval
        self.opened_at: float | None = None
        self.trips = 0
        self._lock = threading.Lock()
        self._prober: tuple[int, threading.Thread] | None = None

    @property
    def open(self) -> bool:
        return self.opened_at is not None

    def check(self) -> None:
        if self.opened_at is not None:
            raise RedisUnavailable("Redis is unavailable (circuit open); answering from configuration")

    def failure(self, error: Exception) -> None:
        with self._lock:
            if self.opened_at is None:
                self.opened_at = time.monotonic()
                self.trips += 1
                log.error("redis failed (%s): answering from configuration until it is back", error)
            # Threads do not survive fork: each gunicorn worker runs its own probe.
            if self._prober is None or self._prober[0] != os.getpid() or not self._prober[1].is_alive():
                thread = threading.Thread(target=_probe_until_back, args=(weakref.ref(self), self.interval),
                                          name="redis-probe", daemon=True)
                self._prober = (os.getpid(), thread)
                thread.start()

    def close(self) -> None:
        with self._lock:
            if self.opened_at is not None:
                log.warning("redis is back after %.1f s", time.monotonic() - self.opened_at)
            self.opened_at = None


def _probe_until_back(ref: weakref.ref, interval: float) -> None:
    """PING until Redis answers, then close the breaker; stop if the breaker is gone (its app was dropped)."""
    while True:
        time.sleep(interval)
        breaker = ref()
        if breaker is None or breaker.opened_at is None:
            return
        try:
            if breaker.probe():
                breaker.close()
        except Exception:  # noqa: BLE001 - any failure means: still down
            pass
        del breaker


class _Guarded:
    """A redis-py connection that spends the request's budget and reports to the breaker."""

    def __init__(self, *args, breaker: Breaker, **kwargs):
        super().__init__(*args, **kwargs)
        self.breaker = breaker

    def _allowance(self) -> float:
        self.breaker.check()
        deadline = _deadline.get()
        if deadline is None:
            return COMMAND_TIMEOUT
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RedisUnavailable("this webhook's Redis time budget is spent")
        return min(COMMAND_TIMEOUT, remaining)

    def _reported(self, action: Callable, failures: tuple[type, ...] = (redis.TimeoutError,)):
        try:
            return action()
        except failures as error:
            if not isinstance(error, RedisUnavailable):
                self.breaker.failure(error)
            raise

    def connect(self):
        # Also reports what fails before a socket is opened: with Sentinel, no primary to be found.
        return self._reported(lambda: super(_Guarded, self).connect(), (redis.TimeoutError, redis.ConnectionError))

    def connect_check_health(self, *args, **kwargs):
        allowance = self._allowance()
        self.socket_connect_timeout = allowance
        # A refused connection trips the breaker; one dropped mid-command (or to a demoted primary) is retried first.
        return self._reported(lambda: super(_Guarded, self).connect_check_health(*args, **kwargs),
                              (redis.TimeoutError, redis.ConnectionError))

    def send_packed_command(self, command, check_health=True):
        allowance = self._allowance()
        if self._sock is None:
            self.connect()  # the connection's own way: with Sentinel, to the primary they name now
        self._sock.settimeout(allowance)
        return self._reported(lambda: super(_Guarded, self).send_packed_command(command, check_health))

    def read_response(self, *args, **kwargs):
        return self._reported(lambda: super(_Guarded, self).read_response(*args, **kwargs))


def guarded_client(url: str, breaker: Breaker, decode: bool = True) -> redis.Redis:
    """Return a client for webhooks: budgeted commands, no retry after a timeout, the breaker in front."""
    return redis_from_url(
        url, mixin=_Guarded, breaker=breaker,
        socket_timeout=COMMAND_TIMEOUT, socket_connect_timeout=COMMAND_TIMEOUT, decode_responses=decode,
        # A dropped connection (Redis restarted, a primary demoted) is worth one immediate retry; a timeout is not.
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))


def pinger(url: str, timeout: float = COMMAND_TIMEOUT) -> Callable[[], bool]:
    """Return a PING that uses its own unguarded connection, for the probe and health checks."""
    client = redis_from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))
    lock = threading.Lock()

    def ping() -> bool:
        with lock:  # one socket, shared by the probe thread and health requests
            try:
                return bool(client.ping())
            except redis.RedisError:
                client.connection_pool.disconnect()
                return False

    return ping
