"""Property-based (issue 10, item 6): whatever the case system, or anyone else, sends to the directory API
(any method, section, id, JSON or not-JSON body, Authorization and other headers), the answer is never a
5xx, its body is JSON (or empty for 204) with the security headers, and the directory changes only for
a request carrying the right bearer token that was answered 2xx.

The app is built STRICT and TESTING (see test_directory_api.build): an unexpected exception reaches the
test instead of becoming a 500, so a crash cannot pass for an answer. The records stored change from one
example to the next (each is judged against the database just before it), and a 2xx is checked against
what the store then holds.
"""
from __future__ import annotations

import copy
import json
from urllib.parse import quote

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from ivr.api import SECURITY_HEADERS

from .conftest import BASE_DOCUMENT
from . import test_directory_api
from .test_directory_api import ACCOUNT, API_TOKEN, ENGINEER
from .webhook_support import snapshot

app = test_directory_api.app
"""test_directory_api's fixture: the app (STRICT, TESTING) on the base directory."""

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SECTIONS = ("accounts", "engineers", "cases")
KIND = {"accounts": "account", "engineers": "engineer", "cases": "case"}
ID_FIELD = {"accounts": "id", "engineers": "id", "cases": "number"}
RECORDS = {"accounts": [*BASE_DOCUMENT["accounts"], ACCOUNT], "engineers": [*BASE_DOCUMENT["engineers"], ENGINEER],
           "cases": BASE_DOCUMENT["cases"]}
"""Valid records to start from: most bodies are one of these with a few fields changed, so they get past
the first check and reach the store."""

odd_text = st.one_of(
    st.sampled_from(["", " ", "acme", "anna", "07123456", "0712345", "071234567", "０７１２３４５６", "a" * 65, "a:b",
                     "a/b", "..", "%2F", "\n", "\x00", "\ud7ff", "😀", "<script>", "null", "NaN", "1e309"]),
    st.text(max_size=20))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                         st.floats(allow_nan=False, allow_infinity=False), odd_text)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(odd_text, inner, max_size=4)),
                           max_leaves=10)


@st.composite
def records(draw, section: str) -> dict:
    """A record of the section with some fields replaced by any JSON, dropped, or added."""
    record = copy.deepcopy(draw(st.sampled_from(RECORDS[section])))
    for field in draw(st.lists(st.sampled_from(sorted(record)), max_size=3, unique=True)):
        if draw(st.booleans()):
            record[field] = draw(json_values)
        else:
            del record[field]
    record.update(draw(st.dictionaries(odd_text, json_values, max_size=2)))
    return record


def ids_for(section: str, record) -> st.SearchStrategy[str]:
    own = record.get(ID_FIELD[section]) if isinstance(record, dict) else None
    known = [r[ID_FIELD[section]] for r in RECORDS[section]]
    choices = st.sampled_from(known)
    if isinstance(own, str):
        choices = st.one_of(st.just(own), st.just(own), choices)
    return st.one_of(choices, odd_text)


@st.composite
def bodies(draw, section: str) -> tuple[str, bytes | str]:
    """(the id in the URL, the body): mostly a nearly valid record, else any JSON or any bytes."""
    shape = draw(st.sampled_from(["record", "record", "record", "json", "raw"]))
    if shape == "record":
        record = draw(records(section))
        return draw(ids_for(section, record)), json.dumps(record)
    if shape == "json":
        return draw(ids_for(section, None)), json.dumps(draw(json_values))
    return draw(ids_for(section, None)), draw(st.one_of(st.binary(max_size=64),
                                                        st.sampled_from(['{"number": NaN}', "[" * 2000, "{",
                                                                         '{"a": 1, "a": 2}', "\ufeff{}"])))


