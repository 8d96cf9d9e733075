"""Property-based (issue 10, item 6): whatever a browser, or anyone else, posts to the staff console (any form
fields and values, any JSON, with a real, expired, tampered or no session, with the right, a wrong or no CSRF
token, from any address), the answer is never a 5xx, its body is well-formed JSON or HTML (every tag one
the console's pages use, nothing sent reflected as markup) with the security headers, and nothing changes
without a signed-in session and its CSRF token (a sign-in without a good token changes nothing at all,
one with it only the failure counters).

The app is built STRICT and TESTING (see test_console.make_app): an unexpected exception reaches the test
instead of becoming a 500 page. The softphone's credentials are set, so the token endpoint answers 200
rather than its deliberate 503.
"""
from __future__ import annotations

import json
import time
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from ivr.adapters import keys
from ivr.adapters.directory.staff_accounts import FAILURE_LIMIT, FAILURE_WINDOW, StaffAccounts
from ivr.console import SECURITY_HEADERS, SESSION_LIFETIME
from tests.integration import test_console
from tests.integration.test_console import API_CREDENTIALS, ENGINEER, PASSWORD, csrf_of, make_app, sign_in, token_of
from tests.integration.webhook_support import close_app, snapshot

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

OTHER = "desk-phone"
demo = test_console.demo
"""test_console's fixture: the demo directory, and console passwords for these two engineers."""
PASSWORDS = {ENGINEER: PASSWORD, OTHER: PASSWORD}
"""Who has a console password in test_console's demo fixture."""
COOKIE = "ivr_console"
PRESENCE = ("available", "away", "offline")

INJECTIONS = ['"><img src=x onerror=alert(1)>', "'><script>alert(1)</script>", "<script>alert(1)</script>",
              '" autofocus onfocus="alert(1)', "</title><script src=//evil.example></script>", "<!--", "&lt;b&gt;",
              "</p></section></main></body></html><p>", '<a href="javascript:alert(1)">x</a>', "{{ 7 * 7 }}"]
"""Text that would come back as markup if a page wrote what it was sent without escaping it."""
injections = st.one_of(st.sampled_from(INJECTIONS),
                       st.tuples(st.text(max_size=5), st.sampled_from(INJECTIONS), st.text(max_size=5)).map("".join))
odd_text = st.one_of(
    st.sampled_from(["", " ", "available", "away", "offline", "busy", "Available", "available ", ENGINEER, OTHER,
                     "&amp;", "\x00", "\r\n", "😀", "a" * 65, "x" * 2000]),
    injections, st.text(max_size=30))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), odd_text),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(odd_text, inner, max_size=3)),
                           max_leaves=8)
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                      max_size=60)
addresses = st.one_of(st.sampled_from(["127.0.0.1", "198.51.100.7", "2001:db8::1", "::ffff:198.51.100.7", "::1"]),
                      st.sampled_from(["", "unknown", "999.1.1.1", "fe80::1%eth0", "not an address"]), header_text)
extra_headers = st.dictionaries(st.sampled_from(["X-Forwarded-For", "X-Forwarded-Host", "Origin", "Referer", "Accept",
                                                 "X-Requested-With", "X-Http-Method-Override"]),
                                header_text, max_size=2)
"""(Not Host: the test client would then keep the cookie to itself, as a browser would for another site.)"""


