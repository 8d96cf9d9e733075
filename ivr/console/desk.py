"""The engineer's page, readable without JavaScript: presence, queues, the current call, Take next call."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from . import actions
from .board import PRESENCE_CHOICES, desk

bp = Blueprint("desk", __name__)


@bp.get("/")
def index():
    board = desk(current_app.extensions["ivr"], g.engineer, current_app.config)
    return render_template("console/desk.html", desk=board, choices=PRESENCE_CHOICES)


@bp.post("/presence")
def presence():
    """Set presence from the page's form, then show the page again (post/redirect/get)."""
    flash(actions.set_presence(g.engineer, request.form.get("state", "")))
    return redirect(url_for("console.desk.index"))


@bp.post("/take-next")
def take_next():
    flash(actions.take_next(g.engineer))
    return redirect(url_for("console.desk.index"))
