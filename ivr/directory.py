"""Loading the CRM's directory document: check it whole, then store it in one transaction."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from routing.records import Directory, RecordError, parse_document

from .store import Store


@dataclass
class LoadResult:
    directory: Directory
    errors: list[RecordError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class DocumentError(ValueError):
    pass


def read_document(text: str | bytes) -> object:
    """Parse a JSON document, or raise DocumentError saying where it is broken."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text: {exc}") from None


def load_document(
    store: Store,
    document: object,
    regions,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Store every record of a document, or none of them when any record is bad."""
    accounts, engineers = store.known_ids()
    directory, errors = parse_document(document, regions, accounts, engineers)
    if errors:
        return LoadResult(directory, errors)
    store.save(directory, progress)
    return LoadResult(directory)
