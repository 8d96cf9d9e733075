"""SPEC §6: the CRM's directory document is parsed whole or refused with every bad field named."""
from __future__ import annotations

import copy
from datetime import date

import pytest

from routing import Account, Case, Engineer
from routing.records import RecordError, parse_document

REGIONS = ("us", "ca", "emea", "apac", "latam")

GOOD = {
    "accounts": [
        {"id": "acme", "name": "Acme GmbH", "plan": "production", "partner": False,
         "maintenance_expires": "2027-06-30", "timezone": "Europe/Berlin"},
        {"id": "globex", "name": "Globex", "plan": "basic", "partner": True,
         "maintenance_expires": None, "timezone": None},
    ],
    "engineers": [
        {"id": "anna", "name": "Anna Weber", "languages": ["de", "en"], "regions": ["emea"],
         "client": "anna", "phone": None, "active": True},
        {"id": "bob", "name": "Bob Smith", "languages": ["en", "es"], "regions": ["us", "latam"],
         "client": None, "phone": "+18005550123", "active": False},
    ],
    "cases": [
        {"number": "07123456", "account": "acme", "type": "technical", "severity": 2,
         "status": "open", "engineer": "anna"},
        {"number": "07123457", "account": "globex", "type": "licensing", "severity": 1,
         "status": "awaiting_customer", "engineer": None},
    ],
}


def parse(document, **kw):
    return parse_document(document, REGIONS, **kw)


def with_change(section: str, index: int, **fields) -> dict:
    """Return the good document with fields of one record changed (REMOVE removes the key)."""
    document = copy.deepcopy(GOOD)
    if section == "accounts" and "id" in fields:
        document["cases"][1]["account"] = "acme"  # keep the cases' references good
    record = document[section][index]
    for name, value in fields.items():
        if value is REMOVE:
            record.pop(name, None)
        else:
            record[name] = value
    return document


REMOVE = object()


def test_good_document_parses_into_records():
    directory, errors = parse(GOOD)
    assert errors == []
    assert directory.accounts == [
        Account("acme", "Acme GmbH", "production", False, date(2027, 6, 30), "Europe/Berlin"),
        Account("globex", "Globex", "basic", True, None, None),
    ]
    assert directory.engineers == [
        Engineer("anna", "Anna Weber", ("de", "en"), ("emea",), "anna", None, True),
        Engineer("bob", "Bob Smith", ("en", "es"), ("us", "latam"), None, "+18005550123", False),
    ]
    assert directory.cases == [
        Case("07123456", "acme", "technical", 2, "open", "anna"),
        Case("07123457", "globex", "licensing", 1, "awaiting_customer", None),
    ]
    assert len(directory) == 6


def test_optional_fields_take_their_defaults():
    document = {
        "accounts": [{"id": "acme", "plan": "premium"}],
        "engineers": [{"id": "anna", "languages": ["de"], "regions": ["emea"], "client": "anna"}],
        "cases": [{"number": "07123456", "account": "acme", "type": "general", "severity": 4, "status": "closed"}],
    }
    directory, errors = parse(document)
    assert errors == []
    assert directory.accounts == [Account("acme", "acme", "premium", False, None, None)]
    assert directory.engineers == [Engineer("anna", "anna", ("de",), ("emea",), "anna", None, True)]
    assert directory.cases == [Case("07123456", "acme", "general", 4, "closed", None)]


def test_missing_sections_are_empty():
    directory, errors = parse({})
    assert (errors, len(directory)) == ([], 0)


