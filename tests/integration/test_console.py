"""The staff console (issue 7, item 7): sign-in, sessions, CSRF, limits, the engineer's page and its API.

One app from the public factory serves the webhooks and the console, on a real Redis with the demo
directory; Twilio's part is played by signed webhooks, the engineer's by Flask's test client.
"""
from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

import ivr
from ivr.adapters import keys
from ivr.adapters.directory.staff_accounts import FAILURE_LIMIT, StaffAccounts
from tests.integration.webhook_support import (TOKEN, Twilio, call_params, close_app, load_demo, settings_with,
                                               twiml, verbs)

SECRET = "console-test-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery"
ENGINEER = "emea-de"
"""Anna Weber in the demo directory: German and English in EMEA, Client identity `emea-de`."""
ASK = "/voice/case?line=%2B442079460100&lang={lang}&attempt=1"
API_CREDENTIALS = {"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_API_KEY": "SK" + "b" * 32,
                   "TWILIO_API_SECRET": "softphone-signing-secret-0123456789"}
NO_API_CREDENTIALS = dict.fromkeys(API_CREDENTIALS)
DESK_PHONE = {"id": "desk-phone", "name": "Dana Desk", "languages": ["en"], "regions": ["emea"],
              "client": None, "phone": "+442079460777", "active": True}


def make_app(redis_url: str, **config) -> Flask:
    settings = config.pop("SETTINGS", None) or settings_with()
    return ivr.create_app({"TWILIO_AUTH_TOKEN": TOKEN, "REDIS_URL": redis_url, "SETTINGS": settings,
                           "IVR_SECRET_KEY": SECRET, "STRICT": True, "TESTING": True,
                           **NO_API_CREDENTIALS, **config})


@pytest.fixture
def demo(redis_url, ivr):
    """The demo directory plus an engineer on a desk phone, and a console password for two engineers."""
    load_demo(redis_url, settings_with())
    assert ivr.load({"engineers": [DESK_PHONE]}).exit_code == 0
    for engineer in (ENGINEER, "desk-phone"):
        result = ivr("staff", "set-password", engineer, input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
    return ivr


@pytest.fixture
def app(redis_url, demo):
    app = make_app(redis_url)
    yield app
    close_app(app)


@pytest.fixture
def accounts(services) -> StaffAccounts:
    return StaffAccounts(services.redis)


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sign_in(client: FlaskClient, engineer: str = ENGINEER, password: str = PASSWORD, **kwargs):
    token = csrf_of(client.get("/console/sign-in", **kwargs))
    return client.post("/console/sign-in", data={"engineer": engineer, "password": password, "csrf_token": token},
                       **kwargs)


@pytest.fixture
def engineer(app) -> FlaskClient:
    """A browser signed in as Anna (emea-de)."""
    client = app.test_client()
    assert sign_in(client).status_code == 302
    return client


def token_of(client: FlaskClient) -> str:
    return csrf_of_meta(client.get("/console/"))


def csrf_of_meta(page) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)


def api_post(client: FlaskClient, path: str, json=None, token: str | None = None):
    headers = {"X-CSRF-Token": token if token is not None else token_of(client)}
    return client.post(path, json=json or {}, headers=headers)


def queue_caller(app: Flask, lang: str, case: str) -> str:
    """Play Twilio: a caller on the EMEA line keys a case number and is queued; return the CallSid."""
    sid = "CA" + uuid.uuid4().hex
    root = twiml(Twilio(app).post(ASK.format(lang=lang), call_params(sid, Digits=case)))
    assert verbs(root)[-1] == "Enqueue", root
    return sid


