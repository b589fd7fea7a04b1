"""What providers tell us, in the domain's words: what the mappings give and the services apply.

A provider's answer or notification is read by its mapping into one of these (DESIGN §9 "The
provider registry"): the domain event it means, the result code and message to keep, and the
facts the domain needs (ids, times, amounts). Nothing here holds a provider's own field names.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from types import MappingProxyType

from dashboard.ach.states import ItemStatus
from dashboard.ach.states import SubmissionEvent
from dashboard.money import Money
from dashboard.payments.states import CancelEvent
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import RefundEvent
from dashboard.providers.base import CallOutcome

S = CallOutcome.SUCCEEDED
F = CallOutcome.FAILED
U = CallOutcome.UNKNOWN

#: What the answer to a call that moves a payment means for it (pay, create a sale).
PAYMENT_ANSWER: Mapping[CallOutcome, PaymentEvent] = MappingProxyType(
    {S: PaymentEvent.SUCCEEDED, F: PaymentEvent.FAILED, U: PaymentEvent.PROCESSING}
)
#: What the answer to a refund call (or a refund notification without a status) means for the refund.
REFUND_ANSWER: Mapping[CallOutcome, RefundEvent] = MappingProxyType(
    {S: RefundEvent.SUCCEEDED, F: RefundEvent.FAILED, U: RefundEvent.PROCESSING}
)
#: What the answer to a cancel call means for the cancel.
CANCEL_ANSWER: Mapping[CallOutcome, CancelEvent] = MappingProxyType(
    {S: CancelEvent.SUCCEEDED, F: CancelEvent.FAILED, U: CancelEvent.PROCESSING}
)


def _kept(outcome: CallOutcome, text: str | None) -> str | None:
    # A success needs no code: the status says it. Refusals and unknowns keep theirs for staff.
    return None if outcome is S else text


@dataclass(frozen=True)
class PaymentNews:
    """A payment moved, or its status was confirmed, at the provider."""

    event: PaymentEvent
    code: str | None = None
    message: str | None = None
    paid_at: datetime | None = None
    #: The provider's id of the payment, when the message carries it.
    provider_payment_id: str | None = None
    #: Our id of the payment as the provider echoes it (how a notification finds it).
    request_id: str | None = None
    #: With ``provider_payment_id``, enough to record a payment we did not start.
    amount: Money | None = None
    created_at: datetime | None = None
    #: Where the customer goes to pay (a wallet page), when the provider gives one.
    redirect_url: str | None = None
    #: What the provider offers to do next with the payment; kept as given and read only by its
    #: mapping (e.g. which refunds are possible now). None when the message does not say.
    next_actions: Mapping[str, str] | None = None

    @classmethod
    def answered(cls, outcome: CallOutcome, code: str | None, message: str | None, **facts) -> PaymentNews:
        """Return what the answer to a payment call means: S paid, F failed, U still processing."""
        return cls(PAYMENT_ANSWER[outcome], _kept(outcome, code), _kept(outcome, message), **facts)


@dataclass(frozen=True)
class RefundNews:
    """A refund moved at the provider."""

    event: RefundEvent
    code: str | None = None
    message: str | None = None
    refunded_at: datetime | None = None
    #: The provider's id of the refund, when it has one.
    provider_refund_id: str | None = None
    #: Our id of the refund as the provider echoes it.
    request_id: str | None = None
    #: With ``request_id`` and the payment, enough to record a refund we did not start.
    amount: Money | None = None
    #: The payment it refunds: our id or the provider's, as the message names it.
    payment_request_id: str | None = None
    provider_payment_id: str | None = None

    @classmethod
    def answered(cls, outcome: CallOutcome, code: str | None, message: str | None, **facts) -> RefundNews:
        """Return what the answer to a refund call means: S refunded, F failed, U in process."""
        return cls(REFUND_ANSWER[outcome], _kept(outcome, code), _kept(outcome, message), **facts)


@dataclass(frozen=True)
class RefundsOnRecord:
    """What a provider's records say of a payment's refunds, read when no refund news came."""

    #: What the provider holds as left to refund: the payment less every refund not failed.
    balance: Money
    #: Our refund ids the provider holds as taken (asked for, and not failed).
    taken: frozenset[str]
    #: Our refund ids the provider records as failed, each with the provider's word for it.
    failed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelNews:
    """What the answer to a cancel says about it."""

    event: CancelEvent
    code: str | None = None
    message: str | None = None
    cancelled_at: datetime | None = None

    @classmethod
    def answered(cls, outcome: CallOutcome, code: str | None, message: str | None, **facts) -> CancelNews:
        """Return what the answer to a cancel call means: S cancelled, F refused, U unknown.

        A success keeps its code: it becomes the cancelled payment's result, in place of the
        code of the pay that was still unknown.
        """
        return cls(CANCEL_ANSWER[outcome], code, _kept(outcome, message), **facts)


class AuthorizationChange(enum.StrEnum):
    """What a wallet says happened to a customer's authorisation."""

    #: The customer agreed: an auth code waits to be exchanged for a token.
    CODE_ISSUED = "code_issued"
    #: A token was issued (it repeats what the exchange told us).
    TOKEN_ISSUED = "token_issued"  # noqa: S105 - a change name, not a secret
    #: The token was cancelled: our revoke confirmed, or the customer unbound it in the wallet.
    TOKEN_CANCELLED = "token_cancelled"  # noqa: S105 - a change name, not a secret


