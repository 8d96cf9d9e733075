"""Requests that cannot be Twilio's: oversized bodies, re-split signatures, other hosts (issue 6, items 1 and 8)."""
from __future__ import annotations

import io
import uuid

import pytest
from werkzeug.test import create_environ, run_wsgi_app

from tests.integration.webhook_support import (BASE, CALLER, EMEA, TOKEN, Twilio, build_app, call_params, close_app,
                                               settings_with, sign, twiml, verbs)


@pytest.fixture
def settings():
    return settings_with(http={"max_body": 4096})


@pytest.fixture
def sid() -> str:
    return "CA" + uuid.uuid4().hex


def test_a_body_over_the_limit_is_refused_before_the_signature_is_even_read(app, sid):
    params = call_params(sid, SpeechResult="7" * 5000)

    reply = Twilio(app).post("/voice/incoming", params)

    assert reply.status_code == 413


def test_a_signed_body_just_under_the_limit_is_answered(app, sid):
    params = call_params(sid, SpeechResult="7" * 3000)

    reply = Twilio(app).post("/voice/incoming", params)

    assert verbs(twiml(reply))[0] == "Say"


def test_a_body_without_a_length_is_cut_off_at_the_limit(app, sid):
    """A chunked body has no Content-Length to refuse up front: Flask stops reading at the limit."""
    body = ("CallSid=" + sid + "&SpeechResult=" + "7" * 10_000).encode()
    environ = create_environ("/voice/incoming", "http://localhost", method="POST",
                             headers={"X-Twilio-Signature": "x", "Transfer-Encoding": "chunked"},
                             content_type="application/x-www-form-urlencoded")
    # What a server hands over for a chunked upload: a stream that ends, and no length.
    environ.update({"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True})
    environ.pop("CONTENT_LENGTH", None)

    _body, status, _headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)

    assert status.startswith("413")


def test_the_default_limit_is_64_kb():
    assert settings_with().max_body == 65536


def test_a_signature_re_split_to_move_to_into_from_is_refused(app, sid):
    """A signature covers the names and values run together, so `From=…To…` with no `To` signs the same."""
    honest = {"CallSid": sid, "From": CALLER, "To": EMEA}
    signature = sign(BASE + "/voice/incoming", honest)
    forged = {"CallSid": sid, "From": CALLER + "To" + EMEA}
    assert sign(BASE + "/voice/incoming", forged) == signature  # the forgery is as good as the original

    reply = Twilio(app).post("/voice/incoming", forged, signature=signature)

    assert reply.status_code == 400


@pytest.mark.parametrize("missing", ["CallSid", "To", "From"])
def test_a_signed_request_without_a_field_twilio_always_sends_is_refused(app, sid, missing):
    params = call_params(sid)
    del params[missing]

    assert Twilio(app).post("/voice/incoming", params).status_code == 400


@pytest.mark.parametrize("caller", ["+14155550123", "client:anna", "anonymous", "Restricted", "266696687",
                                    "sip:alice@example.com"])
def test_every_kind_of_caller_twilio_sends_is_answered(app, sid, caller):
    params = call_params(sid, From=caller, Caller=caller)

    assert verbs(twiml(Twilio(app).post("/voice/incoming", params)))[0] == "Say"


@pytest.mark.parametrize("caller", ["+1415555012<3", "4155550123To+442079460100", "client:a b", "", "+1 415 555",
                                    "un\u212anown"])
def test_a_caller_that_is_no_number_or_identity_is_refused(app, sid, caller):
    params = call_params(sid, From=caller, Caller=caller)

    assert Twilio(app).post("/voice/incoming", params).status_code == 400


@pytest.fixture
def pinned_app(redis_url):
    settings = settings_with(public_url="https://ivr.example.com")
    app = build_app(redis_url, settings=settings)
    yield app
    close_app(app)


def test_with_a_public_url_a_request_signed_for_another_host_is_refused(pinned_app, sid):
    params = call_params(sid)
    other = "http://attacker.example.net/voice/incoming"  # exactly the URL this request reaches
    unpinned = build_app_like(pinned_app, public_url="")
    assert Twilio(unpinned).post("/voice/incoming", params, signature=sign(other, params),
                                 headers={"Host": "attacker.example.net"}).status_code == 200  # the door pinning shuts
    close_app(unpinned)

    reply = Twilio(pinned_app).post("/voice/incoming", params, signature=sign(other, params),
                                    headers={"Host": "attacker.example.net"})

    assert reply.status_code == 403


def build_app_like(app, **overrides):
    """Build another app on the same Redis with some settings changed."""
    from dataclasses import replace

    services = app.extensions["ivr"]
    url = services.redis.connection_pool.connection_kwargs
    return build_app(f"redis://{url['host']}:{url['port']}/{url.get('db', 0)}",
                     settings=replace(services.settings, **overrides))


def test_flask_itself_refuses_bodies_over_the_limit_behind_the_wsgi_check(app):
    """Two doors, in case one is bypassed (a server that hands the app a body the middleware never saw)."""
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["MAX_FORM_MEMORY_SIZE"] == 4096


def test_with_a_public_url_a_request_signed_for_it_is_answered_whatever_the_host_header(pinned_app, sid):
    params = call_params(sid)

    reply = Twilio(pinned_app).post("/voice/incoming", params,
                                    signature=sign("https://ivr.example.com/voice/incoming", params, TOKEN))

    assert verbs(twiml(reply))[0] == "Say"
