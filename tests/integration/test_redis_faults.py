"""A stalled or dead Redis: one budget per webhook, a breaker, answers valid at each step (issue 6, items 3–5)."""
from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from tests.integration.webhook_support import (Twilio, build_app, call_params, close_app, load_demo,
                                               settings_with, twiml, verbs)
from tests.redis_server import RedisServer

WAIT_VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"}
"""What Twilio allows in the TwiML of a wait URL (and so of anything a queued caller is sent)."""

QUEUED = "line=%2B442079460100&lang=de&queue=emea-de"


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, so it can be stopped and resumed."""
    server = RedisServer(tmp_path)
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


@pytest.fixture
def app(own_redis):
    settings = settings_with()
    load_demo(own_redis.url(), settings)
    app = build_app(own_redis.url(), settings=settings, strict=False)
    yield app
    close_app(app)


@pytest.fixture
def sid() -> str:
    return "CA" + uuid.uuid4().hex


def _until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_with_redis_stalled_the_first_webhook_opens_the_breaker_and_the_rest_do_not_wait(app, own_redis, sid):
    twilio = Twilio(app)
    breaker = app.extensions["ivr"].breaker
    os.kill(own_redis.process.pid, signal.SIGSTOP)

    first = twiml(twilio.post("/voice/case?line=%2B442079460100&lang=de&attempt=1",
                              call_params(sid, Digits="30000001")))
    assert breaker.open
    later = [twiml(twilio.post("/voice/case?line=%2B442079460100&lang=de&attempt=1",
                               call_params("CA" + uuid.uuid4().hex, Digits="30000001"))) for _ in range(5)]

    for root in (first, *later):
        assert verbs(root)[-1] == "Enqueue" and root.find("Enqueue").text == "emea-de"
    assert breaker.trips == 1


def test_when_redis_resumes_the_probe_closes_the_breaker_and_routing_is_full_again(app, own_redis, sid):
    twilio = Twilio(app)
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    twilio.post("/voice/incoming", call_params(sid))
    assert app.test_client().get("/readyz").status_code == 503

    os.kill(own_redis.process.pid, signal.SIGCONT)

    assert _until(lambda: app.test_client().get("/readyz").status_code == 200)
    # A community-plan case is refused again, not queued by the fail-safe answer.
    refused = twiml(twilio.post("/voice/case?line=%2B442079460100&lang=en&attempt=1",
                                call_params(sid, Digits="30000008")))
    assert verbs(refused) == ["Say", "Gather", "Say", "Hangup"]


def test_health_tells_the_truth_about_redis(app, own_redis):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok", "redis": "up"}
    assert client.get("/readyz").get_json() == {"ready": True}

    own_redis.process.kill()
    own_redis.process.wait()

    health = client.get("/healthz")
    assert (health.status_code, health.get_json()) == (200, {"status": "degraded", "redis": "down"})
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()) == (503, {"ready": False})


@pytest.mark.parametrize("path", ["/voice/wait", "/voice/queue-key"])
def test_with_redis_down_a_queued_caller_is_never_sent_to_enqueue_again(app, own_redis, sid, path):
    own_redis.process.kill()
    own_redis.process.wait()

    root = twiml(Twilio(app).post(f"{path}?{QUEUED}", call_params(sid, Digits="1", QueueTime="999999")))

    assert {node.tag for node in root.iter()} - {"Response"} <= WAIT_VERBS | {"Say"}
    assert "Enqueue" not in {node.tag for node in root.iter()}


def test_with_redis_down_a_callback_key_keeps_the_caller_holding_and_no_callback_appears_later(app, own_redis, sid):
    """Told to keep holding means no callback: nothing written now can turn into one afterwards."""
    twilio = Twilio(app)
    twiml(twilio.post("/voice/case?line=%2B442079460100&lang=de&attempt=1", call_params(sid, Digits="30000002")))
    os.kill(own_redis.process.pid, signal.SIGSTOP)

    held = twiml(twilio.post(f"/voice/queue-key?{QUEUED}", call_params(sid, Digits="1")))
    os.kill(own_redis.process.pid, signal.SIGCONT)
    assert verbs(held) == ["Say", "Redirect"]
    assert _until(lambda: not app.extensions["ivr"].breaker.open)

    # The caller holds on and is answered by an engineer: no callback is ever handed to the workers.
    twiml(twilio.post(f"/voice/queue-result?{QUEUED}", call_params(sid, QueueResult="bridged")))
    assert app.extensions["ivr"].callbacks.requests() == []


def test_with_redis_down_the_whisper_still_bridges_the_engineer(app, own_redis, sid):
    own_redis.process.kill()
    own_redis.process.wait()

    root = twiml(Twilio(app).post(f"/voice/whisper?line=%2B442079460100&lang=de&call={sid}",
                                  call_params("CA" + uuid.uuid4().hex, To="client:anna")))

    assert verbs(root) == []  # an empty answer bridges the call; an <Enqueue> would queue the engineer


def test_the_fallback_url_keeps_the_language_the_caller_chose(app, sid):
    failed = "https://ivr.example.com/voice/case?line=%2B442079460100&lang=de&attempt=2"

    root = twiml(Twilio(app).post("/voice/fallback", call_params(sid, ErrorCode="11200", ErrorUrl=failed)))

    assert root.find("Enqueue").text == "emea-de"
    assert root.find("Say").get("language") == "de-DE"


def test_the_fallback_url_for_a_failed_wait_keeps_the_caller_in_the_queue_with_wait_verbs(app, sid):
    failed = f"https://ivr.example.com/voice/wait?{QUEUED}"

    root = twiml(Twilio(app).post("/voice/fallback", call_params(sid, ErrorCode="11200", ErrorUrl=failed)))

    assert verbs(root) == ["Say", "Redirect"]
    assert root.find("Say").get("language") == "de-DE"


def test_the_fallback_url_for_a_failed_queue_result_ends_politely_and_never_queues_again(app, sid):
    failed = f"https://ivr.example.com/voice/queue-result?{QUEUED}"

    root = twiml(Twilio(app).post("/voice/fallback", call_params(sid, ErrorCode="11200", ErrorUrl=failed)))

    assert verbs(root) == ["Say", "Hangup"]
