"""SPEC §6: the CRM's directory document is parsed whole or refused with every bad field named."""
from __future__ import annotations

import copy
from datetime import date

import pytest

from routing import Account, Case, Engineer
from routing.records import RecordError, parse_document, shown

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
    """Return the directory and errors of a document, asserting it warned of nothing."""
    directory, errors, warnings = parse_document(document, REGIONS, **kw)
    assert warnings == []
    return directory, errors


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
        assert f"({repr(ident)[1:-1]})" in message  # escaped: a raw newline would split the line


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
    _, errors, _ = parse_document(GOOD, regions=("emea",))
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


# --- characters: ids, Client identities, names (issue 6, item 2) ---------------------------------

ID_RULE = "1 to 64 ASCII letters, digits and . _ - @"
CLIENT_RULE = "1 to 121 ASCII letters, digits and _ - . @"
ID_FIELDS = [("accounts", 1, "id"), ("engineers", 1, "id"), ("cases", 1, "account"), ("cases", 0, "engineer")]
UNUSABLE_IDS = [
    pytest.param("борис", id="cyrillic"),
    pytest.param("bob\N{GRINNING FACE}", id="emoji"),
    pytest.param("bob\n", id="newline"),
    pytest.param("bob\r\nX-Injected: 1", id="header-injection"),
    pytest.param("b\x00b", id="nul"),
    pytest.param("bob smith", id="space"),
    pytest.param("bob/../x", id="slash"),
    pytest.param("b" * 65, id="65-chars"),
]


@pytest.mark.parametrize("value", UNUSABLE_IDS)
@pytest.mark.parametrize(("section", "index", "field"), ID_FIELDS)
def test_an_unusable_id_is_refused_naming_the_field_and_the_allowed_characters(section, index, field, value):
    document = with_change(section, index, **{field: value})

    directory, errors = parse(document)

    assert [(e.section, e.index, e.field) for e in errors] == [(section, index, field)]
    assert errors[0].reason == f"{shown(value)} is not a usable id: use {ID_RULE}"
    assert len(getattr(directory, section)) == 1


@pytest.mark.parametrize("value", ["a", "Anna.Weber_2@emea-de", "x" * 64, "0", "-._@"])
def test_ids_of_the_documented_characters_load(value):
    document = copy.deepcopy(GOOD)
    document["engineers"][0]["id"] = document["cases"][0]["engineer"] = value

    directory, errors = parse(document)

    assert errors == []
    assert directory.engineers[0].id == directory.cases[0].engineer == value


@pytest.mark.parametrize("value", ["anna weber", "anna\x07", "anna\n", "анна", "anna:1", "<anna>", "a" * 122])
def test_an_unusable_client_identity_is_refused_naming_the_allowed_characters(value):
    _, errors = parse(with_change("engineers", 0, client=value))

    assert [(e.section, e.index, e.ident, e.field) for e in errors] == [("engineers", 0, "anna", "client")]
    assert errors[0].reason == f"{shown(value)} is not a usable Twilio Client identity: use {CLIENT_RULE}"


@pytest.mark.parametrize("value", ["anna_weber", "anna.weber@example.com", "Anna-2", "a" * 121])
def test_client_identities_of_the_documented_characters_load(value):
    directory, errors = parse(with_change("engineers", 0, client=value))

    assert errors == []
    assert directory.engineers[0].client == value


@pytest.mark.parametrize("value", [
    "山田 太郎", "Иван Петров", "Lucía Romero", "Seán O'Brien-Smith", "محمد علي", "ZWNJ\u200cin a name",
    " Anna Weber ", "x" * 100,
])
@pytest.mark.parametrize("section", ["accounts", "engineers"])
def test_names_in_any_script_load_exactly_as_given(section, value):
    directory, errors = parse(with_change(section, 0, name=value))

    assert errors == []
    assert getattr(directory, section)[0].name == value  # nothing stripped or changed


@pytest.mark.parametrize(("value", "why"), [
    ("Anna\nWeber", "U+000A (a control character)"),
    ("Anna\tWeber", "U+0009 (a control character)"),
    ("Anna\x00", "U+0000 (a control character)"),
    ("Anna\x85Weber", "U+0085 (a control character)"),
    ("Anna\x7f", "U+007F (a control character)"),
    ("Anna\u2028Weber", "U+2028 (a line separator)"),
    ("Anna\u2029Weber", "U+2029 (a paragraph separator)"),
    ("Anna\ufffe", "U+FFFE (a noncharacter)"),
    ("x" * 101, "has 101 characters; at most 100"),
])
@pytest.mark.parametrize("section", ["accounts", "engineers"])
def test_a_name_with_control_characters_or_too_long_is_refused(section, value, why):
    directory, errors = parse(with_change(section, 0, name=value))

    assert [(e.section, e.index, e.field) for e in errors] == [(section, 0, "name")]
    assert errors[0].reason.startswith(f"{shown(value)} ")
    assert why in errors[0].reason
    assert len(getattr(directory, section)) == 1


SURROGATE_FIELDS = [
    ("accounts", 1, "id"), ("accounts", 1, "name"), ("accounts", 1, "plan"), ("accounts", 1, "timezone"),
    ("accounts", 1, "maintenance_expires"), ("engineers", 1, "id"), ("engineers", 1, "name"),
    ("engineers", 1, "client"), ("engineers", 1, "phone"), ("engineers", 1, "languages"),
    ("engineers", 1, "regions"), ("cases", 1, "number"), ("cases", 1, "account"), ("cases", 1, "type"),
    ("cases", 1, "status"), ("cases", 0, "engineer"),
]