BAD_FIELDS = [
    # section, changed fields, the field named, the record's id as reported
    ("accounts", {"id": REMOVE}, "id", None),
    ("accounts", {"id": ""}, "id", ""),
    ("accounts", {"id": 42}, "id", None),
    ("accounts", {"name": 7}, "name", "globex"),
    ("accounts", {"plan": "gold"}, "plan", "globex"),
    ("accounts", {"plan": REMOVE}, "plan", "globex"),
    ("accounts", {"partner": "yes"}, "partner", "globex"),
    ("accounts", {"maintenance_expires": "2027-13-01"}, "maintenance_expires", "globex"),
    ("accounts", {"maintenance_expires": "next year"}, "maintenance_expires", "globex"),
    ("accounts", {"maintenance_expires": 20270630}, "maintenance_expires", "globex"),
    ("accounts", {"timezone": "Mars/Olympus_Mons"}, "timezone", "globex"),
    ("accounts", {"timezone": "America"}, "timezone", "globex"),
    ("accounts", {"timezone": ""}, "timezone", "globex"),
    ("engineers", {"id": REMOVE}, "id", None),
    ("engineers", {"name": ["Bob"]}, "name", "bob"),
    ("engineers", {"languages": REMOVE}, "languages", "bob"),
    ("engineers", {"languages": []}, "languages", "bob"),
    ("engineers", {"languages": "en"}, "languages", "bob"),
    ("engineers", {"languages": ["en", "klingon"]}, "languages", "bob"),
    ("engineers", {"regions": ["us", "mars"]}, "regions", "bob"),
    ("engineers", {"regions": []}, "regions", "bob"),
    ("engineers", {"phone": "555-0123"}, "phone", "bob"),
    ("engineers", {"phone": "+18005550123\n"}, "phone", "bob"),
    ("engineers", {"phone": "+0123456789"}, "phone", "bob"),
    ("engineers", {"client": None, "phone": None}, "client", "bob"),
    ("engineers", {"client": REMOVE, "phone": REMOVE}, "client", "bob"),
    ("engineers", {"client": 12}, "client", "bob"),
    ("engineers", {"active": "true"}, "active", "bob"),
    ("cases", {"number": "7123457"}, "number", "7123457"),
    ("cases", {"number": "0712345A"}, "number", "0712345A"),
    ("cases", {"number": "07123457\n"}, "number", "07123457\n"),
    ("cases", {"number": 7123457}, "number", None),
    ("cases", {"number": REMOVE}, "number", None),
    ("cases", {"account": REMOVE}, "account", "07123457"),
    ("cases", {"account": "initech"}, "account", "07123457"),
    ("cases", {"type": "billing"}, "type", "07123457"),
    ("cases", {"type": REMOVE}, "type", "07123457"),
    ("cases", {"severity": 0}, "severity", "07123457"),
    ("cases", {"severity": 5}, "severity", "07123457"),
    ("cases", {"severity": "2"}, "severity", "07123457"),
    ("cases", {"severity": 2.0}, "severity", "07123457"),
    ("cases", {"severity": True}, "severity", "07123457"),
    ("cases", {"severity": REMOVE}, "severity", "07123457"),
    ("cases", {"status": "pending"}, "status", "07123457"),
    ("cases", {"status": REMOVE}, "status", "07123457"),
    ("cases", {"engineer": "zed"}, "engineer", "07123457"),
    ("cases", {"engineer": ""}, "engineer", "07123457"),
]


@pytest.mark.parametrize(("section", "change", "field", "ident"), BAD_FIELDS)
def test_bad_field_is_named_with_its_section_index_and_id(section, change, field, ident):
    document = with_change(section, 1, **change)
    directory, errors = parse(document)
    assert [(e.section, e.index, e.ident, e.field) for e in errors] == [(section, 1, ident, field)]
    message = str(errors[0])
    assert f"{section}[1]" in message
    assert f": {field}: " in message
    if ident:
        assert f"({ident})" in message


@pytest.mark.parametrize(("section", "change", "field", "ident"), BAD_FIELDS)
def test_bad_record_is_left_out_of_the_directory(section, change, field, ident):
    directory, _ = parse(with_change(section, 1, **change))
    assert len(getattr(directory, section)) == 1


def test_every_bad_field_of_one_record_is_reported():
    document = with_change("accounts", 0, plan="gold", partner="no", timezone="Nowhere/City")
    _, errors = parse(document)
    assert [(e.index, e.ident, e.field) for e in errors] == [
        (0, "acme", "plan"), (0, "acme", "partner"), (0, "acme", "timezone")]


def test_bad_records_in_every_section_are_all_reported():
    document = copy.deepcopy(GOOD)
    document["accounts"][1]["plan"] = "gold"
    document["engineers"][0]["languages"] = ["xx"]
    document["cases"][1]["status"] = "pending"
    _, errors = parse(document)
    assert [(e.section, e.index, e.field) for e in errors] == [
        ("accounts", 1, "plan"), ("engineers", 0, "languages"), ("cases", 1, "status")]


