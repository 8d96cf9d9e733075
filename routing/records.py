"""Directory records from the CRM's JSON document: parsed whole, or refused with every fault."""
from __future__ import annotations

import re
import reprlib
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data

from .model import CASE_STATUSES, CASE_TYPES, LANGUAGES, SEVERITIES, Account, Case, Engineer
from .plans import PLAN_NAMES

SECTIONS = ("accounts", "engineers", "cases")
FIELDS = {
    "accounts": ("id", "name", "plan", "partner", "maintenance_expires", "timezone", "country"),
    "engineers": ("id", "name", "languages", "regions", "client", "phone", "active", "spoken_name"),
    "cases": ("number", "account", "type", "severity", "status", "engineer"),
}
"""Every field a record may carry: any other is most likely a typo (`time_zone`) and is named."""

CASE_NUMBER = re.compile(r"^[0-9]{8}\Z")  # \Z: "$" would let a trailing newline through
E164 = re.compile(r"^\+[1-9][0-9]{6,14}\Z")
COUNTRY = re.compile(r"^[A-Z]{2}\Z")
RECORD_ID = re.compile(r"^[A-Za-z0-9._@-]{1,64}\Z")
"""Account and engineer ids end up in Redis keys, URLs and HTTP headers: plain ASCII only."""
RECORD_ID_RULE = "1 to 64 ASCII letters, digits and . _ - @"
CLIENT_IDENTITY = re.compile(r"^[A-Za-z0-9_.@-]{1,121}\Z")
"""Twilio Client identities; Twilio asks for letters, digits and underscores, so stay close to that."""
CLIENT_IDENTITY_RULE = "1 to 121 ASCII letters, digits and _ - . @"
NAME_LENGTH = 100
REFUSED_IN_NAMES = {"Cc": "a control character", "Cs": "a lone surrogate",
                    "Zl": "a line separator", "Zp": "a paragraph separator"}
"""Names are spoken in <Say>, so any script is fine; these break TwiML, headers or log lines."""
NAME_RULE = "names may hold any letters, digits, punctuation and spaces, but no control characters, " \
            "line or paragraph separators, surrogates or noncharacters"
SURROGATE = re.compile(r"[\ud800-\udfff]")

_shortened = reprlib.Repr()
_shortened.maxstring = _shortened.maxother = 100  # a 64-character id is still shown whole


def shown(value: object) -> str:
    """Quote a value for a message, shortened and escaped: records may hold megabytes or controls."""
    return _shortened.repr(value)


def unquoted(text: str) -> str:
    """Return text as a message may print it: controls and surrogates escaped, long text shortened."""
    return shown(text)[1:-1]


@dataclass(frozen=True)
class RecordError:
    """One bad field of one record, said so an operator can find and fix it."""

    section: str
    index: int | None
    ident: str | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = self.section if self.index is None else f"{self.section}[{self.index}]"
        if self.ident:
            where += f" ({unquoted(self.ident)})"
        return f"{where}: {unquoted(self.field)}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class Directory:
    accounts: list[Account] = field(default_factory=list)
    engineers: list[Engineer] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.accounts) + len(self.engineers) + len(self.cases)


@lru_cache(maxsize=1)
def holiday_countries() -> frozenset[str]:
    """Return the ISO codes of the countries whose public holidays the `holidays` library knows."""
    return frozenset(holiday_data.list_supported_countries())


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _noncharacter(char: str) -> bool:
    point = ord(char)
    return 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE


def name_fault(name: str) -> str | None:
    """Say what makes a display name unusable, or None when it is fine."""
    if len(name) > NAME_LENGTH:
        return f"has {len(name)} characters; at most {NAME_LENGTH}"
    for char in name:
        what = REFUSED_IN_NAMES.get(unicodedata.category(char))
        if what is None and _noncharacter(char):
            what = "a noncharacter"  # U+FFFE and kin: not allowed in XML
        if what:
            return f"contains U+{ord(char):04X} ({what}); {NAME_RULE}"
    return None


def _has_surrogate(value: object) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and SURROGATE.search(v) for v in values)


_SAID = object()
"""A field already reported as not text: no other message about it."""


