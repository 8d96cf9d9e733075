"""The staff console in a real browser (headless Debian chromium, driven by Playwright) against `ivr serve --demo`.

An engineer given a password with `ivr staff set-password` signs in through the page, sees a
caller queued by real signed webhooks (the `Phone`: a real call that stays on hold, not an `ivr call`
rehearsal, which no engineer is offered and which ends before the page could show it) appear without reloading, changes presence with the
buttons and presses Take next call: the demo's dispatcher rings them for that caller, which the
page shows with the REST request the demo shows instead of sending. The softphone is shown ringing with the case's parameters,
with a stand-in for Twilio's Device: nothing here talks to Twilio, and every request the
browser makes beyond the server under test is refused.
"""
from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jwt
import pytest
import redis
import requests
from playwright.sync_api import expect, sync_playwright

from tests.redis_server import free_port

from .conftest import IVR, US, Phone, Servers, _server_env, _stop, _wait_healthy, services_at


CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium (`apt-get install chromium`; .ci/run installs it): Playwright downloads no browser here."""

PASSWORD = "browser-test-password"
ENGINEER = "us-en"
"""Alex Morgan in the demo directory: English in the US region (queue us-en), Client identity `us-en`."""
WAIT_MS = 10_000
"""How long the page may take to show a change: the console polls every 2 s."""

API_CREDENTIALS = {"TWILIO_ACCOUNT_SID": "AC" + "c" * 32, "TWILIO_API_KEY": "SK" + "d" * 32,
                   "TWILIO_API_SECRET": "browser-test-api-secret-0123456789"}

STAND_IN_DEVICE = """
// Stands in for Twilio's Device: registers at once, then rings with a case's parameters.
window.Twilio = {Device: class {
  constructor(token, options) { window.__token = token; this.handlers = {}; this.state = "unregistered"; }
  on(event, handler) { (this.handlers[event] = this.handlers[event] || []).push(handler); }
  emit(event, arg) { (this.handlers[event] || []).forEach(h => h(arg)); }
  updateToken(token) { window.__token = token; }
  register() {
    this.state = "registered";
    this.emit("registered");
    const handlers = {};
    const call = {
      customParameters: new Map([["case", "10000002"], ["plan", "premium"], ["severity", "1"],
                                 ["language", "en"], ["queue", "us-en"], ["deadline", "2026-11-30T12:30:00-05:00"]]),
      on(event, handler) { (handlers[event] = handlers[event] || []).push(handler); },
      accept() { window.__accepted = true; (handlers.accept || []).forEach(h => h()); },
      reject() { window.__rejected = true; },
      disconnect() { (handlers.disconnect || []).forEach(h => h()); },
    };
    setTimeout(() => this.emit("incoming", call), 300);
    return Promise.resolve();
  }
}};
"""


def _start(redis_url: str, root: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.Popen, Servers]:
    port = free_port()
    data_dir, log = root / "data", root / "serve.log"
    server_env = _server_env(redis_url, data_dir)
    for name in ("IVR_SECRET_KEY", *API_CREDENTIALS):
        server_env.pop(name, None)  # `--demo` makes the secret key; the softphone's keys only where a test gives them
    server_env.update(env or {})
    with log.open("wb") as out:
        process = subprocess.Popen([IVR, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port),
                                    "--workers", "1", *extra],
                                   env=server_env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        _wait_healthy(process, port, log)
    except BaseException:
        _stop(process)
        raise
    return process, Servers(redis_url, [port], [data_dir], [log])


@pytest.fixture(scope="module")
def console_server(redis_server, tmp_path_factory) -> Iterator[Servers]:
    """`ivr serve --demo` with its worker and dispatcher, no API key: the console without the softphone."""
    yield from _served(redis_server, 11, tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="module")
def softphone_server(redis_server, tmp_path_factory) -> Iterator[Servers]:
    """`ivr serve --demo --no-worker` with an API key: the softphone gets tokens; no REST request is made."""
    yield from _served(redis_server, 12, tmp_path_factory.mktemp("softphone"), "--no-worker", env=API_CREDENTIALS)


def _served(redis_server: str, db: int, root: Path, *extra: str, env: dict | None = None) -> Iterator[Servers]:
    redis_url = redis_server.rsplit("/", 1)[0] + f"/{db}"
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    process, servers = _start(redis_url, root, *extra, env=env)
    try:
        set_password(servers, ENGINEER, PASSWORD)
        yield servers
    finally:
        _stop(process)
        client.flushdb()
        client.close()


def set_password(servers: Servers, engineer: str, password: str) -> None:
    """Run the real `ivr staff set-password`, the password on standard input."""
    env = {k: v for k, v in os.environ.items() if k not in ("IVR_CONFIG",)}
    env.update(REDIS_URL=servers.redis_url, IVR_DATA_DIR=str(servers.data_dirs[0]))
    done = subprocess.run([IVR, "staff", "set-password", engineer], input=password + "\n", env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert f"password set for {engineer}" in done.stdout


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


def new_page(browser, servers: Servers, **options):
    """A fresh browser profile that may reach the server under test and nothing else."""
    context = browser.new_context(**options)
    context.set_default_timeout(WAIT_MS)
    base = servers.url(0)

    def only_ours(route):
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_ours)
    return context, context.new_page()


def sign_in(page, servers: Servers, engineer: str = ENGINEER, password: str = PASSWORD) -> None:
    page.goto(servers.url(0) + "/console/")
    assert page.url.endswith("/console/sign-in")  # no session: sent to the form
    page.fill("#engineer", engineer)
    page.fill("#password", password)
    page.click("#sign-in button[type=submit]")
    page.wait_for_url(re.compile(r"/console/$"))


def now_in_new_york() -> str:
    return datetime.now(ZoneInfo("America/New_York")).isoformat(timespec="seconds")


def test_an_engineer_signs_in_sees_a_caller_arrive_changes_presence_and_takes_the_next_call(browser, console_server):
    services = services_at(console_server.redis_url)
    try:
        # Nobody else serving us-en takes calls (the demo's us-busy is on a call for its first two
        # minutes anyway), so the caller waits for this engineer.
        for other in ("us-es", "us-busy"):
            services.store.set_presence(other, "offline")
    finally:
        services.close()
    context, page = new_page(browser, console_server)
    try:
        sign_in(page, console_server)
        expect(page.locator(".who")).to_contain_text("Alex Morgan")
        expect(page.locator("#softphone-status")).to_contain_text("TWILIO_API_KEY")  # a desk phone still works

        page.click("#presence-form button[data-state=away]")
        expect(page.locator("#presence")).to_have_text("away")
        expect(page.locator("#presence-form button[data-state=away]")).to_have_attribute("aria-pressed", "true")

        with requests.Session() as http:
            call = Phone(console_server, http).call(US, "1,10000002", now_in_new_york(), caller="+15555550311")
        assert call.outcome == {"kind": "queue", "target": "us-en", "reason": "queue"}
        row = page.locator("#callers tbody tr", has_text="10000002")
        expect(row).to_be_visible()  # appears without a reload
        expect(row).to_contain_text("US Premium Ltd")
        expect(row).to_contain_text("premium")
        expect(row).to_contain_text(re.compile(r"in (29|30) min"))
        expect(page.locator("#queues [data-queue=us-en]")).to_contain_text("1")

        page.click("#presence-form button[data-state=offline]")
        expect(page.locator("#presence")).to_have_text("offline")

        page.click("#take-next")
        expect(page.locator("#message")).to_contain_text("You are available")
        # The dispatcher offers them the caller: it rings them (shown, not sent, in the demo), and they are busy.
        expect(page.locator("#call")).to_contain_text("Case 10000002")
        expect(page.locator("#call")).to_contain_text("US Premium Ltd")
        expect(page.locator("#call")).to_contain_text("ringing")
        expect(page.locator("#presence")).to_have_text("busy")
        expect(page.locator("#rest")).to_contain_text("client:us-en")
        expect(row).to_be_visible()  # still waiting in Twilio's queue until the engineer answers
        page.screenshot(path=str(console_server.logs[0].with_name("console.png")), full_page=True)
    finally:
        context.close()


def test_the_console_works_without_javascript(browser, console_server):
    context, page = new_page(browser, console_server, java_script_enabled=False)
    try:
        sign_in(page, console_server)
        page.click("#presence-form button[data-state=away]")  # a plain form post, then the page again
        expect(page.locator(".flash")).to_have_text("You are away.")
        expect(page.locator("#presence")).to_have_text("away")
        expect(page.locator("#queues [data-queue=us-en]")).to_be_visible()
    finally:
        context.close()


def test_a_wrong_password_is_refused_on_the_page(browser, console_server):
    context, page = new_page(browser, console_server)
    try:
        page.goto(console_server.url(0) + "/console/sign-in")
        page.fill("#engineer", "us-es")
        page.fill("#password", "not the password")
        page.click("#sign-in button[type=submit]")
        expect(page.locator("#sign-in-error")).to_have_text("Wrong engineer ID or password.")
        page.goto(console_server.url(0) + "/console/")
        assert page.url.endswith("/console/sign-in")
    finally:
        context.close()


def test_the_softphone_rings_with_the_case_s_parameters_and_answers(browser, softphone_server):
    context, page = new_page(browser, softphone_server)
    context.route("**/console/static/vendor/twilio.min.js",
                  lambda route: route.fulfill(status=200, content_type="text/javascript", body=STAND_IN_DEVICE))
    try:
        sign_in(page, softphone_server)
        expect(page.locator("#incoming")).to_be_visible()
        shown = dict(zip(page.locator("#incoming-details dt").all_inner_texts(),
                         page.locator("#incoming-details dd").all_inner_texts(), strict=True))
        assert shown == {"Case": "10000002", "Plan": "premium", "Severity": "1", "Language": "en",
                         "Queue": "us-en", "Deadline": "2026-11-30T12:30:00-05:00"}
        expect(page.locator("#softphone-status")).to_have_text("Ringing: case 10000002.")

        page.click("#accept")
        expect(page.locator("#softphone-status")).to_have_text("On the call about case 10000002.")
        assert page.evaluate("window.__accepted") is True
        claims = jwt.decode(page.evaluate("window.__token"), API_CREDENTIALS["TWILIO_API_SECRET"], algorithms=["HS256"])
        assert claims["grants"] == {"identity": "us-en", "voice": {"incoming": {"allow": True}}}
    finally:
        context.close()


def test_the_vendored_voice_sdk_loads_in_the_browser(browser, softphone_server):
    context, page = new_page(browser, softphone_server)
    try:
        page.goto(softphone_server.url(0) + "/console/sign-in")  # same origin, no session needed for static files
        page.add_script_tag(url=softphone_server.url(0) + "/console/static/vendor/twilio.min.js")
        assert page.evaluate("typeof window.Twilio.Device") == "function"
        assert page.evaluate("typeof window.Twilio.Call") == "function"
    finally:
        context.close()
