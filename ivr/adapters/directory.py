"""Loading the CRM's directory document: check it whole, then store it in one transaction."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from routing.records import Directory, RecordError, parse_document

from .store import Store

MAX_DIGITS = 100
"""Digits a JSON integer may have: no directory field needs more, and Python's int limit
(4,300 digits by default, 640 at the lowest setting) would otherwise end a load in a traceback."""


@dataclass
class LoadResult:
    directory: Directory
    errors: list[RecordError] = field(default_factory=list)
    warnings: list[RecordError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class DocumentError(ValueError):
    pass


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise DocumentError(f"a number with too many digits ({digits}; at most {MAX_DIGITS})")
    return int(text)


def _constant(name: str):
    raise DocumentError(f"{name} is not a JSON number (only finite numbers are accepted)")


def read_document(text: str | bytes) -> object:
    """Parse a JSON document, or raise DocumentError saying where it is broken."""
    try:
        return json.loads(text, parse_int=_integer, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text: {exc}") from None
    except RecursionError:
        raise DocumentError("nested too deeply (arrays or objects inside one another beyond "
                            "what a directory needs)") from None


def load_document(
    store: Store,
    document: object,
    regions,
    progress: Callable[[int], None] | None = None,
    *,
    lenient: bool = False,
) -> LoadResult:
    """Store every record of a document, or none of them when any record is bad.

    With `lenient`, unknown fields in records are returned as warnings instead of errors.
    """
    accounts, engineers = store.known_ids()
    directory, errors, warnings = parse_document(document, regions, accounts, engineers, lenient=lenient)
    if errors:
        return LoadResult(directory, errors, warnings)
    store.save(directory, progress)
    return LoadResult(directory, [], warnings)
