"""REDIS_URL: the forms redis-py knows and `redis+sentinel://`, parsed and built into clients without connecting;
a URL that cannot be used is refused naming REDIS_URL, its password masked."""
from __future__ import annotations

import pytest
import redis
from click.testing import CliRunner
from redis.backoff import NoBackoff
from redis.connection import SSLConnection, UnixDomainSocketConnection
from redis.retry import Retry

from ivr.adapters.server.breaker import Breaker, guarded_client
from ivr.adapters.server.connection import (Client, PrimaryMoved, RedisUrlError, SentinelClient,
                                     SentinelConnection, SentinelPool, SentinelTarget, check_url, masked,
                                     parse_sentinel_url, redis_from_url)
from ivr.adapters.directory.store import connect
from ivr.cli import main
from ivr.config import ConfigError
from ivr.wiring import worker_connection


@pytest.mark.parametrize(("url", "target"), [
    ("redis+sentinel://a:1,b:2/svc", SentinelTarget((("a", 1), ("b", 2)), "svc")),
    ("redis+sentinel://a:1,b:2/svc/3", SentinelTarget((("a", 1), ("b", 2)), "svc", 3)),
    ("redis+sentinel://a:1/svc/", SentinelTarget((("a", 1),), "svc")),
    ("redis+sentinel://a,b:2/svc", SentinelTarget((("a", 26379), ("b", 2)), "svc")),
    ("REDIS+SENTINEL://10.0.0.1:26379,[::1]:26380/my%20primary/0",
     SentinelTarget((("10.0.0.1", 26379), ("::1", 26380)), "my primary")),
    ("redis+sentinel://:s3cret@a:1/svc/2", SentinelTarget((("a", 1),), "svc", 2, None, "s3cret")),
    ("redis+sentinel://ivr:p%40ss@a:1/svc", SentinelTarget((("a", 1),), "svc", 0, "ivr", "p@ss")),
    ("redis+sentinel://a:1/svc?sentinel_password=x&sentinel_username=watch",
     SentinelTarget((("a", 1),), "svc", 0, None, None, "watch", "x")),
])
def test_a_sentinel_url_names_its_sentinels_service_database_and_passwords(url, target):
    assert parse_sentinel_url(url) == target
    check_url(url)


@pytest.mark.parametrize(("url", "reason"), [
    ("redis+sentinel://a:1,b:2", "names no service"),
    ("redis+sentinel://a:1,b:2/", "names no service"),
    ("redis+sentinel://a:1/svc/zero", "database 'zero'"),
    ("redis+sentinel://a:1/svc/0/more", "more than a service name and a database"),
    ("redis+sentinel://a:x/svc", "Sentinel address 'a:x'"),
    ("redis+sentinel://a:1,,b:2/svc", "Sentinel address ''"),
    ("redis+sentinel:///svc", "Sentinel address ''"),
    ("redis+sentinel://a:/svc", "empty port"),
    ("redis+sentinel://a:70000/svc", "port 70000"),
    ("redis+sentinel://a:1/svc?socket_timeout=1", "unknown parameter(s) socket_timeout"),
    ("redis+sentinel://a:1/svc#x", "fragment"),
    ("localhost:6379", "no scheme Redis knows"),
    ("http://localhost:6379/0", "no scheme Redis knows"),
    ("redis://a:1,b:2/0", "cannot be used"),
    ("redis://localhost/0?socket_timeout=soon", "cannot be used"),
])
def test_a_url_that_cannot_be_used_is_refused_naming_redis_url_and_why(url, reason):
    with pytest.raises(RedisUrlError) as caught:
        check_url(url)
    message = str(caught.value)
    assert message.startswith("environment: REDIS_URL: ") and reason in message
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, ValueError)
    with pytest.raises(RedisUrlError):
        redis_from_url(url)


def test_an_empty_url_is_refused():
    with pytest.raises(RedisUrlError, match="REDIS_URL: '' is empty"):
        redis_from_url("")


def test_messages_never_show_a_password():
    with pytest.raises(RedisUrlError) as caught:
        check_url("redis+sentinel://ivr:hunter2@a:1/?sentinel_password=swordfish")
    assert "hunter2" not in str(caught.value) and "swordfish" not in str(caught.value)
    assert masked("redis://:hunter2@host:6379/0") == "redis://:***@host:6379/0"
    assert masked("redis+sentinel://u:p@a:1,b:2/s?sentinel_password=q&x=1") == \
        "redis+sentinel://u:***@a:1,b:2/s?sentinel_password=***&x=1"
    assert masked("redis://host:6379/0") == "redis://host:6379/0"