def console_rules(app: Flask) -> list[tuple[str, str]]:
    """Every (method, path) the console answers, but the sign-in form and the static files."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or rule.endpoint in ("console.auth.sign_in", "console.static"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, rule.rule))
    return out


# --- nothing without a session ------------------------------------------------------------------------


def test_the_console_has_pages_and_api_routes_to_guard(app):
    rules = console_rules(app)
    assert ("GET", "/console/") in rules and ("POST", "/console/api/token") in rules
    assert ("GET", "/console/api/desk") in rules and ("POST", "/console/presence") in rules


def test_every_console_page_without_a_session_sends_the_browser_to_sign_in(app):
    client = app.test_client()
    for method, path in console_rules(app):
        if path.startswith("/console/api/"):
            continue
        reply = client.open(path, method=method)
        assert (reply.status_code, reply.headers.get("Location")) == (302, "/console/sign-in"), (method, path)


def test_every_console_api_without_a_session_answers_401_json(app):
    client = app.test_client()
    for method, path in console_rules(app):
        if not path.startswith("/console/api/"):
            continue
        reply = client.open(path, method=method, json={"state": "away"})
        assert reply.status_code == 401, (method, path)
        assert reply.is_json and reply.json == {"error": "Sign in first."}


def test_a_post_without_a_session_changes_nothing(app, services):
    before = services.store.presence(ENGINEER)
    client = app.test_client()
    client.post("/console/presence", data={"state": "offline"})
    client.post("/console/api/presence", json={"state": "offline"})

    assert services.store.presence(ENGINEER) == before == "available"


def test_a_forged_session_cookie_is_not_a_session(app):
    client = app.test_client()
    client.set_cookie("ivr_console", "eyJlbmdpbmVlciI6ImVtZWEtZGUifQ.forged.signature", path="/console")

    assert client.get("/console/api/desk").status_code == 401


def test_sign_out_ends_the_session(engineer):
    reply = engineer.post("/console/sign-out", data={"csrf_token": token_of(engineer)})

    assert reply.headers["Location"] == "/console/sign-in"
    assert engineer.get("/console/api/desk").status_code == 401


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(engineer, demo):
    assert engineer.get("/console/api/desk").status_code == 200

    assert demo("staff", "set-password", ENGINEER, input="a whole new password\n").exit_code == 0

    assert engineer.get("/console/api/desk").status_code == 401


# --- CSRF ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_an_api_post_without_the_session_s_csrf_token_is_refused(engineer, services, token):
    headers = {} if token is None else {"X-CSRF-Token": token}
    reply = engineer.post("/console/api/presence", json={"state": "offline"}, headers=headers)

    assert reply.status_code == 400 and "reload the page" in reply.json["error"]
    assert services.store.presence(ENGINEER) == "available"


def test_a_form_post_without_the_csrf_field_is_refused(engineer, services):
    reply = engineer.post("/console/presence", data={"state": "offline"})

    assert reply.status_code == 400 and reply.mimetype == "text/html"
    assert "reload the page" in reply.get_data(as_text=True)
    assert services.store.presence(ENGINEER) == "available"


def test_a_sign_in_without_the_form_s_csrf_token_is_refused_and_not_counted(app, accounts):
    client = app.test_client()
    client.get("/console/sign-in")
    reply = client.post("/console/sign-in", data={"engineer": ENGINEER, "password": PASSWORD})

    assert reply.status_code == 400
    assert client.get("/console/api/desk").status_code == 401
    assert accounts.failures(ENGINEER) == 0


def test_a_csrf_token_from_another_session_does_not_count(app, engineer, services):
    other = app.test_client()
    assert sign_in(other, "desk-phone").status_code == 302
    reply = api_post(engineer, "/console/api/presence", {"state": "offline"}, token=token_of(other))

    assert reply.status_code == 400
    assert services.store.presence(ENGINEER) == "available"


# --- signing in ------------------------------------------------------------------------------------------


def test_the_right_password_signs_in_to_the_engineer_s_page(app):
    client = app.test_client()
    reply = sign_in(client)

    assert (reply.status_code, reply.headers["Location"]) == (302, "/console/")
    page = client.get("/console/").get_data(as_text=True)
    assert "Anna Weber" in page and "Take next call" in page


@pytest.mark.parametrize("who, password", [(ENGINEER, "wrong password"), ("nobody", PASSWORD), (ENGINEER, "")])
def test_a_wrong_engineer_or_password_is_refused_in_the_same_words(app, who, password):
    client = app.test_client()
    reply = sign_in(client, who, password)

    assert reply.status_code == 401
    assert "Wrong engineer ID or password." in reply.get_data(as_text=True)
    assert client.get("/console/api/desk").status_code == 401


def test_a_wrong_password_is_counted_against_the_engineer_and_the_address(app, accounts):
    sign_in(app.test_client(), ENGINEER, "wrong password")

    assert accounts.failures(ENGINEER) == 1
    assert accounts.failures(address="127.0.0.1") == 1


def test_an_unknown_engineer_is_counted_against_the_address_only(app, accounts, services):
    sign_in(app.test_client(), "nobody-at-all", PASSWORD)

    assert accounts.failures(address="127.0.0.1") == 1
    assert not list(services.redis.scan_iter(keys.signin_failures("engineer", "*")))


def test_the_sixth_attempt_after_five_failures_is_refused_with_429_even_with_the_right_password(app):
    client = app.test_client()
    for _ in range(FAILURE_LIMIT):
        assert sign_in(client, ENGINEER, "wrong password").status_code == 401

    reply = sign_in(client)

    assert reply.status_code == 429
    assert "Too many failed sign-ins" in reply.get_data(as_text=True)
    assert 0 < int(reply.headers["Retry-After"]) <= 15 * 60
    assert client.get("/console/api/desk").status_code == 401


def test_attempts_racing_each_other_get_no_more_than_five_password_checks(app):
    from concurrent.futures import ThreadPoolExecutor

    def attempt(i: int) -> int:
        return sign_in(app.test_client(), ENGINEER, f"guess {i}",
                       environ_base={"REMOTE_ADDR": f"198.51.100.{i}"}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(attempt, range(24)))

    assert codes.count(401) == FAILURE_LIMIT and codes.count(429) == 24 - FAILURE_LIMIT


def test_five_failures_for_an_engineer_lock_them_out_from_every_address(app):
    for i in range(FAILURE_LIMIT):
        sign_in(app.test_client(), ENGINEER, "wrong password", environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})

    reply = sign_in(app.test_client(), environ_base={"REMOTE_ADDR": "203.0.113.9"})

    assert reply.status_code == 429


def test_five_failures_from_an_address_lock_it_out_for_every_engineer(app):
    for i in range(FAILURE_LIMIT):
        sign_in(app.test_client(), f"guess{i}", "wrong password", environ_base={"REMOTE_ADDR": "203.0.113.7"})

    assert sign_in(app.test_client(), environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 429
    assert sign_in(app.test_client(), environ_base={"REMOTE_ADDR": "203.0.113.8"}).status_code == 302


def test_an_ipv6_client_is_counted_by_its_64(app):
    for i in range(FAILURE_LIMIT):
        sign_in(app.test_client(), "nobody", "wrong password", environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{i + 1}"})

    assert sign_in(app.test_client(), environ_base={"REMOTE_ADDR": "2001:db8:1:2::99"}).status_code == 429
    assert sign_in(app.test_client(), environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 302


def test_failures_are_forgotten_after_the_window(app, accounts, services):
    for _ in range(FAILURE_LIMIT):
        sign_in(app.test_client(), ENGINEER, "wrong password")
    for name in services.redis.scan_iter(keys.signin_failures("*", "*")):
        assert 0 < services.redis.ttl(name) <= 15 * 60
        services.redis.expire(name, 1)
    time.sleep(1.2)

    assert sign_in(app.test_client()).status_code == 302


def test_a_good_sign_in_clears_the_engineer_s_failures(app, accounts):
    sign_in(app.test_client(), ENGINEER, "wrong password")
    sign_in(app.test_client())

    assert accounts.failures(ENGINEER) == 0


def test_an_inactive_engineer_cannot_sign_in(app, demo):
    assert demo.load({"engineers": [{**DESK_PHONE, "active": False}]}).exit_code == 0

    assert sign_in(app.test_client(), "desk-phone").status_code == 401


# --- cookies and the secret key ------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_samesite_lax_and_only_for_the_console(app):
    reply = sign_in(app.test_client())
    cookie = reply.headers["Set-Cookie"]

    assert cookie.startswith("ivr_console=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # http://localhost: a Secure cookie would never come back


def test_the_session_cookie_is_secure_when_the_public_url_is_https(redis_url, demo):
    app = make_app(redis_url, SETTINGS=settings_with(public_url="https://ivr.example.com"))
    try:
        reply = sign_in(app.test_client(), base_url="https://ivr.example.com")
        assert reply.status_code == 302
        assert "Secure" in reply.headers["Set-Cookie"]
    finally:
        close_app(app)


@pytest.mark.parametrize("key, says", [(None, "IVR_SECRET_KEY is not set"), ("short", "IVR_SECRET_KEY is too short")])
def test_without_a_good_secret_key_the_console_is_off_and_the_webhooks_still_answer(redis_url, demo, key, says):
    app = make_app(redis_url, IVR_SECRET_KEY=key)
    try:
        client = app.test_client()
        for path in ("/console/sign-in", "/console/", "/console/api/desk"):
            reply = client.get(path)
            assert reply.status_code == 503, path
            assert says in reply.get_data(as_text=True)
        root = twiml(Twilio(app).post("/voice/incoming", call_params("CA" + uuid.uuid4().hex)))
        assert verbs(root)
    finally:
        close_app(app)


def test_console_pages_are_not_cached_and_not_framed(engineer):
    reply = engineer.get("/console/")

    assert reply.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in reply.headers["Content-Security-Policy"]


# --- the engineer's page ---------------------------------------------------------------------------------


def test_the_page_lists_waiting_callers_of_the_engineer_s_queues_in_serving_order(app, engineer):
    technical = queue_caller(app, "de", "30000001")  # production severity 2: 180 minutes
    premium = queue_caller(app, "de", "30000002")  # premium severity 1: 30 minutes
    queue_caller(app, "fr", "30000002")  # emea-fr: not one of Anna's queues

    desk = engineer.get("/console/api/desk").json

    assert [c["call_sid"] for c in desk["callers"]] == [premium, technical]
    first = desk["callers"][0]
    assert (first["case"], first["account"], first["plan"], first["severity"], first["queue"]) == (
        "30000002", "EMEA Premium Ltd", "premium", 1, "emea-de")
    assert 0 <= first["waiting_s"] < 60
    assert 29 * 60 < first["to_deadline_s"] <= 30 * 60 and first["to_deadline"] in ("in 29 min", "in 30 min")
    assert {q["queue"]: q["waiting"] for q in desk["queues"]} == {"emea-de": 2, "emea-en": 0}
    page = engineer.get("/console/").get_data(as_text=True)
    assert page.index("30000002") < page.index("30000001")
    assert "EMEA Premium Ltd" in page and "EMEA Production Ltd" in page


def test_a_caller_held_for_their_busy_engineer_shows_who_holds_them(app, engineer):
    queue_caller(app, "en", "30000003")  # its engineer emea-busy is busy

    assert [c["claimed_by"] for c in engineer.get("/console/api/desk").json["callers"]] == ["emea-busy"]


@pytest.mark.parametrize("state", ["away", "offline", "available"])
def test_presence_buttons_change_the_engineer_s_presence(engineer, services, state):
    api_post(engineer, "/console/api/presence", {"state": "away" if state == "available" else "available"})
    reply = api_post(engineer, "/console/api/presence", {"state": state})

    assert reply.status_code == 200 and reply.json["message"] == f"You are {state}."
    assert services.store.presence(ENGINEER) == state
    assert engineer.get("/console/api/desk").json["presence"] == state


def test_the_presence_form_works_without_javascript(engineer, services):
    reply = engineer.post("/console/presence", data={"state": "away", "csrf_token": token_of(engineer)})

    assert (reply.status_code, reply.headers["Location"]) == (302, "/console/")
    assert services.store.presence(ENGINEER) == "away"
    assert "You are away." in engineer.get("/console/").get_data(as_text=True)


@pytest.mark.parametrize("state", ["busy", "lunch", ""])
def test_busy_and_made_up_states_cannot_be_set_from_the_console(engineer, services, state):
    reply = api_post(engineer, "/console/api/presence", {"state": state})

    assert reply.status_code == 400 and reply.is_json
    assert "available, away, offline" in reply.json["error"]
    assert services.store.presence(ENGINEER) == "available"


def test_take_next_call_makes_the_engineer_available(engineer, services):
    api_post(engineer, "/console/api/presence", {"state": "away"})

    reply = api_post(engineer, "/console/api/take-next")

    assert reply.status_code == 200 and "available" in reply.json["message"]
    assert services.store.presence(ENGINEER) == "available"


def test_the_page_says_when_the_engineer_is_on_no_call(engineer):
    assert engineer.get("/console/api/desk").json["call"] is None
    assert "You are not on a call." in engineer.get("/console/").get_data(as_text=True)


def test_console_errors_are_json_or_html_never_twiml(engineer):
    api = api_post(engineer, "/console/api/presence", {"nothing": True})
    page = engineer.post("/console/presence", data={"state": "lunch", "csrf_token": token_of(engineer)})

    assert api.status_code == 400 and api.mimetype == "application/json"
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert "<Response" not in page.get_data(as_text=True)


def test_the_console_reports_redis_trouble_as_503_json(redis_url, demo):
    app = make_app(redis_url, STRICT=False, TESTING=False)
    try:
        client = app.test_client()
        assert sign_in(client).status_code == 302
        app.extensions["ivr"].breaker.failure(ConnectionError("test: Redis down"))
        reply = client.get("/console/api/desk")
        assert reply.status_code == 503 and reply.is_json
        assert "cannot reach its database" in reply.json["error"]
    finally:
        app.extensions["ivr"].breaker.close()
        close_app(app)


def test_the_case_of_the_offer_ringing_for_the_engineer_is_shown(app, engineer, services):
    sid = "CA" + uuid.uuid4().hex
    twilio = Twilio(app)
    root = twiml(twilio.post(ASK.format(lang="de"), call_params(sid, Digits="30000002")))
    wait_url = root.find("Enqueue").get("waitUrl")
    twiml(twilio.post(wait_url.removeprefix("http://localhost"), call_params(sid, QueueSid="QU" + "1" * 32)))
    candidate = next(c for c in services.offers.candidates(["emea-de"]) if c.caller.sid == sid)
    outcome, _offer = services.offers.reserve(ENGINEER, candidate, to="client:emea-de", ring_for=20, quiet_before=0)
    assert outcome == "reserved"

    call = engineer.get("/console/api/desk").json["call"]

    assert (call["case"], call["account"], call["plan"], call["severity"], call["queue"], call["state"]) == (
        "30000002", "EMEA Premium Ltd", "premium", 1, "emea-de", "ringing")
    page = engineer.get("/console/").get_data(as_text=True)
    assert "Case 30000002" in page and "ringing" in page


def test_the_demo_s_rest_requests_are_listed_newest_first(engineer, services):
    from ivr.dispatch.rest import rest_client  # the demo's client: shows requests instead of sending them

    client = rest_client(settings_with(), env={}, demo_log=services.redis)
    client.calls.create(to="client:emea-de", from_="+442079460100", url="http://localhost/voice/offer")
    client.calls.create(to="client:emea-en", from_="+442079460100", url="http://localhost/voice/offer")

    rest = engineer.get("/console/api/desk").json["rest"]

    assert [r["method"] for r in rest] == ["POST", "POST"] and rest[0]["url"].endswith("/Calls.json")
    assert ["To", "client:emea-en"] in rest[0]["params"] and ["To", "client:emea-de"] in rest[1]["params"]
    assert "client:emea-en" in engineer.get("/console/").get_data(as_text=True)


# --- the softphone's access token ------------------------------------------------------------------------


def test_the_access_token_lets_the_engineer_s_client_identity_receive_calls_for_an_hour(redis_url, demo):
    app = make_app(redis_url, **API_CREDENTIALS)
    try:
        client = app.test_client()
        sign_in(client)
        reply = api_post(client, "/console/api/token")
        assert reply.status_code == 200
        assert (reply.json["identity"], reply.json["expires_in"]) == ("emea-de", 3600)
        claims = jwt.decode(reply.json["token"], API_CREDENTIALS["TWILIO_API_SECRET"], algorithms=["HS256"])
        assert claims["grants"] == {"identity": "emea-de", "voice": {"incoming": {"allow": True}}}
        assert claims["iss"] == API_CREDENTIALS["TWILIO_API_KEY"]
        assert claims["sub"] == API_CREDENTIALS["TWILIO_ACCOUNT_SID"]
        assert claims["exp"] - claims["nbf"] == 3600
        assert abs(claims["nbf"] - datetime.now(UTC).timestamp()) < 60
        assert jwt.get_unverified_header(reply.json["token"])["cty"] == "twilio-fpa;v=1"
        assert client.get("/console/api/desk").json["softphone"] == {"enabled": True, "identity": "emea-de",
                                                                       "reason": ""}
    finally:
        close_app(app)


def test_an_engineer_on_a_desk_phone_gets_no_token_and_is_told_why(redis_url, demo):
    app = make_app(redis_url, **API_CREDENTIALS)
    try:
        client = app.test_client()
        sign_in(client, "desk-phone")
        reply = api_post(client, "/console/api/token")
        assert reply.status_code == 409
        assert "desk-phone has no Twilio Client identity" in reply.json["error"]
        softphone = client.get("/console/api/desk").json["softphone"]
        assert not softphone["enabled"] and "+442079460777" in softphone["reason"]
        page = client.get("/console/").get_data(as_text=True)
        assert "twilio.min.js" not in page and "Calls ring your phone on +442079460777" in page
    finally:
        close_app(app)


def test_without_an_api_key_the_token_endpoint_names_what_is_missing(engineer):
    reply = api_post(engineer, "/console/api/token")

    assert reply.status_code == 503
    assert "TWILIO_ACCOUNT_SID, TWILIO_API_KEY, TWILIO_API_SECRET" in reply.json["error"]
    assert "TWILIO_API_KEY" in engineer.get("/console/").get_data(as_text=True)


def test_the_vendored_voice_sdk_is_served_by_the_app_with_its_licence_and_version(app):
    client = app.test_client()

    def fetch(name: str) -> tuple[int, bytes]:
        with client.get(f"/console/static/vendor/{name}") as reply:
            return reply.status_code, reply.get_data()

    assert fetch("twilio.min.js")[0] == 200 and b"Twilio.Device" in fetch("twilio.min.js")[1]
    assert fetch("VERSION")[1].startswith(b"@twilio/voice-sdk ")
    assert b"Apache License" in fetch("LICENSE.md")[1]


# --- ivr staff set-password -------------------------------------------------------------------------------


def test_set_password_reads_one_line_from_standard_input_and_stores_only_a_salted_hash(demo, accounts, services):
    result = demo("staff", "set-password", "emea-en", input="first line password\nsecond line\n")

    assert result.exit_code == 0 and "password set for emea-en" in result.stdout
    assert accounts.check("emea-en", "first line password")
    assert not accounts.check("emea-en", "second line")
    stored = services.redis.get(keys.password("emea-en"))  # the storage is the subject here
    assert stored.startswith("scrypt:") and "first line password" not in stored


def test_the_same_password_twice_gets_two_different_hashes(demo, services):
    demo("staff", "set-password", "emea-en", input="same password\n")
    first = services.redis.get(keys.password("emea-en"))
    demo("staff", "set-password", "emea-en", input="same password\n")

    assert services.redis.get(keys.password("emea-en")) != first


def test_set_password_for_an_engineer_not_in_the_directory_names_them(demo, services):
    result = demo("staff", "set-password", "nobody", input="a good password\n")

    assert result.exit_code == 1
    assert "no engineer 'nobody' in the directory" in result.stderr
    assert services.redis.get(keys.password("nobody")) is None


@pytest.mark.parametrize("given, says", [("", "no password"), ("short\n", "at least 8 characters")])
def test_set_password_refuses_an_empty_or_short_password(demo, accounts, given, says):
    result = demo("staff", "set-password", "emea-en", input=given)

    assert result.exit_code == 1 and says in result.stderr
    assert not accounts.has_password("emea-en")


def _on_a_terminal(redis_url: str, args: list[str], prompts: tuple[bytes, ...], typed: list[str],
                   timeout: float = 60) -> str:
    """Run the real `ivr` on a pseudo-terminal, typing the next line each time a prompt appears; return the screen."""
    import os
    import pty
    import select
    import subprocess

    from tests.integration.conftest import IVR, subprocess_env

    controller, terminal = pty.openpty()
    process = subprocess.Popen([IVR, *args], stdin=terminal, stdout=terminal, stderr=terminal,
                               env=subprocess_env(REDIS_URL=redis_url, IVR_CONFIG=""), start_new_session=True)
    os.close(terminal)
    shown, pending, answered = b"", list(typed), 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the command has exited and closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
                asked = sum(shown.count(prompt) for prompt in prompts)
                if pending and asked > answered:
                    answered += 1
                    os.write(controller, pending.pop(0).encode() + b"\r")
            elif process.poll() is not None:
                break
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    assert process.returncode == 0, shown
    return shown.decode(errors="replace")


def test_set_password_on_a_terminal_asks_twice_without_echoing(demo, accounts, redis_url):
    shown = _on_a_terminal(redis_url, ["staff", "set-password", "emea-en"],
                           (b"password for emea-en: ", b"confirmation: "),
                           ["terminal password 1", "another password", "terminal password 1", "terminal password 1"])

    assert shown.count("New console password for emea-en") == 2  # asked again after the two did not match
    assert "do not match" in shown
    assert "terminal password 1" not in shown and "another password" not in shown
    assert accounts.check("emea-en", "terminal password 1")
