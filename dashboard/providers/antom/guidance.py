"""Antom result codes explained for customer-service staff: what each means, what to do next.

Sources, cited per row or block:

- *seed 003*: the "Further action" column of pay (Auto Debit)'s complete "Result/Error codes"
  table (docs.antom.com/ac/ams/payment_agreement); every ``PAY_RESULT_CODES`` row follows it.
- *antom.md §n*: the project's Antom notes (refund, cancel, revoke, inquiry, notifyDispute pages).
- *inferred*: the docs give the code but no advice; the next step is ours, and says so.

The words are for staff in Hong Kong talking to customers: what to tell the customer, whether to
try again (an Auto Debit charge that failed is never re-sent by the back office; a new charge
gets a new id), and when to contact Antom Technical Support.
"""

from __future__ import annotations

from dashboard.i18n import lazy_gettext as _l
from dashboard.providers.guidance import About
from dashboard.providers.guidance import GuidanceTable
from dashboard.providers.guidance import row

#: Said when the fault is in our set-up, not the customer's account.
_OUR_SIDE = _l(
    "Tell the customer nothing was taken and the problem is on our side. Do not retry: the same "
    "request fails again."
)
_ADMIN = _l("Ask an administrator to")
_SUPPORT = _l("contact Antom Technical Support with this payment's ids")

