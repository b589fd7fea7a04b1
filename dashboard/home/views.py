"""Landing page and health check."""

from __future__ import annotations

from flask import Blueprint
from flask import jsonify

from dashboard.auth.access import any_staff
from dashboard.auth.access import public
from dashboard.home.service import check_health
from dashboard.htmx import render_page

bp = Blueprint("home", __name__)


@bp.get("/")
@any_staff
def index():
    """Show what this user can do and how the system is."""
    return render_page("home/index.html", health=check_health())


@bp.get("/healthz")
@public
def healthz():
    """Report database state, queue depth and the worker heartbeat; 503 only without a database."""
    health = check_health()
    response = jsonify(health.as_dict())
    response.status_code = 200 if health.database_ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