class _Checker:
    def __init__(self, section: str, index: int, record: object, lenient: bool = False):
        self.section, self.index = section, index
        self.record = record if isinstance(record, dict) else {}
        ident = self.record.get("number" if section == "cases" else "id")
        self.ident = ident if isinstance(ident, str) else None
        self.errors: list[RecordError] = []
        self.warnings: list[RecordError] = []
        self.shapeless = not isinstance(record, dict)
        if self.shapeless:
            self.fail("", f"must be a JSON object, not {type(record).__name__}")
        self.unknown_fields(lenient)

    def fail(self, name: str, reason: str) -> None:
        self.errors.append(RecordError(self.section, self.index, self.ident, name, reason))

    def unknown_fields(self, lenient: bool) -> None:
        """Name each field the section does not have: an error, or a warning when lenient."""
        expected = ", ".join(FIELDS[self.section])
        for name in self.record:
            if name in FIELDS[self.section]:
                continue
            if lenient:
                self.warnings.append(RecordError(self.section, self.index, self.ident, name,
                                                 f"unknown field, ignored; expected one of {expected}"))
            else:
                self.fail(name, f"unknown field; expected one of {expected}")

    def get(self, name: str) -> object:
        """Return a field's value (None when absent), or _SAID once a lone surrogate in it is reported."""
        value = self.record.get(name)
        if _has_surrogate(value):
            self.fail(name, f"{shown(value)} holds a lone surrogate, which is not text (it has no UTF-8 form)")
            return _SAID
        return value

    def text(self, name: str, *, required=True, pattern=None, hint="",
             check: Callable[[str], str | None] | None = None) -> str | None:
        value = self.get(name)
        if value is _SAID:
            return None
        if value is None:
            if required:
                self.fail(name, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(name, "must be a non-empty string")
            return None
        if pattern and not pattern.match(value):
            self.fail(name, f"{shown(value)} {hint}")
            return None
        fault = check(value) if check else None
        if fault:
            self.fail(name, f"{shown(value)} {fault}")
            return None
        return value

    def choice(self, name: str, options: Collection, *, required=True):
        value = self.get(name)
        if value is _SAID:
            return None
        if value is None:
            if required:
                self.fail(name, f"is required (one of {', '.join(map(str, options))})")
            return None
        if isinstance(value, bool | float) or value not in options:  # 2.0 == 2, but is no severity
            self.fail(name, f"{shown(value)} is not one of {', '.join(map(str, options))}")
            return None
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if value is None or value is _SAID:
            return default
        if not isinstance(value, bool):
            self.fail(name, f"{shown(value)} must be true or false")
            return default
        return value

    def codes(self, name: str, options: Collection[str]) -> tuple[str, ...]:
        value = self.get(name)
        if value is _SAID:
            return ()
        if not isinstance(value, list) or not value:
            self.fail(name, "must be a non-empty list")
            return ()
        bad = [v for v in value if v not in options]
        if bad:
            self.fail(name, f"{', '.join(map(shown, bad))} not among {', '.join(options)}")
        return tuple(dict.fromkeys(v for v in value if v in options))


def _record_id(c: _Checker, name: str, *, required=True) -> str | None:
    return c.text(name, required=required, pattern=RECORD_ID, hint=f"is not a usable id: use {RECORD_ID_RULE}")


def _account(c: _Checker) -> Account | None:
    ident = _record_id(c, "id")
    name = c.text("name", required=False, check=name_fault) or ident
    plan = c.choice("plan", PLAN_NAMES)
    partner = c.flag("partner", False)
    expires = None
    raw = c.get("maintenance_expires")
    if raw is not None and raw is not _SAID:
        try:
            expires = date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            expires = None
        if expires is None:
            c.fail("maintenance_expires", f"{shown(raw)} is not a date like 2027-06-30")
    tz = c.text("timezone", required=False)
    if tz is not None and not valid_timezone(tz):
        c.fail("timezone", f"{shown(tz)} is not an IANA time zone such as Europe/Berlin")
    country = c.text("country", required=False, pattern=COUNTRY,
                     hint="is not an ISO 3166 country code such as DE")
    if country is not None and country not in holiday_countries():
        c.fail("country", f"{shown(country)} is not a country whose public holidays are known; "
                          "leave it out and the line's holidays apply")
    if c.errors:
        return None
    return Account(ident, name, plan, partner, expires, tz, country)


def _engineer(c: _Checker, regions: Collection[str]) -> Engineer | None:
    ident = _record_id(c, "id")
    name = c.text("name", required=False, check=name_fault) or ident
    languages = c.codes("languages", LANGUAGES)
    served = c.codes("regions", tuple(regions))
    client = c.text("client", required=False, pattern=CLIENT_IDENTITY,
                    hint=f"is not a usable Twilio Client identity: use {CLIENT_IDENTITY_RULE}")
    phone = c.text("phone", required=False, pattern=E164, hint="is not an E.164 number like +4930123456")
    if c.record.get("client") is None and c.record.get("phone") is None:
        c.fail("client", "an engineer needs a client identity, a phone number, or both")
    active = c.flag("active", True)
    spoken = _spoken_name(c)
    if c.errors:
        return None
    return Engineer(ident, name, languages, served, client, phone, active, spoken)


def _spoken_name(c: _Checker) -> dict[str, str]:
    """Return an engineer's name as each language's voice says it: {"ja": "アンナ・ウェーバー"}."""
    value = c.get("spoken_name")
    if value is None or value is _SAID:
        return {}
    if not isinstance(value, dict):
        c.fail("spoken_name", f"{shown(value)} must be an object of language code to name, like {{\"ja\": \"アンナ\"}}")
        return {}
    spoken = {}
    for language, name in value.items():
        if language not in LANGUAGES:
            c.fail(f"spoken_name.{unquoted(str(language))}", f"is not one of the languages {', '.join(LANGUAGES)}")
        elif not isinstance(name, str) or not name.strip():
            c.fail(f"spoken_name.{language}", "must be a non-empty string")
        elif fault := name_fault(name):
            c.fail(f"spoken_name.{language}", f"{shown(name)} {fault}")
        else:
            spoken[language] = name
    return spoken


def _case(c: _Checker, accounts: Collection[str], engineers: Collection[str],
          later: Callable[[str, str], None]) -> Case | None:
    """Check a case; a reference not known yet is handed to `later`, as its record may come further on."""
    number = c.text("number", pattern=CASE_NUMBER, hint="is not an 8-digit case number")
    account = _record_id(c, "account")
    if account is not None and account not in accounts:
        later("account", account)
    kind = c.choice("type", CASE_TYPES)
    severity = c.choice("severity", SEVERITIES)
    status = c.choice("status", CASE_STATUSES)
    engineer = _record_id(c, "engineer", required=False)
    if engineer is not None and engineer not in engineers:
        later("engineer", engineer)
    if c.errors:
        return None
    return Case(number, account, kind, severity, status, engineer)


class DocumentCheck:
    """Check a directory document record by record, as a stream gives them, keeping only what the check needs.

    A case may refer to an account or engineer that comes later in the document: such a reference is settled
    in `finish`. Errors are then in document order of sections (accounts, engineers, cases) and records.
    """

    def __init__(self, regions: Collection[str], known_accounts: Collection[str] = (),
                 known_engineers: Collection[str] = (), *, lenient: bool = False):
        self.regions, self.lenient = tuple(regions), lenient
        self.errors: list[RecordError] = []
        self.warnings: list[RecordError] = []
        self.ids = {"accounts": set(known_accounts), "engineers": set(known_engineers)}
        self._seen: dict[str, dict] = {section: {} for section in SECTIONS}
        self._sections_seen: set[str] = set()
        self._complete: set[str] = set()
        self._pending: list[tuple[int, str | None, str, str]] = []
        """Cases' references to records not seen yet: (index, case number, field, id)."""
        self.counts = dict.fromkeys(SECTIONS, 0)

    def section(self, key: str, is_list: bool) -> bool:
        """Note a top-level key of the document; return whether its records are to be checked."""
        if key not in SECTIONS:
            self.errors.append(RecordError("document", None, None, key,
                                           f"unknown section; expected {', '.join(SECTIONS)}"))
            return False
        if key in self._sections_seen:
            self.errors.append(RecordError(key, None, None, "", "appears twice in the document; give it once"))
            return False
        self._sections_seen.add(key)
        if not is_list:
            self.errors.append(RecordError(key, None, None, "", "must be a list"))
        return is_list

    def not_an_object(self) -> None:
        self.errors.append(RecordError("document", None, None, "",
                                       "must be a JSON object with accounts, engineers and cases"))

    def record(self, section: str, index: int, raw: object) -> Account | Engineer | Case | None:
        """Check one record; return it when it is good so far, else None with its faults noted."""
        self.counts[section] += 1
        if section == "cases":
            case = self._quick_case(raw)
            if case is not None:
                return case
        c = _Checker(section, index, raw, self.lenient)
        if c.shapeless:  # not an object: said once
            record = None
        elif section == "accounts":
            record = _account(c)
        elif section == "engineers":
            record = _engineer(c, self.regions)
        else:
            record = _case(c, self.ids["accounts"], self.ids["engineers"], self._later(c))
        if section != "cases" and c.ident is not None:
            self.ids[section].add(c.ident)
        self._unique(c, section)
        self.errors.extend(c.errors)
        self.warnings.extend(c.warnings)
        return None if c.errors else record

    def _unique(self, c: _Checker, section: str) -> None:
        if c.ident is None:
            return
        seen = self._seen[section]
        key = _compact(c.ident) if section == "cases" else c.ident
        first = seen.setdefault(key, c.index)
        if first != c.index:
            c.fail("number" if section == "cases" else "id", f"{shown(c.ident)} also appears at {section}[{first}]")

    def end(self, section: str) -> None:
        """Note that a section's records are all checked: references to it are settled from now on."""
        self._complete.add(section)

    def _later(self, c: _Checker) -> Callable[[str, str], None]:
        def defer(name: str, ident: str) -> None:
            if ("accounts" if name == "account" else "engineers") in self._complete:
                c.fail(name, f"{shown(ident)} is not a known {name}")
            else:
                self._pending.append((c.index, c.ident, name, ident))
        return defer

    def _quick_case(self, raw: object) -> Case | None:
        """Return a well-formed case at once, or None to have the full check say what is wrong with it."""
        if type(raw) is not dict or not _CASE_FIELDS.issuperset(raw):
            return None
        number, account, engineer = raw.get("number"), raw.get("account"), raw.get("engineer")
        severity, kind, status = raw.get("severity"), raw.get("type"), raw.get("status")
        if not (type(number) is str and CASE_NUMBER.match(number)
                and type(account) is str and account in self.ids["accounts"] and RECORD_ID.match(account)
                and (engineer is None or type(engineer) is str and engineer in self.ids["engineers"]
                     and RECORD_ID.match(engineer))
                and type(severity) is int and severity in SEVERITIES
                and type(kind) is str and kind in _CASE_TYPES and type(status) is str and status in _CASE_STATUSES):
            return None
        index = self.counts["cases"] - 1
        if self._seen["cases"].setdefault(int(number), index) != index:
            return None
        return Case(number, account, kind, severity, status, engineer)

    def finish(self) -> None:
        """Settle references to records that came later, and put the errors in document order."""
        for index, number, name, ident in self._pending:
            if ident not in self.ids["accounts" if name == "account" else "engineers"]:
                self.errors.append(RecordError("cases", index, number, name, f"{shown(ident)} is not a known {name}"))
        self._pending.clear()
        self.errors.sort(key=_place)
        self.warnings.sort(key=_place)


_SECTION_RANK = {"document": -1, **{section: i for i, section in enumerate(SECTIONS)}}
_FIELD_RANK = {section: {name: i for i, name in enumerate(names)} for section, names in FIELDS.items()}


def _place(error: RecordError) -> tuple[int, int, int]:
    """Order faults as the document has them: by section, record, then field (its shape and unknown fields first,
    as the check finds them)."""
    field_rank = _FIELD_RANK.get(error.section, {}).get(error.field.split(".")[0], -1)
    return _SECTION_RANK[error.section], -1 if error.index is None else error.index, field_rank


_CASE_FIELDS = frozenset(FIELDS["cases"])
_CASE_TYPES = frozenset(CASE_TYPES)
_CASE_STATUSES = frozenset(CASE_STATUSES)


def _compact(number: str) -> int | str:
    """Key a case number by its integer when it is a valid one: a million of them then fit in far less memory."""
    return int(number) if CASE_NUMBER.match(number) else number


def parse_document(
    document: object,
    regions: Collection[str],
    known_accounts: Collection[str] = (),
    known_engineers: Collection[str] = (),
    *,
    lenient: bool = False,
) -> tuple[Directory, list[RecordError], list[RecordError]]:
    """Parse a directory document into records, errors and warnings; any error means store none of it.

    Cases may refer to accounts and engineers in the document or already stored. An unknown
    field in a record is an error, or only a warning when `lenient` (an unknown section is
    always an error: it would drop a whole section).
    """
    check = DocumentCheck(regions, known_accounts, known_engineers, lenient=lenient)
    directory = Directory()
    if not isinstance(document, dict):
        check.not_an_object()
        return directory, check.errors, []
    for key, value in document.items():
        check.section(key, isinstance(value, list))
    for section, records in zip(SECTIONS, (directory.accounts, directory.engineers, directory.cases), strict=True):
        value = document.get(section, [])
        for index, raw in enumerate(value if isinstance(value, list) else ()):
            record = check.record(section, index, raw)
            if record is not None:
                records.append(record)
        check.end(section)
    check.finish()
    return directory, check.errors, check.warnings