GENERAL = {
    # -- success and "still working on it" -------------------------------------------------------
    "SUCCESS": row(_l("Antom completed the request."), _l("Nothing to do."), act=False),
    # seed 003 (U): "Wait for the asynchronous notification or call inquiryPayment".
    "PAYMENT_IN_PROCESS": row(
        _l("The charge is still being processed by the customer's wallet; the result is not known yet."),
        _l(
            "Do not charge again. The back office waits for Antom's notification and asks Antom for the "
            "result; a charge still unknown when it expires (after 1 minute) is cancelled, so the "
            "customer is never charged twice."
        ),
        act=False,
    ),
    # seed 003 (U): "Call the interface again ... If not resolved, contact Alipay Technical Support".
    "REQUEST_TRAFFIC_EXCEED_LIMIT": row(
        _l("Antom received more requests from us than it allows at once, so it did not handle this one."),
        _l(
            "Nothing to do now: the back office asks Antom again and re-sends the same "
            "request (no double charge). If it keeps happening, %(support)s.",
            support=_SUPPORT,
        ),
        act=False,
    ),
    # seed 003 (U): "Call the inquiryPayment interface ... If not resolved, contact ... Support".
    "UNKNOWN_EXCEPTION": row(
        _l("The call failed for a reason Antom did not give; whether it went through is not known yet."),
        _l(
            "Do not charge or refund again: the back office asks Antom for the result. If "
            "the status stays unknown, %(support)s.",
            support=_SUPPORT,
        ),
    ),
    # -- our set-up (antom.md §4.4 common codes; seed 003 where it lists them) ----------------------
    # seed 003: "Contact Alipay Technical Support for detailed reasons."
    "ACCESS_DENIED": row(
        _l("Antom refused our merchant account access to this service."),
        _l("%(our_side)s Tell your manager, who should %(support)s.", our_side=_OUR_SIDE, support=_SUPPORT),
    ),
    # antom.md §2.4 (authrevocation table); advice inferred.
    "CLIENT_FORBIDDEN_ACCESS_API": row(
        _l("Our Antom client ID is not allowed to use this service."),
        _l(
            "%(our_side)s %(admin)s ask Antom to enable it for our client ID.",
            our_side=_OUR_SIDE,
            admin=_ADMIN,
        ),
    ),
    # antom.md §5.4 (cancel table: "check clientId").
    "CLIENT_INVALID": row(
        _l("Antom does not recognise our client ID."),
        _l(
            "%(our_side)s %(admin)s check ANTOM_CLIENT_ID against Antom Dashboard.",
            our_side=_OUR_SIDE,
            admin=_ADMIN,
        ),
    ),
    # antom.md §2.4; advice inferred.
    "INVALID_API": row(
        _l("This Antom service is not switched on for our account."),
        _l("%(our_side)s %(admin)s ask Antom to activate it.", our_side=_OUR_SIDE, admin=_ADMIN),
    ),
    # antom.md §2.4; advice inferred.
    "INVALID_CLIENT_STATUS": row(
        _l("Our Antom client is not active (suspended or not yet live)."),
        _l("%(our_side)s Tell your manager, who should %(support)s.", our_side=_OUR_SIDE, support=_SUPPORT),
    ),
    # antom.md §2.4: "signature verification failed (private key ≠ public key on Dashboard)".
    "INVALID_SIGNATURE": row(
        _l(
            "Antom could not verify our request's signature: our private key does not match the public "
            "key registered in Antom Dashboard."
        ),
        _l(
            "%(our_side)s %(admin)s check ANTOM_PRIVATE_KEY against the key in Antom Dashboard.",
            our_side=_OUR_SIDE,
            admin=_ADMIN,
        ),
    ),
    # seed 003: "Check whether the private key or public key exists. If not, upload the private key
    # in Antom Dashboard."
    "KEY_NOT_FOUND": row(
        _l("Antom has no key registered for our account (ours or Antom's)."),
        _l(
            "%(our_side)s %(admin)s upload our public key in Antom Dashboard (Developer, Key configuration).",
            our_side=_OUR_SIDE,
            admin=_ADMIN,
        ),
    ),
    # seed 003: "Check whether the URL is correct."
    "NO_INTERFACE_DEF": row(
        _l("We called an Antom address that does not exist."),
        _l("%(our_side)s %(admin)s check ANTOM_BASE_URL.", our_side=_OUR_SIDE, admin=_ADMIN),
    ),
    # seed 003: "Check and verify whether the required request fields ... are correctly passed".
    "PARAM_ILLEGAL": row(
        _l(
            "Antom rejected the request: a field was missing or not valid (for example an amount or a "
            "currency it does not accept here)."
        ),
        _l(
            "Do not send the same request again. Report it to an administrator with this page's ids; the "
            "provider call on the timeline shows what was sent."
        ),
    ),
    # seed 003: "Do not retry. Human intervention is usually needed ... contact ... Support".
    "PROCESS_FAIL": row(
        _l("Antom could not complete the request (a general business failure)."),
        _l("Do not retry. Tell your manager, who should %(support)s.", support=_SUPPORT),
    ),
    # -- pay (Auto Debit): seed 003, every row ------------------------------------------------------
    # "Contact Alipay Technical Support for detailed reasons."
    "CURRENCY_NOT_SUPPORT": row(
        _l("The customer's wallet or our Antom contract does not accept this currency."),
        _l(
            "Tell the customer nothing was taken. Charge in a currency the contract accepts "
            "(usually HKD), or %(support)s.",
            support=_SUPPORT,
        ),
    ),
    # "The user needs to refresh the payment code." (A code the customer shows; Auto Debit has none.)
    "EXPIRED_CODE": row(
        _l("The payment code the customer showed has expired."),
        _l("Ask the customer to refresh the payment code in their wallet app and pay again."),
    ),
    # "Check whether the access token is expired, revoked, or does not exist. Re-sign the contract
    # and re-initiate the authorization signing process."
    "INVALID_ACCESS_TOKEN": row(
        _l(
            "The customer's Auto Debit authorisation no longer works: it expired, was revoked, or the "
            "customer unbound us in their wallet. Nothing was taken."
        ),
        _l(
            "Do not retry: every charge on this agreement will fail. Ask the customer to authorise Auto "
            "Debit again (a new agreement), then charge again."
        ),
    ),
    # "Check whether the parameter values in the contract match ... If the values match, contact ..."
    "INVALID_CONTRACT": row(
        _l(
            "The charge does not match our Auto Debit contract with Antom (for example the wallet or the "
            "currency). Nothing was taken."
        ),
        _l(
            "Do not retry as it is. %(admin)s compare the charge with the contract, then %(support)s.",
            admin=_ADMIN,
            support=_SUPPORT,
        ),
    ),
    # "Contact Alipay Technical Support for detailed reasons."
    "INVALID_MERCHANT_STATUS": row(
        _l("Antom has placed restrictions on our merchant account. Nothing was taken."),
        _l("%(our_side)s Tell your manager, who should %(support)s.", our_side=_OUR_SIDE, support=_SUPPORT),
    ),
    # "Choose other payment methods. Contact Alipay Technical Support if the payment method is supported."
    "INVALID_PAYMENT_CODE": row(
        _l("The payment code cannot be accepted by Alipay+."),
        _l(
            "Ask the customer to pay another way. If their wallet should be accepted, %(support)s.",
            support=_SUPPORT,
        ),
    ),
    # "Check whether payment method metadata is correct. If correct, contact Alipay Technical Support."
    "INVALID_PAYMENT_METHOD_META_DATA": row(
        _l("The payment method details we sent are not valid. Nothing was taken."),
        _l(
            "Do not retry as it is. %(admin)s check what was sent (the provider call on the "
            "timeline), then %(support)s.",
            admin=_ADMIN,
            support=_SUPPORT,
        ),
    ),
    # "Contact Alipay Technical Support for detailed reasons."
    "MERCHANT_KYB_NOT_QUALIFIED": row(
        _l("Our business verification (KYB) with Antom does not allow this payment. Nothing was taken."),
        _l("%(our_side)s Tell your manager, who should %(support)s.", our_side=_OUR_SIDE, support=_SUPPORT),
    ),
    # "Please register the merchant ... Contact Alipay Technical Support if failed to call the
    # registration interface."
    "MERCHANT_NOT_REGISTERED": row(
        _l("Our merchant (or the shop named in the charge) is not registered with Antom. Nothing was taken."),
        _l(
            "%(our_side)s %(admin)s complete the registration with Antom, or %(support)s.",
            our_side=_OUR_SIDE,
            admin=_ADMIN,
            support=_SUPPORT,
        ),
    ),
    # "Contact Antom Technical Support for detailed reasons."
    "NO_PAY_OPTIONS": row(
        _l("Antom had no way to take this payment from the customer's wallet. Nothing was taken."),
        _l("Ask the customer to pay another way, and %(support)s for the reason.", support=_SUPPORT),
    ),
    # "Use a new paymentRequestId to initiate the payment again."
    "ORDER_IS_CANCELED": row(
        _l("The charge reused the id of a payment that was cancelled, so Antom did not charge again."),
        _l(
            "Nothing was taken by this charge. If the customer still owes the money, start a new charge "
            "(it gets a new id)."
        ),
    ),
    # "Use a new paymentRequestId to initiate the payment again."
    "ORDER_IS_CLOSED": row(
        _l(
            "The payment is closed: it ended without being paid (for example it expired while the wallet "
            "was still working on it). Nothing was taken."
        ),
        _l("If the customer still owes the money, start a new charge (it gets a new id)."),
    ),
    # "Check whether paymentId is correct." On a payment we keep it when inquiryPayment says Antom
    # never received the pay (antom.md §5.2; consts ORDER_NOT_EXIST).
    "ORDER_NOT_EXIST": row(
        _l("Antom has no record of this payment: our charge never reached it. Nothing was taken."),
        _l("If the customer still owes the money, start a new charge."),
    ),
    # "Check whether the payment amount exceeds the limit or use a lower amount and try again.
    # Contact Alipay technical support to know the specific limitation."
    "PAYMENT_AMOUNT_EXCEED_LIMIT": row(
        _l(
            "The amount is above the most our contract or the customer's wallet allows in one payment. "
            "Nothing was taken."
        ),
        _l(
            "Agree a lower amount with the customer and charge again, or %(support)s to learn the limit.",
            support=_SUPPORT,
        ),
    ),
    # "Contact Alipay Technical Support to know the specific limitation."
    "PAYMENT_COUNT_EXCEED_LIMIT": row(
        _l(
            "The customer's wallet allows no more payments for now (its limit on the number of payments "
            "was reached). Nothing was taken."
        ),
        _l(
            "Tell the customer their wallet's payment limit was reached; %(support)s to "
            "learn the limit before charging again.",
            support=_SUPPORT,
        ),
    ),
    # "Contact Alipay Technical Support for detailed reasons."
    "PAYMENT_NOT_QUALIFIED": row(
        _l(
            "We may not take this payment: our merchant is not registered, has no Auto Debit contract, or "
            "is barred from charging. Nothing was taken."
        ),
        _l("%(our_side)s Tell your manager, who should %(support)s.", our_side=_OUR_SIDE, support=_SUPPORT),
    ),
    # "Ensure all the fields in the requests are the same or use a new paymentRequestId".
    "REPEAT_REQ_INCONSISTENT": row(
        _l(
            "A request with this id was already sent with a different amount or currency, so Antom "
            "refused this one."
        ),
        _l(
            "Nothing new was taken. If the customer still owes the money, start a new charge (it gets a "
            "new id), and report this to an administrator: our ids should never repeat."
        ),
    ),
    # "Prompt the user that the request is rejected because the risk control failed."
    "RISK_REJECT": row(
        _l("The wallet's risk control declined this payment. Nothing was taken."),
        _l(
            "Tell the customer their wallet declined the payment for security reasons. Do not retry it "
            "yourself; the customer can ask their wallet's customer service, or pay another way."
        ),
    ),
    # "Specify one settlement currency ... Check if the settlement currency is specified in the
    # settlement contracts ... Contact Alipay Technical Support."
    "SETTLE_CONTRACT_NOT_MATCH": row(
        _l(
            "The settlement currency we sent (ANTOM_SETTLEMENT_CURRENCY) is not one our Antom contract "
            "settles in. Nothing was taken."
        ),
        _l(
            "%(our_side)s Every charge fails until it is fixed: ask an administrator to "
            "check ANTOM_SETTLEMENT_CURRENCY against the contract, or contact Antom "
            "Technical Support.",
            our_side=_OUR_SIDE,
        ),
    ),
    # "Do not retry, and contact Alipay Technical Support for more details."
    "SYSTEM_ERROR": row(
        _l("A system error at Antom stopped the payment. Nothing was taken."),
        _l("Do not retry. Tell your manager, who should %(support)s.", support=_SUPPORT),
    ),
    # "Create a new payment by using an amount less than or equal to the account's available
    # balance, or contact Alipay Technical Support."
    "USER_AMOUNT_EXCEED_LIMIT": row(
        _l("The amount is above the customer's own payment limit in their wallet. Nothing was taken."),
        _l(
            "Tell the customer the amount is above their wallet's limit. They can raise the limit in their "
            "wallet app, or you can agree a smaller amount; then charge again."
        ),
    ),
    # "Please top up the account or choose other payment methods."
    "USER_BALANCE_NOT_ENOUGH": row(
        _l("The customer's wallet balance was not enough for this charge. Nothing was taken."),
        _l(
            "Ask the customer to top up their wallet balance (for example their AlipayHK balance), or to "
            "pick another way to pay in the wallet, then charge again."
        ),
    ),
    # "Complete the KYC verification first."
    "USER_KYC_NOT_QUALIFIED": row(
        _l(
            "The customer's identity check (KYC) in their wallet is missing or does not allow this "
            "payment. Nothing was taken."
        ),
        _l("Ask the customer to complete identity verification in their wallet app, then charge again."),
    ),
    # "Contact Alipay Technical Support for detailed reasons."
    "USER_NOT_EXIST": row(
        _l("The wallet account behind this agreement no longer exists. Nothing was taken."),
        _l(
            "Do not retry. Ask the customer whether they closed the wallet account; they "
            "need to authorise Auto Debit again with an active account. If they say the "
            "account exists, %(support)s.",
            support=_SUPPORT,
        ),
    ),
    # "Contact Alipay Technical Support to know the specific reasons."
    "USER_PAYMENT_VERIFICATION_FAILED": row(
        _l(
            "The customer did not pass the wallet's payment check (a one-time password or PIN). Nothing "
            "was taken."
        ),
        _l(
            "Ask the customer to check their wallet's security settings; %(support)s for the "
            "reason, then charge again.",
            support=_SUPPORT,
        ),
    ),
    # "Contact Alipay Technical Support to know the specific reasons."
    "USER_STATUS_ABNORMAL": row(
        _l("The customer's wallet account is restricted or frozen. Nothing was taken."),
        _l(
            "Do not retry: the customer's account is restricted. Ask the customer to contact "
            "their wallet's customer service; %(support)s if you need the reason.",
            support=_SUPPORT,
        ),
    ),
    # "The user must get a new verification code."
    "VERIFY_TIMES_EXCEED_LIMIT": row(
        _l("The customer entered the verification code wrongly too many times. Nothing was taken."),
        _l("Ask the customer to get a new verification code in their wallet, then pay again."),
    ),
    # "The user must get a new verification code."
    "VERIFY_UNMATCHED": row(
        _l("The verification code the customer entered is wrong. Nothing was taken."),
        _l("Ask the customer to get a new verification code in their wallet, then pay again."),
    ),
    # -- notifyDispute (antom.md; consts DisputeNotificationType, DisputeJudgedResult): a dispute's
    # step is kept as its payment's result code. Advice inferred from what each step means.
    "DISPUTE_CREATED": row(
        _l(
            "The customer disputed this payment with their wallet or card issuer (a chargeback or a "
            "request for documents). The disputed amount is frozen."
        ),
        _l(
            "Tell your manager. Gather the order's evidence (receipt, delivery, the customer's agreement) "
            "and send the defence through Antom before the 'defend by' time on the timeline. Do not "
            "refund while the dispute is open."
        ),
    ),
    "DEFENSE_DUE_ALERT": row(
        _l("The defence of this dispute is due within 24 hours."),
        _l(
            "Send the defence through Antom now, or accept the dispute. After the deadline the dispute is "
            "accepted and the money goes back to the customer."
        ),
    ),
    "DEFENSE_SUPPLIED": row(
        _l("Our defence documents were submitted; the dispute waits for a decision."),
        _l("Nothing to do until the decision arrives."),
        act=False,
    ),
    "DISPUTE_JUDGED": row(
        _l("The dispute was decided."),
        _l("See the decision on the timeline: if it went against us the money goes back to the customer."),
        act=False,
    ),
    "ACCEPT_BY_CUSTOMER": row(
        _l("The dispute was decided in our favour: the frozen money is released to us."),
        _l("Nothing to do."),
        act=False,
    ),
    "ACCEPT_BY_MERCHANT": row(
        _l(
            "The dispute was decided against us: the money is taken from our settlement and returned to "
            "the customer."
        ),
        _l("Do not refund this payment as well: the customer has the money back. Tell your manager."),
    ),
    "DISPUTE_ACCEPTED": row(
        _l(
            "The dispute was accepted (by us, by a missed deadline, or by Antom): the money goes back to "
            "the customer."
        ),
        _l("Do not refund this payment as well: the customer gets the money back through the dispute."),
    ),
    "DISPUTE_CANCELLED": row(
        _l("The customer withdrew the dispute; the frozen money is ours again."),
        _l("Nothing to do."),
        act=False,
    ),
    "RDR_RESOLVED": row(
        _l(
            "The dispute was settled by Visa's Rapid Dispute Resolution: the customer was refunded "
            "automatically."
        ),
        _l("Do not refund this payment as well: the customer has the money back."),
    ),
    "VALIDATE_SUCCESS": row(
        _l("The documents asked for by the dispute were uploaded and accepted."),
        _l("Nothing to do."),
        act=False,
    ),
    "VALIDATE_FAIL": row(
        _l("The documents asked for by the dispute were uploaded but not accepted."),
        _l("Check in Antom Dashboard what was wrong and upload corrected documents before the deadline."),
    ),
}

