"""Customer landing pages after the AlipayHK shopper page or the Auto Debit consent page (public)."""

from __future__ import annotations

from flask import Blueprint
from flask import abort

from dashboard.auth.access import public
from dashboard.htmx import render_page

bp = Blueprint("checkout", __name__, url_prefix="/checkout")

#: What each landing says; the wallet's own page already told the customer the details.
OUTCOMES = {
    "success": ("Payment received", "Thank you. Your payment was received."),
    "pending": ("Payment pending", "Your payment is being confirmed. You will hear from the shop."),
    "failure": ("Payment not completed", "The payment did not go through. No money was taken."),
    "cancel": ("Payment cancelled", "You cancelled the payment. No money was taken."),
    "authorized": ("Wallet linked", "Thank you. The shop may now debit your wallet as agreed."),
}


@bp.get("/<outcome>")
@public
def result(outcome: str):
    """Tell the customer how it went, in plain words (no staff data, no ids)."""
    if outcome not in OUTCOMES:
        abort(404)
    title, message = OUTCOMES[outcome]
    return render_page("checkout/result.html", title=title, message=message)
