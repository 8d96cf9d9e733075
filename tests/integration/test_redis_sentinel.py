"""The service's Redis clients on a real Sentinel deployment (tests/sentinel_set.py): they find the primary, leave
a server that answers as a replica (READONLY, UNBLOCKED) for the primary the Sentinels name, and follow a
failover within a second of the switch. The whole service through a failover: tests/e2e/test_sentinel.py."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from ivr.adapters.server.breaker import Breaker, end_budget, guarded_client, pinger, start_budget
from ivr.adapters.server.connection import RECHECK, PrimaryMoved, SentinelClient, redis_from_url
from ivr.adapters.directory.store import connect
from ivr.wiring import Jobs, worker_connection
from tests.redis_server import RedisServer, free_port
from tests.sentinel_set import SentinelSet, pin
from workers.queues import CALLS, SERIALIZER

from .conftest import IVR

DB = 5
WRITE = "return redis.call('SET', KEYS[1], ARGV[1])"
"""A script that writes: Redis 6 reports a refused write inside it as a script error naming READONLY."""


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory):
    """One deployment for the tests that fail nothing over."""
    with SentinelSet(tmp_path_factory.mktemp("sentinel")) as deployment:
        yield deployment


def build(kind: str, url: str) -> tuple[redis.Redis, Breaker | None]:
    if kind == "webhooks":
        breaker = Breaker(lambda: False)
        return guarded_client(url, breaker), breaker
    if kind == "worker":
        return worker_connection(url), None
    return connect(url), None


def test_every_client_of_the_service_reaches_the_primary_the_sentinels_name(sentinels):
    url = sentinels.url(DB)
    breaker = Breaker(lambda: False)
    commands, webhooks, jobs = connect(url), guarded_client(url, breaker), Jobs(guarded_client(url, breaker, False))
    worker, ping = worker_connection(url), pinger(url)
    try:
        commands.set("ivr:test:commands", "1")
        token = start_budget()
        try:
            webhooks.set("ivr:test:webhooks", "1")
            assert jobs.once(print, "x", job_id="sentinel-test")
        finally:
            end_budget(token)
        assert worker.get("ivr:test:webhooks") == b"1" and commands.get("ivr:test:webhooks") == "1"
        assert [job.id for job in Jobs(worker).waiting(CALLS)] == ["sentinel-test"]
        assert ping() and not breaker.open
        with sentinels.client(sentinels.primary_port, db=DB, decode_responses=True) as direct:
            assert direct.get("ivr:test:commands") == "1" and direct.get("ivr:test:webhooks") == "1"
        assert isinstance(commands, SentinelClient)
    finally:
        for client in (commands, webhooks, jobs.connection, worker):
            client.flushdb()
            client.close()


@pytest.mark.parametrize("operation", ["command", "script", "transaction"])
@pytest.mark.parametrize("kind", ["commands", "webhooks"])
def test_a_connection_left_on_a_replica_is_dropped_and_the_write_retried_on_the_primary(sentinels, kind, operation):
    client, breaker = build(kind, sentinels.url(DB))
    [replica] = sentinels.replica_ports
    token = start_budget() if kind == "webhooks" else None
    try:
        pin(client, replica)
        with sentinels.client(sentinels.primary_port) as direct:
            direct.script_flush()  # as on a replica just promoted: the retry finds the script unknown there too
        if operation == "command":
            assert client.set("ivr:test:moved", operation)
        elif operation == "script":
            client.register_script(WRITE)(keys=["ivr:test:moved"], args=[operation])
        else:
            with client.pipeline(transaction=True) as pipe:
                pipe.set("ivr:test:moved", operation).incr("ivr:test:count")
                pipe.execute()
        assert client.connection_pool.master_address == ("127.0.0.1", sentinels.primary_port)
        with sentinels.client(sentinels.primary_port, db=DB, decode_responses=True) as direct:
            assert direct.get("ivr:test:moved") == operation
        if breaker is not None:
            assert not breaker.open  # the retry found the primary: nothing to fail fast about
    finally:
        if token is not None:
            end_budget(token)
        client.flushdb()
        client.close()


def test_the_worker_without_retries_gets_a_connection_error_for_a_replica_and_the_primary_next(sentinels):
    client = worker_connection(sentinels.url(DB))
    [replica] = sentinels.replica_ports
    try:
        pin(client, replica)
        with pytest.raises(PrimaryMoved, match="no longer the primary"):  # RQ retries a ConnectionError
            client.set("ivr:test:worker", "1")
        assert client.set("ivr:test:worker", "1")
        with sentinels.client(sentinels.primary_port, db=DB) as direct:
            assert direct.get("ivr:test:worker") == b"1"
    finally:
        client.flushdb()
        client.close()


class Interrupted(Exception):
    """What RQ's SIGTERM handler raises in an idle worker (StopRequested), here from a timer."""


def test_a_read_cut_short_closes_its_connection_so_the_next_command_never_reads_its_late_answer(sentinels):
    client = worker_connection(sentinels.url(DB))

    def interrupt(signum, frame):
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Interrupted):
            client.blpop(["ivr:test:empty"], timeout=1)  # its answer, nil, comes 0.7 s after the interruption
        assert client.rpush("ivr:test:list", "x") == 1  # not the BLPOP's nil
        assert client.lrange("ivr:test:list", 0, -1) == [b"x"]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        client.flushdb()
        client.close()


