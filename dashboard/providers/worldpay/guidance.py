"""Worldpay codes explained for customer-service staff: what each means, what to do next.

A Worldpay payment keeps the name of its last event (``lastEvent`` or a webhook's type) as its
result code, a refund the event about its reversal (or the refusal code some carry), and a request
Worldpay refused its ``errorName``; the back office adds codes of its own where Worldpay says
nothing (consts ``REVERSAL_NOT_OFFERED``, ``RESOLVED_FROM_RECORDS``, ``NO_FINAL_EVENT``).

Sources, cited per block (§ = worldpay_hkach.md, PART 1): the event names of §1.7 and §1.10.3,
the AlipayHK flow of §1.7.1, the reversal rules of §1.8 and DESIGN §8 "Worldpay refunds", the
error names of §1.9 and its general advice ("a 4xx can be retried safely once the cause is fixed;
a 5xx may be transient"), and the Payment Queries history names in consts. Worldpay's pages give
no staff advice per event: the next steps are ours (*inferred*), written from what each state
means for an AlipayHK sale. Events that belong to other payment methods say so.
"""

from __future__ import annotations

from dashboard.i18n import lazy_gettext as _l
from dashboard.providers.guidance import About
from dashboard.providers.guidance import GuidanceTable
from dashboard.providers.guidance import row
from dashboard.providers.worldpay.consts import NO_FINAL_EVENT
from dashboard.providers.worldpay.consts import RESOLVED_FROM_RECORDS
from dashboard.providers.worldpay.consts import REVERSAL_NOT_OFFERED
from dashboard.providers.worldpay.consts import ErrorName
from dashboard.providers.worldpay.consts import EventName
from dashboard.providers.worldpay.consts import QueryEventName

E = EventName
_NOT_ALIPAY_HK = _l("This event belongs to other payment methods, not AlipayHK sales.")
_ASK_WORLDPAY = _l("contact Worldpay support with this payment's ids")
_NEW_SALE = _l("If the customer still wants to pay, start a new AlipayHK payment (it gets a new reference).")

