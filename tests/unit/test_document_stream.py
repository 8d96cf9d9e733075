"""`ivr load` reads a directory document as a stream: it must find exactly what reading it whole finds.

Every test here reads with tiny pieces (a few bytes), so records, strings, numbers and escapes are cut at
every place a piece can end, and compares with `json.loads` of the whole text and `parse_document`.
"""
from __future__ import annotations

import io
import json
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.adapters.directory import document as loader
from ivr.adapters.directory.document import DocumentError, check_stream, read_document
from routing.records import DocumentCheck, parse_document

REGIONS = ("us", "ca", "emea", "apac", "latam")
ACCOUNT = {"id": "acme", "name": "Acme GmbH", "plan": "production", "partner": False,
           "maintenance_expires": "2027-06-30", "timezone": "Europe/Berlin"}
ENGINEER = {"id": "anna", "name": "Anna Weber", "languages": ["de", "en"], "regions": ["emea"], "client": "anna"}
CASE = {"number": "07123456", "account": "acme", "type": "technical", "severity": 2, "status": "open",
        "engineer": "anna"}
DOCUMENT = {"accounts": [ACCOUNT], "engineers": [ENGINEER],
            "cases": [CASE, {**CASE, "number": "07123457", "engineer": None}]}


class Pieces(io.RawIOBase):
    """A file that gives at most `size` bytes per read, as a pipe may."""

    def __init__(self, data: bytes, size: int):
        self.data, self.size, self.at = data, size, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.size if n < 0 else min(n, self.size)
        chunk = self.data[self.at:self.at + n]
        self.at += len(chunk)
        return chunk


@pytest.fixture(autouse=True)
def tiny_reads(monkeypatch):
    monkeypatch.setattr(loader, "READ_SIZE", 3)


def streamed(data: bytes, size: int = 3, known=((), ())):
    """Check a document as `ivr load` does; return (accounts, engineers, cases, errors, warnings) or the error."""
    check = DocumentCheck(REGIONS, *known)
    cases = []

    class Spool:
        count = 0

        def add(self, case):
            cases.append(case)

    try:
        directory = check_stream(Pieces(data, size), check, Spool())
    except DocumentError as error:
        return str(error)
    return directory.accounts, directory.engineers, cases, [str(e) for e in check.errors], \
        [str(w) for w in check.warnings]


def whole(data: bytes, known=((), ())):
    """Check a document read whole, as the directory API does."""
    try:
        document = read_document(data)
    except DocumentError as error:
        return str(error)
    directory, errors, warnings = parse_document(document, REGIONS, *known)
    cases = directory.cases if not errors else None
    return directory.accounts, directory.engineers, cases, [str(e) for e in errors], [str(w) for w in warnings]


def same(data: bytes, known=((), ())) -> None:
    got, expected = streamed(data, known=known), whole(data, known)
    if isinstance(expected, tuple) and expected[3]:  # refused: the cases kept before the first fault do not matter
        got, expected = got[:2] + got[3:], expected[:2] + expected[3:]
    assert got == expected


@pytest.mark.parametrize("indent", [None, 0, 2, "\t"])
def test_a_good_document_gives_the_same_records_in_any_layout(indent):
    data = json.dumps(DOCUMENT, indent=indent).encode()
    accounts, engineers, cases, errors, warnings = streamed(data)
    assert (errors, warnings) == ([], [])
    assert [c.number for c in cases] == ["07123456", "07123457"]
    assert (accounts, engineers) == tuple(whole(data)[:2])
    same(data)


def test_every_piece_size_gives_the_same_records():
    data = json.dumps(DOCUMENT, ensure_ascii=False).encode()
    for size in range(1, 40):
        assert streamed(data, size) == streamed(data, 4096)


def test_cases_before_the_accounts_they_refer_to_are_good():
    data = json.dumps({"cases": DOCUMENT["cases"], "engineers": [ENGINEER], "accounts": [ACCOUNT]}).encode()
    assert [c.number for c in streamed(data)[2]] == ["07123456", "07123457"]
    assert streamed(data)[3] == []


def test_a_reference_to_a_record_found_nowhere_is_named_in_document_order():
    data = json.dumps({"cases": [CASE, {**CASE, "number": "07123457", "account": "nobody"}],
                       "accounts": [ACCOUNT], "engineers": [ENGINEER]}).encode()
    assert streamed(data)[3] == ["cases[1] (07123457): account: 'nobody' is not a known account"]
    same(data)


def test_records_already_stored_may_be_referred_to():
    data = json.dumps({"cases": [CASE]}).encode()
    assert streamed(data, known=({"acme"}, {"anna"}))[3] == []
    same(data, known=({"acme"}, {"anna"}))


