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

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@roles("viewer", "admin", inherit=False)
def index():
    """List audit entries matching the filters, one keyset page at a time."""
    form = AuditFilterForm(request.args)
    filters = AuditFilter()
    if form.validate():
        filters = AuditFilter(**{name: form[name].data or None for name in AuditFilter.__dataclass_fields__})
    before = request.args.get("before", type=int)
    entries, next_cursor = audit_page(db.session, filters, current_app.config["DISPLAY_TIMEZONE"], before)
    query_args = {key: value for key, value in request.args.items() if key != "before" and value}
    return render_page(
        "audit/index.html",
        "results",
        form=form,
        entries=entries,
        next_cursor=next_cursor,
        query_args=query_args,
    )
