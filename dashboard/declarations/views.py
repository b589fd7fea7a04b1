"""Declare a payment to customs (finance, managers), and ask where its declarations stand."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import url_for
from flask_login import current_user

from dashboard.auth.access import roles
from dashboard.auth.forms import EmptyForm
from dashboard.declarations.forms import DeclarationForm
from dashboard.declarations.models import Declaration
from dashboard.declarations.service import CUSTOMS_AUTHORITIES
from dashboard.declarations.service import declaration_result
from dashboard.declarations.service import declare_payment
from dashboard.declarations.service import last_merchant_customs
from dashboard.declarations.service import new_declaration_request_id
from dashboard.declarations.service import refresh_declarations
from dashboard.declarations.service import why_not_declarable
from dashboard.declarations.states import DeclarationRefused
from dashboard.declarations.states import DuplicateDeclaration
from dashboard.extensions import db
from dashboard.forms import confirm_first
from dashboard.forms import earlier_submit
from dashboard.htmx import form_done
from dashboard.htmx import render_form
from dashboard.i18n import gettext as _
from dashboard.i18n import ngettext
from dashboard.payments.models import Payment

bp = Blueprint("declarations", __name__, url_prefix="/payments")


def _form(payment: Payment) -> DeclarationForm:
    form = DeclarationForm()
    form.set_up(payment.currency, CUSTOMS_AUTHORITIES)
    return form


def _declare_page(payment: Payment, form: DeclarationForm, *, confirming: bool = False):
    """Answer with the declaration page (for htmx its form block): 422 while the form has errors."""
    return render_form(
        "declarations/declare.html",
        "declare_form",
        form,
        payment=payment,
        form=form,
        refusal=why_not_declarable(payment),
        authorities=CUSTOMS_AUTHORITIES,
        confirming=confirming,
    )


@bp.get("/<int:payment_id>/declare")
@roles("finance", "manager")
def declare_form(payment_id: int):
    """Show the declaration form with its request id (or why the payment cannot be declared)."""
    payment = db.get_or_404(Payment, payment_id)
    form = _form(payment)
    form.request_id.data = new_declaration_request_id()
    form.amount.show(payment.amount)
    # The merchant's registration at customs rarely changes: offer the one declared last.
    last = last_merchant_customs(db.session)
    if last is not None:
        form.merchant_customs_code.data, form.merchant_customs_name.data = last
    return _declare_page(payment, form)


@bp.post("/<int:payment_id>/declare")
@roles("finance", "manager")
def declare(payment_id: int):
    """Check the form, show what will be declared, and once confirmed send it to the provider."""
    payment = db.get_or_404(Payment, payment_id)
    form = _form(payment)
    earlier = earlier_submit(Declaration.request_id, form.request_id.data, Declaration.payment_id, payment_id)
    if earlier is not None:
        return _declared(earlier, again=True)
    return confirm_first(
        form,
        lambda confirming: _declare_page(payment, form, confirming=confirming),
        lambda: _send(payment, form),
        lambda: _fits(payment, form),
    )


def _fits(payment: Payment, form: DeclarationForm) -> None:
    """Put why the payment cannot be declared, or the amount is too much, beside the fields."""
    refusal = why_not_declarable(payment)
    if refusal is not None:
        form.amount.errors.append(_("It cannot be declared: %(why)s.", why=refusal))
    elif form.amount.money.minor > payment.amount_minor:
        form.amount.errors.append(_("The declared amount cannot be more than the payment's."))


def _send(payment: Payment, form: DeclarationForm):
    """Declare as the confirmed form says; answer with what became of it."""
    try:
        declaration = declare_payment(
            payment.id,
            form.request_id.data,
            form.customs_code.data,
            form.merchant_customs_code.data,
            form.merchant_customs_name.data,
            form.amount.money,
            actor_id=current_user.id,
        )
    except DuplicateDeclaration:
        # A double click that overtook the check in the view: the first submit declared it.
        return _declared(
            earlier_submit(Declaration.request_id, form.request_id.data, Declaration.payment_id, payment.id),
            again=True,
        )
    except DeclarationRefused as refused:
        form.amount.errors.append(_("It cannot be declared: %(why)s.", why=refused))
        return _declare_page(db.get_or_404(Payment, payment.id), form)
    return _declared(declaration)


def _declared(declaration: Declaration, *, again: bool = False):
    if again:
        flash(_("This form was sent already; nothing was sent again."), "info")
    flash(*declaration_result(declaration))
    return form_done(url_for("payments.detail", payment_id=declaration.payment_id) + "#declarations")


@bp.post("/<int:payment_id>/declarations/refresh")
@roles("finance", "manager")
def refresh(payment_id: int):
    """Ask the provider now where the payment's open declarations stand (audited by the service)."""
    db.get_or_404(Payment, payment_id)
    if EmptyForm().validate_on_submit():
        still_open = refresh_declarations(payment_id)
        flash(
            ngettext(
                "Asked the provider: %(num)d declaration still waiting.",
                "Asked the provider: %(num)d declarations still waiting.",
                still_open,
            )
            if still_open
            else _("Asked the provider: every declaration has its answer."),
            "info",
        )
    return redirect(url_for("payments.detail", payment_id=payment_id) + "#declarations")
