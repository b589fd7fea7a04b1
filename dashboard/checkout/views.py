"""Customer landing pages after the AlipayHK shopper page or the Auto Debit consent page (public)."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import request

from dashboard.agreements import service as agreements
from dashboard.auth.access import public
from dashboard.i18n import browser_language
from dashboard.i18n import in_language
from dashboard.i18n import lazy_gettext as _l

bp = Blueprint("checkout", __name__, url_prefix="/checkout")

#: What each landing says; the wallet's own page already told the customer the details.
OUTCOMES = {
    "success": (_l("Payment received"), _l("Thank you. Your payment was received.")),
    "pending": (_l("Payment pending"), _l("Your payment is being confirmed. You will hear from the shop.")),
    "failure": (_l("Payment not completed"), _l("The payment did not go through. No money was taken.")),
    "cancel": (_l("Payment cancelled"), _l("You cancelled the payment. No money was taken.")),
    "authorized": (_l("Wallet linked"), _l("Thank you. The shop may now debit your wallet as agreed.")),
}
#: The outcome the consult's ``authRedirectUrl`` names.
AUTHORIZED = "authorized"
#: What a link that is none of the above says (mistyped or made up).
UNKNOWN = (_l("Page not found"), _l("This is not a page the shop sends customers to. Check the link."))


@bp.get("/<outcome>")
@public
def result(outcome: str):
    """Tell the customer how it went, in plain words (no staff data, no ids, no session).

    The wallet's return to ``authorized`` carries ``authCode`` and ``authState``: the agreement they
    name is activated from them (whether or not Antom also notifies us). The page reads the same
    either way, so it tells nobody whether a state they tried names an agreement.
    """
    if outcome == AUTHORIZED:
        state = request.args.get("authState")
        agreements.customer_returned(request.args.get("authCode"), state)
        # A storefront that started the agreement names its own page to come back to. Only the
        # holder of the state (128 random bits, made for this customer) is sent there.
        storefront = agreements.return_url_of(state)
        if storefront is not None:
            return redirect(storefront, 303)
    title, message = OUTCOMES.get(outcome, UNKNOWN)
    status = 200 if outcome in OUTCOMES else 404
    # Rendered without the app's context processors: Flask-Login's would load a signed-in staff
    # member from the cookie (and may rewrite it) for a page that is none of their business.
    # For the same reason the page reads in the browser's language, never a staff member's choice.
    page = current_app.jinja_env.get_template("checkout/result.html")
    with in_language(browser_language()):
        return page.render(title=title, message=message), status
