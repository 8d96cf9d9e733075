"""`PUT`/`DELETE /api/directory/<accounts|engineers|cases>/<id>`: one record at a time, as `ivr load` checks it.

A PUT carries one record in the SPEC §6 shape and is checked by the very parser `ivr load` uses
(same messages; an unknown field is an error, as without `--lenient`); a case's account and
engineer must be stored. Each change is one Redis transaction (`Store.put`, `Store.delete`). An
account or engineer that cases still refer to is not deleted (409 naming them), as a load never
leaves a case pointing nowhere.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from flask import Blueprint, Response, jsonify, request, url_for

from ivr.adapters.directory.document import DocumentError, read_document
from ivr.adapters.directory.store import DirectoryBusy, MissingReference, StillReferenced, as_json
from routing.records import CASE_NUMBER, RECORD_ID, SECTIONS, RecordError, parse_document, shown

from . import api, error

log = logging.getLogger(__name__)

KIND = {"accounts": "account", "engineers": "engineer", "cases": "case"}
IDENT_FIELD = {"accounts": "id", "engineers": "id", "cases": "number"}
NAMED_CASES = 10
"""Cases a refused delete names in its message; its `cases` list holds up to `LISTED_CASES`."""
LISTED_CASES = 1000

bp = Blueprint("directory", __name__, url_prefix="/directory")


def _section(kind: str) -> str | Response:
    if kind in SECTIONS:
        return kind
    return error(404, f"No directory section {shown(kind)}: use {', '.join(SECTIONS)}.")


def _well_formed(section: str, ident: str) -> bool:
    return bool((CASE_NUMBER if section == "cases" else RECORD_ID).match(ident))


def check(section: str, ident: str, body: object):
    """Check one record as `ivr load` checks a document holding only it; return (record, errors).

    The errors are load's, naming the record by its section and id (a single record has no
    position); a record whose id differs from the URL's is refused naming that field.
    """
    store = api().store
    known: dict[str, set[str]] = {"account": set(), "engineer": set()}
    if section == "cases" and isinstance(body, dict):
        for field in known:
            value = body.get(field)
            if isinstance(value, str) and RECORD_ID.match(value) and store.exists(field, value):
                known[field].add(value)
    directory, errors, _warnings = parse_document({section: [body]}, api().regions, known["account"],
                                                  known["engineer"])
    errors = [replace(e, index=None) for e in errors]
    field = IDENT_FIELD[section]
    given = body.get(field) if isinstance(body, dict) else None
    if isinstance(given, str) and given != ident and not any(e.field == field for e in errors):
        errors.append(RecordError(section, None, given, field, f"{shown(given)} is not the {field} in the URL, "
                                                               f"{shown(ident)}"))
    records = getattr(directory, section)
    return (records[0] if records and not errors else None), errors


def _refused(errors: list[RecordError]) -> Response:
    return error(400, f"refused: {len(errors)} error(s); nothing was stored",
                 errors=[{"message": str(e), "section": e.section, "id": e.ident, "field": e.field,
                          "reason": e.reason} for e in errors])


@bp.put("/<kind>/<ident>", merge_slashes=False)  # a // is a 404 like any unknown path, not a redirect
def put(kind: str, ident: str):
    """Create or replace one record: 201 when it is new, 200 when it replaced one; the stored record either way."""
    section = _section(kind)
    if isinstance(section, Response):
        return section
    if request.mimetype != "application/json":
        return error(415, "Send the record as JSON, with Content-Type: application/json.")
    try:
        body = read_document(request.get_data(cache=False))
    except DocumentError as exc:
        return error(400, str(exc))
    while True:
        record, errors = check(section, ident, body)
        if errors:
            return _refused(errors)
        try:
            created = api().store.put(record)
        except MissingReference:
            continue  # deleted since it was checked: check again, and say so as load would
        break
    log.info("directory API: %s %s/%s", "created" if created else "replaced", section, ident)
    response = jsonify(as_json(record))
    if created:
        response.status_code = 201
        response.headers["Location"] = url_for(".put", kind=section, ident=ident)
    return response


@bp.delete("/<kind>/<ident>", merge_slashes=False)
def delete(kind: str, ident: str):
    """Delete one record: 204, or 404 when there is none; an account or engineer cases refer to is kept (409)."""
    section = _section(kind)
    if isinstance(section, Response):
        return section
    what = f"{KIND[section]} {shown(ident)}"
    try:
        existed = _well_formed(section, ident) and api().store.delete(section, ident)
    except StillReferenced as exc:
        cases = exc.cases
        named = ", ".join(cases[:NAMED_CASES]) + (f" and {len(cases) - NAMED_CASES} more" if len(cases) > NAMED_CASES
                                                  else "")
        return error(409, f"{what} is still the {KIND[section]} of {len(cases)} case(s): {named}; "
                          "delete those cases or give them another first", cases=cases[:LISTED_CASES],
                     count=len(cases))
    except DirectoryBusy:
        response = error(503, f"Cases kept changing while looking for those that refer to {what}; nothing was "
                              "deleted. Try again.")
        response.headers["Retry-After"] = "1"
        return response
    if not existed:
        return error(404, f"No {what} in the directory.")
    log.info("directory API: deleted %s/%s", section, ident)
    return Response(status=204)
