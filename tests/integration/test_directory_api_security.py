"""The directory API's security promises (issue 10, item 5): security headers on every response, errors
included, and the bearer token compared in constant time whether right or wrong.

Same app and helpers as test_directory_api.py.
"""
from __future__ import annotations

import hmac

import pytest

from ivr.api import SECURITY_HEADERS

from . import test_directory_api
from .test_directory_api import ACCOUNT, API_TOKEN, CASE, ENGINEER, Api, build, case, close
from .webhook_support import snapshot

app, api = test_directory_api.app, test_directory_api.api
"""test_directory_api's fixtures: the app on the base directory, and the case system's client."""


def assert_api_headers(reply) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.getlist(name) == [value], name
    assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
    assert reply.headers["Cache-Control"] == "no-store" and reply.headers["X-Content-Type-Options"] == "nosniff"


def test_every_kind_of_api_response_carries_the_security_headers(api):
    replies = {
        "created": api.put("accounts", "wayne", ACCOUNT),
        "replaced": api.put("accounts", "wayne", ACCOUNT),
        "deleted": api.delete("accounts", "wayne"),
        "not there": api.delete("accounts", "wayne"),
        "refused record": api.put("cases", "07123456", case(status="done")),
        "not json": api.put("cases", "07123456", CASE, content_type="text/plain"),
        "bad json": api.put("cases", "07123456", None, raw="{"),
        "still referenced": api.delete("accounts", "acme"),
        "unknown section": api.put("customers", "acme", ACCOUNT),
        "no such path": api.client.get("/api/nothing", headers=api.headers()),
        "the bare prefix": api.client.get("/api", headers=api.headers()),
        "wrong method": api.client.get("/api/directory/cases/07123456", headers=api.headers()),
        "body too large": api.put("engineers", "dora", {**ENGINEER, "name": "x" * 70_000}),
        "no token": Api(api.client.application, None).put("cases", "07123456", CASE),
        "wrong token": Api(api.client.application, "x" * len(API_TOKEN)).delete("cases", "07123456"),
        "options": api.client.options("/api/directory/cases/07123456"),
    }
    assert [r.status_code for r in replies.values()] == [201, 200, 204, 404, 400, 415, 400, 409, 404, 404, 404, 405,
                                                         413, 401, 401, 401]
    for name, reply in replies.items():
        try:
            assert_api_headers(reply)
        except (AssertionError, KeyError) as exc:
            raise AssertionError(f"{name} ({reply.status_code}): {exc!r}") from exc


def test_with_the_api_off_its_503_carries_the_security_headers(redis_url):
    off = build(redis_url, None)
    try:
        reply = Api(off).put("cases", "07123456", CASE)
        assert reply.status_code == 503
        assert_api_headers(reply)
    finally:
        close(off)


@pytest.mark.parametrize("sent", ["x" * len(API_TOKEN), API_TOKEN[:-1], API_TOKEN + "x", "é" * len(API_TOKEN)],
                         ids=["same length", "shorter", "longer", "not ascii"])
def test_a_wrong_token_is_compared_in_constant_time_too(app, monkeypatch, sent):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    reply = Api(app, sent).delete("cases", "07123456")

    assert reply.status_code == 401
    assert compared == [(sent.encode(), API_TOKEN.encode())]


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/nothing"), ("PUT", "/api"), ("PUT", "/api/"),
                                              ("PUT", "/api/directory/cases/"), ("GET", "/api/directory/cases/x"),
                                              ("POST", "/api/directory/cases/07123456"),
                                              ("PUT", "/api/directory/cases%2F/07123456"),
                                              ("DELETE", "/api//directory/cases/07123456")],
                         ids=["unknown path", "bare prefix", "prefix", "no id", "wrong method", "post",
                              "slash in the section", "double slash"])
def test_before_the_token_nothing_is_told_about_paths_or_methods(app, redis_url, method, path):
    before = snapshot(redis_url)

    reply = app.test_client().open(path, method=method, json={})

    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"] == 'Bearer realm="ivr-directory"'
    assert "Allow" not in reply.headers
    assert_api_headers(reply)
    assert snapshot(redis_url) == before
    with_token = Api(app).client.open(path, method=method, json={}, headers=Api(app).headers())
    assert with_token.status_code in (404, 405)
