"""The agreements list, one agreement's page (both update live), and its revoke and charge forms."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import request
from flask import url_for
from flask_login import current_user

from dashboard.agreements import service
from dashboard.agreements.forms import AgreementFilterForm
from dashboard.agreements.forms import ChargeForm
from dashboard.agreements.forms import RevokeForm
from dashboard.agreements.models import Agreement
from dashboard.agreements.queries import LISTED_COLUMNS
from dashboard.agreements.queries import AgreementFilter
from dashboard.agreements.queries import agreement_conditions
from dashboard.agreements.queries import agreement_detail
from dashboard.agreements.queries import agreement_page
from dashboard.agreements.queries import found_agreements
from dashboard.agreements.queries import revoke_refused
from dashboard.agreements.service import AgreementRefused
from dashboard.auth.access import roles
from dashboard.db import reads_only
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
from dashboard.listing import new_rows_bar
from dashboard.listing import no_rows_page
from dashboard.listing import rendered_after
from dashboard.listing import shown_rows
from dashboard.listing import valid_filters
from dashboard.payments import service as payments
from dashboard.payments.models import Payment

bp = Blueprint("agreements", __name__, url_prefix="/agreements")


@bp.get("/")
@reads_only
@roles("viewer")
def index():
    """List agreements matching the filters and search, one keyset page at a time.

    Newest first; the expiring ones soonest to run out first.

    Invalid filters are explained beside their fields and list nothing, never every agreement.
    """
    form = AgreementFilterForm(request.args)
    before = Cursor.parse(request.args.get("before"))
    filters = valid_filters(form, AgreementFilter)
    page = agreement_page(db.session, filters, before) if filters else no_rows_page(db.session)
    return render_page(
        "agreements/index.html",
        "results",
        form=form,
        page=page,
        deeper=before is not None,
        soonest=bool(filters and filters.expiring),
        query_args=filter_args(request.args),
        latest_event_id=page.live_from,
        refreshed_fields=fields_to_refresh(form),
    )


@bp.get("/new")
@reads_only
@roles("viewer")
def new_rows():
    """Answer the list's "N new agreements" bar: agreements created after the page's event cursor
    (``after``) that its filters match, and how many more do not."""
    form = AgreementFilterForm(request.args)
    filters = valid_filters(form, AgreementFilter)
    conditions = agreement_conditions(filters, found_agreements(db.session, filters)) if filters else None
    new_ids = created_after(db.session, ObjectType.AGREEMENT, rendered_after(), NEW_ROWS_CAP + 1)
    return new_rows_bar(db.session, "agreements/index.html", Agreement.id, new_ids, conditions)


@bp.get("/rows")
@reads_only
@roles("viewer")
def rows():
    """Re-render the list rows of the agreements ``id`` names, as they are now."""
    return shown_rows(db.session, "agreements/index.html", LISTED_COLUMNS, Agreement.id)


@bp.get("/<int:agreement_id>")
@roles("viewer")
def detail(agreement_id: int):
    """Show one agreement: wallet, customer, masked token, expiry, revoke, payments and timeline."""
    cursor = latest_event_id(db.session)
    shown = agreement_detail(db.session, agreement_id) or abort(404)
    return render_page("agreements/detail.html", "detail", detail=shown, latest_event_id=cursor)


def _revoke_page(agreement: Agreement, form: RevokeForm, refusal: str | None, *, confirming: bool = False):
    """Answer with the revoke page (for htmx its form block): 422 while the form has errors."""
    asked = agreement.revoke_requested_at is not None and refusal is None
    return render_form(
        "agreements/revoke.html",
        "revoke_form",
        form,
        agreement=agreement,
        form=form,
        refusal=refusal,
        confirming=confirming,
        asked_before=asked,
        refused_before=asked and revoke_refused(db.session, agreement.id),
    )


@bp.get("/<int:agreement_id>/revoke")
@roles("support")
def revoke_form(agreement_id: int):
    """Show whether the agreement can be revoked and, if so, the form asking why."""
    agreement = db.get_or_404(Agreement, agreement_id)
    return _revoke_page(agreement, RevokeForm(), agreement.revoke_refusal)


@bp.post("/<int:agreement_id>/revoke")
@roles("support")
def revoke(agreement_id: int):
    """Check the reason, show exactly what the revoke does, and once confirmed send it."""
    agreement = db.get_or_404(Agreement, agreement_id)
    form = RevokeForm()
    refusal = agreement.revoke_refusal
    return confirm_first(
        form,
        lambda confirming: _revoke_page(agreement, form, refusal, confirming=confirming),
        lambda: _send_revoke(agreement_id, form),
        refusal_beside(form.reason, refusal, _("It cannot be revoked")),
    )


def _send_revoke(agreement_id: int, form: RevokeForm):
    """Revoke as the confirmed form says; answer with what became of it."""
    try:
        revoked = service.revoke(agreement_id, form.reason.data, actor_id=current_user.id)
    except AgreementRefused as refused:
        form.reason.errors.append(_("It cannot be revoked: %(why)s.", why=refused))
        return _revoke_page(db.get_or_404(Agreement, agreement_id), form, str(refused))
    flash(*service.revoke_result(revoked, revoke_refused(db.session, agreement_id)))
    return form_done(url_for("agreements.detail", agreement_id=agreement_id))


def _charge_page(agreement: Agreement, form: ChargeForm, refusal: str | None, *, confirming: bool = False):
    """Answer with the charge page (for htmx its form block): 422 while the form has errors."""
    return render_form(
        "agreements/charge.html",
        "charge_form",
        form,
        agreement=agreement,
        form=form,
        refusal=refusal,
        confirming=confirming,
    )


@bp.get("/<int:agreement_id>/charge")
@roles("support")
def charge_form(agreement_id: int):
    """Show whether the agreement can be charged and, if so, the form with its request id."""
    agreement = db.get_or_404(Agreement, agreement_id)
    form = ChargeForm()
    form.request_id.data = payments.new_charge_request_id()
    form.currency.data = current_app.config["ANTOM_SETTLEMENT_CURRENCY"]
    return _charge_page(agreement, form, agreement.charge_refusal)


@bp.post("/<int:agreement_id>/charge")
@roles("support")
def charge(agreement_id: int):
    """Check the charge, show exactly what will be taken, and once confirmed debit the customer's wallet."""
    agreement = db.get_or_404(Agreement, agreement_id)
    form = ChargeForm()
    earlier = earlier_submit(Payment.request_id, form.request_id.data, Payment.agreement_id, agreement_id)
    if earlier is not None:
        return _charge_done(earlier, again=True)
    refusal = agreement.charge_refusal
    return confirm_first(
        form,
        lambda confirming: _charge_page(agreement, form, refusal, confirming=confirming),
        lambda: _send_charge(agreement_id, form),
        refusal_beside(form.amount, refusal, _("It cannot be charged")),
    )


def _send_charge(agreement_id: int, form: ChargeForm):
    """Debit the agreement as the confirmed form says; answer with what became of the payment."""
    try:
        payment = payments.charge_agreement(
            agreement_id,
            form.amount.money,
            form.description.data,
            request_id=form.request_id.data,
            merchant_reference=form.merchant_reference.data or None,
            actor_id=current_user.id,
        )
    except payments.DuplicateCharge as duplicate:
        # A double click that overtook the check above: the first submit made the payment.
        return _charge_done(db.session.get(Payment, duplicate.payment_id), again=True)
    except payments.PaymentRefused as refused:
        form.amount.errors.append(_("It cannot be charged: %(why)s.", why=refused))
        return _charge_page(db.get_or_404(Agreement, agreement_id), form, str(refused))
    return _charge_done(payment)


def _charge_done(payment: Payment, *, again: bool = False):
    if again:
        flash(_("This form was sent already; nothing was charged again."), "info")
    flash(*payments.charge_result(payment))
    return form_done(url_for("payments.detail", payment_id=payment.id))
