"""The console's JSON API (`/console/api/*`): what the page polls and posts with `fetch`."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import BadRequest

from . import actions
from .board import desk, softphone_config
from .softphone import TOKEN_TTL, access_token

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/desk")
def desk_state():
    """Everything the page shows, for its live updates."""
    return jsonify(desk(current_app.extensions["ivr"], g.engineer, current_app.config).as_json())


@bp.post("/presence")
def presence():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("state"), str):
        raise BadRequest('Send a JSON object like {"state": "available"}.')
    return jsonify(message=actions.set_presence(g.engineer, body["state"]))


@bp.post("/take-next")
def take_next():
    return jsonify(message=actions.take_next(g.engineer))


@bp.post("/token")
def token():
    """An access token for the softphone: the engineer's Client identity may receive calls, for an hour."""
    jwt = access_token(g.engineer, softphone_config(current_app.config))
    return jsonify(token=jwt, identity=g.engineer.client, expires_in=TOKEN_TTL)