#: What a code means on a payment, where the general row would say too little.
PAYMENT = {
    # A cancel's success becomes its payment's result (news.CancelNews).
    "SUCCESS": row(
        _l(
            "Antom completed the last request on this payment: the customer was charged, or, when the "
            "status is cancelled, the charge was cancelled and any money taken returned in full."
        ),
        _l("Nothing to do."),
        act=False,
    ),
}

#: What a code means on a refund (refund, inquiryRefund and notifyRefund; antom.md §5.5–5.7).
REFUND = {
    "SUCCESS": row(
        _l("The refund is done: Antom returned the money to the customer's wallet."),
        _l("Nothing to do. If the customer asks, give them the refund's ids shown here."),
        act=False,
    ),
    # antom.md §5.5: "accepted, processing → get final result via inquiryRefund or notifyRefund".
    "REFUND_IN_PROCESS": row(
        _l("Antom accepted the refund and is processing it."),
        _l(
            "Nothing to do: the back office waits for Antom's notification and asks for the result. Tell "
            "the customer the refund is on its way."
        ),
        act=False,
    ),
    # antom.md §5.5: "original payment still processing".
    "PAYMENT_IN_PROCESS": row(
        _l("The payment being refunded is still being processed, so it cannot be refunded yet."),
        _l("Wait until the payment shows succeeded, then refund again."),
    ),
    # antom.md §5.5: "payment not successful (in process or failed)".
    "ORDER_STATUS_INVALID": row(
        _l(
            "The payment did not succeed (it is still processing or it failed), so there is nothing"
            " to refund."
        ),
        _l("Check the payment's status. Refund only once it has succeeded; a failed payment took nothing."),
    ),
    # antom.md §5.5: "outside refund period" (by contract, "usually 12 months" after payment).
    "REFUND_WINDOW_EXCEED": row(
        _l(
            "The payment is older than the refund period in our Antom contract (usually 12 months), so "
            "Antom no longer refunds it."
        ),
        _l(
            "Do not retry. Ask your manager how to return the money another way (for example a bank "
            "transfer); contact Antom Technical Support if the contract should allow it."
        ),
    ),
    # antom.md §5.5: "total refund amount exceeds payment amount".
    "REFUND_AMOUNT_EXCEED": row(
        _l("This refund and the earlier ones together would be more than the customer paid."),
        _l("Check the refunded amount on this page and refund at most what is left."),
    ),
    # antom.md §5.5: "method doesn't support refund".
    "PAYMENT_METHOD_NOT_SUPPORTED": row(
        _l("The customer's wallet does not support refunds through Antom."),
        _l("Do not retry. Ask your manager how to return the money another way."),
    ),
    # antom.md §5.5 ([U] name, same advice).
    "REFUND_NOT_SUPPORTED": row(
        _l("This payment cannot be refunded through Antom."),
        _l("Do not retry. Ask your manager how to return the money another way."),
    ),
    # antom.md §5.5: "method doesn't support partial refund".
    "PARTIAL_REFUND_NOT_SUPPORTED": row(
        _l("The customer's wallet only accepts refunds of the whole payment."),
        _l("Refund the whole remaining amount, or ask your manager how to return part of it another way."),
    ),
    # antom.md §5.5: "merchant balance insufficient"; advice inferred.
    "MERCHANT_BALANCE_NOT_ENOUGH": row(
        _l("Our balance with Antom is too low to pay this refund. Nothing was refunded."),
        _l("Tell your manager or finance: our Antom balance must be topped up first. Then refund again."),
    ),
    # antom.md §5.5: "payment not found"; §5.6: an unknown refund asked about.
    "ORDER_NOT_EXIST": row(
        _l("Antom has no record of this refund, or of the payment it refunds. Nothing was refunded."),
        _l(
            "Check the payment's provider id on this page. If the customer is still owed money, refund "
            "again; if it fails the same way, contact Antom Technical Support."
        ),
    ),
    # antom.md §5.5: "token expired/revoked (some wallets check it on refund)"; advice inferred.
    "INVALID_ACCESS_TOKEN": row(
        _l(
            "The customer's wallet checks the Auto Debit authorisation on refunds too, and it no longer "
            "works. Nothing was refunded."
        ),
        _l(
            "Contact Antom Technical Support to refund this payment; ask your manager whether to return "
            "the money another way meanwhile."
        ),
    ),
    # antom.md §5.5 ([U]): "same refundRequestId, different amount/currency".
    "REPEAT_REQ_INCONSISTENT": row(
        _l(
            "A refund with this id was already sent with a different amount or currency, so Antom "
            "refused this one."
        ),
        _l(
            "Check the refunds listed here before refunding again (a new refund gets a new id), and "
            "report this to an administrator: our ids should never repeat."
        ),
    ),
    # antom.md §5.5 ([U]): "cancelled/closed payment cannot be refunded".
    "ORDER_IS_CANCELED": row(
        _l(
            "The payment was cancelled, so it cannot be refunded: the cancel already returned any money"
            " taken."
        ),
        _l(
            "Do not refund. Check the payment's cancel on this page; tell the customer the cancel "
            "returned their money."
        ),
    ),
    "ORDER_IS_CLOSED": row(
        _l("The payment is closed (it ended unpaid), so there is nothing to refund."),
        _l("Do not refund: the customer was not charged."),
    ),
    # antom.md §5.5 / §6.3 ([U]): a refund must be in the payment's currency.
    "CURRENCY_NOT_SUPPORT": row(
        _l("The refund's currency is not accepted; a refund must be in the payment's currency."),
        _l("Refund again in the payment's currency."),
    ),
}

