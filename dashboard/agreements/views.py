"""The agreements list and one agreement's page (read-only; both update live)."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import request

from dashboard.agreements.forms import AgreementFilterForm
from dashboard.agreements.queries import AgreementFilter
from dashboard.agreements.queries import agreement_detail
from dashboard.agreements.queries import agreement_page
from dashboard.auth.access import roles
from dashboard.events.service import latest_event_id
from dashboard.extensions import db
from dashboard.htmx import render_page
from dashboard.listing import Cursor
from dashboard.listing import filter_args
from dashboard.listing import read_filters

bp = Blueprint("agreements", __name__, url_prefix="/agreements")


@bp.get("/")
@roles("viewer")
def index():
    """List agreements matching the filters and search, newest first, one keyset page at a time."""
    form = AgreementFilterForm(request.args)
    # The cursor is read before the rows, so every change after it reaches the page live.
    cursor = latest_event_id(db.session)
    before = Cursor.parse(request.args.get("before"))
    agreements, next_cursor = agreement_page(db.session, read_filters(form, AgreementFilter), before)
    return render_page(
        "agreements/index.html",
        "results",
        form=form,
        agreements=agreements,
        next_cursor=next_cursor,
        deeper=before is not None,
        query_args=filter_args(request.args),
        latest_event_id=cursor,
    )


@bp.get("/<int:agreement_id>")
@roles("viewer")
def detail(agreement_id: int):
    """Show one agreement: wallet, customer, masked token, expiry, revoke, payments and timeline."""
    cursor = latest_event_id(db.session)
    shown = agreement_detail(db.session, agreement_id) or abort(404)
    return render_page("agreements/detail.html", "detail", detail=shown, latest_event_id=cursor)
