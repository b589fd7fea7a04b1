"""Payment, refund and cancel statuses, their events and pure transition functions.

Each machine is one explicit table ``{status: {event: outcome}}``. An outcome is the next status, or
:data:`LATE` (the event is a duplicate or arrived after a later one: record it, change nothing —
:class:`IgnoredEvent`). A pair missing from the table is a contradiction that needs a human
(:class:`InvalidTransition`). Callers map the two errors to log levels and inbox outcomes.

Provider vocabularies are translated into our events by the mapping tables at the bottom: every
status or event name a provider documents maps to an event (possibly :attr:`PaymentEvent.NOTE`,
which records and keeps the status), so nothing a provider sends is ever rejected for its name.

**Disputes.** A payment can be ``disputed`` (a dispute or chargeback enquiry is open: Worldpay
``dispute*`` events, Antom ``DISPUTE``) and ``charged_back`` (the funds were taken back: Worldpay
``chargedBack``). A dispute closed in the merchant's favour (Worldpay ``chargebackReversed``,
``disputeFundsReleased`` …) moves the payment to ``settled``: the funds are the merchant's again,
and a dispute is only ever raised on captured money. These are the only moves that may leave and
re-enter a status (a new dispute can open on a settled payment); everything else is forward-only.
Refunds do not change a payment's status: they live on :class:`Refund` rows and in
``Payment.refunded_minor`` (Antom keeps ``SUCCESS`` after refunds, too).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic
from typing import TypeVar

from dashboard.providers.antom.consts import NotifyType as AntomNotifyType
from dashboard.providers.antom.consts import PaymentStatus as AntomPaymentStatus
from dashboard.providers.antom.consts import RefundStatus as AntomRefundStatus
from dashboard.providers.worldpay.consts import EventName as WorldpayEvent

log = logging.getLogger(__name__)

# --- shared machinery ------------------------------------------------------------------------------


class TransitionError(Exception):
    """A status machine refused an event; ``status`` and ``event`` say which."""

    def __init__(self, machine: str, status: str, event: str, why: str):
        super().__init__(f"{machine}: {event} on {status}: {why}")
        self.machine = machine
        self.status = status
        self.event = event


class InvalidTransition(TransitionError):
    """The event contradicts the current status (e.g. a failure after a success): needs a human."""


class IgnoredEvent(TransitionError):
    """A duplicate or late event: record it on the timeline, never move the status backwards."""

    @property
    def confirms(self) -> bool:
        """Return True when the event repeats the current status rather than arriving out of order."""
        return MACHINES[self.machine].confirms(self.status, self.event)


class Late:
    """Table marker: the event is a duplicate or out of date for this status."""

    def __repr__(self) -> str:
        return "LATE"


#: Table outcome for a duplicate or late event (raises :class:`IgnoredEvent`).
LATE = Late()

S = TypeVar("S", bound=enum.StrEnum)
E = TypeVar("E", bound=enum.StrEnum)


#: Every machine by name, so an error's ``machine`` leads back to its table.
MACHINES: dict[str, Machine] = {}


@dataclass(frozen=True)
class Machine(Generic[S, E]):
    """A status machine given by an explicit table; pairs not in it are invalid."""

    name: str
    statuses: type[S]
    events: type[E]
    table: Mapping[S, Mapping[E, S | Late]]

    def __post_init__(self) -> None:
        MACHINES[self.name] = self
        missing = set(self.statuses) - set(self.table)
        if missing:
            raise ValueError(f"{self.name}: no row for {sorted(missing)}")
        for row in self.table.values():
            for event, outcome in row.items():
                if event not in set(self.events) or not (outcome is LATE or outcome in set(self.statuses)):
                    raise ValueError(f"{self.name}: bad table entry {event!r} → {outcome!r}")

    def next(self, current: S | str, event: E | str) -> S:
        """Return the status after ``event``; raise :class:`IgnoredEvent` or :class:`InvalidTransition`."""
        status = self.statuses(current)
        what = self.events(event)
        outcome = self.table[status].get(what)
        if outcome is None:
            raise InvalidTransition(self.name, status, what, "not allowed")
        if outcome is LATE:
            raise IgnoredEvent(self.name, status, what, "duplicate or late; status kept")
        return outcome  # type: ignore[return-value]

    def target(self, event: E | str) -> S | None:
        """Return the status ``event`` leads to from the earliest status that accepts it."""
        what = self.events(event)
        for status in self.statuses:
            outcome = self.table[status].get(what)
            if outcome is not None and outcome is not LATE:
                return outcome  # type: ignore[return-value]
        return None

    def confirms(self, current: S | str, event: E | str) -> bool:
        """Return True when ``event`` only repeats what ``current`` says (a confirmation, not news)."""
        return self.target(event) == self.statuses(current)

    def allowed(self, current: S | str) -> frozenset[E]:
        """Return the events that move (or keep, for notes) ``current``."""
        row = self.table[self.statuses(current)]
        return frozenset(event for event, outcome in row.items() if outcome is not LATE)


def clip(text: str | None, limit: int) -> str | None:
    """Return ``text`` cut to its column's ``limit``, or None when it is empty."""
    return (text or "")[:limit] or None


