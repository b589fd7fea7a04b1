"""The payments list and one payment's page (read-only; both update live), and the list's CSV export."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import request
from flask import stream_with_context

from dashboard.auth.access import roles
from dashboard.errors import render_error
from dashboard.events.service import latest_event_id
from dashboard.extensions import db
from dashboard.htmx import is_htmx
from dashboard.htmx import render_page
from dashboard.listing import Cursor
from dashboard.listing import fields_with_new_messages
from dashboard.listing import filter_args
from dashboard.listing import read_filters
from dashboard.listing import url_args
from dashboard.payments import export
from dashboard.payments.forms import PaymentFilterForm
from dashboard.payments.queries import PaymentFilter
from dashboard.payments.queries import payment_detail
from dashboard.payments.queries import payment_page

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.get("/")
@roles("viewer")
def index():
    """List payments matching the filters and search, newest first, one keyset page at a time.

    An invalid filter is explained beside its field and above the rows, and the list is not filtered.
    """
    form = PaymentFilterForm(request.args)
    zone = current_app.config["DISPLAY_TIMEZONE"]
    # The cursor is read before the rows, so every change after it reaches the page live.
    cursor = latest_event_id(db.session)
    before = Cursor.parse(request.args.get("before"))
    payments, next_cursor = payment_page(db.session, read_filters(form, PaymentFilter), zone, before)
    refreshed = []
    if is_htmx():
        # The page shows the messages of the filters in its address; re-render the fields whose
        # messages these filters change.
        shown = PaymentFilterForm(url_args(request.headers.get("HX-Current-URL")))
        shown.validate()
        refreshed = fields_with_new_messages(form, shown)
    return render_page(
        "payments/index.html",
        "results",
        form=form,
        payments=payments,
        next_cursor=next_cursor,
        deeper=before is not None,
        query_args=filter_args(request.args),
        latest_event_id=cursor,
        refreshed_fields=refreshed,
    )


@bp.get("/export.csv")
@roles("viewer")
def export_csv():
    """Download every payment matching the list's filters as CSV, streamed; the export is audited.

    Invalid filters export nothing (422 with what is wrong), never every payment.
    """
    form = PaymentFilterForm(request.args)
    if not form.validate():
        problems = "; ".join(
            f"{form[name].label.text}: {' '.join(errors)}" for name, errors in form.errors.items()
        )
        return render_error(422, f"Nothing was exported, because the filters have a problem ({problems}).")
    zone = current_app.config["DISPLAY_TIMEZONE"]
    export.record_export(db.session, filter_args(request.args))
    rows = export.csv_text(db.session, read_filters(form, PaymentFilter), zone)
    response = Response(stream_with_context(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename(zone)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:payment_id>")
@roles("viewer")
def detail(payment_id: int):
    """Show one payment: amounts, ids, refunds, cancels and its timeline."""
    cursor = latest_event_id(db.session)
    shown = payment_detail(db.session, payment_id) or abort(404)
    return render_page("payments/detail.html", "detail", detail=shown, latest_event_id=cursor)
