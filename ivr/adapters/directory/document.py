"""Loading the CRM's directory document: check it whole, then store it.

A document of a million cases is read as a stream, record by record, and the checked cases wait
in a spool file: memory holds what the check needs (the ids seen), never the whole document.
"""
from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from routing.records import SECTIONS, Directory, DocumentCheck, RecordError, parse_document

from .store import CaseSpool, Store

MAX_DIGITS = 100
"""Digits a JSON integer may have: no directory field needs more, and Python's int limit
(4,300 digits by default, 640 at the lowest setting) would otherwise end a load in a traceback."""


@dataclass
class LoadResult:
    directory: Directory
    errors: list[RecordError] = field(default_factory=list)
    warnings: list[RecordError] = field(default_factory=list)
    counts: dict[str, int] | None = None
    """Records in the document by section (the cases of a streamed one are not in `directory`)."""

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


READ_SIZE = 1 << 20
"""Bytes read from the document at a time."""
_SPACE = re.compile(r"[ \t\n\r]*")
_NEAR_END = 8
"""A parse error this close to the end of what is read may be a record cut by the read: read on and retry."""


class _Stream:
    """A JSON document read piece by piece, parsed by the standard library's C scanner one value at a time."""

    def __init__(self, file: BinaryIO, progress: Callable[[int], None] | None = None):
        self.file, self.progress = file, progress
        self.decoder = json.JSONDecoder(parse_int=_integer, parse_constant=_constant)
        self.text, self.pos, self.eof, self.bytes = "", 0, False, 0
        self.line, self.column = 1, 0
        """Where `text` begins in the document: lines and the characters before it on its first line."""
        head = b""
        while len(head) < 4 and (more := file.read(4 - len(head))):  # json tells UTF-8, -16 and -32 by 4 bytes
            head += more
        # As json.loads reads bytes: lone surrogates pass, for the check to name the field that holds one.
        self.unicode = codecs.getincrementaldecoder(json.detect_encoding(head) if head else "utf-8")("surrogatepass")
        self._take(head)

    def _take(self, data: bytes) -> None:
        pending = len(self.unicode.getstate()[0])
        try:
            decoded = self.unicode.decode(data, final=not data)
        except UnicodeDecodeError as exc:  # said as reading it whole says it, at its place in the document
            at = self.bytes - pending + exc.start
            where = f"byte 0x{exc.object[exc.start]:02x} in position {at}" if exc.end - exc.start == 1 \
                else f"bytes in position {at}-{at + exc.end - exc.start - 1}"
            raise DocumentError(f"not UTF-8 text: '{exc.encoding}' codec can't decode {where}: {exc.reason}") from None
        self.bytes += len(data)
        if not data:
            self.eof = True
        if self.progress and data:
            self.progress(len(data))
        if self.pos > len(self.text) // 2:  # drop what is parsed, now and then: copying it each time is quadratic
            dropped = self.text[:self.pos]
            lines = dropped.count("\n")
            self.line += lines
            self.column = len(dropped) - dropped.rfind("\n") - 1 if lines else self.column + len(dropped)
            self.text, self.pos = self.text[self.pos:], 0
        self.text += decoded

    def _more(self) -> bool:
        """Read on; False at the end of the document."""
        if self.eof:
            return False
        # A value longer than what is held doubles the read, so one huge value is parsed a few times, not many.
        self._take(self.file.read(max(READ_SIZE, len(self.text) - self.pos)))
        return True

    def fault(self, message: str, pos: int) -> DocumentError:
        before = self.text[:pos]
        lines = before.count("\n")
        column = pos - before.rfind("\n") if lines else self.column + pos + 1
        return DocumentError(f"not valid JSON: {message} at line {self.line + lines}, column {column}")

    def peek(self) -> str:
        """Return the next character after white space ("" at the end), standing on it."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self._more():
                return self.text[self.pos:self.pos + 1]

    def expect(self, char: str, message: str) -> None:
        if self.peek() != char:
            raise self.fault(message, self.pos)
        self.pos += 1

    def value(self) -> object:
        """Parse the value that starts here, after white space."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.text) - _NEAR_END or exc.msg.startswith("Unterminated string")
                if cut and self._more():
                    continue
                raise self.fault(exc.msg, exc.pos) from None
            except RecursionError:
                raise DocumentError("nested too deeply (arrays or objects inside one another beyond "
                                    "what a directory needs)") from None
            # A number may go on in what is not read yet ("0." stops at the point, "1e" at the e): read on.
            if end > len(self.text) - _NEAR_END and self._more():
                continue
            self.pos = end
            return value

    def rest(self) -> str:
        """Return the document from here to its end."""
        while self._more():
            pass
        return self.text[self.pos:]


