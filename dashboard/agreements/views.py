"""The agreements list, one agreement's page (both update live), and its revoke form."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import request
from flask import url_for
from flask_login import current_user

from dashboard.agreements import service
from dashboard.agreements.forms import AgreementFilterForm
from dashboard.agreements.forms import RevokeForm
from dashboard.agreements.models import Agreement
from dashboard.agreements.queries import AgreementFilter
from dashboard.agreements.queries import agreement_detail
from dashboard.agreements.queries import agreement_page
from dashboard.agreements.queries import revoke_refused
from dashboard.agreements.service import AgreementRefused
from dashboard.agreements.states import why_not_revocable
from dashboard.auth.access import roles
from dashboard.events.service import latest_event_id
from dashboard.extensions import db
from dashboard.htmx import form_done
from dashboard.htmx import render_form
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
    return _revoke_page(agreement, RevokeForm(), why_not_revocable(agreement.status))


@bp.post("/<int:agreement_id>/revoke")
@roles("support")
def revoke(agreement_id: int):
    """Check the reason, show exactly what the revoke does, and once confirmed send it."""
    agreement = db.get_or_404(Agreement, agreement_id)
    form = RevokeForm()
    refusal = why_not_revocable(agreement.status)
    valid = form.validate_on_submit()
    if refusal is not None:
        form.reason.errors.append(f"It cannot be revoked: {refusal}.")
    if form.wants_change or not valid or form.errors:
        return _revoke_page(agreement, form, refusal)
    if not form.is_confirmed:
        return _revoke_page(agreement, form, refusal, confirming=True)
    try:
        revoked = service.revoke(agreement_id, form.reason.data, actor_id=current_user.id)
    except AgreementRefused as refused:
        form.reason.errors.append(f"It cannot be revoked: {refused}.")
        return _revoke_page(db.get_or_404(Agreement, agreement_id), form, str(refused))
    flash(*service.revoke_result(revoked, revoke_refused(db.session, agreement_id)))
    return form_done(url_for("agreements.detail", agreement_id=agreement_id))