def test_no_sentinel_answering_opens_the_webhooks_breaker_on_the_first_command():
    url = f"redis+sentinel://127.0.0.1:{free_port()},127.0.0.1:{free_port()}/ivr"
    breaker = Breaker(lambda: False)
    client = guarded_client(url, breaker)
    token = start_budget()
    try:
        with pytest.raises(redis.ConnectionError):
            client.get("ivr:test:anything")
        assert breaker.open  # how fast the fail-safe then answers is bench/'s to measure (redis_stall.py)
    finally:
        end_budget(token)
        client.close()
        breaker.close()


# --- plain URLs -----------------------------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path):
    """Two plain servers, the second a replica of the first."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    primary, replica = RedisServer(tmp_path / "a"), RedisServer(tmp_path / "b")
    try:
        with redis.Redis(port=replica.port) as direct:
            direct.replicaof("127.0.0.1", primary.port)
        yield primary, replica
    finally:
        primary.stop()
        replica.stop()


def test_a_plain_url_to_a_replica_gets_a_connection_error_for_a_write_not_a_response_error(pair):
    _, replica = pair
    client = redis_from_url(replica.url(), socket_timeout=1, retry=Retry(NoBackoff(), 1))
    try:
        with pytest.raises(PrimaryMoved):
            client.set("ivr:test:plain", "1")
        with pytest.raises(PrimaryMoved):
            client.register_script(WRITE)(keys=["ivr:test:plain"], args=["1"])
        assert client.get("ivr:test:plain") is None  # reads are served
    finally:
        client.close()


def test_a_blocked_pop_ended_by_a_demotion_is_a_cut_connection(pair):
    primary, replica = pair
    client = redis_from_url(replica.url(), retry=Retry(NoBackoff(), 0))
    with redis.Redis(port=replica.port) as direct:
        direct.replicaof("no", "one")  # the replica is a primary now, with a client waiting on it
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            client.blpop(["ivr:test:wake"], timeout=10)
        except BaseException as error:  # noqa: BLE001 - the test reads it
            outcome.append(error)

    waiter = threading.Thread(target=wait)
    waiter.start()
    try:
        with redis.Redis(port=replica.port) as direct:
            deadline = time.monotonic() + 5
            while direct.info("clients")["blocked_clients"] < 1:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            direct.replicaof("127.0.0.1", primary.port)  # demoted: Redis ends the blocked BLPOP with UNBLOCKED
        waiter.join(10)
        [error] = outcome
        assert isinstance(error, PrimaryMoved) and "UNBLOCKED" in str(error)
    finally:
        waiter.join(10)
        client.close()


# --- a failover -----------------------------------------------------------------------------------------


def test_clients_leave_the_old_primary_within_a_second_of_the_switch_before_it_is_demoted(tmp_path):
    with SentinelSet(tmp_path) as deployment:
        url, old = deployment.url(DB), deployment.primary_port
        breaker = Breaker(lambda: False)
        clients = {"commands": connect(url), "webhooks": guarded_client(url, breaker), "worker": worker_connection(url)}
        try:
            for name, client in clients.items():
                client.set(f"ivr:test:{name}", "before")
            new = deployment.failover()
            # For some 10 s the Sentinels leave the old primary as it is, taking writes it will lose.
            assert deployment.role(old) == "master"
            time.sleep(RECHECK + 0.2)
            for name, client in clients.items():
                client.set(f"ivr:test:{name}", "after")
                assert client.connection_pool.master_address == ("127.0.0.1", new)
            with deployment.client(new, db=DB, decode_responses=True) as direct:
                assert [direct.get(f"ivr:test:{name}") for name in clients] == ["after"] * len(clients)
            assert deployment.role(old) == "master" and not breaker.open
        finally:
            for client in clients.values():
                client.close()


def test_ivr_worker_starts_its_job_worker_again_when_the_primary_is_killed_under_a_job(tmp_path):
    """RQ's worker quits on a Redis error outside its wait for a job (here: finishing a job whose primary died);
    `ivr worker` starts another, which works on the new primary."""
    with SentinelSet(tmp_path / "redis") as deployment:
        url = deployment.url(DB)
        log = tmp_path / "worker.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "IVR_"))}
        env.update(REDIS_URL=url, PYTHONUNBUFFERED="1")
        with log.open("wb") as out:
            worker = subprocess.Popen([IVR, "worker"], env=env, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        client = worker_connection(url)
        try:
            jobs = Jobs(client)
            assert jobs.once(time.sleep, 2, job_id="slow")
            registry = StartedJobRegistry(CALLS, connection=client, serializer=SERIALIZER)
            deadline = time.monotonic() + 30
            while registry.count == 0:  # the job runs: the primary dies under it
                assert time.monotonic() < deadline and worker.poll() is None, log.read_text()
                time.sleep(0.05)
            new = deployment.failover(kill=True)

            assert jobs.once(time.sleep, 0, job_id="after")
            job = Job.fetch("after", connection=client, serializer=SERIALIZER)
            deadline = time.monotonic() + 30
            while job.get_status() != JobStatus.FINISHED:
                assert time.monotonic() < deadline and worker.poll() is None, log.read_text()
                time.sleep(0.1)
            assert client.connection_pool.master_address == ("127.0.0.1", new)
            assert "starting it again" in log.read_text()
        finally:
            worker.terminate()
            assert worker.wait(15) == 0, log.read_text()
            client.close()
