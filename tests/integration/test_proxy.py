"""Behind a TLS-terminating proxy: `proxy.trusted` lists addresses and networks (SPEC §7)."""
from __future__ import annotations

import uuid

import pytest

from ivr.config import load_settings
from ivr.voice.security import TrustedProxies

from .webhook_support import Twilio, build_app, call_params, close_app, twiml, verbs

PUBLIC = "https://ivr.example.com/voice/incoming"
"""The URL Twilio signs: the proxy's public https address."""
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.com"}


@pytest.fixture
def sid() -> str:
    return "CA" + uuid.uuid4().hex


@pytest.fixture
def loopback_app(redis_url, tmp_path):
    """The app with the whole loopback network trusted, as the TOML file would say it."""
    config = tmp_path / "ivr.toml"
    config.write_text('[proxy]\ntrusted = ["127.0.0.0/8", "fd00::/8"]\n', encoding="utf-8")
    app = build_app(redis_url, settings=load_settings(config))
    yield app
    close_app(app)


@pytest.mark.parametrize("proxy", ["127.0.0.5", "127.0.0.1", "fd00::17"])
def test_a_signed_call_through_a_proxy_in_a_trusted_network_is_accepted(loopback_app, sid, proxy):
    twilio = Twilio(loopback_app, environ_base={"REMOTE_ADDR": proxy})

    reply = twilio.post("/voice/incoming", call_params(sid), signed_url=PUBLIC, headers=FORWARDED)

    assert verbs(twiml(reply)) == ["Say", "Gather", "Redirect"]


@pytest.mark.parametrize("caller", ["128.0.0.1", "10.9.9.9", "fe00::1"])
def test_forwarded_headers_from_outside_the_trusted_networks_are_ignored(loopback_app, sid, caller):
    twilio = Twilio(loopback_app, environ_base={"REMOTE_ADDR": caller})

    reply = twilio.post("/voice/incoming", call_params(sid), signed_url=PUBLIC, headers=FORWARDED)

    assert reply.status_code == 403


def _scheme_seen(remote_addr: str | None, trusted: tuple[str, ...]) -> str:
    """Return the URL scheme an app behind TrustedProxies sees for a request forwarded as https."""
    seen = {}

    def app(environ, start_response):
        seen["scheme"] = environ["wsgi.url_scheme"]
        start_response("204 No Content", [])
        return []

    environ = {"wsgi.url_scheme": "http", "HTTP_HOST": "localhost", "HTTP_X_FORWARDED_PROTO": "https",
               "REQUEST_METHOD": "POST", "PATH_INFO": "/voice/incoming"}
    if remote_addr is not None:
        environ["REMOTE_ADDR"] = remote_addr
    TrustedProxies(app, trusted)(environ, lambda status, headers: None)
    return seen["scheme"]


@pytest.mark.parametrize("remote_addr", [None, "", "localhost", "127.0.0.5\n", "unix:/run/ivr.sock"])
def test_a_request_whose_address_is_not_an_ip_is_not_trusted(remote_addr):
    assert _scheme_seen(remote_addr, ("127.0.0.0/8",)) == "http"


@pytest.mark.parametrize(("remote_addr", "trusted"), [
    ("127.0.0.5", ("127.0.0.0/8",)),
    ("10.0.0.1", ("10.0.0.1",)),
    ("::ffff:127.0.0.5", ("127.0.0.0/8",)),  # an IPv4 client seen through a dual-stack socket
    ("2001:db8::1", ("192.0.2.1", "2001:db8::/32")),
])
def test_a_request_from_a_trusted_address_or_network_has_its_forwarded_scheme_honoured(remote_addr, trusted):
    assert _scheme_seen(remote_addr, trusted) == "https"
