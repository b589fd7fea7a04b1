"""The audit log, filterable, newest first."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import request

from dashboard.audit.forms import AuditFilterForm
from dashboard.audit.models import AuditLog
from dashboard.audit.queries import AuditFilter
from dashboard.audit.queries import audit_conditions
from dashboard.audit.queries import audit_page
from dashboard.auth.access import roles
from dashboard.db import reads_only
from dashboard.extensions import db
from dashboard.htmx import render_page
from dashboard.listing import Cursor
from dashboard.listing import filter_args
from dashboard.listing import keys_after
from dashboard.listing import new_rows_bar
from dashboard.listing import newest_key
from dashboard.listing import rendered_after
from dashboard.listing import valid_filters

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@reads_only
@roles("viewer", "admin", inherit=False)
def index():
    """List audit entries matching the filters, one keyset page at a time (none for invalid filters)."""
    form = AuditFilterForm(request.args)
    filters = valid_filters(form, AuditFilter)
    before = Cursor.parse(request.args.get("before"), timed=False)
    zone = current_app.config["DISPLAY_TIMEZONE"]
    newest = newest_key(db.session, AuditLog.seq)  # before the rows: later entries reach the bar
    entries, next_cursor = audit_page(db.session, filters, zone, before) if filters else ([], None)
    return render_page(
        "audit/index.html",
        "results",
        form=form,
        newest=newest,
        entries=entries,
        next_cursor=next_cursor,
        deeper=before is not None,
        query_args=filter_args(request.args),
    )


@bp.get("/new")
@reads_only
@roles("viewer", "admin", inherit=False)
def new_rows():
    """Answer the audit log's "N new entries" bar: entries after the page's newest (``after``) that
    its filters match, and how many more do not."""
    form = AuditFilterForm(request.args)
    filters = valid_filters(form, AuditFilter)
    zone = current_app.config["DISPLAY_TIMEZONE"]
    conditions = audit_conditions(filters, zone) if filters else None
    new_keys = keys_after(db.session, AuditLog.seq, rendered_after())
    return new_rows_bar(db.session, "audit/index.html", AuditLog.seq, new_keys, conditions)