#: What each event means for a sale, when it is the payment's last event (§1.7, §1.7.1, §1.10.3).
EVENTS = {
    # -- the AlipayHK sale's own path (§1.7.1) ------------------------------------------------------
    E.PENDING: row(
        _l("Waiting for the customer to pay on the AlipayHK page."),
        _l(
            "Nothing to do yet. If the customer says they paid, wait a few minutes: Worldpay's event "
            "arrives, and the back office also asks Worldpay."
        ),
        act=False,
    ),
    E.SENT_FOR_AUTHORIZATION: row(
        _l("Sent to AlipayHK for approval; no answer yet."),
        _l("Nothing to do yet: the result arrives by Worldpay's event."),
        act=False,
    ),
    E.AUTHORIZED: row(
        _l("The customer approved the payment in AlipayHK; Worldpay captures it next."),
        _l("Nothing to do. It can be refunded once captured (sent for settlement); AlipayHK has no cancel."),
        act=False,
    ),
    E.SENT_FOR_SETTLEMENT: row(
        _l("The payment is captured: the money is taken from the customer and on its way to us."),
        _l("Nothing to do. It can be refunded from now on."),
        act=False,
    ),
    E.SETTLED: row(
        _l("Worldpay has paid this payment's money to our account."),
        _l("Nothing to do."),
        act=False,
    ),
    E.SETTLEMENT_INSTRUCTED: row(
        _l("Worldpay has instructed the settlement of this payment."),
        _l("Nothing to do."),
        act=False,
    ),
    E.SETTLEMENT_FAILED: row(
        _l("Worldpay could not settle this payment, so no money is held for it."),
        _l(
            "Do not ask the customer to pay again yet: %(ask_worldpay)s to learn whether the "
            "money was taken from the customer.",
            ask_worldpay=_ASK_WORLDPAY,
        ),
    ),
    E.SETTLEMENT_REJECTED: row(
        _l("Worldpay's settlement of this payment was rejected, so no money is held for it."),
        _l(
            "Do not ask the customer to pay again yet: %(ask_worldpay)s to learn whether the "
            "money was taken from the customer.",
            ask_worldpay=_ASK_WORLDPAY,
        ),
    ),
    E.SETTLEMENT_REVERSED: row(
        _l("Money already settled to us for this payment was taken back."),
        _l("Tell your manager and %(ask_worldpay)s for the reason.", ask_worldpay=_ASK_WORLDPAY),
    ),
    # -- sales that ended without money (§1.7.1; seed 000 calls the shopper's cancel "cancelled") --
    E.REFUSED: row(
        _l(
            "AlipayHK declined the payment (for example the balance or a limit was not enough, or the "
            "account is restricted). Nothing was taken. Worldpay does not give the reason."
        ),
        _l(
            "Ask the customer to check their AlipayHK account (balance, limits) or pay "
            "another way. %(new_sale)s",
            new_sale=_NEW_SALE,
        ),
    ),
    E.REFUSED_BY_ISSUER: row(
        _l("The customer's wallet or bank declined the payment. Nothing was taken."),
        _l(
            "Ask the customer to check their account with their wallet or bank, or pay "
            "another way. %(new_sale)s",
            new_sale=_NEW_SALE,
        ),
    ),
    E.ERROR: row(
        _l("A technical error at Worldpay or AlipayHK stopped the payment. Nothing was taken."),
        _l(
            "%(new_sale)s If errors repeat, %(ask_worldpay)s.", new_sale=_NEW_SALE, ask_worldpay=_ASK_WORLDPAY
        ),
    ),
    E.CANCELLED: row(
        _l("The payment was cancelled before it completed. Nothing was taken."),
        _NEW_SALE,
    ),
    E.CANCELLED_BY_CUSTOMER: row(
        _l("The customer cancelled on the AlipayHK page. Nothing was taken."),
        _l("Ask the customer whether they still want to pay. %(new_sale)s", new_sale=_NEW_SALE),
    ),
    E.EXPIRED: row(
        _l("The payment expired before it was completed. Nothing was taken."),
        _NEW_SALE,
    ),
    # §1.10.3: "APM payment has expired due to customer inactivity".
    E.REQUEST_EXPIRED: row(
        _l("The customer did not finish on the AlipayHK page in time. Nothing was taken."),
        _l("Ask the customer whether they still want to pay. %(new_sale)s", new_sale=_NEW_SALE),
    ),
    E.CANCEL_REQUESTED: row(
        _l("A cancel of this payment was requested at Worldpay."),
        _l("Wait for the next event; AlipayHK payments are normally refunded, not cancelled."),
        act=False,
    ),
    E.CANCEL_FAILED: row(
        _l("A cancel of this payment failed at Worldpay; the payment stands."),
        _l("Refund the payment instead if the customer should get the money back."),
    ),
    # -- refunds, as the sale sees them (each refund keeps its own code) ----------------------------
    E.SENT_FOR_REFUND: row(
        _l("A refund of this payment was sent to AlipayHK and is in process."),
        _l("Nothing to do: the refund's own row shows how it ends."),
        act=False,
    ),
    E.REFUNDED: row(
        _l("A refund of this payment was completed."),
        _l("Nothing to do."),
        act=False,
    ),
    E.REFUND_FAILED: row(
        _l("A refund of this payment failed; that money stayed with us."),
        _l("See the refunds on this page for which one; refund again if the customer is still owed money."),
    ),
    E.REFUND_EXPIRED: row(
        _l("A refund of this payment expired before it was made; that money stayed with us."),
        _l("See the refunds on this page for which one; refund again if the customer is still owed money."),
    ),
    E.REFUND_REVERSED: row(
        _l("A refund already made was reversed: the money came back to us, so the customer may not have it."),
        _l("Tell your manager and %(ask_worldpay)s before refunding again.", ask_worldpay=_ASK_WORLDPAY),
    ),
    # -- disputes (§1.7) -----------------------------------------------------------------------
    E.CHARGED_BACK: row(
        _l("The customer disputed the payment and the money was taken back from us (a chargeback)."),
        _l(
            "Do not refund this payment as well: the customer has the money back. Tell your "
            "manager; if the sale was genuine, %(ask_worldpay)s about challenging it.",
            ask_worldpay=_ASK_WORLDPAY,
        ),
    ),
    E.CHARGEBACK_REVERSED: row(
        _l("The chargeback was reversed: the money is ours again."),
        _l("Nothing to do."),
        act=False,
    ),
    E.DISPUTE_INFORMATION_REQUESTED: row(
        _l("Worldpay asks for information about a dispute of this payment."),
        _l(
            "Tell your manager and send Worldpay the order's evidence (receipt, delivery, messages with "
            "the customer) promptly. Do not refund while the dispute is open."
        ),
    ),
    E.DISPUTE_INFORMATION_SUPPLIED: row(
        _l("Information about the dispute was sent to Worldpay; the dispute waits for a decision."),
        _l("Nothing to do until the decision arrives."),
        act=False,
    ),
    E.DISPUTE_FUNDS_HELD: row(
        _l("The disputed amount is held back from us while the dispute is open."),
        _l("Do not refund while the dispute is open; wait for its outcome."),
    ),
    E.DISPUTE_FUNDS_RELEASED: row(
        _l("The dispute ended in our favour: the held money is released to us."),
        _l("Nothing to do."),
        act=False,
    ),
    E.DISPUTE_RESERVE_RELEASED: row(
        _l("The money held in reserve for the dispute is released to us."),
        _l("Nothing to do."),
        act=False,
    ),
    E.DISPUTE_EXPIRED: row(
        _l("The dispute expired without further action; the payment stands."),
        _l("Nothing to do."),
        act=False,
    ),
    # -- anything else Worldpay can say (§1.7) ------------------------------------------------------
    E.MANUALLY_AMENDED: row(
        _l("Worldpay staff changed this payment by hand."),
        _l(
            "If the status looks wrong, %(ask_worldpay)s to learn what was changed.",
            ask_worldpay=_ASK_WORLDPAY,
        ),
    ),
    E.MISCELLANEOUS: row(
        _l("Worldpay reported something about this payment that it does not classify."),
        _l("If the status looks wrong, %(ask_worldpay)s.", ask_worldpay=_ASK_WORLDPAY),
    ),
    E.UNKNOWN: row(
        _l("Worldpay does not know this payment's state."),
        _l("Wait for the next event; if it stays unknown, %(ask_worldpay)s.", ask_worldpay=_ASK_WORLDPAY),
    ),
    E.SIGNED_FORM_RECEIVED: row(
        _l(
            "Worldpay received a signed form for this payment. %(not_alipay_hk)s",
            not_alipay_hk=_NOT_ALIPAY_HK,
        ),
        _l("Nothing to do; if this is unexpected, %(ask_worldpay)s.", ask_worldpay=_ASK_WORLDPAY),
        act=False,
    ),
    E.TOKEN_CREATED: row(
        _l("Worldpay stored a payment token. %(not_alipay_hk)s", not_alipay_hk=_NOT_ALIPAY_HK),
        _l("Nothing to do; if this is unexpected, %(ask_worldpay)s.", ask_worldpay=_ASK_WORLDPAY),
        act=False,
    ),
    E.TOP_UP_ACCEPTED: row(
        _l("A top-up was accepted. %(not_alipay_hk)s", not_alipay_hk=_NOT_ALIPAY_HK),
        _l("Nothing to do; if this is unexpected, %(ask_worldpay)s.", ask_worldpay=_ASK_WORLDPAY),
        act=False,
    ),
    E.TOP_UP_REJECTED: row(
        _l("A top-up was rejected. %(not_alipay_hk)s", not_alipay_hk=_NOT_ALIPAY_HK),
        _l("If this is unexpected, %(ask_worldpay)s.", ask_worldpay=_ASK_WORLDPAY),
    ),
}