def mostly(good, bad):
    """Draw from `good` four times in five: most requests should get past the first refusal."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 0 else good)


# --- what every answer must be ----------------------------------------------------------------------------

TAGS = {"html", "head", "meta", "title", "link", "script", "noscript", "body", "header", "main", "section", "span",
        "form", "input", "button", "label", "p", "h1", "h2", "h3", "strong", "code", "time", "div", "dl", "table",
        "caption", "thead", "tbody", "tr", "th", "td", "ol", "li", "a"}
"""Every element the console's templates and werkzeug's own short pages (redirects, 404s) use."""
VOID = {"meta", "link", "input"}


class StrictHtml(HTMLParser):
    """Parse a page, refusing an element, attribute or URL the console never writes: a sent value that came
    back as markup instead of text would show here. A whole page (one with `</html>`) must also nest."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.problems.append(f"<{tag} {name}>")
            if name in ("href", "src", "action") and not (value or "").startswith("/"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and not dict(attrs).get("src", "").startswith("/console/static/"):
            self.problems.append("inline <script>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
            return
        self.open.pop()


def check_html(text: str) -> None:
    parser = StrictHtml()
    parser.feed(text)
    parser.close()
    whole = "</html>" in text
    assert not parser.problems, parser.problems
    assert not whole or not parser.open, f"left open: {parser.open}"


def assert_well_formed(reply, method: str = "POST") -> object:
    """Never a 5xx; the security headers; a JSON body or an HTML page, parsed. Returns the JSON, if any."""
    assert reply.status_code < 500, (reply.status_code, reply.get_data()[:500])
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, name
    text = reply.get_data(as_text=True)
    if method == "HEAD":
        assert text == ""
        return None
    if reply.mimetype == "application/json":
        parsed = json.loads(text)
        if reply.status_code >= 400:
            assert isinstance(parsed, dict) and isinstance(parsed["error"], str)
        return parsed
    assert reply.mimetype == "text/html", reply.mimetype
    check_html(text)
    return None


def test_the_html_check_catches_markup_that_should_have_been_text():
    for page in ("<html><body><p>hi <script>alert(1)</script></p></body></html>",
                 '<html><body><input value=""><img src=x onerror=alert(1)>"></body></html>',
                 '<html><body><a href="javascript:alert(1)">x</a></body></html>',
                 "<html><body><p>unclosed</body></html>"):
        with pytest.raises(AssertionError):
            check_html(page)
    check_html('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>x &lt;script&gt;</title></head>'
               '<body><p>fine</p></body></html>')


# --- the app, a real session, and sessions that are not -----------------------------------------------------


@pytest.fixture
def app(redis_url, demo):
    app = make_app(redis_url, **API_CREDENTIALS)
    yield app
    close_app(app)


@pytest.fixture
def sessions(app) -> dict[str, tuple[str | None, str | None, bool]]:
    """Cookies to send, by name: (the cookie value, the CSRF token it holds, whether it is signed in).

    All but the first two are signed with the app's key, as only the app could (an expired session, one from
    before a new password...), or not signed by it at all.
    """
    browser = app.test_client()
    assert sign_in(browser).status_code == 302
    token = token_of(browser)
    cookie = browser.get_cookie(COOKIE, path="/console").value
    serializer = app.session_interface.get_signing_serializer(app)
    real = serializer.loads(cookie)
    assert real["engineer"] == ENGINEER and real["csrf"] == token

    anonymous = app.test_client()
    anonymous_token = csrf_of(anonymous.get("/console/sign-in"))
    anonymous_cookie = anonymous.get_cookie(COOKIE, path="/console").value

    def signed(**changes) -> str:
        return serializer.dumps({**real, **changes})

    return {
        "signed in": (cookie, token, True),
        "anonymous": (anonymous_cookie, anonymous_token, False),
        "none": (None, None, False),
        "expired": (signed(since=int(time.time() - SESSION_LIFETIME.total_seconds() - 5)), token, False),
        "old password": (signed(pw="0" * 16), token, False),
        "not an engineer": (signed(engineer="nobody"), token, False),
        "no sign-in time": (serializer.dumps({k: v for k, v in real.items() if k != "since"}), token, False),
        # Cookies the app cannot read are no session at all, holding no token.
        "tampered": (cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"), None, False),
        "another app's": (cookie.split(".")[0] + ".bm90IHNpZ25lZA.c2lnbmF0dXJl", None, False),
    }


def browser(app, sessions, name: str, address: str | None = None):
    client = app.test_client()
    cookie = sessions[name][0]
    if cookie is not None:
        client.set_cookie(COOKIE, cookie, path="/console")
    if address is not None:
        client.environ_base["REMOTE_ADDR"] = address
    return client


session_names = mostly(st.just("signed in"), st.sampled_from(["anonymous", "none", "expired", "old password",
                                                              "not an engineer", "no sign-in time", "tampered",
                                                              "another app's"]))
csrf_choices = mostly(st.just("right"), st.one_of(st.sampled_from(["missing", "empty", "another session's"]),
                                                  header_text))
"""The token sent: the session's own, none, or another (another signed-in session's, or any text)."""


def token_for(choice: str, right: str | None, other: str) -> str | None:
    return {"right": right, "missing": None, "empty": "", "another session's": other}.get(choice, choice)


def without_counters(state: dict) -> dict:
    counters = keys.signin_failures("", "").encode().rstrip(b":")
    return {key: value for key, value in state.items() if not key.startswith(counters)}


# --- the signed-in forms and API --------------------------------------------------------------------------

TARGETS = [("/console/presence", "form"), ("/console/take-next", "form"), ("/console/sign-out", "form"),
           ("/console/api/presence", "json"), ("/console/api/take-next", "json"), ("/console/api/token", "json")]


def test_the_fuzzed_targets_are_every_unsafe_console_request_but_the_sign_in(app):
    unsafe = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/console")
              for method in rule.methods - {"GET", "HEAD", "OPTIONS"}}

    assert unsafe - {("POST", "/console/sign-in")} == {("POST", path) for path, _kind in TARGETS}


@given(target=st.sampled_from(TARGETS), session=session_names, csrf=csrf_choices,
       carried=st.sampled_from(["form", "header", "both"]),
       state=mostly(st.sampled_from(PRESENCE), odd_text),
       fields=st.dictionaries(odd_text, odd_text, max_size=3), body=st.one_of(st.none(), json_values),
       address=addresses, headers=extra_headers)
@example(target=TARGETS[0], session="signed in", csrf="right", carried="form", state=INJECTIONS[1], fields={},
         body=None, address="127.0.0.1", headers={})
@example(target=TARGETS[3], session="signed in", csrf="right", carried="header", state=INJECTIONS[0], fields={},
         body=None, address="127.0.0.1", headers={})
@example(target=TARGETS[0], session="expired", csrf="right", carried="form", state="offline", fields={}, body=None,
         address="127.0.0.1", headers={})
@FUZZ
def test_no_post_to_the_console_changes_anything_without_a_session_and_its_token(
        app, redis_url, sessions, target, session, csrf, carried, state, fields, body, address, headers):
    path, kind = target
    _cookie, right, signed_in = sessions[session]
    token = token_for(csrf, right, "another-" + (sessions["anonymous"][1] or ""))
    client = browser(app, sessions, session, address)
    headers = dict(headers)
    if token is not None and carried in ("header", "both"):
        headers["X-CSRF-Token"] = token
    form = {**fields, "state": state}
    if token is not None and carried in ("form", "both"):
        form["csrf_token"] = token
    if kind == "json":
        payload = {"state": state} if body is None else body
        kwargs = {"json": payload} if carried == "header" else {"data": form}
    else:
        kwargs = {"data": form}
    authorized = signed_in and token is not None and token == right
    services = app.extensions["ivr"]
    before = snapshot(redis_url)

    reply = client.post(path, headers=headers, **kwargs)

    parsed = assert_well_formed(reply)
    event(f"{path} {reply.status_code}")
    if not authorized:
        assert snapshot(redis_url) == before, (session, csrf, reply.status_code)
        if not signed_in:
            expected = (401,) if path.startswith("/console/api/") else (302,)
        else:
            expected = (400,)
        assert reply.status_code in expected, (session, csrf, reply.status_code)
        if reply.status_code == 302:
            assert reply.headers["Location"] == "/console/sign-in"
        return
    if reply.status_code >= 400:
        assert reply.status_code == 400 and snapshot(redis_url) == before
        return
    sent_state = payload.get("state") if kind == "json" and carried == "header" and isinstance(payload, dict) \
        else state
    if path.endswith("/presence"):
        assert sent_state in PRESENCE and services.store.presence(ENGINEER) == sent_state
    elif path.endswith("/take-next"):
        assert services.store.presence(ENGINEER) == "available"
    elif path.endswith("/token"):
        assert parsed["identity"] == "emea-de" and parsed["token"].count(".") == 2
    else:  # sign-out: this browser's session is gone (the cookie is a signed copy: others keep theirs)
        assert reply.headers["Location"] == "/console/sign-in"
        assert client.get("/console/api/desk").status_code == 401


# --- the sign-in form -----------------------------------------------------------------------------------

who = st.one_of(st.sampled_from([ENGINEER, OTHER, "nobody", " emea-de ", "EMEA-DE", "emea-en"]), injections, odd_text)
passwords = st.one_of(st.just(PASSWORD), st.sampled_from(["", "wrong password", PASSWORD + " ", PASSWORD.upper()]),
                      odd_text)


@given(engineer=who, password=passwords,
       session=mostly(st.sampled_from(["anonymous", "anonymous", "signed in", "expired"]),
                      st.sampled_from(["none", "tampered"])),
       csrf=csrf_choices, fields=st.dictionaries(odd_text, odd_text, max_size=3), address=addresses,
       locked=st.sampled_from([None, None, None, "engineer", "address"]), headers=extra_headers)
@example(engineer=INJECTIONS[0], password="x", session="anonymous", csrf="right", fields={}, address="127.0.0.1",
         locked=None, headers={})
@example(engineer=ENGINEER, password=PASSWORD, session="anonymous", csrf="right", fields={}, address="127.0.0.1",
         locked="address", headers={})
@example(engineer=f" {OTHER} ", password=PASSWORD, session="expired", csrf="right", fields={}, address="2001:db8::1",
         locked=None, headers={})
@settings(FUZZ, max_examples=100)
def test_a_sign_in_succeeds_only_with_its_token_and_the_right_password_and_changes_only_the_counters(
        app, redis_url, sessions, engineer, password, session, csrf, fields, address, locked, headers):
    services = app.extensions["ivr"]
    for name in services.redis.scan_iter(keys.signin_failures("*", "*")):
        services.redis.delete(name)
    for _ in range(FAILURE_LIMIT if locked else 0):  # as many failed sign-ins as the limit allows
        StaffAccounts(services.redis).attempt(ENGINEER if locked == "engineer" else None,
                                              address if locked == "address" else None)
    _cookie, right, _signed_in = sessions[session]
    token = token_for(csrf, right, "another-" + (sessions["signed in"][1] or ""))
    form = {**fields, "engineer": engineer, "password": password}
    if token is not None:
        form["csrf_token"] = token
    client = browser(app, sessions, session, address)
    good_token = token is not None and token != "" and token == right
    before = snapshot(redis_url)

    reply = client.post("/console/sign-in", data=form, headers=headers)

    assert_well_formed(reply)
    event(f"sign-in {reply.status_code}")
    after = snapshot(redis_url)
    if not good_token:
        assert reply.status_code == 400 and after == before
        return
    assert without_counters(after) == without_counters(before)
    assert reply.status_code in (302, 401, 429), reply.status_code
    ident = engineer.strip()
    if locked == "address" or (locked == "engineer" and ident == ENGINEER):
        assert reply.status_code == 429  # the right password too
    if reply.status_code == 429:
        assert 0 < int(reply.headers["Retry-After"]) <= FAILURE_WINDOW
    if reply.status_code == 302:
        assert PASSWORDS.get(ident) == password
        assert reply.headers["Location"] == "/console/"
        desk = client.get("/console/api/desk")
        assert desk.status_code == 200 and desk.json["engineer"] == ident
    elif session != "signed in":
        assert client.get("/console/api/desk").status_code == 401