def keep_result(row, code: str | None, message: str | None) -> None:
    """Store a provider's result code and message on ``row``, cut to their columns."""
    row.result_code = clip(code, 64)
    row.result_message = clip(message, 256)


def settle(change: Callable[[], bool]) -> bool:
    """Run a status change that follows a provider's answer; a late or contradicting one changes nothing.

    The answer's call record is on the timeline already, so nothing is lost: a notification or
    an inquiry got there first (late), or the provider contradicts itself (logged for staff).
    """
    try:
        return change()
    except IgnoredEvent:
        return False
    except InvalidTransition as exc:
        log.warning("a provider answer contradicts the status: %s", exc)
        return False


def freeze_table(table: dict) -> Mapping:
    return MappingProxyType({status: MappingProxyType(dict(row)) for status, row in table.items()})


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


#: Statuses after which nothing but a dispute can happen.
PAYMENT_FINAL = frozenset({PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED})
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


def next_status(current: PaymentStatus | str, event: PaymentEvent | str) -> PaymentStatus:
    """Return a payment's status after ``event``.

    :raises IgnoredEvent: duplicate or late; keep the status, record the event
    :raises InvalidTransition: the event contradicts the status
    """
    return PAYMENT_MACHINE.next(current, event)


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
        },
        R.PROCESSING: {
            RE.APPROVED: LATE,
            RE.PROCESSING: LATE,
            RE.SUCCEEDED: R.SUCCEEDED,
            RE.FAILED: R.FAILED,
        },
        R.SUCCEEDED: {RE.APPROVED: LATE, RE.PROCESSING: LATE, RE.SUCCEEDED: LATE},
        R.FAILED: {RE.APPROVED: LATE, RE.PROCESSING: LATE, RE.FAILED: LATE},
    }
)

REFUND_MACHINE = Machine("refund", RefundStatus, RefundEvent, REFUND_TRANSITIONS)

#: Refund statuses whose amount is (or may become) refunded: they count against the balance.
REFUND_HOLDS_BALANCE = frozenset({R.AWAITING_APPROVAL, R.SUBMITTED, R.PROCESSING, R.SUCCEEDED})


def next_refund_status(current: RefundStatus | str, event: RefundEvent | str) -> RefundStatus:
    """Return a refund's status after ``event`` (errors as :func:`next_status`)."""
    return REFUND_MACHINE.next(current, event)


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
        raise NotRefundable(f"a {PaymentStatus(payment_status)} payment cannot be refunded")
    if requested_minor <= 0:
        raise NotRefundable("a refund amount must be positive")
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