def test_every_command_stops_on_a_bad_redis_url_before_it_starts(monkeypatch):
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    result = CliRunner().invoke(main, ["lines"], env={"REDIS_URL": "redis+sentinel://:hunter2@a:1,b:2"})
    assert result.exit_code == 2
    assert "REDIS_URL" in result.output and "names no service" in result.output and "hunter2" not in result.output


# --- the clients built (nothing connects) ----------------------------------------------------------------


def test_a_sentinel_url_gives_redis_py_s_sentinel_client_for_the_named_service_with_the_options():
    client = redis_from_url("redis+sentinel://:pw@a:1,b:2/svc/4?sentinel_password=sp", socket_timeout=0.3,
                            socket_connect_timeout=0.2, decode_responses=True, retry=Retry(NoBackoff(), 1))
    try:
        assert isinstance(client, SentinelClient)
        pool = client.connection_pool
        assert isinstance(pool, SentinelPool) and pool.service_name == "svc" and pool.is_master
        assert issubclass(pool.connection_class, SentinelConnection)
        options = pool.connection_kwargs
        assert (options["db"], options["password"], options["socket_timeout"], options["decode_responses"]) == (
            4, "pw", 0.3, True)
        sentinels = client.sentinel.sentinels
        assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [1, 2]
        kwargs = sentinels[0].connection_pool.connection_kwargs
        # The Sentinels are asked with the shorter of the client's timeouts, no retry, their own password.
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"], kwargs["password"]) == (0.2, 0.2, "sp")
    finally:
        client.close()


def test_every_client_of_the_service_goes_through_the_one_function():
    url = "redis+sentinel://a:1/svc"
    breaker = Breaker(lambda: True)
    clients = {"commands": connect(url, 2.0), "webhooks": guarded_client(url, breaker),
               "jobs": guarded_client(url, breaker, decode=False), "worker": worker_connection(url)}
    try:
        for name, client in clients.items():
            assert isinstance(client.connection_pool, SentinelPool), name
            assert issubclass(client.connection_pool.connection_class, SentinelConnection), name
        kwargs = {name: client.connection_pool.connection_kwargs for name, client in clients.items()}
        assert kwargs["commands"]["socket_timeout"] == 2.0 and kwargs["commands"]["decode_responses"] is True
        assert kwargs["webhooks"]["breaker"] is breaker and kwargs["webhooks"]["socket_timeout"] == 0.15
        assert kwargs["jobs"]["decode_responses"] is False
        assert "socket_timeout" not in kwargs["worker"]  # it blocks on the queue between jobs
        # The webhooks' connection is the breaker's in front of the Sentinel's: one class, whichever client.
        assert clients["webhooks"].connection_pool.connection_class is clients["jobs"].connection_pool.connection_class
    finally:
        for client in clients.values():
            client.close()


@pytest.mark.parametrize(("url", "base", "options"), [
    ("redis://:pw@h:7000/5", redis.Connection, {"host": "h", "port": 7000, "db": 5, "password": "pw"}),
    ("rediss://h:7000/1", SSLConnection, {"host": "h", "port": 7000, "db": 1}),
    ("unix:///tmp/redis.sock?db=2", UnixDomainSocketConnection, {"path": "/tmp/redis.sock", "db": 2}),
])
def test_a_plain_url_gives_redis_py_s_client_with_connections_that_follow_the_primary(url, base, options):
    client = redis_from_url(url, socket_timeout=0.5, decode_responses=True)
    try:
        assert isinstance(client, Client) and client.auto_close_connection_pool
        pool = client.connection_pool
        assert issubclass(pool.connection_class, base) and pool.connection_class is not base
        assert options.items() <= pool.connection_kwargs.items()
        assert pool.connection_kwargs["socket_timeout"] == 0.5
    finally:
        client.close()


def test_primary_moved_is_a_connection_error():
    assert issubclass(PrimaryMoved, redis.ConnectionError)  # retried, and handled as one by RQ and the dispatcher