#: What a code means on a cancel (antom.md §5.4).
CANCEL = {
    "SUCCESS": row(
        _l("The payment is cancelled. If money was taken, Antom returns all of it to the customer."),
        _l("Nothing to do. Tell the customer the charge is cancelled and any money taken is returned."),
        act=False,
    ),
    # antom.md §5.4: outside the window "→ refund instead".
    "CANCEL_WINDOW_EXCEED": row(
        _l("Too late to cancel: Antom cancels only until 00:15 Hong Kong time on the day after the payment."),
        _l("Refund the payment instead."),
    ),
    # antom.md §5.4: "A payment that already had any refund ... cannot be cancelled → PROCESS_FAIL".
    "PROCESS_FAIL": row(
        _l(
            "Antom refused the cancel, usually because the payment already has a refund (a refunded "
            "payment cannot be cancelled)."
        ),
        _l("Do not cancel again. If the customer is owed more, refund the rest instead."),
    ),
    # antom.md §5.4 (the code is truncated there, [U]).
    "ORDER_STATUS_INVALID": row(
        _l("The payment's status at Antom does not allow a cancel."),
        _l("Check the payment's status: refund it if it succeeded; a failed payment needs nothing."),
    ),
    "ORDER_NOT_EXIST": row(
        _l(
            "Antom has no record of the payment to cancel: the charge never reached it, so nothing was taken."
        ),
        _l("Nothing to cancel. Check the payment's status after Antom's next answer."),
        act=False,
    ),
    # antom.md §5.4: "if still U after 3 retries contact support"; matches CANCEL_GUIDANCE.
    "UNKNOWN_EXCEPTION": row(
        _l("Antom did not say whether the cancel went through."),
        _l(
            "Wait: the back office sends the cancel again a few times (that is safe). Once it has stopped "
            "retrying, ask Antom Technical Support whether the payment was cancelled before cancelling or "
            "refunding again."
        ),
    ),
}

