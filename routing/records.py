"""Directory records from the CRM's JSON document: parsed whole, or refused with every fault."""
from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .model import CASE_STATUSES, CASE_TYPES, LANGUAGES, SEVERITIES, Account, Case, Engineer
from .plans import PLAN_NAMES

SECTIONS = ("accounts", "engineers", "cases")
CASE_NUMBER = re.compile(r"^[0-9]{8}\Z")  # \Z: "$" would let a trailing newline through
E164 = re.compile(r"^\+[1-9][0-9]{6,14}\Z")


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
            where += f" ({self.ident})"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class Directory:
    accounts: list[Account] = field(default_factory=list)
    engineers: list[Engineer] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.accounts) + len(self.engineers) + len(self.cases)


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class _Checker:
    def __init__(self, section: str, index: int, record: object):
        self.section, self.index = section, index
        self.record = record if isinstance(record, dict) else {}
        ident = self.record.get("number" if section == "cases" else "id")
        self.ident = ident if isinstance(ident, str) else None
        self.errors: list[RecordError] = []
        if not isinstance(record, dict):
            self.fail("", f"must be a JSON object, not {type(record).__name__}")

    def fail(self, name: str, reason: str) -> None:
        self.errors.append(RecordError(self.section, self.index, self.ident, name, reason))

    def text(self, name: str, *, required=True, pattern=None, hint="") -> str | None:
        value = self.record.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(name, "must be a non-empty string")
            return None
        if pattern and not pattern.match(value):
            self.fail(name, f"{value!r} {hint}")
            return None
        return value

    def choice(self, name: str, options: Collection, *, required=True):
        value = self.record.get(name)
        if value is None:
            if required:
                self.fail(name, f"is required (one of {', '.join(map(str, options))})")
            return None
        if isinstance(value, bool | float) or value not in options:  # 2.0 == 2, but is no severity
            self.fail(name, f"{value!r} is not one of {', '.join(map(str, options))}")
            return None
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.record.get(name, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(name, f"{value!r} must be true or false")
            return default
        return value

    def codes(self, name: str, options: Collection[str]) -> tuple[str, ...]:
        value = self.record.get(name)
        if not isinstance(value, list) or not value:
            self.fail(name, "must be a non-empty list")
            return ()
        bad = [v for v in value if v not in options]
        if bad:
            self.fail(name, f"{', '.join(map(repr, bad))} not among {', '.join(options)}")
        return tuple(dict.fromkeys(v for v in value if v in options))


def _account(c: _Checker) -> Account | None:
    ident = c.text("id")
    name = c.text("name", required=False) or ident
    plan = c.choice("plan", PLAN_NAMES)
    partner = c.flag("partner", False)
    expires = None
    raw = c.record.get("maintenance_expires")
    if raw is not None:
        try:
            expires = date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            expires = None
        if expires is None:
            c.fail("maintenance_expires", f"{raw!r} is not a date like 2027-06-30")
    tz = c.text("timezone", required=False)
    if tz is not None and not valid_timezone(tz):
        c.fail("timezone", f"{tz!r} is not an IANA time zone such as Europe/Berlin")
    if c.errors:
        return None
    return Account(ident, name, plan, partner, expires, tz)


def _engineer(c: _Checker, regions: Collection[str]) -> Engineer | None:
    ident = c.text("id")
    name = c.text("name", required=False) or ident
    languages = c.codes("languages", LANGUAGES)
    served = c.codes("regions", tuple(regions))
    client = c.text("client", required=False)
    phone = c.text("phone", required=False, pattern=E164, hint="is not an E.164 number like +4930123456")
    if c.record.get("client") is None and c.record.get("phone") is None:
        c.fail("client", "an engineer needs a client identity, a phone number, or both")
    active = c.flag("active", True)
    if c.errors:
        return None
    return Engineer(ident, name, languages, served, client, phone, active)


def _case(c: _Checker, accounts: Collection[str], engineers: Collection[str]) -> Case | None:
    number = c.text("number", pattern=CASE_NUMBER, hint="is not an 8-digit case number")
    account = c.text("account")
    if account is not None and account not in accounts:
        c.fail("account", f"{account!r} is not a known account")
    kind = c.choice("type", CASE_TYPES)
    severity = c.choice("severity", SEVERITIES)
    status = c.choice("status", CASE_STATUSES)
    engineer = c.text("engineer", required=False)
    if engineer is not None and engineer not in engineers:
        c.fail("engineer", f"{engineer!r} is not a known engineer")
    if c.errors:
        return None
    return Case(number, account, kind, severity, status, engineer)


def parse_document(
    document: object,
    regions: Collection[str],
    known_accounts: Collection[str] = (),
    known_engineers: Collection[str] = (),
) -> tuple[Directory, list[RecordError]]:
    """Parse a directory document; any error means the caller must store none of it.

    Cases may refer to accounts and engineers in the document or already stored.
    """
    errors: list[RecordError] = []
    directory = Directory()
    if not isinstance(document, dict):
        return directory, [RecordError("document", None, None, "", "must be a JSON object with accounts, engineers and cases")]
    for key in document:
        if key not in SECTIONS:
            errors.append(RecordError("document", None, None, key, f"unknown section; expected {', '.join(SECTIONS)}"))
    sections = {}
    for section in SECTIONS:
        value = document.get(section, [])
        if not isinstance(value, list):
            errors.append(RecordError(section, None, None, "", "must be a list"))
            value = []
        sections[section] = value

    def unique(section: str, checkers: Iterable[_Checker], key: str) -> None:
        seen: dict[str, int] = {}
        for c in checkers:
            if c.ident is None:
                continue
            if c.ident in seen:
                c.fail(key, f"{c.ident!r} also appears at {section}[{seen[c.ident]}]")
            else:
                seen[c.ident] = c.index

    accounts = [_Checker("accounts", i, r) for i, r in enumerate(sections["accounts"])]
    for c in accounts:
        record = None if c.errors else _account(c)  # not an object: said once
        if record:
            directory.accounts.append(record)
    unique("accounts", accounts, "id")
    engineers = [_Checker("engineers", i, r) for i, r in enumerate(sections["engineers"])]
    for c in engineers:
        record = None if c.errors else _engineer(c, regions)
        if record:
            directory.engineers.append(record)
    unique("engineers", engineers, "id")
    account_ids = set(known_accounts) | {c.ident for c in accounts if c.ident}
    engineer_ids = set(known_engineers) | {c.ident for c in engineers if c.ident}
    cases = [_Checker("cases", i, r) for i, r in enumerate(sections["cases"])]
    for c in cases:
        record = None if c.errors else _case(c, account_ids, engineer_ids)
        if record:
            directory.cases.append(record)
    unique("cases", cases, "number")
    for group in (accounts, engineers, cases):
        for c in group:
            errors.extend(c.errors)
    return directory, errors