@pytest.mark.parametrize("record", ["acme", 42, None, ["acme"]])
def test_record_that_is_not_an_object_is_refused_once(record):
    document = copy.deepcopy(GOOD)
    document["accounts"].append(record)
    _, errors = parse(document)
    assert [(e.section, e.index, e.ident, e.field) for e in errors] == [("accounts", 2, None, "")]
    assert "must be a JSON object" in errors[0].reason


@pytest.mark.parametrize(
    ("section", "key", "values"),
    [
        ("accounts", "id", ["acme", "acme"]),
        ("engineers", "id", ["anna", "anna"]),
        ("cases", "number", ["07123456", "07123456"]),
    ],
)
def test_duplicate_record_is_named_with_where_it_first_appeared(section, key, values):
    document = copy.deepcopy(GOOD)
    for record, value in zip(document[section], values, strict=True):
        record[key] = value
    if section == "accounts":  # keep the cases' references good
        document["cases"][1]["account"] = "acme"
    _, errors = parse(document)
    assert [(e.section, e.index, e.ident, e.field) for e in errors] == [(section, 1, values[0], key)]
    assert f"{section}[0]" in errors[0].reason


def test_case_referring_to_unknown_account_and_engineer_names_both():
    document = with_change("cases", 0, account="initech", engineer="zed")
    _, errors = parse(document)
    assert [(e.section, e.index, e.field) for e in errors] == [("cases", 0, "account"), ("cases", 0, "engineer")]
    assert "'initech'" in errors[0].reason
    assert "'zed'" in errors[1].reason


def test_cases_may_refer_to_accounts_and_engineers_already_stored():
    document = {"cases": [{"number": "07123456", "account": "stored-acct", "type": "technical",
                           "severity": 3, "status": "open", "engineer": "stored-eng"}]}
    directory, errors = parse(document, known_accounts={"stored-acct"}, known_engineers={"stored-eng"})
    assert errors == []
    assert directory.cases == [Case("07123456", "stored-acct", "technical", 3, "open", "stored-eng")]


def test_known_ids_do_not_excuse_other_unknown_references():
    document = {"cases": [{"number": "07123456", "account": "stored-acct", "type": "technical",
                           "severity": 3, "status": "open", "engineer": "someone-else"}]}
    _, errors = parse(document, known_accounts={"stored-acct"}, known_engineers={"stored-eng"})
    assert [(e.field, e.ident) for e in errors] == [("engineer", "07123456")]


def test_engineer_regions_are_checked_against_the_configured_regions():
    _, errors = parse_document(GOOD, regions=("emea",))
    assert [(e.section, e.index, e.field) for e in errors] == [("engineers", 1, "regions")]
    assert "'us'" in errors[0].reason and "'latam'" in errors[0].reason


@pytest.mark.parametrize("document", [[], "accounts", None, 42, [GOOD]])
def test_document_that_is_not_an_object_is_refused(document):
    directory, errors = parse(document)
    assert len(directory) == 0
    assert [(e.section, e.index, e.ident, e.field) for e in errors] == [("document", None, None, "")]
    assert str(errors[0]).startswith("document: must be a JSON object")


def test_unknown_section_is_named():
    document = dict(GOOD, tickets=[])
    _, errors = parse(document)
    assert [(e.section, e.field) for e in errors] == [("document", "tickets")]


@pytest.mark.parametrize("section", ["accounts", "engineers", "cases"])
def test_section_that_is_not_a_list_is_named(section):
    document = dict(GOOD, **{section: {"acme": {}}})
    if section != "cases":
        document["cases"] = []  # no references into the broken section
    _, errors = parse(document)
    assert [(e.section, e.index, e.field) for e in errors] == [(section, None, "")]
    assert str(errors[0]) == f"{section}: must be a list"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (RecordError("cases", 3, "07123456", "severity", "9 is not one of 1, 2, 3, 4"),
         "cases[3] (07123456): severity: 9 is not one of 1, 2, 3, 4"),
        (RecordError("accounts", 0, None, "id", "is required"), "accounts[0]: id: is required"),
        (RecordError("document", None, None, "", "must be a JSON object"), "document: must be a JSON object"),
    ],
)
def test_record_error_reads_as_a_location_field_and_reason(error, text):
    assert str(error) == text
