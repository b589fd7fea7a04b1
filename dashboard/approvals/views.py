"""The approvals queue for managers: approve or reject what others asked for, with a comment."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import url_for
from flask_login import current_user

from dashboard.approvals.forms import DecisionForm
from dashboard.approvals.kinds import ApprovalRefused
from dashboard.approvals.kinds import Waiting
from dashboard.approvals.service import QUEUE_SHOWN
from dashboard.approvals.service import decide
from dashboard.approvals.service import waiting
from dashboard.approvals.service import waiting_one
from dashboard.auth.access import roles
from dashboard.db import reads_only
from dashboard.events.queries import staff_names
from dashboard.extensions import db
from dashboard.forms import confirm_first
from dashboard.htmx import form_done
from dashboard.htmx import render_form
from dashboard.htmx import render_page
from dashboard.i18n import gettext as _
from dashboard.templating import waiting_at

bp = Blueprint("approvals", __name__, url_prefix="/approvals")


@bp.get("/")
@reads_only
@roles("manager")
def index():
    """List the requests waiting longest for a second person, oldest first, each with its decision form."""
    items = waiting(db.session)
    return render_page(
        "approvals/index.html",
        items=items,
        total=waiting_at("approvals.index") if len(items) == QUEUE_SHOWN else len(items),
        forms={item.key: DecisionForm(formdata=None, prefix=item.key) for item in items},
        names=staff_names(db.session, [item.requested_by_id for item in items]),
    )


@bp.post("/<kind>/<int:request_id>")
@roles("manager")
def decision(kind: str, request_id: int):
    """Check a decision, show what it will do, and once confirmed approve (sending it) or reject."""
    item = waiting_one(db.session, kind, request_id)
    if item is None:
        flash(_("That request is not waiting any more: another manager decided on it."), "error")
        return form_done(url_for("approvals.index"))
    form = DecisionForm(prefix=item.key)
    return confirm_first(
        form,
        lambda confirming: _decision_form(item, form, confirming=confirming),
        lambda: _decide(item, form),
    )


def _decide(item: Waiting, form: DecisionForm):
    """Approve or reject as the confirmed form says; answer with what happened."""
    try:
        flash(
            *decide(
                item.kind, item.id, approve=form.approves, actor_id=current_user.id, comment=form.comment.data
            )
        )
    except ApprovalRefused as refused:
        cannot = _("It cannot be approved") if form.approves else _("It cannot be rejected")
        form.comment.errors.append(_("%(cannot)s: %(refusal)s.", cannot=cannot, refusal=refused))
        return _decision_form(item, form)
    return form_done(url_for("approvals.index"))


def _decision_form(item: Waiting, form: DecisionForm, *, confirming: bool = False):
    """Answer with the queue page (for htmx the request's own block): 422 while the form has errors."""
    return render_form(
        "approvals/index.html",
        "approval",
        form,
        item=item,
        form=form,
        confirming=confirming,
        names=staff_names(db.session, [item.requested_by_id]),
    )
