"""The staff console's security promises (issue 10, item 5), each tried: sign-in limited per engineer and
per address, sessions that expire, every unsafe request CSRF-checked, security headers on every response,
secrets compared in constant time.

Same app, demo directory and browser helpers as test_console.py.
"""
from __future__ import annotations

import hmac
import re
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask

import ivr.console
from ivr.adapters import keys
from ivr.adapters.directory.staff_accounts import FAILURE_LIMIT, FAILURE_WINDOW
from ivr.console import CONTENT_SECURITY_POLICY, SESSION_LIFETIME
from tests.integration import test_console
from tests.integration.test_console import ENGINEER, PASSWORD, csrf_of, make_app, sign_in, token_of
from tests.integration.webhook_support import close_app, snapshot

demo, app, engineer = test_console.demo, test_console.app, test_console.engineer
"""test_console's fixtures: the demo directory with two console passwords, its app, Anna signed in."""

OTHER = "desk-phone"
"""The demo's second engineer with a console password (see test_console.demo)."""


def at(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def failure_counters(services) -> list[str]:
    return list(services.redis.scan_iter(keys.signin_failures("*", "*")))


def refused_until(reply) -> int:
    """The seconds a 429 asks to wait, checked against what its page says."""
    assert reply.status_code == 429
    wait = int(reply.headers["Retry-After"])
    assert 0 < wait <= FAILURE_WINDOW
    minutes = -(-wait // 60)
    assert f"Try again in {minutes} minute" in reply.get_data(as_text=True)
    return wait


# --- sign-in limited per engineer and per address ----------------------------------------------------------


def test_an_engineer_locked_out_leaves_other_engineers_at_the_same_addresses_signing_in(app):
    # Five failures for Anna, spread over two addresses: she is locked, neither address is.
    for address, count in (("198.51.100.1", 2), ("198.51.100.2", FAILURE_LIMIT - 2)):
        for _ in range(count):
            assert sign_in(app.test_client(), ENGINEER, "wrong password", **at(address)).status_code == 401

    refused_until(sign_in(app.test_client(), **at("198.51.100.1")))  # the right password: still locked

    assert sign_in(app.test_client(), OTHER, **at("198.51.100.1")).status_code == 302
    assert sign_in(app.test_client(), OTHER, **at("198.51.100.2")).status_code == 302


def test_failures_across_engineers_from_one_address_lock_the_address_until_its_window_ends(app, services):
    address = "203.0.113.50"
    for who in (ENGINEER, ENGINEER, OTHER, OTHER, "nobody-at-all")[:FAILURE_LIMIT]:
        assert sign_in(app.test_client(), who, "wrong password", **at(address)).status_code == 401

    # No engineer has reached the limit, the address has: even the right password is refused there.
    wait = refused_until(sign_in(app.test_client(), OTHER, **at(address)))
    assert wait <= services.redis.ttl(keys.signin_failures("address", address))
    assert sign_in(app.test_client(), OTHER, **at("203.0.113.51")).status_code == 302

    for name in failure_counters(services):
        services.redis.expire(name, 1)
    time.sleep(1.2)
    assert sign_in(app.test_client(), ENGINEER, **at(address)).status_code == 302


def test_the_lock_says_how_long_is_left_of_the_window(app, services):
    for _ in range(FAILURE_LIMIT):
        sign_in(app.test_client(), ENGINEER, "wrong password")
    first = refused_until(sign_in(app.test_client()))
    assert FAILURE_WINDOW - 60 < first <= FAILURE_WINDOW

    for name in failure_counters(services):
        services.redis.expire(name, 90)
    later = sign_in(app.test_client())

    assert refused_until(later) <= 90 and "Try again in 2 minutes" in later.get_data(as_text=True)


def test_an_engineer_s_lock_ends_with_its_window(app, services):
    for i in range(FAILURE_LIMIT):
        sign_in(app.test_client(), ENGINEER, "wrong password", **at(f"198.51.100.{10 + i}"))
    refused_until(sign_in(app.test_client(), **at("198.51.100.99")))

    services.redis.expire(keys.signin_failures("engineer", ENGINEER), 1)
    time.sleep(1.2)

    assert sign_in(app.test_client(), **at("198.51.100.99")).status_code == 302


# --- sessions expire --------------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The console's clock, set by the test (seconds since the epoch)."""

    class Clock:
        now = float(int(time.time()))

    monkeypatch.setattr(ivr.console, "now", lambda: Clock.now)
    return Clock


def test_a_session_ends_its_lifetime_after_sign_in_however_active(app, clock):
    client = app.test_client()
    signed_in_at = clock.now
    assert sign_in(client).status_code == 302
    lifetime = SESSION_LIFETIME.total_seconds()

    for elapsed in (60, lifetime / 2, lifetime - 60, lifetime):  # polling all along: no idle limit, no extension
        clock.now = signed_in_at + elapsed
        assert client.get("/console/api/desk").status_code == 200, elapsed

    clock.now = signed_in_at + lifetime + 1
    assert client.get("/console/api/desk").status_code == 401
    assert client.get("/console/").headers["Location"] == "/console/sign-in"

    clock.now = signed_in_at + 60  # the session was ended, not just refused while the clock was late
    assert client.get("/console/api/desk").status_code == 401


def test_an_expired_session_posts_nothing(app, clock, redis_url):
    client = app.test_client()
    signed_in_at = clock.now
    sign_in(client)
    token = token_of(client)
    before = snapshot(redis_url)

    clock.now = signed_in_at + SESSION_LIFETIME.total_seconds() + 1
    reply = client.post("/console/api/presence", json={"state": "offline"}, headers={"X-CSRF-Token": token})

    assert reply.status_code == 401
    assert snapshot(redis_url) == before


def test_a_session_without_its_sign_in_time_is_refused(engineer):
    with engineer.session_transaction("/console/") as session:
        assert session["engineer"] == ENGINEER
        del session["since"]

    assert engineer.get("/console/api/desk").status_code == 401


def test_the_session_cookie_expires_with_the_session(app):
    reply = sign_in(app.test_client())
    cookie = reply.headers["Set-Cookie"]
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))

    assert abs(expires - (datetime.now(expires.tzinfo) + SESSION_LIFETIME)) < timedelta(minutes=1)