def test_a_section_given_twice_is_refused_instead_of_half_read():
    data = b'{"cases": [], "accounts": [], "cases": []}'
    assert streamed(data)[3] == ["cases: appears twice in the document; give it once"]


@pytest.mark.parametrize("data", [
    b'{"accounts": {}, "cases": []}', b'{"accounts": [], "tickets": [1, 2]}', b'{"engineers": null}', b"{}",
    b"[]", b'"a directory"', b'{"cases": [1, "x", null, [], {}]}', b' \n {"accounts" : [ ] } \n',
    json.dumps({"cases": [CASE, CASE, {**CASE, "number": "7123456"}, {**CASE, "number": "7123456"}]}).encode(),
    json.dumps({"accounts": [ACCOUNT, {**ACCOUNT, "timezone": "Mars/Olympus"}, ACCOUNT]}).encode(),
])
def test_faults_in_the_shape_and_the_records_are_the_same(data):
    same(data)


@pytest.mark.parametrize("data", [
    b"", b"   ", b"{", b'{"accounts": [', b'{"accounts": [{"id": "a"}', b'{"accounts": [{"id": "a"},]}',
    b'{"accounts": [] "cases": []}', b'{"accounts" []}', b'{"accounts": [],}', b'{"accounts": []} []',
    b'{accounts: []}', b'{"cases": [{"number": "0712\\u00"}]}', b'{"cases": [{"severity": 2.}]}',
    b'{"cases": [{"severity": -}]}', b'{"cases": [{"engineer": nul}]}', b'{"cases": [{"number": "07\n12"}]}',
    b'{"cases": [{"severity": NaN}]}', b'{"cases": [{"severity": ' + b"9" * 101 + b"}]}",
    b'\n\n{"cases": [\n  {"number": "07123456",\n   "severity": 2 "status": "open"}]}',
    b'{"cases": [{"number": "\xff"}]}', b"[" * 100_000,
])
def test_broken_json_is_refused_with_the_same_words_and_place(data):
    got, expected = streamed(data), whole(data)
    assert isinstance(got, str) and isinstance(expected, str)
    if "nested too deeply" in expected or "not UTF-8" in expected:
        assert got.split(":")[0] == expected.split(":")[0]
    else:
        assert got == expected


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-32"])
def test_the_encodings_json_allows_are_read(encoding):
    doc = {**DOCUMENT, "accounts": [{**ACCOUNT, "name": "株式会社アクメ"}]}
    data = json.dumps(doc, ensure_ascii=False).encode(encoding)
    assert streamed(data)[0][0].name == "株式会社アクメ"
    same(data)


def test_one_huge_value_is_read_in_growing_pieces(monkeypatch):
    monkeypatch.setattr(loader, "READ_SIZE", 64)
    reads = []
    data = json.dumps({"accounts": [{**ACCOUNT, "name": "x" * 200_000}]}).encode()
    source = Pieces(data, 1 << 30)
    original = source.read
    source.read = lambda n=-1: reads.append(n) or original(n)
    check = DocumentCheck(REGIONS)
    check_stream(source, check)
    assert check.errors[0].field == "name"  # too long for a name, and said so
    assert len(reads) < 20  # doubling: not 200_000 / 64 reads, each parsing the value again


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)
records = st.one_of(
    st.fixed_dictionaries({}, optional={k: st.sampled_from([v, "", None, 2, "acme", "07123456"])
                                        for k, v in CASE.items()}),
    st.just(CASE), st.just({**CASE, "number": "07123457"}), json_values)
documents = st.dictionaries(
    st.sampled_from(["accounts", "engineers", "cases", "other"]),
    st.lists(records, max_size=4) | json_values, max_size=4)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from([None, 1]), st.integers(1, 9), st.integers(0, 400))
def test_any_document_and_any_cut_find_what_reading_it_whole_finds(document, indent, size, cut):
    data = json.dumps({"accounts": [ACCOUNT], "engineers": [ENGINEER], **document}, indent=indent,
                      ensure_ascii=False).encode()
    assert streamed(data, size) == streamed(data, 1 << 20)
    same(data)
    truncated = data[:cut]
    if truncated != data:
        got, expected = streamed(truncated, size), whole(truncated)
        assert isinstance(expected, str) and got == expected


@settings(max_examples=300, deadline=None)
@given(documents)
def test_the_fast_path_for_well_formed_cases_finds_what_the_full_check_finds(document):
    document = {"accounts": [ACCOUNT], "engineers": [ENGINEER], **document}
    fast = parse_document(document, REGIONS)
    with patch.object(DocumentCheck, "_quick_case", lambda self, raw: None):  # every case through the full check
        full = parse_document(document, REGIONS)
    assert fast[0] == full[0] and [str(e) for e in fast[1]] == [str(e) for e in full[1]]