def next_cancel_status(current: CancelStatus | str, event: CancelEvent | str) -> CancelStatus:
    """Return a cancel's status after ``event`` (errors as :func:`next_status`)."""
    return CANCEL_MACHINE.next(current, event)


# --- provider vocabularies → our events -----------------------------------------------------------

#: Antom ``paymentStatus`` (inquiryPayment, notifyPayment) → payment event.
ANTOM_PAYMENT_STATUS: Mapping[AntomPaymentStatus, PaymentEvent] = MappingProxyType(
    {
        AntomPaymentStatus.SUCCESS: PE.SUCCEEDED,
        # An Auto Debit payment that expires unpaid is reported as FAIL by Antom (antom.md §5.2).
        AntomPaymentStatus.FAIL: PE.FAILED,
        AntomPaymentStatus.PROCESSING: PE.PROCESSING,
        AntomPaymentStatus.CANCELLED: PE.CANCELLED,
        AntomPaymentStatus.PENDING: PE.PROCESSING,
    }
)

#: Antom dispute notifications (``notifyDispute``'s ``disputeNotificationType``). Not in our provider
#: notes, which only list DISPUTE as a transaction/summary type: these names follow Antom's dispute
#: page and are kept here so a dispute is recorded, never rejected. Unknown names map to NOTE.
ANTOM_DISPUTE_NOTIFICATION: Mapping[str, PaymentEvent] = MappingProxyType(
    {
        "DISPUTE": PE.DISPUTE_OPENED,
        "DISPUTE_CREATED": PE.DISPUTE_OPENED,
        "DEFENSE_SUPPLIED": PE.DISPUTE_OPENED,
        "DEFENSE_DUE_ALERT": PE.DISPUTE_OPENED,
        "DISPUTE_ACCEPTED": PE.CHARGED_BACK,
        "DISPUTE_JUDGED_LOST": PE.CHARGED_BACK,
        "DISPUTE_JUDGED_WON": PE.DISPUTE_RESOLVED,
        "DISPUTE_CANCELLED": PE.DISPUTE_RESOLVED,
    }
)

#: Antom ``refundStatus`` (inquiryRefund, notifyRefund) → refund event.
ANTOM_REFUND_STATUS: Mapping[AntomRefundStatus, RefundEvent] = MappingProxyType(
    {
        AntomRefundStatus.SUCCESS: RE.SUCCEEDED,
        AntomRefundStatus.PROCESSING: RE.PROCESSING,
        AntomRefundStatus.FAIL: RE.FAILED,
    }
)

W = WorldpayEvent