#: What a code means on an agreement (consult, applyToken, revoke; antom.md §2).
AGREEMENT = {
    "SUCCESS": row(
        _l("Antom confirmed the last step of this authorisation."), _l("Nothing to do."), act=False
    ),
    # antom.md §2.4: revoke of a dead token; the back office then counts the agreement revoked.
    "INVALID_ACCESS_TOKEN": row(
        _l(
            "The customer's token was already dead at Antom (expired, revoked, or unbound by the "
            "customer in their wallet), so the agreement is treated as revoked."
        ),
        _l(
            "Nothing to do: this agreement can never be charged again. The customer must authorise again "
            "to pay by Auto Debit."
        ),
        act=False,
    ),
    # antom.md §2.3 ([U] names, see consts APPLY_TOKEN_RESULT_CODES): the auth code is single-use
    # and short-lived; advice inferred.
    "INVALID_CODE": row(
        _l("Antom did not accept the authorisation code from the customer's wallet."),
        _l("Ask the customer to authorise Auto Debit again from the start."),
    ),
    "USED_CODE": row(
        _l("The customer's authorisation code was already exchanged for a token."),
        _l("Check whether the agreement is active already; if not, ask the customer to authorise again."),
    ),
    "EXPIRED_CODE": row(
        _l("The customer's authorisation code expired before we exchanged it for a token."),
        _l("Ask the customer to authorise Auto Debit again from the start."),
    ),
    "INVALID_REFRESH_TOKEN": row(
        _l("Antom refused to renew the customer's token (the renewal token is invalid, used or revoked)."),
        _l(
            "The agreement stops working when its current token expires. Ask the customer to authorise "
            "Auto Debit again before then."
        ),
    ),
    "EXPIRED_REFRESH_TOKEN": row(
        _l("The token that renews the customer's authorisation has expired."),
        _l(
            "Ask the customer to authorise Auto Debit again; until then the agreement cannot be charged "
            "once its current token expires."
        ),
    ),
    # antom.md §2.4 shows only "OAUTH_F…" (truncated, [U]); advice inferred.
    "OAUTH_FAILED": row(
        _l("Antom's authorisation service failed to handle the request."),
        _l(
            "Try again later; if it keeps failing, contact Antom Technical Support with this agreement's "
            "customer reference."
        ),
    ),
}

