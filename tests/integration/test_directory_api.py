"""The case system's directory API (`PUT`/`DELETE /api/directory/<kind>/<id>`, issue 8 item 9, inbound).

Through the app factory and Flask's test client against a real Redis holding the integration
tier's base directory. Refusals are compared with what `ivr load` prints for the same record;
the routing that follows a change is checked with signed webhooks, as Twilio sends them.
"""
from __future__ import annotations

import copy
import json
import threading

import pytest

import ivr
import ivr.api
from ivr.adapters.directory.document import load_document
from ivr.adapters.directory.store import Store, StillReferenced, UnknownEngineer, connect
from ivr.api import MIN_TOKEN
from routing import Case
from routing.dispatch import queues_served

from .conftest import BASE_DOCUMENT, EMEA
from .webhook_support import (DOWN_REDIS, TOKEN, Twilio, call_params, close_app, services_at, settings_with,
                              snapshot, spoken, twiml)

API_TOKEN = "case-system-" + "0123456789abcdef" * 2
"""A usable IVR_API_TOKEN (44 characters)."""
WEDNESDAY_NOON = "2026-12-02T12:00:00+01:00"
CASE_URL = "/voice/case?line=%2B442079460100&lang=de&attempt={attempt}"
"""The case step of a German-speaking caller on the EMEA line, as our own TwiML names it."""

ACCOUNT = {"id": "wayne", "name": "Wayne Enterprises", "plan": "premium", "partner": False,
           "maintenance_expires": "2030-12-31", "timezone": "Europe/Paris"}
ENGINEER = {"id": "dora", "name": "Dora Klein", "languages": ["de", "en"], "regions": ["emea"],
            "client": "dora", "phone": None, "active": True}
CASE = copy.deepcopy(BASE_DOCUMENT["cases"][0])  # 07123456: acme (production), open, anna's


def build(redis_url: str, token: str | None = API_TOKEN, settings=None):
    return ivr.create_app({"TWILIO_AUTH_TOKEN": TOKEN, "REDIS_URL": redis_url, "IVR_API_TOKEN": token,
                           "SETTINGS": settings or settings_with(), "ALLOW_AT": True, "STRICT": True,
                           "TESTING": True})


def close(app) -> None:
    app.extensions["ivr_api"].close()
    close_app(app)


@pytest.fixture
def app(redis_url):
    with services_at(redis_url) as services:
        result = load_document(services.store, BASE_DOCUMENT, services.settings.regions)
        assert result.ok, [str(e) for e in result.errors]
    app = build(redis_url)
    yield app
    close(app)