#: Every Worldpay ``lastEvent`` / webhook event type → payment event (worldpay_hkach.md §1.7, §1.10.3).
WORLDPAY_PAYMENT_EVENT: Mapping[WorldpayEvent, PaymentEvent] = MappingProxyType(
    {
        W.PENDING: PE.PROCESSING,
        W.SENT_FOR_AUTHORIZATION: PE.PROCESSING,
        W.AUTHORIZED: PE.SUCCEEDED,
        W.SENT_FOR_SETTLEMENT: PE.SUCCEEDED,
        W.SETTLEMENT_INSTRUCTED: PE.NOTE,
        W.SETTLED: PE.SETTLED,
        W.SETTLEMENT_FAILED: PE.SETTLEMENT_FAILED,
        W.SETTLEMENT_REJECTED: PE.SETTLEMENT_FAILED,
        # Funds taken back after settlement: recorded for staff; not a documented AlipayHK path.
        W.SETTLEMENT_REVERSED: PE.NOTE,
        W.REFUSED: PE.FAILED,
        W.REFUSED_BY_ISSUER: PE.FAILED,
        W.ERROR: PE.FAILED,
        # Seed 000 calls the shopper's cancel "cancelled"; the API says cancelledByCustomer: accept both.
        W.CANCELLED: PE.CANCELLED,
        W.CANCELLED_BY_CUSTOMER: PE.CANCELLED,
        W.CANCEL_REQUESTED: PE.NOTE,
        W.CANCEL_FAILED: PE.NOTE,
        W.EXPIRED: PE.EXPIRED,
        W.REQUEST_EXPIRED: PE.EXPIRED,
        # Refund activity lives on Refund rows (WORLDPAY_REFUND_EVENT); the payment only records it.
        W.SENT_FOR_REFUND: PE.NOTE,
        W.REFUNDED: PE.NOTE,
        W.REFUND_FAILED: PE.NOTE,
        W.REFUND_EXPIRED: PE.NOTE,
        W.REFUND_REVERSED: PE.NOTE,
        W.CHARGED_BACK: PE.CHARGED_BACK,
        W.CHARGEBACK_REVERSED: PE.DISPUTE_RESOLVED,
        W.DISPUTE_INFORMATION_REQUESTED: PE.DISPUTE_OPENED,
        W.DISPUTE_INFORMATION_SUPPLIED: PE.DISPUTE_OPENED,
        W.DISPUTE_FUNDS_HELD: PE.DISPUTE_OPENED,
        W.DISPUTE_FUNDS_RELEASED: PE.DISPUTE_RESOLVED,
        W.DISPUTE_RESERVE_RELEASED: PE.DISPUTE_RESOLVED,
        W.DISPUTE_EXPIRED: PE.DISPUTE_RESOLVED,
        W.MANUALLY_AMENDED: PE.NOTE,
        W.MISCELLANEOUS: PE.NOTE,
        W.SIGNED_FORM_RECEIVED: PE.NOTE,
        W.TOKEN_CREATED: PE.NOTE,
        W.TOP_UP_ACCEPTED: PE.NOTE,
        W.TOP_UP_REJECTED: PE.NOTE,
        W.UNKNOWN: PE.NOTE,
    }
)

#: Worldpay events about a reversal (matched to a Refund by ``eventDetails.reference``) → refund event.
WORLDPAY_REFUND_EVENT: Mapping[WorldpayEvent, RefundEvent] = MappingProxyType(
    {
        W.SENT_FOR_REFUND: RE.PROCESSING,
        W.REFUNDED: RE.SUCCEEDED,
        W.REFUND_FAILED: RE.FAILED,
        W.REFUND_EXPIRED: RE.FAILED,
    }
)


def antom_payment_event(payment_status: str) -> PaymentEvent:
    """Map an Antom ``paymentStatus``; an undocumented value is recorded as a NOTE."""
    try:
        return ANTOM_PAYMENT_STATUS[AntomPaymentStatus(payment_status)]
    except ValueError:
        return PE.NOTE


def antom_payment_result_event(notify_type: str, result_status: str) -> PaymentEvent:
    """Map a notifyPayment without ``paymentStatus``: PAYMENT_PENDING, or PAYMENT_RESULT with S/F/U."""
    if notify_type == AntomNotifyType.PAYMENT_PENDING:
        return PE.PROCESSING
    return {"S": PE.SUCCEEDED, "F": PE.FAILED}.get(result_status, PE.PROCESSING)


def antom_dispute_event(notification_type: str) -> PaymentEvent:
    """Map an Antom dispute notification type; unknown ones are recorded as a NOTE."""
    return ANTOM_DISPUTE_NOTIFICATION.get(notification_type, PE.NOTE)


def worldpay_payment_event(event_name: str) -> PaymentEvent:
    """Map a Worldpay ``lastEvent`` / event type; an undocumented name is recorded as a NOTE."""
    try:
        return WORLDPAY_PAYMENT_EVENT[WorldpayEvent(event_name)]
    except ValueError:
        return PE.NOTE


def worldpay_refund_event(event_name: str) -> RefundEvent | None:
    """Return the refund event a Worldpay event carries, or None if it is not about a reversal."""
    try:
        return WORLDPAY_REFUND_EVENT.get(WorldpayEvent(event_name))
    except ValueError:
        return None