#: Customs declarations (declare). Its code table could not be read past its head (antom.md
#: "Declare goods"); the refusal names are uncertain, the advice inferred from what each refuses.
DECLARATION = {
    "SUCCESS": row(
        _l("Antom accepted the declaration and passed it to customs."),
        _l("Nothing to do: the page shows customs' answer when Antom has it."),
        act=False,
    ),
    "ORDER_NOT_EXIST": row(
        _l("Antom does not know this payment, so it cannot be declared."),
        _l(
            "Check that the payment was made through Antom and has Antom's payment id; if it has one, "
            "contact Antom Technical Support with this payment's ids."
        ),
    ),
    "ORDER_STATUS_INVALID": row(
        _l("Antom says the payment did not succeed, so there is nothing to declare."),
        _l(
            "Declare only paid payments. If this page shows the payment as paid, ask Antom for its "
            "status before declaring again."
        ),
    ),
    "PAYMENT_METHOD_NOT_SUPPORTED": row(
        _l(
            "The customer paid with a wallet whose payments cannot be declared to customs (only "
            "Alipay payments from the Chinese mainland can)."
        ),
        _l(
            "Nothing can be declared for this payment. Tell the customer the goods are cleared without a "
            "payment declaration, or ask them to pay with Alipay."
        ),
    ),
    "DECLARE_AMOUNT_EXCEED": row(
        _l("The declared amount is more than the customer paid."),
        _l("Declare again with a new form and at most the payment's amount."),
    ),
    "CUSTOMS_NOT_SUPPORT": row(
        _l("Antom does not declare to the customs code that was entered."),
        _l(
            "Declare again with a new form and a customs code from the list (for most goods: ZONGSHU, "
            "the General Administration of Customs)."
        ),
    ),
    "REPEAT_REQ_INCONSISTENT": row(
        _l("This declaration's id was already used for a different declaration."),
        _l("Open the declaration form again (it gets a new id) and declare once more."),
    ),
    "PARAM_ILLEGAL": row(
        _l("Antom refused a field of the declaration (the merchant's customs code or name, the amount)."),
        _l("Check the merchant's customs registration code and name, then declare again with a new form."),
    ),
}

#: Antom's codes, general and by what they are kept on.
GUIDANCE = GuidanceTable(
    GENERAL,
    {
        About.PAYMENT: PAYMENT,
        About.REFUND: REFUND,
        About.CANCEL: CANCEL,
        About.AGREEMENT: AGREEMENT,
        About.DECLARATION: DECLARATION,
    },
)