def test_a_session_lasts_a_working_day_at_most():
    assert SESSION_LIFETIME == timedelta(hours=12)  # the tests above use the constant; this pins its value


# --- CSRF on every unsafe request -----------------------------------------------------------------------


def unsafe_console_requests(app: Flask) -> list[tuple[str, str, str]]:
    """Every (method, URL, endpoint) under /console that is not GET, HEAD or OPTIONS: new ones included."""
    adapter = app.url_map.bind("localhost")
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console"):
            continue
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            url = adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, "x"), method=method)
            out.append((method, url, rule.endpoint))
    return out


def test_the_console_has_unsafe_endpoints_to_check(app):
    endpoints = {endpoint for _method, _url, endpoint in unsafe_console_requests(app)}

    assert {"console.auth.sign_in", "console.auth.sign_out", "console.desk.presence", "console.desk.take_next",
            "console.api.presence", "console.api.take_next", "console.api.token"} <= endpoints


def test_every_unsafe_console_request_without_the_session_s_csrf_token_is_refused_and_changes_nothing(
        app, engineer, redis_url):
    other = app.test_client()
    assert sign_in(other, OTHER).status_code == 302
    right = token_of(engineer)
    wrong_tokens = {"missing": None, "empty": "", "wrong": "x" * len(right), "another session's": token_of(other),
                    "truncated": right[:-1], "extended": right + "x"}
    refused = []
    for method, url, endpoint in unsafe_console_requests(app):
        for name, token in wrong_tokens.items():
            for carried in ("form", "header", "json"):
                if token is None and carried != "form":
                    continue
                before = snapshot(redis_url)
                data = {"state": "offline", "engineer": ENGINEER, "password": PASSWORD}
                kwargs: dict = {"data": data}
                if carried == "json":
                    kwargs = {"json": data}
                if token is not None:
                    if carried == "form":
                        kwargs["data"] = {**data, "csrf_token": token}
                    else:
                        kwargs["headers"] = {"X-CSRF-Token": token}
                reply = engineer.open(url, method=method, **kwargs)
                if reply.status_code != 400 or "reload the page" not in reply.get_data(as_text=True):
                    refused.append((method, url, name, carried, reply.status_code))
                if snapshot(redis_url) != before:
                    refused.append((method, url, name, carried, "changed the database"))
        # The refusals left the session as it was: it still reads the desk.
        assert engineer.get("/console/api/desk").status_code == 200, (method, url)

    assert refused == []


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_a_sign_in_with_the_right_password_but_no_right_csrf_token_signs_nobody_in(app, redis_url, token):
    client = app.test_client()
    client.get("/console/sign-in")
    before = snapshot(redis_url)
    data = {"engineer": ENGINEER, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token

    assert client.post("/console/sign-in", data=data).status_code == 400
    assert client.get("/console/api/desk").status_code == 401
    assert snapshot(redis_url) == before


def test_a_sign_out_without_the_csrf_token_does_not_sign_out(engineer):
    assert engineer.post("/console/sign-out").status_code == 400

    assert engineer.get("/console/api/desk").status_code == 200


def test_the_right_token_is_what_lets_each_unsafe_request_through(app, engineer):
    """The control for the refusals above: the same requests with the right token are not refused for it."""
    for method, url, endpoint in unsafe_console_requests(app):
        if endpoint == "console.auth.sign_out":
            continue
        reply = engineer.open(url, method=method, json={"state": "away"}, headers={"X-CSRF-Token": token_of(engineer)})
        # Refused for the token is a 400 saying to reload (a 400 for the body's shape is fine here); the
        # softphone's token is a 503 with no Twilio account; a crash is never fine.
        assert reply.status_code in (*range(200, 500), 503) and "reload the page" not in reply.get_data(as_text=True), \
            (method, url, reply.status_code)
    reply = engineer.post("/console/sign-out", data={"csrf_token": token_of(engineer)})
    assert reply.status_code == 302 and engineer.get("/console/api/desk").status_code == 401


# --- constant-time comparisons ------------------------------------------------------------------------------


@pytest.fixture
def compared(monkeypatch) -> list[tuple]:
    """Every hmac.compare_digest call made while the test runs, with its arguments."""
    calls: list[tuple] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def test_the_csrf_token_is_compared_in_constant_time(engineer, compared):
    token = token_of(engineer)
    wrong = "y" * len(token)

    assert engineer.post("/console/api/presence", json={"state": "away"},
                         headers={"X-CSRF-Token": wrong}).status_code == 400
    assert engineer.post("/console/presence", data={"state": "away", "csrf_token": token}).status_code == 302

    # (The session cookie's signature is checked with it too: the CSRF comparisons are among the calls.)
    assert (wrong.encode(), token.encode()) in compared and (token.encode(), token.encode()) in compared


def test_the_password_is_checked_by_a_constant_time_comparison_of_hashes(app, compared):
    client = app.test_client()
    token = csrf_of(client.get("/console/sign-in"))

    reply = client.post("/console/sign-in", data={"engineer": ENGINEER, "password": PASSWORD, "csrf_token": token})

    assert reply.status_code == 302
    assert (token.encode(), token.encode()) in compared
    hashes = [(a, b) for a, b in compared if isinstance(a, str)]  # werkzeug's check_password_hash: hex digests
    assert len(hashes) == 1 and hashes[0][0] == hashes[0][1] and len(hashes[0][0]) >= 64


# --- security headers on every response -----------------------------------------------------------------


def assert_console_headers(reply, *, cacheable: bool = False) -> None:
    headers = reply.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    if cacheable:
        assert "no-store" not in headers.get("Cache-Control", "")
    else:
        assert headers["Cache-Control"] == "no-store"
    assert len(headers.getlist("Content-Security-Policy")) == 1 and len(headers.getlist("Cache-Control")) <= 1


def test_every_kind_of_console_response_carries_the_security_headers(app, engineer):
    anonymous = app.test_client()
    token = token_of(engineer)
    replies = {
        "sign-in form": anonymous.get("/console/sign-in"),
        "page without a session": anonymous.get("/console/"),
        "api without a session": anonymous.get("/console/api/desk"),
        "sign-in refused": sign_in(app.test_client(), ENGINEER, "wrong password", **at("192.0.2.1")),
        "csrf refused": anonymous.post("/console/sign-in", data={"engineer": ENGINEER}),
        "the desk": engineer.get("/console/"),
        "the desk's json": engineer.get("/console/api/desk"),
        "presence form": engineer.post("/console/presence", data={"state": "away", "csrf_token": token}),
        "presence refused": engineer.post("/console/presence", data={"state": "lunch", "csrf_token": token}),
        "api refused": engineer.post("/console/api/presence", json={}, headers={"X-CSRF-Token": token}),
        "no softphone": engineer.post("/console/api/token", headers={"X-CSRF-Token": token}),
        "no such page": engineer.get("/console/no-such-page"),
        "no such api": engineer.get("/console/api/no-such-thing"),
        "wrong method": engineer.get("/console/presence"),
        "wrong api method": engineer.delete("/console/api/desk"),
        "without the slash": engineer.get("/console"),
        "body too large": engineer.post("/console/presence", data="x" * 70000,
                                        content_type="application/x-www-form-urlencoded"),
        "head": engineer.head("/console/"),
        "options": engineer.options("/console/api/presence"),
    }
    for _ in range(FAILURE_LIMIT):
        sign_in(app.test_client(), OTHER, "wrong password", **at("192.0.2.2"))
    replies["sign-in locked"] = sign_in(app.test_client(), OTHER, **at("192.0.2.2"))
    assert replies["sign-in locked"].status_code == 429 and replies["body too large"].status_code == 413

    for name, reply in replies.items():
        try:
            assert_console_headers(reply)
        except (AssertionError, KeyError) as exc:
            raise AssertionError(f"{name} ({reply.status_code}): {exc!r}") from exc


def test_static_files_carry_the_security_headers_and_may_be_cached(app):
    client = app.test_client()
    for path in ("/console/static/console.css", "/console/static/console.js", "/console/static/vendor/VERSION"):
        with client.get(path) as reply:
            assert reply.status_code == 200, path
            assert_console_headers(reply, cacheable=True)
    with client.get("/console/static/no-such-file.js") as missing:
        assert missing.status_code == 404
        assert_console_headers(missing, cacheable=True)


def test_with_the_console_off_its_503_carries_the_security_headers(redis_url, demo):
    off = make_app(redis_url, IVR_SECRET_KEY=None)
    try:
        reply = off.test_client().get("/console/")
        assert reply.status_code == 503
        assert_console_headers(reply)
    finally:
        close_app(off)


def test_webhooks_and_other_paths_do_not_get_the_console_s_headers(app):
    reply = app.test_client().get("/healthz")

    assert "Content-Security-Policy" not in reply.headers
