import os

import pytest
import redis

from tests.redis_server import RedisServer
from tests.twilio_api import TwilioApi
from tests.webhook_receiver import WebhookReceiver

SCRATCH_DB = 9
"""Tests run on a scratch database, flushed before and after each test."""


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url.rsplit("/", 1)[0] + f"/{SCRATCH_DB}"
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server.url(SCRATCH_DB)
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    yield redis_server
    client.flushdb()
    client.close()


@pytest.fixture
def twilio_api():
    with TwilioApi() as api:
        yield api


@pytest.fixture
def webhook_receiver():
    """A local receiver of signed webhooks (tests/webhook_receiver.py), verifying with `webhook_receiver.SECRET`."""
    with WebhookReceiver() as receiver:
        yield receiver