def check_stream(file: BinaryIO, check: DocumentCheck, spool: CaseSpool | None = None,
                 progress: Callable[[int], None] | None = None) -> Directory:
    """Read a directory document from a binary file and check each record as it comes.

    Return its accounts and engineers; its cases go to `spool` while no fault is found. Raise
    DocumentError when it is not JSON. `progress` is given the bytes read.
    """
    stream, directory = _Stream(file, progress), Directory()
    kept = {"accounts": directory.accounts, "engineers": directory.engineers}
    if stream.peek() != "{":
        if not stream.peek():
            raise stream.fault("Expecting value", stream.pos)
        if not isinstance(read_document(stream.rest()), dict):  # valid JSON, but no object: or says where not
            check.not_an_object()
        return directory
    stream.pos += 1
    while stream.peek() != "}":
        if stream.peek() != '"':
            raise stream.fault("Expecting property name enclosed in double quotes", stream.pos)
        key = stream.value()
        stream.expect(":", "Expecting ':' delimiter")
        if stream.peek() != "[":
            stream.value()
            check.section(key, is_list=False)
        elif not check.section(key, is_list=True):
            stream.value()  # a section not checked is still parsed, so a broken one is said
        else:
            _records(stream, check, key, spool, kept)
        if stream.peek() == "}":
            break
        stream.expect(",", "Expecting ',' delimiter")
        if stream.peek() == "}":  # json.loads refuses a trailing comma too
            raise stream.fault("Expecting property name enclosed in double quotes", stream.pos)
    stream.pos += 1
    if stream.peek():
        raise stream.fault("Extra data", stream.pos)
    for section in SECTIONS:
        check.end(section)
    check.finish()
    return directory


def _records(stream: _Stream, check: DocumentCheck, section: str, spool: CaseSpool | None, kept: dict) -> None:
    """Check the records of a section's list, standing on its "["."""
    stream.pos += 1
    index = 0
    if stream.peek() != "]":
        while True:
            record = check.record(section, index, stream.value())
            if record is None:
                pass
            elif section != "cases":
                kept[section].append(record)
            elif spool is not None and not check.errors:  # after a fault nothing is stored: no need to keep them
                spool.add(record)
            index += 1
            if stream.peek() == "]":
                break
            stream.expect(",", "Expecting ',' delimiter")
    stream.pos += 1
    check.end(section)


class LoadProgress(Protocol):
    """What a load reports as it goes: bytes read while checking, then the records to store and those stored."""

    def read(self, count: int) -> None: ...
    def checked(self, records: int) -> None: ...
    def stored(self, count: int) -> None: ...


def load_file(store: Store, file: BinaryIO, regions, *, lenient: bool = False,
              progress: LoadProgress | None = None) -> LoadResult:
    """Check a directory document read from a file, then store every record, or none when any is bad."""
    accounts, engineers = store.known_ids()
    check = DocumentCheck(regions, accounts, engineers, lenient=lenient)
    with CaseSpool() as spool:
        directory = check_stream(file, check, spool, progress.read if progress else None)
        if check.errors:
            return LoadResult(directory, check.errors, check.warnings, counts=check.counts)
        if progress:
            progress.checked(len(directory) + spool.count)
        store.save(directory, progress.stored if progress else None)
        store.save_cases(spool, progress.stored if progress else None)
    return LoadResult(directory, [], check.warnings, counts=check.counts)
