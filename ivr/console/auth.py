"""Signing in and out of the console, with failed attempts limited per engineer and per address."""
from __future__ import annotations

import math

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from ivr.adapters.directory.staff_accounts import FAILURE_LIMIT, FAILURE_WINDOW

from . import accounts, end_session, start_session

bp = Blueprint("auth", __name__)

REFUSED = "Wrong engineer ID or password."
"""The same words for an unknown engineer and a wrong password: the form does not tell which ids exist."""


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Show the sign-in form; on POST check the password and begin a session."""
    if request.method == "GET":
        if session.get("engineer"):
            return redirect(url_for("console.desk.index"))
        return render_template("console/sign_in.html", engineer="", message=None), 200
    ident = request.form.get("engineer", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr
    services = current_app.extensions["ivr"]
    engineer = services.store.engineer(ident) if ident and len(ident) <= 64 else None
    known = ident if engineer is not None else None  # unknown ids are counted by address only: bounded keys
    wait = accounts().attempt(known, address)
    if wait:
        minutes = math.ceil(wait / 60)
        message = (f"Too many failed sign-ins for this engineer or from this address ({FAILURE_LIMIT} in "
                   f"{FAILURE_WINDOW // 60} minutes). Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
        response = current_app.make_response((render_template("console/sign_in.html", engineer=ident,
                                                               message=message), 429))
        response.headers["Retry-After"] = str(wait)
        return response
    # Checked even for an unknown engineer, against a stand-in hash: a refusal takes as long either way.
    if not accounts().check(known, password) or not engineer.active:
        return render_template("console/sign_in.html", engineer=ident, message=REFUSED), 401
    accounts().succeeded(ident, address)
    start_session(ident)
    return redirect(url_for("console.desk.index"))


@bp.post("/sign-out")
def sign_out():
    end_session()
    return redirect(url_for("console.auth.sign_in"))