_AS_SENT = _l(
    "Nothing happened at Worldpay. Do not retry as it is: report it to an administrator with this "
    "page's ids (the provider call on the timeline shows what Worldpay objected to)."
)
_CHECK_SETUP = _l("Nothing happened at Worldpay. Do not retry: an administrator checks")
_UNKNOWN_RESULT = _l(
    "Do not start the same payment or refund again: whether it went through is not known. The back "
    "office asks Worldpay about a payment, and waits for Worldpay's event about a refund (a refund "
    "is never sent twice)."
)

#: ``errorName`` values: what Worldpay's refusal of a request means (§1.9).
ERRORS = {
    ErrorName.BODY_DOES_NOT_MATCH_SCHEMA: row(
        _l("Worldpay refused the request: its contents do not match Worldpay's format."), _AS_SENT
    ),
    ErrorName.TRANSACTION_REFERENCE_IS_A_DUPLICATE: row(
        _l(
            "Worldpay refused the request: our reference was already used for another payment. This "
            "request created nothing."
        ),
        _l(
            "If the customer paid, the earlier payment with this reference has the money. Report this to "
            "an administrator: our references should never repeat."
        ),
    ),
    ErrorName.PAYMENT_NOT_FOUND: row(
        _l("Worldpay has no payment with the id we sent."),
        _l(
            "Check the payment's provider id on this page, then %(ask_worldpay)s.", ask_worldpay=_ASK_WORLDPAY
        ),
    ),
    ErrorName.ORDER_NOT_READY: row(
        _l(
            "Worldpay cannot do this in the payment's current state (for example a refund before the "
            "payment is captured). Nothing happened."
        ),
        _l("Wait until the payment shows sent for settlement, then try again."),
    ),
    ErrorName.TOKEN_DOES_NOT_EXIST: row(
        _l(
            "Worldpay does not know the payment token we sent. %(not_alipay_hk)s",
            not_alipay_hk=_NOT_ALIPAY_HK,
        ),
        _AS_SENT,
    ),
    ErrorName.INVALID_TRANSACTION_REFERENCE: row(
        _l("Worldpay refused our reference's format (a rule of another payment method)."), _AS_SENT
    ),
    ErrorName.UNAUTHORIZED: row(
        _l("Worldpay refused our credentials."),
        _l("%(check_setup)s WORLDPAY_USERNAME and WORLDPAY_PASSWORD.", check_setup=_CHECK_SETUP),
    ),
    ErrorName.ACCESS_DENIED: row(
        _l("Worldpay denied our account access to this service."),
        _l(
            "%(check_setup)s with Worldpay that our account may use AlipayHK payments.",
            check_setup=_CHECK_SETUP,
        ),
    ),
    ErrorName.ENTITY_IS_NOT_CONFIGURED: row(
        _l("Our merchant entity is not set up at Worldpay for this."),
        _l(
            "%(check_setup)s WORLDPAY_ENTITY with Worldpay's Implementation Manager.",
            check_setup=_CHECK_SETUP,
        ),
    ),
    ErrorName.ENDPOINT_NOT_FOUND: row(
        _l("We called a Worldpay address that does not exist."),
        _l("%(check_setup)s WORLDPAY_BASE_URL.", check_setup=_CHECK_SETUP),
    ),
    ErrorName.METHOD_NOT_ALLOWED: row(
        _l("Worldpay does not accept this kind of request at that address."),
        _l("%(check_setup)s WORLDPAY_BASE_URL, then reports it.", check_setup=_CHECK_SETUP),
    ),
    ErrorName.RESOURCE_NOT_FOUND: row(
        _l("Worldpay could not find what we asked for."),
        _l(
            "Check the payment's provider id on this page, then %(ask_worldpay)s.", ask_worldpay=_ASK_WORLDPAY
        ),
    ),
    ErrorName.INTERNAL_ERROR_OCCURRED: row(
        _l("An internal error at Worldpay; whether the request went through is not known."),
        _UNKNOWN_RESULT,
    ),
    ErrorName.SERVICE_UNAVAILABLE: row(
        _l("Worldpay was unavailable; whether the request went through is not known."), _UNKNOWN_RESULT
    ),
    # The field and header checks (§1.9 "Access-wide" names): our request was malformed.
    ErrorName.HEADER_IS_MISSING: row(_l("Worldpay refused the request: a header was missing."), _AS_SENT),
    ErrorName.HEADER_HAS_INVALID_VALUE: row(
        _l("Worldpay refused the request: a header had a value it does not accept."), _AS_SENT
    ),
    ErrorName.FIELD_IS_MISSING: row(
        _l("Worldpay refused the request: a required field was missing."), _AS_SENT
    ),
    ErrorName.FIELD_HAS_INVALID_VALUE: row(
        _l(
            "Worldpay refused the request: a field had a value it does not accept (for example an amount "
            "above what is left to refund)."
        ),
        _AS_SENT,
    ),
    ErrorName.FIELD_MUST_BE_STRING: row(_l("Worldpay refused the request: a field must be text."), _AS_SENT),
    ErrorName.FIELD_IS_NOT_ALLOWED: row(
        _l("Worldpay refused the request: it carried a field Worldpay does not allow."), _AS_SENT
    ),
    ErrorName.FIELD_IS_EMPTY: row(_l("Worldpay refused the request: a field was empty."), _AS_SENT),
    ErrorName.FIELD_IS_NULL: row(_l("Worldpay refused the request: a field had no value."), _AS_SENT),
    ErrorName.STRING_IS_TOO_SHORT: row(
        _l("Worldpay refused the request: a text field was too short."), _AS_SENT
    ),
    ErrorName.STRING_IS_TOO_LONG: row(
        _l(
            "Worldpay refused the request: a text field was too long (for example the narrative shown "
            "to the customer)."
        ),
        _AS_SENT,
    ),
    ErrorName.STRING_FAILED_REGEX_CHECK: row(
        _l("Worldpay refused the request: a text field had characters it does not allow."), _AS_SENT
    ),
    ErrorName.NUMBER_IS_TOO_LARGE: row(_l("Worldpay refused the request: a number was too large."), _AS_SENT),
    ErrorName.BODY_IS_EMPTY: row(_l("Worldpay refused the request: it had no contents."), _AS_SENT),
    ErrorName.BODY_IS_NOT_JSON: row(
        _l("Worldpay refused the request: its contents were unreadable."), _AS_SENT
    ),
    ErrorName.URL_CONTAINS_INVALID_VALUE: row(
        _l("Worldpay refused the request: the address carried a value it does not accept."), _AS_SENT
    ),
}

