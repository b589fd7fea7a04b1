"""The audit log, filterable, newest first."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import request

from dashboard.audit.forms import AuditFilterForm
from dashboard.audit.queries import AuditFilter
from dashboard.audit.queries import audit_page
from dashboard.auth.access import roles
from dashboard.extensions import db
from dashboard.htmx import render_page
from dashboard.listing import Cursor
from dashboard.listing import filter_args
from dashboard.listing import valid_filters

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@roles("viewer", "admin", inherit=False)
def index():
    """List audit entries matching the filters, one keyset page at a time (none for invalid filters)."""
    form = AuditFilterForm(request.args)
    filters = valid_filters(form, AuditFilter)
    before = Cursor.parse(request.args.get("before"), timed=False)
    zone = current_app.config["DISPLAY_TIMEZONE"]
    entries, next_cursor = audit_page(db.session, filters, zone, before) if filters else ([], None)
    return render_page(
        "audit/index.html",
        "results",
        form=form,
        entries=entries,
        next_cursor=next_cursor,
        deeper=before is not None,
        query_args=filter_args(request.args),
    )
