"""Payment, refund and cancel statuses, their events, and the refund rules (DESIGN §4, §5).

The machines are tables for :class:`dashboard.machine.Machine`. What each provider's words mean
in these events is the provider mappings' business (``dashboard/providers/<name>/mapping.py``):
every status or event name a provider documents maps to an event (possibly
:attr:`PaymentEvent.NOTE`, which records and keeps the status), so nothing a provider sends is
ever rejected for its name.

**Disputes.** A payment can be ``disputed`` (a dispute or chargeback enquiry is open: Worldpay
``dispute*`` events, Antom notifyDispute) and ``charged_back`` (the funds were taken back: Worldpay
``chargedBack``, an Antom dispute judged against the merchant or accepted).
A dispute closed in the merchant's favour moves the payment to ``settled``: the funds are the
merchant's again, and a dispute is only ever raised on captured money. These are the only moves
that may leave and re-enter a status (a new dispute can open on a settled payment); everything
else is forward-only. Refunds do not change a payment's status: they live on :class:`Refund`
rows and in ``Payment.refunded_minor`` (Antom keeps ``SUCCESS`` after refunds, too).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from collections.abc import Mapping

from dashboard.i18n import lazy_gettext as _l
from dashboard.machine import LATE
from dashboard.machine import Late
from dashboard.machine import Machine
from dashboard.machine import freeze_table
from dashboard.statuses import status_label

# --- payments --------------------------------------------------------------------------------------


class PaymentStatus(enum.StrEnum):
    """Where a payment stands (DESIGN §4)."""

    #: Created and committed before the provider call; no answer yet.
    PENDING = "pending"
    #: The provider accepted it but has no final result (Antom U / PROCESSING, Worldpay pending).
    PROCESSING = "processing"
    #: Paid (Antom SUCCESS, Worldpay authorized / sentForSettlement).
    SUCCEEDED = "succeeded"
    #: Funds settled to the merchant (Worldpay settled), or returned after a dispute.
    SETTLED = "settled"
    #: Refused, errored or failed to settle; final.
    FAILED = "failed"
    #: Cancelled by us (Antom cancel) or by the customer on the wallet page; final.
    CANCELLED = "cancelled"
    #: Nobody paid before the payment's expiry; final.
    EXPIRED = "expired"
    #: A dispute or chargeback enquiry is open; the funds are at risk.
    DISPUTED = "disputed"
    #: The funds were taken back by a chargeback.
    CHARGED_BACK = "charged_back"


#: Statuses in which the provider has not given a final answer yet: asked about until it does.
OPEN_PAYMENT = frozenset({PaymentStatus.PENDING, PaymentStatus.PROCESSING})
#: Statuses in which money was paid and may be refunded.
PAYMENT_REFUNDABLE = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.SETTLED})


class PaymentEvent(enum.StrEnum):
    """What can happen to a payment, in our words."""

    #: Accepted, result not final yet.
    PROCESSING = "processing"
    #: Paid.
    SUCCEEDED = "succeeded"
    #: Settled to the merchant.
    SETTLED = "settled"
    #: Refused or errored before any money moved.
    FAILED = "failed"
    #: Capture/settlement failed after an authorisation (Worldpay settlementFailed).
    SETTLEMENT_FAILED = "settlement_failed"
    #: Cancelled (Antom cancel succeeded; Worldpay cancelled / cancelledByCustomer).
    CANCELLED = "cancelled"
    #: Expired unpaid.
    EXPIRED = "expired"
    #: A dispute opened or moved on (information requested/supplied, funds held).
    DISPUTE_OPENED = "dispute_opened"
    #: A chargeback took the funds back.
    CHARGED_BACK = "charged_back"
    #: A dispute or chargeback ended in the merchant's favour; funds returned.
    DISPUTE_RESOLVED = "dispute_resolved"
    #: Recorded on the timeline, status unchanged (refund activity, miscellaneous events).
    NOTE = "note"


P = PaymentStatus
PE = PaymentEvent

# Rows start from "what every status does with a NOTE" and add the real moves.
_PAYMENT_OPEN = {
    PE.PROCESSING: P.PROCESSING,
    PE.SUCCEEDED: P.SUCCEEDED,
    PE.SETTLED: P.SETTLED,
    PE.FAILED: P.FAILED,
    PE.SETTLEMENT_FAILED: P.FAILED,
    PE.CANCELLED: P.CANCELLED,
    PE.EXPIRED: P.EXPIRED,
    # A dispute or chargeback implies the money was captured: an out-of-order event jumps forward.
    PE.DISPUTE_OPENED: P.DISPUTED,
    PE.CHARGED_BACK: P.CHARGED_BACK,
    PE.DISPUTE_RESOLVED: P.SETTLED,
}
# Once final without money, a second "no money" event is late; a money event is a contradiction.
_PAYMENT_CLOSED = {
    PE.PROCESSING: LATE,
    PE.FAILED: LATE,
    PE.SETTLEMENT_FAILED: LATE,
    PE.CANCELLED: LATE,
    PE.EXPIRED: LATE,
}

PAYMENT_TRANSITIONS: Mapping[PaymentStatus, Mapping[PaymentEvent, PaymentStatus | Late]] = freeze_table(
    {
        P.PENDING: {**_PAYMENT_OPEN, PE.NOTE: P.PENDING},
        P.PROCESSING: {**_PAYMENT_OPEN, PE.PROCESSING: LATE, PE.NOTE: P.PROCESSING},
        P.SUCCEEDED: {
            PE.PROCESSING: LATE,
            PE.SUCCEEDED: LATE,
            PE.SETTLED: P.SETTLED,
            PE.SETTLEMENT_FAILED: P.FAILED,
            # Antom: a paid payment may be cancelled within the window (it is refunded in full).
            PE.CANCELLED: P.CANCELLED,
            PE.DISPUTE_OPENED: P.DISPUTED,
            PE.CHARGED_BACK: P.CHARGED_BACK,
            PE.DISPUTE_RESOLVED: P.SETTLED,
            PE.NOTE: P.SUCCEEDED,
        },
        P.SETTLED: {
            PE.PROCESSING: LATE,
            PE.SUCCEEDED: LATE,
            PE.SETTLED: LATE,
            PE.DISPUTE_OPENED: P.DISPUTED,
            PE.CHARGED_BACK: P.CHARGED_BACK,
            # Resolved without our having seen it open: nothing to change.
            PE.DISPUTE_RESOLVED: LATE,
            PE.NOTE: P.SETTLED,
        },
        P.FAILED: {**_PAYMENT_CLOSED, PE.NOTE: P.FAILED},
        # Antom: a cancelled payment "stays so even if a success notification arrives later"
        # (antom.md §5.4; Antom refunds it): the success was sent before the cancel took effect.
        P.CANCELLED: {**_PAYMENT_CLOSED, PE.SUCCEEDED: LATE, PE.NOTE: P.CANCELLED},
        P.EXPIRED: {**_PAYMENT_CLOSED, PE.NOTE: P.EXPIRED},
        P.DISPUTED: {
            PE.PROCESSING: LATE,
            PE.SUCCEEDED: LATE,
            PE.SETTLED: LATE,
            PE.DISPUTE_OPENED: LATE,
            PE.CHARGED_BACK: P.CHARGED_BACK,
            PE.DISPUTE_RESOLVED: P.SETTLED,
            PE.NOTE: P.DISPUTED,
        },
        P.CHARGED_BACK: {
            PE.PROCESSING: LATE,
            PE.SUCCEEDED: LATE,
            PE.SETTLED: LATE,
            PE.DISPUTE_OPENED: LATE,
            PE.CHARGED_BACK: LATE,
            PE.DISPUTE_RESOLVED: P.SETTLED,
            PE.NOTE: P.CHARGED_BACK,
        },
    }
)

PAYMENT_MACHINE = Machine("payment", PaymentStatus, PaymentEvent, PAYMENT_TRANSITIONS)


# --- refunds ---------------------------------------------------------------------------------------


class RefundStatus(enum.StrEnum):
    """Where a refund stands (DESIGN §4, §5 "Refund")."""

    #: Above the approval threshold; waits for a manager (not the requester).
    AWAITING_APPROVAL = "awaiting_approval"
    #: A manager rejected it; final, nothing was sent.
    REJECTED = "rejected"
    #: Committed with its request id and being sent (or sent without an answer yet).
    SUBMITTED = "submitted"
    #: The provider accepted it; the result is not final (Antom REFUND_IN_PROCESS, Worldpay sentForRefund).
    PROCESSING = "processing"
    #: Refunded; final.
    SUCCEEDED = "succeeded"
    #: The provider refused or failed it; final.
    FAILED = "failed"
    #: No final word came from the provider in time and its records do not settle it: staff
    #: check it with the provider. Its amount still counts against the balance; a late answer
    #: (a notification, or staff asking again) still finishes it.
    UNRESOLVED = "unresolved"


class RefundEvent(enum.StrEnum):
    """What can happen to a refund."""

    #: A manager approved it; it goes out.
    APPROVED = "approved"
    #: A manager rejected it.
    REJECTED = "rejected"
    #: The provider accepted it; no final result yet.
    PROCESSING = "processing"
    #: The provider refunded it.
    SUCCEEDED = "succeeded"
    #: The provider refused it or it failed.
    FAILED = "failed"
    #: Its final word did not come in time and the provider's records do not settle it.
    UNRESOLVED = "unresolved"


R = RefundStatus
RE = RefundEvent

REFUND_TRANSITIONS: Mapping[RefundStatus, Mapping[RefundEvent, RefundStatus | Late]] = freeze_table(
    {
        R.AWAITING_APPROVAL: {RE.APPROVED: R.SUBMITTED, RE.REJECTED: R.REJECTED},
        R.REJECTED: {RE.REJECTED: LATE},
        R.SUBMITTED: {
            RE.APPROVED: LATE,
            RE.PROCESSING: R.PROCESSING,
            RE.SUCCEEDED: R.SUCCEEDED,
            RE.FAILED: R.FAILED,
            RE.UNRESOLVED: R.UNRESOLVED,
        },
        R.PROCESSING: {
            RE.APPROVED: LATE,
            RE.PROCESSING: LATE,
            RE.SUCCEEDED: R.SUCCEEDED,
            RE.FAILED: R.FAILED,
            RE.UNRESOLVED: R.UNRESOLVED,
        },
        R.UNRESOLVED: {
            RE.APPROVED: LATE,
            RE.PROCESSING: LATE,
            RE.UNRESOLVED: LATE,
            RE.SUCCEEDED: R.SUCCEEDED,
            RE.FAILED: R.FAILED,
        },
        R.SUCCEEDED: {RE.APPROVED: LATE, RE.PROCESSING: LATE, RE.SUCCEEDED: LATE, RE.UNRESOLVED: LATE},
        R.FAILED: {RE.APPROVED: LATE, RE.PROCESSING: LATE, RE.FAILED: LATE, RE.UNRESOLVED: LATE},
    }
)

REFUND_MACHINE = Machine("refund", RefundStatus, RefundEvent, REFUND_TRANSITIONS)

#: Refund statuses the provider has not given a final answer for yet (asked about until it does).
OPEN_REFUND = frozenset({R.SUBMITTED, R.PROCESSING})
#: Refund statuses whose money may still move at the provider: sent, with no final word yet.
REFUND_IN_FLIGHT = OPEN_REFUND | {R.UNRESOLVED}
#: Refund statuses whose amount is (or may become) refunded: they count against the balance.
REFUND_HOLDS_BALANCE = frozenset({R.AWAITING_APPROVAL, R.SUBMITTED, R.PROCESSING, R.UNRESOLVED, R.SUCCEEDED})


class RefundRefused(ValueError):
    """A refund request fails a rule before anything is stored or sent."""


class DuplicateRefund(RefundRefused):
    """The refund request id was used already (a double click or a retried form)."""


class RefundExceedsBalance(RefundRefused):
    """The amount is more than what is left to refund."""


class NotRefundable(RefundRefused):
    """The payment is not in a status that holds money (or the amount is not positive)."""


def refundable_minor(amount_minor: int, refunds: Iterable[tuple[str, int]]) -> int:
    """Return what is left to refund of a payment of ``amount_minor``.

    :param refunds: ``(status, amount_minor)`` of the payment's refunds; the ones that hold
        balance (awaiting approval, in flight, succeeded) count, so two concurrent requests
        cannot together exceed the payment
    """
    held = sum(amount for status, amount in refunds if RefundStatus(status) in REFUND_HOLDS_BALANCE)
    return amount_minor - held


def check_refund(
    payment_status: PaymentStatus | str,
    amount_minor: int,
    refunds: Iterable[tuple[str, int]],
    requested_minor: int,
    request_id: str,
    used_request_ids: Iterable[str] = (),
) -> int:
    """Check a new refund against the pure rules and return the balance left after it.

    :raises DuplicateRefund: ``request_id`` is in ``used_request_ids``
    :raises NotRefundable: the payment holds no money, or ``requested_minor`` ≤ 0
    :raises RefundExceedsBalance: ``requested_minor`` is more than the refundable balance
    """
    if request_id in set(used_request_ids):
        raise DuplicateRefund(f"refund request {request_id} exists already")
    if PaymentStatus(payment_status) not in PAYMENT_REFUNDABLE:
        raise NotRefundable(
            _l(
                "a %(status)s payment cannot be refunded",
                status=status_label(PaymentStatus(payment_status).value),
            )
        )
    if requested_minor <= 0:
        raise NotRefundable(_l("a refund amount must be positive"))
    balance = refundable_minor(amount_minor, refunds)
    if requested_minor > balance:
        raise RefundExceedsBalance(f"only {balance} minor units are left to refund")
    return balance - requested_minor


# --- cancels (Antom only) --------------------------------------------------------------------------


class CancelStatus(enum.StrEnum):
    """Where an Antom cancel stands; a cancel needs no approval (it always refunds in full)."""

    #: Committed and being sent (or sent without an answer yet).
    SUBMITTED = "submitted"
    #: The answer was unknown (U / timeout); an inquiry or a retry with the same ids resolves it.
    PROCESSING = "processing"
    #: Antom cancelled the payment; final.
    SUCCEEDED = "succeeded"
    #: Antom refused (window passed, already refunded …); final.
    FAILED = "failed"


class CancelEvent(enum.StrEnum):
    """What can happen to a cancel."""

    #: Sent but the result is unknown.
    PROCESSING = "processing"
    #: Cancelled.
    SUCCEEDED = "succeeded"
    #: Refused.
    FAILED = "failed"


C = CancelStatus
CE = CancelEvent

CANCEL_TRANSITIONS: Mapping[CancelStatus, Mapping[CancelEvent, CancelStatus | Late]] = freeze_table(
    {
        C.SUBMITTED: {CE.PROCESSING: C.PROCESSING, CE.SUCCEEDED: C.SUCCEEDED, CE.FAILED: C.FAILED},
        C.PROCESSING: {CE.PROCESSING: LATE, CE.SUCCEEDED: C.SUCCEEDED, CE.FAILED: C.FAILED},
        C.SUCCEEDED: {CE.PROCESSING: LATE, CE.SUCCEEDED: LATE},
        C.FAILED: {CE.PROCESSING: LATE, CE.FAILED: LATE},
    }
)

CANCEL_MACHINE = Machine("cancel", CancelStatus, CancelEvent, CANCEL_TRANSITIONS)

#: Cancel statuses Antom has not given a final answer for yet.
OPEN_CANCEL = frozenset({C.SUBMITTED, C.PROCESSING})
#: Unknown answers one cancel may get before it is sent no more: Antom's cancel docs say to retry
#: an unknown answer with the same ids, and to contact its support after 3 still-unknown answers.
#: The cancel then stays ``processing`` (unknown), saying so, for staff to settle with support.
MAX_UNKNOWN_CANCEL_ANSWERS = 3
