"""The payments list and its CSV export, one payment's page (both live), its refund and cancel forms."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import stream_with_context
from flask import url_for
from flask_login import current_user
from sqlalchemy import select

from dashboard.auth.access import roles
from dashboard.db import reads_only
from dashboard.declarations.service import declarations_of
from dashboard.declarations.service import why_not_declarable
from dashboard.errors import render_error
from dashboard.events.kinds import ObjectType
from dashboard.events.service import created_after
from dashboard.events.service import latest_event_id
from dashboard.extensions import db
from dashboard.forms import confirm_first
from dashboard.forms import earlier_submit
from dashboard.forms import refusal_beside
from dashboard.htmx import form_done
from dashboard.htmx import render_form
from dashboard.htmx import render_page
from dashboard.i18n import gettext as _
from dashboard.listing import NEW_ROWS_CAP
from dashboard.listing import Cursor
from dashboard.listing import fields_to_refresh
from dashboard.listing import filter_args
from dashboard.listing import filter_problems
from dashboard.listing import new_rows_bar
from dashboard.listing import no_rows_page
from dashboard.listing import rendered_after
from dashboard.listing import shown_rows
from dashboard.listing import valid_filters
from dashboard.money import format_money
from dashboard.payments import export
from dashboard.payments.cancels import cancel_payment
from dashboard.payments.cancels import cancel_result
from dashboard.payments.cancels import cancel_window_ends
from dashboard.payments.cancels import new_cancel_request_id
from dashboard.payments.cancels import why_no_cancel
from dashboard.payments.changes import CancelRefused
from dashboard.payments.changes import DuplicateCancel
from dashboard.payments.forms import CancelForm
from dashboard.payments.forms import PaymentFilterForm
from dashboard.payments.forms import RefundForm
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.queries import LISTED_COLUMNS
from dashboard.payments.queries import PaymentFilter
from dashboard.payments.queries import found_payments
from dashboard.payments.queries import payment_conditions
from dashboard.payments.queries import payment_detail
from dashboard.payments.queries import payment_page
from dashboard.payments.refunds import RefundEligibility
from dashboard.payments.refunds import approval_threshold
from dashboard.payments.refunds import needs_approval
from dashboard.payments.refunds import new_refund_request_id
from dashboard.payments.refunds import refund_eligibility
from dashboard.payments.refunds import refund_payment
from dashboard.payments.refunds import refund_preview
from dashboard.payments.refunds import refund_result
from dashboard.payments.refunds import refund_summary
from dashboard.payments.states import DuplicateRefund
from dashboard.payments.states import RefundExceedsBalance
from dashboard.payments.states import RefundRefused
from dashboard.settlements.queries import settlement_of_payment

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.get("/")
@reads_only
@roles("viewer")
def index():
    """List payments matching the filters and search, newest first, one keyset page at a time.

    Invalid filters are explained beside their fields and list nothing, never every payment.
    """
    form = PaymentFilterForm(request.args)
    zone = current_app.config["DISPLAY_TIMEZONE"]
    before = Cursor.parse(request.args.get("before"))
    filters = valid_filters(form, PaymentFilter)
    page = payment_page(db.session, filters, zone, before) if filters else no_rows_page(db.session)
    return render_page(
        "payments/index.html",
        "results",
        form=form,
        page=page,
        deeper=before is not None,
        query_args=filter_args(request.args),
        latest_event_id=page.live_from,
        refreshed_fields=fields_to_refresh(form),
    )


@bp.get("/new")
@reads_only
@roles("viewer")
def new_rows():
    """Answer the list's "N new payments" bar: payments created after the page's event cursor
    (``after``) that its filters match, and how many more do not."""
    form = PaymentFilterForm(request.args)
    filters = valid_filters(form, PaymentFilter)
    conditions = None
    if filters:
        zone = current_app.config["DISPLAY_TIMEZONE"]
        conditions = payment_conditions(db.session, filters, zone, found_payments(db.session, filters))
    new_ids = created_after(db.session, ObjectType.PAYMENT, rendered_after(), NEW_ROWS_CAP + 1)
    return new_rows_bar(db.session, "payments/index.html", Payment.id, new_ids, conditions)


@bp.get("/rows")
@reads_only
@roles("viewer")
def rows():
    """Re-render the list rows of the payments ``id`` names, as they are now."""
    return shown_rows(db.session, "payments/index.html", LISTED_COLUMNS, Payment.id)


@bp.get("/export.csv")
@roles("viewer")
def export_csv():
    """Download every payment matching the list's filters as CSV, streamed; the export is audited.

    Invalid filters export nothing (422 with what is wrong), never every payment.
    """
    form = PaymentFilterForm(request.args)
    filters = valid_filters(form, PaymentFilter)
    if filters is None:
        problems = filter_problems(form)
        return render_error(
            422,
            _("Nothing was exported, because the filters have a problem (%(problems)s).", problems=problems),
        )
    zone = current_app.config["DISPLAY_TIMEZONE"]
    export.record_export(db.session, filter_args(request.args))
    rows = export.csv_text(db.session, filters, zone)
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
    return render_page(
        "payments/detail.html",
        "detail",
        detail=shown,
        latest_event_id=cursor,
        declarations=declarations_of(db.session, payment_id),
        declare_refusal=why_not_declarable(shown.payment),
        settlement=settlement_of_payment(db.session, payment_id),
    )


@bp.get("/refunds/<int:refund_id>")
@roles("viewer")
def refund_detail(refund_id: int):
    """Send the reader to the refund's row on its payment's page (a refund has no page of its own)."""
    payment_id = db.session.scalar(select(Refund.payment_id).where(Refund.id == refund_id)) or abort(404)
    return redirect(url_for("payments.detail", payment_id=payment_id, _anchor=f"refund-{refund_id}"))


def _refund_page(
    payment: Payment, eligibility: RefundEligibility, form: RefundForm, *, confirming: bool = False
):
    """Answer with the refund page (for htmx its form block): 422 while the form has errors."""
    return render_form(
        "payments/refund.html",
        "refund_form",
        form,
        payment=payment,
        eligibility=eligibility,
        form=form,
        confirming=confirming,
        threshold=approval_threshold(payment.currency),
        waits=confirming and needs_approval(form.amount.money),
        summary=confirming and refund_summary(payment, form.amount.money),
    )


def _refund_form(payment: Payment) -> RefundForm:
    form = RefundForm()
    form.set_up(payment.currency, current_app.config["REFUND_REASONS"])
    return form


@bp.get("/<int:payment_id>/refund")
@roles("support")
def refund_form(payment_id: int):
    """Show the refund preview (asking the provider what it offers now) and the form, with its request id."""
    payment, eligibility = refund_preview(payment_id) or abort(404)
    form = _refund_form(payment)
    form.request_id.data = new_refund_request_id()
    if eligibility.refundable.minor:
        form.amount.show(eligibility.refundable)
    return _refund_page(payment, eligibility, form)


@bp.post("/<int:payment_id>/refund")
@roles("support")
def refund(payment_id: int):
    """Check the form, show exactly what will happen, and once confirmed refund or ask for approval."""
    payment = db.get_or_404(Payment, payment_id)
    form = _refund_form(payment)
    earlier = earlier_submit(Refund.request_id, form.request_id.data, Refund.payment_id, payment_id)
    if earlier is not None:
        return _refund_done(earlier)
    eligibility = refund_eligibility(db.session, payment)
    return confirm_first(
        form,
        lambda confirming: _refund_page(payment, eligibility, form, confirming=confirming),
        lambda: _send_refund(payment, form),
        lambda: _refund_fits(form, eligibility),
    )


def _send_refund(payment: Payment, form: RefundForm):
    """Refund as the confirmed form says (or ask for approval); answer with what became of it."""
    try:
        refund = refund_payment(
            payment.id,
            form.amount.money,
            form.reason.data,
            form.request_id.data,
            note=form.note.data or None,
            actor_id=current_user.id,
        )
    except DuplicateRefund:
        # A double click that overtook the check above: the first submit asked for the refund.
        return _refund_done(
            earlier_submit(Refund.request_id, form.request_id.data, Refund.payment_id, payment.id)
        )
    except RefundRefused as refused:
        # Another refund took the balance between the check above and the locked one.
        eligibility = refund_eligibility(db.session, db.get_or_404(Payment, payment.id))
        if isinstance(refused, RefundExceedsBalance):
            form.amount.errors.append(
                _("At most %(amount)s can be refunded now.", amount=format_money(eligibility.refundable))
            )
        else:
            form.amount.errors.append(_("%(why)s.", why=str(refused).capitalize()))
        return _refund_page(payment, eligibility, form)
    flash(*refund_result(refund))
    return form_done(url_for("payments.detail", payment_id=payment.id))


def _refund_done(refund: Refund):
    flash(_("This form was sent already; nothing was sent again."), "info")
    flash(*refund_result(refund))
    return form_done(url_for("payments.detail", payment_id=refund.payment_id))


def _refund_fits(form: RefundForm, eligibility: RefundEligibility) -> bool:
    """Check the amount against the preview, and a refund in flight against an explicit yes."""
    amount, refundable = form.amount.money, eligibility.refundable
    if not refundable.minor:
        form.amount.errors.append(_("Nothing can be refunded now: %(why)s.", why=eligibility.why_not))
    elif amount.minor > refundable.minor:
        form.amount.errors.append(
            _("At most %(amount)s can be refunded now.", amount=format_money(refundable))
        )
    elif not eligibility.partial and amount.minor != refundable.minor:
        form.amount.errors.append(
            _("Only the whole %(amount)s can be refunded now.", amount=format_money(refundable))
        )
    if eligibility.open_refunds and not form.also_in_flight.data:
        waiting = format_money(eligibility.in_flight)
        form.also_in_flight.errors.append(
            _(
                "Refunds of %(amount)s are in flight or awaiting approval: "
                "tick this if this one is needed too.",
                amount=waiting,
            )
        )
    return not form.errors


def _cancel_page(payment: Payment, form: CancelForm, refusal: str | None, *, confirming: bool = False):
    """Answer with the cancel page (for htmx its form block): 422 while the form has errors."""
    return render_form(
        "payments/cancel.html",
        "cancel_form",
        form,
        payment=payment,
        form=form,
        refusal=refusal,
        confirming=confirming,
        window_ends=cancel_window_ends(payment),
    )


@bp.get("/<int:payment_id>/cancel")
@roles("support")
def cancel_form(payment_id: int):
    """Show whether the payment can be cancelled and, if so, the form with its request id."""
    payment = db.get_or_404(Payment, payment_id)
    form = CancelForm()
    form.request_id.data = new_cancel_request_id()
    return _cancel_page(payment, form, why_no_cancel(db.session, payment))


@bp.post("/<int:payment_id>/cancel")
@roles("support")
def cancel(payment_id: int):
    """Check the form, show what the cancel does, and once confirmed send it."""
    payment = db.get_or_404(Payment, payment_id)
    form = CancelForm()
    earlier = earlier_submit(Cancel.request_id, form.request_id.data, Cancel.payment_id, payment_id)
    if earlier is not None:
        return _cancel_done(earlier, again=True)
    refusal = why_no_cancel(db.session, payment)
    return confirm_first(
        form,
        lambda confirming: _cancel_page(payment, form, refusal, confirming=confirming),
        lambda: _send_cancel(payment, form),
        refusal_beside(form.reason, refusal, _("It cannot be cancelled")),
    )


def _send_cancel(payment: Payment, form: CancelForm):
    """Cancel as the confirmed form says; answer with what became of it."""
    try:
        cancelled = cancel_payment(
            payment.id, form.request_id.data, form.reason.data, actor_id=current_user.id
        )
    except DuplicateCancel:
        return _cancel_done(
            earlier_submit(Cancel.request_id, form.request_id.data, Cancel.payment_id, payment.id), again=True
        )
    except CancelRefused as refused:
        form.reason.errors.append(_("It cannot be cancelled: %(why)s.", why=refused))
        return _cancel_page(payment, form, str(refused))
    return _cancel_done(cancelled)


def _cancel_done(cancel: Cancel, *, again: bool = False):
    if again:
        flash(_("This form was sent already; nothing was sent again."), "info")
    flash(*cancel_result(cancel))
    return form_done(url_for("payments.detail", payment_id=cancel.payment_id))