def mostly(good, bad):
    """Draw from `good` four times in five: most requests should get past the first refusal."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 0 else good)


header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                      max_size=60)
GOOD_AUTH = [f"Bearer {API_TOKEN}", f"bearer {API_TOKEN}", f"BEARER  {API_TOKEN} ", f" Bearer {API_TOKEN}"]
BAD_AUTH = [f"Bearer {API_TOKEN[:-1]}", f"Bearer {API_TOKEN}x", f"Bearer {API_TOKEN.upper()}", f"Basic {API_TOKEN}",
            API_TOKEN, f"Bearer{API_TOKEN}", f"Bearer {API_TOKEN} {API_TOKEN}", "Bearer", "Bearer ", "",
            "Bearer " + "é" * len(API_TOKEN), f"Token {API_TOKEN}"]
auths = mostly(st.tuples(st.just(True), st.sampled_from(GOOD_AUTH)),
               st.one_of(st.tuples(st.just(False), st.one_of(st.sampled_from(BAD_AUTH), header_text)),
                         st.tuples(st.just(False), st.none())))
"""(whether it is the right token, the Authorization header or None)."""
content_types = mostly(st.sampled_from(["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]),
                       st.one_of(st.sampled_from(["application/json; charset=latin-1", "text/plain", "text/json",
                                                  "application/x-www-form-urlencoded", "multipart/form-data", ""]),
                                 header_text))
extra_headers = st.dictionaries(
    st.sampled_from(["X-Forwarded-For", "X-Forwarded-Proto", "Host", "Accept", "X-CSRF-Token", "Origin", "Cookie",
                     "X-Http-Method-Override", "Accept-Encoding", "If-Match", "Expect"]),
    header_text, max_size=3)


def assert_json_answer(reply, method: str) -> object:
    """The answer is never 5xx, carries the security headers, and is JSON (an empty 204 or HEAD aside)."""
    assert reply.status_code < 500, (reply.status_code, reply.get_data())
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, name
    raw = reply.get_data()
    if reply.status_code == 204 or method == "HEAD":
        assert raw == b""
        return None
    assert reply.mimetype == "application/json", reply.mimetype
    parsed = json.loads(raw)
    if reply.status_code >= 400:
        assert isinstance(parsed, dict) and isinstance(parsed["error"], str) and parsed["error"]
    return parsed


@given(method=mostly(st.sampled_from(["PUT", "PUT", "DELETE"]), st.sampled_from(["POST", "PATCH", "GET", "HEAD"])),
       section=mostly(st.sampled_from(SECTIONS), odd_text), data=st.data(), auth=auths,
       content_type=content_types, headers=extra_headers)
@example(method="PUT", section="accounts", data=None, auth=(True, GOOD_AUTH[0]), content_type="application/json",
         headers={})
@example(method="PUT", section="0/", data=None, auth=(False, None), content_type="application/json", headers={})
@example(method="DELETE", section="cases/", data=None, auth=(True, GOOD_AUTH[0]), content_type="application/json",
         headers={})
@FUZZ
def test_any_request_gets_json_and_changes_the_directory_only_when_authorized(app, redis_url, method, section,
                                                                              data, auth, content_type, headers):
    if data is None:  # an explicit example: the new account Wayne
        ident, body = "wayne", json.dumps(ACCOUNT)
    else:
        ident, body = data.draw(bodies(section if section in SECTIONS else "cases"))
    authorized, authorization = auth
    if authorization is not None:
        headers = {**headers, "Authorization": authorization}
    path = f"/api/directory/{quote(section, safe='')}/{quote(ident, safe='')}"
    store = app.extensions["ivr_api"].store
    before = snapshot(redis_url)

    reply = app.test_client().open(path, method=method, data=body if method in ("PUT", "POST", "PATCH") else None,
                                   content_type=content_type, headers=headers)

    parsed = assert_json_answer(reply, method)
    event(f"{method} {reply.status_code}")
    if not authorized:
        assert reply.status_code == 401 and "WWW-Authenticate" in reply.headers
    if reply.status_code >= 300:
        assert snapshot(redis_url) == before, (reply.status_code, parsed)
        return
    # Only the right token and a well-formed request of a section get this far.
    assert authorized and section in SECTIONS and method in ("PUT", "DELETE"), (method, section)
    if method == "PUT":
        assert reply.status_code in (200, 201)
        assert parsed[ID_FIELD[section]] == ident and store.exists(KIND[section], ident)
        assert ("Location" in reply.headers) == (reply.status_code == 201)
    else:
        assert reply.status_code == 204 and not store.exists(KIND[section], ident)


@given(path=st.lists(odd_text, min_size=0, max_size=4), method=st.sampled_from(["PUT", "DELETE", "GET", "POST"]),
       auth=auths)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_path_under_the_api_answers_json_and_changes_nothing_but_a_record(app, redis_url, path, method, auth):
    authorized, authorization = auth
    headers = {"Authorization": authorization} if authorization is not None else {}
    url = "/api/" + "/".join(quote(part, safe="") for part in path)
    before = snapshot(redis_url)

    reply = app.test_client().open(url, method=method, data=b"{}", content_type="application/json", headers=headers)

    assert_json_answer(reply, method)
    if not authorized:
        assert reply.status_code == 401
    if reply.status_code >= 300:
        assert snapshot(redis_url) == before
