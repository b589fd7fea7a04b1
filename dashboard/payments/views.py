"""The payments list and one payment's page (read-only; both update live)."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import request

from dashboard.auth.access import roles
from dashboard.events.service import latest_event_id
from dashboard.extensions import db
from dashboard.htmx import render_page
from dashboard.listing import Cursor
from dashboard.listing import filter_args
from dashboard.listing import read_filters
from dashboard.payments.forms import PaymentFilterForm
from dashboard.payments.queries import PaymentFilter
from dashboard.payments.queries import payment_detail
from dashboard.payments.queries import payment_page

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.get("/")
@roles("viewer")
def index():
    """List payments matching the filters and search, newest first, one keyset page at a time."""
    form = PaymentFilterForm(request.args)
    # The cursor is read before the rows, so every change after it reaches the page live.
    cursor = latest_event_id(db.session)
    before = Cursor.parse(request.args.get("before"))
    payments, next_cursor = payment_page(db.session, read_filters(form, PaymentFilter), before)
    return render_page(
        "payments/index.html",
        "results",
        form=form,
        payments=payments,
        next_cursor=next_cursor,
        deeper=before is not None,
        query_args=filter_args(request.args),
        latest_event_id=cursor,
    )


@bp.get("/<int:payment_id>")
@roles("viewer")
def detail(payment_id: int):
    """Show one payment: amounts, ids, refunds, cancels and its timeline."""
    cursor = latest_event_id(db.session)
    shown = payment_detail(db.session, payment_id) or abort(404)
    return render_page("payments/detail.html", "detail", detail=shown, latest_event_id=cursor)