@pytest.mark.parametrize(("section", "index", "field"), SURROGATE_FIELDS)
def test_a_lone_surrogate_in_any_string_field_is_refused(section, index, field):
    value = ["en", "\ud800"] if field in ("languages", "regions") else "ab\ud800"

    directory, errors = parse(with_change(section, index, **{field: value}))

    assert [(e.section, e.index, e.field) for e in errors] == [(section, index, field)]
    assert "lone surrogate" in errors[0].reason
    str(errors[0]).encode("utf-8")  # the message itself can be printed
    assert len(getattr(directory, section)) == 1


@pytest.mark.parametrize(("section", "change"), [
    ("cases", {"number": "07123457\r\nX-Injected: 1"}),
    ("engineers", {"id": "bob\u2028\ud800"}),
    ("accounts", {"time\nzone": "Europe/Berlin"}),
])
def test_every_message_is_one_printable_line(section, change):
    _, errors = parse(with_change(section, 1, **change))

    assert errors
    for error in errors:
        text = str(error)
        assert text.isprintable(), text
        text.encode("utf-8")


def test_a_huge_value_is_shortened_in_its_message():
    _, errors = parse(with_change("engineers", 1, id="b" * 100_000))

    assert [e.field for e in errors] == ["id"]
    assert len(str(errors[0])) < 400


# --- unknown fields (issue 6, item 10) ----------------------------------------------------------


@pytest.mark.parametrize(("section", "typo", "expected"), [
    ("accounts", "time_zone", "id, name, plan, partner, maintenance_expires, timezone, country"),
    ("engineers", "langauges", "id, name, languages, regions, client, phone, active, spoken_name"),
    ("cases", "priority", "number, account, type, severity, status, engineer"),
])
def test_an_unknown_field_is_named_as_an_error(section, typo, expected):
    directory, errors = parse(with_change(section, 0, **{typo: "x"}))

    assert [(e.section, e.index, e.field) for e in errors] == [(section, 0, typo)]
    assert errors[0].reason == f"unknown field; expected one of {expected}"
    assert len(getattr(directory, section)) == 1


def test_an_unknown_field_is_named_beside_the_other_faults_of_its_record():
    _, errors = parse(with_change("accounts", 1, time_zone="Europe/Berlin", plan="gold"))

    assert [(e.index, e.ident, e.field) for e in errors] == [(1, "globex", "time_zone"), (1, "globex", "plan")]


def test_lenient_turns_unknown_fields_into_warnings_and_ignores_them():
    document = with_change("accounts", 0, time_zone="Asia/Tokyo", timezone=REMOVE)
    document["cases"][0]["priority"] = "high"

    directory, errors, warnings = parse_document(document, REGIONS, lenient=True)

    assert errors == []
    assert [(w.section, w.index, w.ident, w.field) for w in warnings] == [
        ("accounts", 0, "acme", "time_zone"), ("cases", 0, "07123456", "priority")]
    assert warnings[0].reason.startswith("unknown field, ignored; expected one of id, name, plan,")
    assert directory.accounts[0] == Account("acme", "Acme GmbH", "production", False, date(2027, 6, 30), None)
    assert len(directory) == 6


def test_lenient_refuses_every_other_fault_and_unknown_sections():
    document = with_change("accounts", 0, time_zone="Asia/Tokyo", plan="gold")
    document["tickets"] = []

    _, errors, warnings = parse_document(document, REGIONS, lenient=True)

    assert [(e.section, e.field) for e in errors] == [("document", "tickets"), ("accounts", "plan")]
    assert [(w.section, w.field) for w in warnings] == [("accounts", "time_zone")]


# ---------------------------------------------------------------------------------------------- country, spoken names


@pytest.mark.parametrize(("value", "reason"), [
    ("de", "'de' is not an ISO 3166 country code such as DE"),
    ("XX", "'XX' is not a country whose public holidays are known; leave it out and the line's holidays apply"),
    (49, "must be a non-empty string"),
])
def test_an_accounts_country_must_be_one_whose_holidays_are_known(value, reason):
    _directory, errors = parse(with_change("accounts", 0, country=value))
    assert [(e.field, e.reason) for e in errors] == [("country", reason)]


def test_an_accounts_country_is_kept():
    directory, errors = parse(with_change("accounts", 0, country="DE"))
    assert errors == [] and directory.accounts[0].country == "DE"


@pytest.mark.parametrize(("value", "field", "reason"), [
    ("アンナ", "spoken_name", "'アンナ' must be an object of language code to name, like {\"ja\": \"アンナ\"}"),
    ({"jp": "アンナ"}, "spoken_name.jp", "is not one of the languages en, es, fr, de, ru, it, ja, zh, pt"),
    ({"ja": ""}, "spoken_name.ja", "must be a non-empty string"),
    ({"ja": "ア\nンナ"}, "spoken_name.ja", None),
])
def test_an_engineers_spoken_names_are_checked_per_language(value, field, reason):
    _directory, errors = parse(with_change("engineers", 0, spoken_name=value))
    assert [e.field for e in errors] == [field]
    if reason:
        assert errors[0].reason == reason


def test_an_engineers_spoken_name_is_said_in_its_language_only():
    directory, errors = parse(with_change("engineers", 0, spoken_name={"ja": "アンナ"}))
    [anna] = [e for e in directory.engineers if e.spoken_name]
    assert errors == [] and (anna.name_in("ja"), anna.name_in("de")) == ("アンナ", anna.name)