@dataclass(frozen=True)
class AuthorizationNews:
    """An authorisation changed at the wallet."""

    change: AuthorizationChange
    #: Our consult's state, which names the pending agreement.
    auth_state: str | None = None
    auth_code: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    reason: str | None = None


@dataclass(frozen=True)
class DisputeNews:
    """A dispute about a payment (a chargeback or a retrieval request) opened, moved on or ended.

    ``event`` is what it means for the payment: :attr:`PaymentEvent.DISPUTE_OPENED` (opened, or
    still open), :attr:`PaymentEvent.CHARGED_BACK` (the merchant lost the funds) or
    :attr:`PaymentEvent.DISPUTE_RESOLVED` (the funds are the merchant's again).
    """

    event: PaymentEvent
    #: The provider's id of the dispute.
    dispute_id: str
    #: Where the dispute stands, in words staff read on the timeline ("opened", "judged: …").
    stage: str
    #: What the provider calls this step, kept as the payment's result code.
    code: str | None = None
    #: Why the customer disputes the payment, when the provider says.
    message: str | None = None
    #: The payment, by our id and by the provider's.
    request_id: str | None = None
    provider_payment_id: str | None = None
    #: The amount in dispute (or, once judged, the amount judged).
    amount: Money | None = None
    #: Until when the merchant may defend it.
    defend_by: datetime | None = None


@dataclass(frozen=True)
class TransferNews:
    """Where one transfer of a bulk payment stands at the bank."""

    status: ItemStatus
    #: Why it was not paid: the bank's reason code and its words for it.
    reason_code: str | None = None
    reason_text: str | None = None


@dataclass(frozen=True)
class BulkPaymentNews:
    """What a bank's status report says of one bulk payment and of each of its transfers."""

    #: What it means for the request: still received (in process) or one of its endings.
    event: SubmissionEvent
    #: The bank's status of the whole request and its reason, as kept for staff.
    group_status: str | None = None
    code: str | None = None
    message: str | None = None
    #: Each transfer the report names, by our instruction id.
    transfers: Mapping[str, TransferNews] = field(default_factory=dict)
    #: What happened to transfers the report does not name (a request rejected whole), if known.
    unnamed: TransferNews | None = None


#: Whatever a notification can say.
News = PaymentNews | RefundNews | AuthorizationNews | DisputeNews