class Api:
    """The case system's side: JSON requests with the bearer token."""

    def __init__(self, app, token: str | None = API_TOKEN):
        self.client = app.test_client()
        self.token = token

    def headers(self, extra: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def put(self, kind: str, ident: str, record, *, raw: bytes | str | None = None,
            content_type: str = "application/json", headers: dict | None = None):
        body = raw if raw is not None else json.dumps(record)
        return self.client.put(f"/api/directory/{kind}/{ident}", data=body, content_type=content_type,
                               headers=self.headers(headers))

    def delete(self, kind: str, ident: str, headers: dict | None = None):
        return self.client.delete(f"/api/directory/{kind}/{ident}", headers=self.headers(headers))


@pytest.fixture
def api(app) -> Api:
    return Api(app)


@pytest.fixture
def store(redis_url):
    client = connect(redis_url, timeout=10)
    yield Store(client)
    client.close()


def case(**changes) -> dict:
    return {**CASE, **changes}


def call_about(app, number: str, sid: str = "CA" + "1" * 32, attempt: int = 1):
    """A German-speaking caller on the EMEA line keys a case number: the signed case step's reply."""
    return Twilio(app).post(CASE_URL.format(attempt=attempt),
                            call_params(sid, EMEA, Digits=number, IvrAt=WEDNESDAY_NOON))


# ---------------------------------------------------------------------------------------------- the token


@pytest.mark.parametrize(("token", "problem"), [
    (None, "IVR_API_TOKEN is not set"),
    ("", "IVR_API_TOKEN is not set"),
    ("x" * (MIN_TOKEN - 1), f"IVR_API_TOKEN is too short ({MIN_TOKEN - 1} characters; at least {MIN_TOKEN})"),
    ("with a space " + "x" * MIN_TOKEN, "IVR_API_TOKEN must be printable ASCII without spaces"),
])
def test_without_a_usable_token_the_api_is_off_and_the_webhooks_still_answer(redis_url, token, problem):
    app = build(redis_url, token)
    try:
        for reply in (Api(app, token or "anything").put("cases", "07123456", CASE),
                      Api(app, token or "anything").delete("cases", "07123456"),
                      Api(app, None).put("accounts", "wayne", ACCOUNT)):
            assert reply.status_code == 503
            assert reply.get_json()["error"].startswith(f"The directory API is off: {problem}")
        call = Twilio(app).post("/voice/incoming", call_params("CA" + "2" * 32, EMEA, CallStatus="ringing"))
        assert twiml(call).find("Gather") is not None
    finally:
        close(app)


@pytest.mark.parametrize(("headers", "challenge"), [
    ({}, 'Bearer realm="ivr-directory"'),
    ({"Authorization": "Bearer"}, 'Bearer realm="ivr-directory"'),
    ({"Authorization": f"Basic {API_TOKEN}"}, 'Bearer realm="ivr-directory"'),
    ({"Authorization": f"Bearer {API_TOKEN[:-1]}"}, 'Bearer realm="ivr-directory", error="invalid_token"'),
    ({"Authorization": f"Bearer {API_TOKEN}x"}, 'Bearer realm="ivr-directory", error="invalid_token"'),
    ({"Authorization": "Bearer " + "é" * 44}, 'Bearer realm="ivr-directory", error="invalid_token"'),
], ids=["none", "empty", "basic", "short", "long", "latin-1"])
def test_a_missing_or_wrong_token_is_refused_with_401_and_changes_nothing(app, redis_url, headers, challenge):
    before = snapshot(redis_url)
    client = Api(app, None)

    replies = [client.put("cases", "07123456", case(status="closed"), headers=headers),
               client.delete("cases", "07123456", headers=headers),
               client.put("nonsense", "x", {}, headers=headers)]  # no hint of what exists before the token

    for reply in replies:
        assert reply.status_code == 401
        assert reply.headers["WWW-Authenticate"] == challenge
        assert "error" in reply.get_json()
    assert snapshot(redis_url) == before


def test_the_scheme_is_case_insensitive_and_the_token_compared_in_constant_time(app, monkeypatch):
    compared = []
    real = ivr.api.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(ivr.api.hmac, "compare_digest", spy)

    reply = Api(app, None).put("cases", "07123456", CASE, headers={"Authorization": f"bearer  {API_TOKEN} "})

    assert reply.status_code == 200, reply.get_json()
    assert compared == [(API_TOKEN.encode(), API_TOKEN.encode())]


# ---------------------------------------------------------------------------------------------- requests


def test_a_body_that_is_not_declared_json_is_refused_with_415(api, redis_url):
    before = snapshot(redis_url)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx"):
        reply = api.put("cases", "07123456", case(status="closed"), content_type=content_type)
        assert reply.status_code == 415, content_type
        assert reply.get_json() == {"error": "Send the record as JSON, with Content-Type: application/json."}
    assert snapshot(redis_url) == before


def test_json_with_a_charset_is_json(api):
    assert api.put("cases", "07123456", CASE, content_type="application/json; charset=utf-8").status_code == 200


@pytest.mark.parametrize(("raw", "message"), [
    ('{"number": "07123456",', "not valid JSON: Expecting property name enclosed in double quotes at line 1, "
                               "column 23"),
    ("", "not valid JSON: Expecting value at line 1, column 1"),
    ('{"number": "07123456", "severity": NaN}', "NaN is not a JSON number (only finite numbers are accepted)"),
    ('{"severity": ' + "9" * 101 + "}", "a number with too many digits (101; at most 100)"),
    ("[" * 100_000 + "]" * 100_000, None),  # refused by size (413) or depth, never a traceback
    (b'{"name": "\xff"}', "not UTF-8 text"),
])
def test_a_body_that_is_not_usable_json_is_refused_as_ivr_load_refuses_it(api, redis_url, raw, message):
    before = snapshot(redis_url)

    reply = api.put("cases", "07123456", None, raw=raw)

    if message is None:
        assert reply.status_code in (400, 413)
    else:
        assert reply.status_code == 400
        assert reply.get_json()["error"].startswith(message)
    assert snapshot(redis_url) == before


def test_a_body_over_the_limit_is_refused_before_it_is_read(api, redis_url):
    before = snapshot(redis_url)
    big = case(name="x" * 70_000)

    reply = api.put("cases", "07123456", big)

    assert reply.status_code == 413
    assert snapshot(redis_url) == before


def test_unknown_kinds_paths_and_methods_answer_json(api):
    unknown = api.put("customers", "acme", ACCOUNT)
    assert unknown.status_code == 404
    assert unknown.get_json() == {"error": "No directory section 'customers': use accounts, engineers, cases."}

    nowhere = api.client.get("/api/nothing", headers=api.headers())
    assert nowhere.status_code == 404 and "error" in nowhere.get_json()

    method = api.client.get("/api/directory/cases/07123456", headers=api.headers())
    assert method.status_code == 405
    assert set(method.headers["Allow"].split(", ")) >= {"PUT", "DELETE"}
    assert "error" in method.get_json()


def test_pages_outside_the_api_keep_their_own_errors(app):
    client = app.test_client()
    assert client.get("/no-such-page").mimetype == "text/html"
    assert client.get("/healthz").get_json()["status"] == "ok"


# ---------------------------------------------------------------------------------------------- checked as `ivr load` checks


BAD_RECORDS = [
    # (section, id in the URL, record)
    ("accounts", "acme", {**BASE_DOCUMENT["accounts"][0], "plan": "gold", "time_zone": "Europe/Berlin"}),
    ("accounts", "acme", {**BASE_DOCUMENT["accounts"][0], "maintenance_expires": "30.06.2027",
                          "timezone": "Mars/Olympus", "partner": "no"}),
    ("accounts", "acme", {**BASE_DOCUMENT["accounts"][0], "name": "Acme\nGmbH"}),
    ("accounts", "acme", {**BASE_DOCUMENT["accounts"][0], "name": "Acme \ud800"}),
    ("engineers", "dora", {**ENGINEER, "client": None, "phone": None, "languages": ["de", "xx"]}),
    ("engineers", "dora", {**ENGINEER, "regions": ["mars"], "phone": "0301234567", "active": "yes"}),
    ("engineers", "dora", {**ENGINEER, "client": "dora klein"}),
    ("cases", "07123456", case(account="nobody", engineer="ghost")),
    ("cases", "07123456", case(severity=2.0, status="done", type="question")),
    ("cases", "0712345", case(number="0712345")),
    ("cases", "07123456", case(Status="open")),
    ("cases", "07123456", {"number": "07123456"}),
    ("cases", "07123456", ["07123456", "acme"]),
    ("cases", "07123456", None),
]


@pytest.mark.parametrize(("section", "ident", "record"), BAD_RECORDS)
def test_a_bad_record_is_refused_with_the_messages_ivr_load_prints_for_it(api, ivr, redis_url, section, ident,
                                                                          record):
    before = snapshot(redis_url)
    path = ivr.write({section: [record]})

    reply = api.put(section, ident, record)
    loaded = ivr("load", str(path))

    assert loaded.exit_code == 1
    printed = [line.removeprefix(f"{path}: ").replace(f"{section}[0]", section, 1)
               for line in loaded.stderr.splitlines() if line.startswith(f"{path}: ")]
    assert printed
    assert reply.status_code == 400
    body = reply.get_json()
    assert [e["message"] for e in body["errors"]] == printed
    assert body["error"] == f"refused: {len(printed)} error(s); nothing was stored"
    for error in body["errors"]:
        assert error["message"] == (f"{error['section']}" + (f" ({error['id']})" if error["id"] else "")
                                    + (f": {error['field']}" if error["field"] else "") + f": {error['reason']}")
    assert snapshot(redis_url) == before


def test_a_record_whose_id_is_not_the_one_in_the_url_is_refused_naming_the_field(api, redis_url, store):
    before = snapshot(redis_url)

    as_case = api.put("cases", "07123456", case(number="07123457", status="closed"))
    as_account = api.put("accounts", "acme", {**ACCOUNT, "id": "wayne"})

    assert as_case.status_code == as_account.status_code == 400
    assert [e["message"] for e in as_case.get_json()["errors"]] == [
        "cases (07123457): number: '07123457' is not the number in the URL, '07123456'"]
    assert as_case.get_json()["errors"][0]["field"] == "number"
    assert [e["message"] for e in as_account.get_json()["errors"]] == [
        "accounts (wayne): id: 'wayne' is not the id in the URL, 'acme'"]
    assert snapshot(redis_url) == before


def test_a_record_without_its_id_is_refused_as_load_refuses_it(api):
    record = {k: v for k, v in ENGINEER.items() if k != "id"}

    reply = api.put("engineers", "dora", record)

    assert reply.status_code == 400
    assert [e["message"] for e in reply.get_json()["errors"]] == ["engineers: id: is required"]


# ---------------------------------------------------------------------------------------------- created, replaced, deleted


def test_a_new_record_is_created_and_the_same_put_again_replaces_it(api, store):
    record = {"id": "wayne", "plan": "premium"}  # optional fields take their defaults, as in a load

    created = api.put("accounts", "wayne", record)
    again = api.put("accounts", "wayne", record)

    assert created.status_code == 201
    assert created.headers["Location"] == "/api/directory/accounts/wayne"
    stored = {"id": "wayne", "name": "wayne", "plan": "premium", "partner": False, "maintenance_expires": None,
              "timezone": None, "country": None}
    assert created.get_json() == stored
    assert again.status_code == 200 and "Location" not in again.headers
    assert again.get_json() == stored
    assert store.counts() == {"accounts": 11, "engineers": 3, "cases": 18}


def test_a_replaced_record_is_what_the_directory_holds_afterwards(api, store):
    reply = api.put("accounts", "acme", {**BASE_DOCUMENT["accounts"][0], "plan": "premium",
                                         "maintenance_expires": "2031-01-31"})

    assert reply.status_code == 200
    assert reply.get_json()["plan"] == "premium"
    account = store.case_file("07123456").account
    assert (account.plan, account.maintenance_expires.isoformat()) == ("premium", "2031-01-31")
    assert store.counts() == {"accounts": 10, "engineers": 3, "cases": 18}


def test_a_case_may_refer_only_to_a_stored_account_and_engineer(api, store):
    new = case(number="09000001", account="wayne", engineer="dora")

    refused = api.put("cases", "09000001", new)
    assert refused.status_code == 400
    assert [e["message"] for e in refused.get_json()["errors"]] == [
        "cases (09000001): account: 'wayne' is not a known account",
        "cases (09000001): engineer: 'dora' is not a known engineer"]

    assert api.put("accounts", "wayne", ACCOUNT).status_code == 201
    assert api.put("engineers", "dora", ENGINEER).status_code == 201
    created = api.put("cases", "09000001", new)

    assert created.status_code == 201, created.get_json()
    assert store.case_file("09000001").case == Case("09000001", "wayne", "technical", 2, "open", "dora")


def test_a_deleted_case_is_gone_and_a_second_delete_finds_nothing(api, store, app):
    gone = api.delete("cases", "07123456")
    again = api.delete("cases", "07123456")

    assert gone.status_code == 204 and gone.get_data() == b""
    assert again.status_code == 404
    assert again.get_json() == {"error": "No case '07123456' in the directory."}
    assert store.case_file("07123456") is None
    assert store.counts()["cases"] == 17
    last_try = call_about(app, "07123456", attempt=3)  # the caller's third try: no more asking again
    assert last_try.headers["X-Ivr-Outcome"] == "refused:case_not_found"


@pytest.mark.parametrize(("kind", "ident"), [("accounts", "nobody"), ("engineers", "nobody"), ("cases", "01234567"),
                                             ("cases", "not-a-case"), ("accounts", "has:colon")])
def test_deleting_what_is_not_there_is_404(api, redis_url, kind, ident):
    before = snapshot(redis_url)
    reply = api.delete(kind, ident)
    assert reply.status_code == 404
    assert snapshot(redis_url) == before


def test_an_account_or_engineer_cases_refer_to_is_not_deleted_and_the_cases_are_named(api, redis_url):
    before = snapshot(redis_url)

    account = api.delete("accounts", "globex")
    engineer = api.delete("engineers", "anna")

    assert account.status_code == engineer.status_code == 409
    assert account.get_json() == {
        "error": "account 'globex' is still the account of 1 case(s): 07123458; delete those cases or give "
                 "them another first", "cases": ["07123458"], "count": 1}
    assert engineer.get_json()["cases"] == ["07123456", "07123458", "07123465"]
    assert engineer.get_json()["error"].startswith("engineer 'anna' is still the engineer of 3 case(s): "
                                                   "07123456, 07123458, 07123465;")
    assert snapshot(redis_url) == before


def test_once_its_cases_are_gone_or_moved_an_account_can_be_deleted(api, store):
    assert api.put("cases", "07123458", case(number="07123458", account="acme")).status_code == 200

    reply = api.delete("accounts", "globex")

    assert reply.status_code == 204
    assert store.counts()["accounts"] == 9
    assert api.put("cases", "07123458", case(number="07123458", account="globex")).status_code == 400


def test_a_long_list_of_referring_cases_is_named_in_part(api, store):
    assert api.put("accounts", "wayne", ACCOUNT).status_code == 201
    for i in range(12):
        assert api.put("cases", f"0900{i:04d}", case(number=f"0900{i:04d}", account="wayne")).status_code == 201

    reply = api.delete("accounts", "wayne")

    assert reply.status_code == 409
    body = reply.get_json()
    assert body["count"] == 12 and len(body["cases"]) == 12
    assert "09000009 and 2 more;" in body["error"]


# ---------------------------------------------------------------------------------------------- engineers and their queues


def test_an_engineer_put_moves_them_between_the_shift_sets(api, store):
    store.set_presence("anna", "available")
    assert {q for q in ("emea-de", "emea-en") if "anna" in store.on_shift(q)} == {"emea-de", "emea-en"}

    moved = api.put("engineers", "anna", {**BASE_DOCUMENT["engineers"][0], "languages": ["fr"],
                                          "regions": ["emea", "us"]})

    assert moved.status_code == 200
    serving = {q for q in ("emea-de", "emea-en", "emea-fr", "us-fr", "us-en") if "anna" in store.on_shift(q)}
    assert serving == {"emea-fr", "us-fr"}
    assert store.presence("anna") == "available"

    inactive = api.put("engineers", "anna", {**BASE_DOCUMENT["engineers"][0], "active": False})
    assert inactive.status_code == 200
    assert not any("anna" in store.on_shift(q) for q in ("emea-de", "emea-en", "emea-fr"))


def test_a_new_engineer_is_off_shift_until_their_presence_says_otherwise(api, store):
    assert api.put("engineers", "dora", ENGINEER).status_code == 201
    assert store.presence("dora") == "offline"
    assert "dora" not in store.on_shift("emea-de")

    store.set_presence("dora", "available")

    assert "dora" in store.on_shift("emea-de")


def test_a_deleted_engineer_leaves_the_shift_sets_their_presence_and_their_password(app, api, store, redis_url):
    with services_at(redis_url) as services:
        assert api.put("engineers", "dora", ENGINEER).status_code == 201
        services.store.set_presence("dora", "available")
        services.accounts.set_password("dora", "a long enough password")
        assert services.accounts.fingerprint("dora")

        reply = api.delete("engineers", "dora")

        assert reply.status_code == 204
        assert store.engineer("dora") is None
        assert not any("dora" in store.on_shift(q) for q in ("emea-de", "emea-en"))
        assert store.presence("dora") == "offline"
        assert not services.accounts.fingerprint("dora")
        with pytest.raises(UnknownEngineer):
            store.set_presence("dora", "available")
        log = [e for _id, e in services.redis.xrange("ivr:presence-log") if e["engineer"] == "dora"]
        assert [e["state"] for e in log] == ["available", "offline"]


# ---------------------------------------------------------------------------------------------- the next call (Done when)


def test_a_case_closed_through_the_api_is_refused_on_the_next_call(app, api, store):
    store.set_presence("anna", "available")
    assert call_about(app, "07123456", "CA" + "3" * 32).headers["X-Ivr-Outcome"] == "engineer:anna"

    closed = api.put("cases", "07123456", case(status="closed"))
    reply = call_about(app, "07123456", "CA" + "4" * 32, attempt=3)  # the last try: no other number asked for

    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert reply.headers["X-Ivr-Outcome"] == "refused:case_closed"
    root = twiml(reply)
    assert [v.tag for v in root] == ["Say", "Gather", "Say", "Hangup"]  # the portal by SMS and a repeat, then goodbye
    assert "0 7 1 2 3 4 5 6" in spoken(root)


def test_a_case_reassigned_through_the_api_rings_its_new_engineer_on_the_next_call(app, api, store):
    assert api.put("engineers", "dora", ENGINEER).status_code == 201
    store.set_presence("anna", "available")
    store.set_presence("dora", "available")
    first = twiml(call_about(app, "07123456", "CA" + "5" * 32))
    assert first.find("Dial/Client/Identity").text == "anna"

    moved = api.put("cases", "07123456", case(engineer="dora"))
    reply = call_about(app, "07123456", "CA" + "6" * 32)

    assert moved.status_code == 200
    assert reply.headers["X-Ivr-Outcome"] == "engineer:dora"
    assert twiml(reply).find("Dial/Client/Identity").text == "dora"
    assert "Dora Klein" in spoken(twiml(reply))


# ---------------------------------------------------------------------------------------------- races


def test_concurrent_engineer_puts_and_presence_changes_keep_the_shift_sets_right(app, redis_url, store):
    engineers = ["anna", "erik", "fred"]
    for ident in engineers[1:]:
        assert Api(app).put("engineers", ident, {**ENGINEER, "id": ident, "client": ident}).status_code == 201
    stop = threading.Event()
    failures: list = []
    shapes = [(["de", "en"], ["emea"]), (["fr", "ru"], ["emea"]), (["en"], ["emea", "us"])]

    def puts(ident: str):
        client = Api(app)  # a test client per thread
        try:
            for i in range(60):
                languages, regions = shapes[i % len(shapes)]
                reply = client.put("engineers", ident, {**ENGINEER, "id": ident, "client": ident,
                                                        "languages": languages, "regions": regions,
                                                        "active": i % 7 != 3})
                if reply.status_code != 200:
                    failures.append(reply.get_json())
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    def presence():
        other = Store(connect(redis_url, timeout=10))
        i = 0
        try:
            while not stop.is_set():
                other.set_presence(engineers[i % 3], ("available", "offline", "busy", "away")[i % 4])
                i += 1
        finally:
            other.redis.close()

    writers = [threading.Thread(target=puts, args=(e,)) for e in engineers]
    changers = [threading.Thread(target=presence) for _ in range(2)]
    for t in writers + changers:
        t.start()
    for t in writers:
        t.join(120)
    stop.set()
    for t in changers:
        t.join(30)

    assert not failures
    every_queue = {f"{r}-{lang}" for r in ("emea", "us") for lang in ("de", "en", "fr", "ru", "es")}
    for ident in engineers:
        engineer = store.engineer(ident)
        on = engineer.active and store.presence(ident) in ("available", "busy")
        for queue in every_queue:
            assert (ident in store.on_shift(queue)) == (on and queue in queues_served(engineer)), (ident, queue)


def test_a_presence_change_between_an_engineer_puts_read_and_its_write_makes_it_read_again(app, api, redis_url,
                                                                                            store, monkeypatch):
    real = Store._staff
    other = Store(connect(redis_url, timeout=10))
    seen = []

    def staff(self, pipe, engineer, state, before=None):
        if self is not other and not seen:  # the put has read anna offline; she becomes available now
            other.set_presence("anna", "available")
        if self is not other:
            seen.append(state)
        return real(self, pipe, engineer, state, before)

    monkeypatch.setattr(Store, "_staff", staff)
    try:
        reply = api.put("engineers", "anna", {**BASE_DOCUMENT["engineers"][0], "languages": ["fr"]})
    finally:
        other.redis.close()

    assert reply.status_code == 200
    assert seen == ["offline", "available"]
    assert {q for q in ("emea-de", "emea-en", "emea-fr") if "anna" in store.on_shift(q)} == {"emea-fr"}


def test_a_delete_racing_a_case_put_never_leaves_the_case_without_its_account(app, store):
    outcomes = set()
    for round_ in range(40):
        account, number = f"acct{round_}", f"09{round_:06d}"
        assert Api(app).put("accounts", account, {**ACCOUNT, "id": account}).status_code == 201
        start = threading.Barrier(2)
        codes: dict[str, int] = {}

        def put(account=account, number=number, start=start, codes=codes):
            client = Api(app)
            start.wait()
            codes["put"] = client.put("cases", number, case(number=number, account=account)).status_code

        def delete(account=account, start=start, codes=codes):
            client = Api(app)
            start.wait()
            codes["delete"] = client.delete("accounts", account).status_code

        threads = [threading.Thread(target=put), threading.Thread(target=delete)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

        outcome = (codes["put"], codes["delete"])
        assert outcome in {(201, 409), (400, 204)}, (round_, outcome)
        assert store.exists("case", number) == store.exists("account", account) == (outcome == (201, 409))
        outcomes.add(outcome)


def test_a_case_put_landing_while_a_delete_looks_for_references_makes_it_look_again(app, api, redis_url,
                                                                                    monkeypatch):
    assert api.put("accounts", "wayne", ACCOUNT).status_code == 201
    looked = []
    real = Store._referring
    other = Store(connect(redis_url, timeout=10))

    def overtaken(self, pipe, field, ident):
        found = real(self, pipe, field, ident)
        if not looked:  # after the first look, before the delete's write: a case comes to refer to wayne
            assert other.put(Case("09000001", "wayne", "technical", 2, "open"))
        looked.append(found)
        return found

    monkeypatch.setattr(Store, "_referring", overtaken)
    try:
        reply = api.delete("accounts", "wayne")
    finally:
        other.redis.close()

    assert looked == [[], ["09000001"]]
    assert reply.status_code == 409
    assert reply.get_json()["cases"] == ["09000001"]
    assert api.put("cases", "09000001", case(number="09000001", account="wayne")).status_code == 200


def test_a_delete_that_keeps_losing_to_case_changes_gives_up_with_503_and_deletes_nothing(app, api, redis_url,
                                                                                           monkeypatch):
    assert api.put("engineers", "dora", ENGINEER).status_code == 201  # no case refers to her
    before = snapshot(redis_url)
    looked = []
    real = Store._referring
    other = Store(connect(redis_url, timeout=10))

    def meanwhile(self, pipe, field, ident):
        # Every look is overtaken by a case changing account: the delete must look again.
        looked.append(ident)
        other.put(Case("07123457", "globex" if len(looked) % 2 else "acme", "licensing", 3, "awaiting_customer"))
        return real(self, pipe, field, ident)

    monkeypatch.setattr(Store, "_referring", meanwhile)
    try:
        reply = api.delete("engineers", "dora")
    finally:
        other.redis.close()

    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert "nothing was deleted" in reply.get_json()["error"]
    assert len(looked) == 20
    assert {k: v for k, v in snapshot(redis_url).items() if b"case" not in k} == {
        k: v for k, v in before.items() if b"case" not in k}


def test_a_case_put_whose_account_vanishes_after_the_check_is_refused_as_load_would(api, store, monkeypatch):
    assert api.put("accounts", "wayne", ACCOUNT).status_code == 201
    real = Store.put
    deleted = []

    def delete_first(self, record):
        if not deleted:  # the account goes between the check and the write
            deleted.append(self.delete("accounts", "wayne"))
        return real(self, record)

    monkeypatch.setattr(Store, "put", delete_first)

    reply = api.put("cases", "09000001", case(number="09000001", account="wayne"))

    assert deleted == [True]
    assert reply.status_code == 400
    assert [e["message"] for e in reply.get_json()["errors"]] == [
        "cases (09000001): account: 'wayne' is not a known account"]
    assert not store.exists("case", "09000001")


def test_store_delete_names_every_referring_case(app, store):
    with pytest.raises(StillReferenced) as refused:
        store.delete("accounts", "acme")
    assert refused.value.cases == sorted(c["number"] for c in BASE_DOCUMENT["cases"] if c["account"] == "acme")


# ---------------------------------------------------------------------------------------------- Redis down


def test_with_redis_unreachable_the_api_answers_503_json_and_the_webhooks_their_fail_safe(redis_url):
    app = build(DOWN_REDIS)
    try:
        reply = Api(app).put("cases", "07123456", CASE)
        call = Twilio(app).post("/voice/incoming", call_params("CA" + "7" * 32, EMEA, CallStatus="ringing"))
    finally:
        close(app)

    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert "did not answer" in reply.get_json()["error"]
    assert call.status_code == 200