_REFUND_AGAIN = _l(
    "Refund again if the customer is still owed money; if it fails again, %(ask_worldpay)s.",
    ask_worldpay=_ASK_WORLDPAY,
)

#: What a code means on a refund (§1.8, DESIGN §8 "Worldpay refunds").
REFUND = {
    E.SENT_FOR_REFUND: row(
        _l("Worldpay accepted the refund and sent it to AlipayHK; it is not finished yet."),
        _l(
            "Nothing to do: the back office waits for Worldpay's event, and reads Worldpay's records if "
            "none comes in time. Do not refund again meanwhile."
        ),
        act=False,
    ),
    E.REFUNDED: row(
        _l("The refund is done: AlipayHK returned the money to the customer."),
        _l("Nothing to do. If the customer asks, give them the refund's id shown here."),
        act=False,
    ),
    E.REFUND_FAILED: row(
        _l("The refund failed at Worldpay or AlipayHK. Nothing was returned to the customer."),
        _REFUND_AGAIN,
    ),
    E.REFUND_EXPIRED: row(
        _l("The refund expired before it was made. Nothing was returned to the customer."),
        _REFUND_AGAIN,
    ),
    E.REFUND_REVERSED: row(
        _l("The refund was made, then reversed: the money came back to us."),
        _l("Tell your manager and %(ask_worldpay)s before refunding again.", ask_worldpay=_ASK_WORLDPAY),
    ),
    ErrorName.ORDER_NOT_READY: row(
        _l(
            "Worldpay would not refund the payment in its current state (for example before it is "
            "captured, or while another refund is in process). Nothing was sent."
        ),
        _l("Try again once the payment shows sent for settlement and no other refund is in process."),
    ),
    ErrorName.PAYMENT_NOT_FOUND: row(
        _l("Worldpay could not find the payment to refund. Nothing was refunded."),
        _l(
            "Check the payment's provider id on this page, then %(ask_worldpay)s.", ask_worldpay=_ASK_WORLDPAY
        ),
    ),
    # Ours (client ``refund``): the payment's freshly queried _actions offered no reversal.
    REVERSAL_NOT_OFFERED: row(
        _l(
            "Nothing was sent: when the refund was due, Worldpay offered no refund of this payment (it "
            "was not captured yet, or another refund was in process)."
        ),
        _l(
            "Refund again once the payment shows sent for settlement and no other refund is in process; "
            "the payment's refundable amount shows when."
        ),
    ),
    # Ours (payments.worldpay ``inquire_refund``): no event, records show it taken, no failure.
    RESOLVED_FROM_RECORDS: row(
        _l(
            "No 'refunded' event came, but Worldpay's records show the refund taken and not failed, so "
            "it is counted as done."
        ),
        _l(
            "Nothing to do. If the customer says the money did not arrive, %(ask_worldpay)s "
            "and the refund's id.",
            ask_worldpay=_ASK_WORLDPAY,
        ),
        act=False,
    ),
    # Ours: no event, and the records could not be read or do not show the refund taken.
    NO_FINAL_EVENT: row(
        _l(
            "No event ended this refund in time, and Worldpay's records do not settle it, so whether the "
            "customer got the money is not known."
        ),
        _l(
            "Do not refund again yet: ask Worldpay support whether the refund with our id as its "
            "reference was made. Refund again only if Worldpay confirms it was not."
        ),
    ),
    # consts QUERY_REFUND_FAILURES: the payment's history (Payment Queries) shows the refund ended.
    QueryEventName.REFUND_REQUEST_SUBMISSION_FAILED: row(
        _l(
            "Worldpay's records show the refund was never submitted (it failed). Nothing was returned to "
            "the customer."
        ),
        _REFUND_AGAIN,
    ),
    QueryEventName.REFUND_REQUEST_SUBMISSION_TIMED_OUT: row(
        _l(
            "Worldpay's records show the refund's submission timed out and did not go through. Nothing was "
            "returned to the customer."
        ),
        _REFUND_AGAIN,
    ),
}

#: Worldpay's codes, general (what a sale keeps) and by what they are kept on.
GUIDANCE = GuidanceTable(
    {str(code): guidance for code, guidance in {**EVENTS, **ERRORS}.items()},
    {About.REFUND: {str(code): guidance for code, guidance in REFUND.items()}},
)
