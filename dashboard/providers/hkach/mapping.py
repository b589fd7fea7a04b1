"""HK ACH wire formats ↔ our dataclasses: the batch we pay, its pain.001 JSON, the pain.002 status.

A batch is checked here against everything the contract (§4, §9) lets us check before sending,
so a bad batch never spends the 30-a-minute submit budget.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

from dashboard.ach.states import ItemStatus as TransferStatus
from dashboard.ach.states import SubmissionEvent
from dashboard.money import Money
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import CallRecord
from dashboard.providers.base import MalformedMessage
from dashboard.providers.base import ProviderResult
from dashboard.providers.hkach import consts
from dashboard.providers.news import BulkPaymentNews
from dashboard.providers.news import TransferNews


class PaymentStatus(enum.StrEnum):
    """A batch's or an item's ISO status (§5)."""

    RECEIVED = "RCVD"
    TECHNICALLY_ACCEPTED = "ACTC"
    PENDING = "PDNG"
    SETTLED = "ACSC"
    PARTIALLY_ACCEPTED = "PART"
    REJECTED = "RJCT"


#: Still with the bank: ask again later.
PROCESSING = frozenset({PaymentStatus.RECEIVED, PaymentStatus.TECHNICALLY_ACCEPTED, PaymentStatus.PENDING})


@dataclass(frozen=True)
class CreditTransfer:
    """One payee of a batch: an amount to a Hong Kong account (bank code + branch code + account)."""

    instruction_id: str
    end_to_end_id: str
    amount: Money
    bank_code: str
    branch_code: str
    account_number: str
    creditor_name: str
    remittance: str | None = None

    @property
    def member_id(self) -> str:
        """Return the creditor agent's member id: bank code then branch code (``004002``)."""
        return self.bank_code + self.branch_code


@dataclass(frozen=True)
class PaymentBatch:
    """One ``payment_information`` (a batch of at most 1,000 transfers, one value date)."""

    batch_id: str
    value_date: date
    transfers: tuple[CreditTransfer, ...]
    category_purpose: str = "SALA"
    #: The account it is paid from, when not the client's configured ``HKACH_DEBTOR_ACCOUNT``.
    debtor_account: str | None = None

    @property
    def total(self) -> Money:
        """Return the sum of the transfers (the batch's ``control_sum``)."""
        return sum((transfer.amount for transfer in self.transfers[1:]), self.transfers[0].amount)


@dataclass(frozen=True)
class Problem:
    """One reason a batch cannot be sent, with the code the bank would give it."""

    code: str
    message: str


def new_message_id() -> str:
    """Return a fresh ``x-Message-Id``; store it before submitting (it is the idempotency key)."""
    return str(uuid.uuid4())


def _id_problems(value: str, what: str, too_long_code: str) -> list[Problem]:
    if not value:
        return [Problem(consts.SCHEMA_CODE, f"{what} is empty")]
    if len(value) > consts.MAX_ID_LENGTH:
        return [Problem(too_long_code, f"{what} {value!r} is longer than {consts.MAX_ID_LENGTH}")]
    return []


def batch_problems(batch: PaymentBatch) -> list[Problem]:
    """Return every reason the bank would refuse ``batch`` that can be seen before sending it."""
    problems = _id_problems(batch.batch_id, "batch id", "EC004_205")
    count = len(batch.transfers)
    if count == 0:
        problems.append(Problem("EC004_202", "the batch has no transfers"))
    elif count > consts.MAX_TRANSACTIONS:
        problems.append(Problem("EC004_202", f"{count} transfers, at most {consts.MAX_TRANSACTIONS}"))
    if batch.category_purpose not in consts.CATEGORY_PURPOSES:
        problems.append(Problem(consts.SCHEMA_CODE, f"category purpose {batch.category_purpose!r}"))
    if batch.debtor_account is not None and not consts.ACCOUNT_PATTERN.fullmatch(batch.debtor_account):
        problems.append(Problem("EC004_201", "the debit account number is not 1-34 digits"))
    if len({transfer.amount.currency for transfer in batch.transfers}) > 1:
        problems.append(Problem("EC004_203", "the transfers are in more than one currency"))
    seen: set[str] = set()
    for number, transfer in enumerate(batch.transfers, start=1):
        where = f"transfer {number}"
        problems += _id_problems(transfer.instruction_id, f"{where} instruction id", "EC004_305")
        problems += _id_problems(transfer.end_to_end_id, f"{where} end-to-end id", consts.SCHEMA_CODE)
        if transfer.instruction_id in seen:
            problems.append(
                Problem("EC004_303", f"{where} repeats instruction id {transfer.instruction_id!r}")
            )
        seen.add(transfer.instruction_id)
        if transfer.amount.currency not in consts.CURRENCIES:
            problems.append(
                Problem("EC004_302", f"{where}: {transfer.amount.currency} is not paid by HK ACH")
            )
        if transfer.amount.minor <= 0:
            problems.append(Problem(consts.SCHEMA_CODE, f"{where}: the amount is not positive"))
        if not consts.MEMBER_ID_PATTERN.fullmatch(transfer.member_id):
            problems.append(
                Problem("RC08", f"{where}: bank and branch code {transfer.member_id!r} are not 3+3 digits")
            )
        if not consts.ACCOUNT_PATTERN.fullmatch(transfer.account_number):
            problems.append(Problem("AC01", f"{where}: the account number is not 1-34 digits"))
        if not transfer.creditor_name.strip():
            problems.append(Problem("EC004_306", f"{where}: the payee name is missing"))
        elif len(transfer.creditor_name) > consts.MAX_NAME_LENGTH:
            problems.append(Problem(consts.SCHEMA_CODE, f"{where}: the payee name is over 140 characters"))
        if transfer.remittance is not None and len(transfer.remittance) > consts.MAX_NAME_LENGTH:
            problems.append(
                Problem(consts.SCHEMA_CODE, f"{where}: the remittance text is over 140 characters")
            )
    return problems


def _amount(money: Money) -> str:
    return f"{money.decimal:f}"


def build_payload(
    batch: PaymentBatch, *, debtor_name: str, debtor_account: str, created_at: datetime
) -> dict[str, Any]:
    """Return the pain.001-derived JSON of one batch (§4); ``batch`` must have no problems."""
    transactions = []
    for transfer in batch.transfers:
        item: dict[str, Any] = {
            "instruction_identification": transfer.instruction_id,
            "end_to_end_identification": transfer.end_to_end_id,
            "instructed_amount": {"amount": _amount(transfer.amount), "currency": transfer.amount.currency},
            "creditor_agent_member_identification": transfer.member_id,
            "creditor_name": transfer.creditor_name,
            "creditor_account_identification": transfer.account_number,
        }
        if transfer.remittance:
            item["remittance_information_unstructured"] = [transfer.remittance]
        transactions.append(item)
    return {
        "creation_date_time": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "number_of_transactions": str(len(batch.transfers)),
        "control_sum": _amount(batch.total),
        "initiating_party_name": debtor_name,
        "payment_information": [
            {
                "payment_information_identification": batch.batch_id,
                "batch_booking": True,
                "category_purpose": batch.category_purpose,
                "requested_execution_date": batch.value_date.isoformat(),
                "debtor_name": debtor_name,
                "debtor_account_identification": batch.debtor_account or debtor_account,
                "credit_transfer_transaction_information": transactions,
            }
        ],
    }


@dataclass(frozen=True)
class SubmitResult(ProviderResult):
    """The bank's answer to a submitted batch: received (or refused), never yet paid."""

    message_id: str = ""
    #: ``RCVD``, or ``RJCT`` when business validation failed (the reason is in the status).
    transaction_status: str | None = None
    request_key: str | None = None
    location: str | None = None
    #: The bank already had a batch under this x-Message-Id (EC004_102): ours, after a lost answer.
    already_received: bool = False


@dataclass(frozen=True)
class ItemStatus:
    """What the bank says of one transfer."""

    instruction_id: str | None
    end_to_end_id: str | None
    status: PaymentStatus
    reason_code: str | None
    additional_information: tuple[str, ...]
    accepted_at: str | None


@dataclass(frozen=True)
class BatchStatus(ProviderResult):
    """The bank's pain.002 status report of a batch, or that it never received one (404)."""

    message_id: str = ""
    group_status: PaymentStatus | None = None
    reason_code: str | None = None
    additional_information: tuple[str, ...] = ()
    batch_id: str | None = None
    items: tuple[ItemStatus, ...] = ()
    found: bool = True

    @property
    def never_received(self) -> bool:
        """Return True when the bank has no batch under this x-Message-Id (404)."""
        return not self.found

    @property
    def processing(self) -> bool:
        """Return True while the bank is still working on the batch (ask again later)."""
        return self.group_status in PROCESSING

    @property
    def event_code(self) -> str | None:
        """Return the bank's EC code the report names (``EC004_108``), if any."""
        for text in self.additional_information:
            code, _, _ = text.partition("-")
            if code.startswith(("EC004_", "EC000_")):
                return code
        return None

    @property
    def rejected_items(self) -> tuple[ItemStatus, ...]:
        """Return the transfers the bank rejected."""
        return tuple(item for item in self.items if item.status is PaymentStatus.REJECTED)

    @property
    def news(self) -> BulkPaymentNews | None:
        """Return the report in the domain's words (None for a batch the bank never received)."""
        return bulk_payment_news(self) if self.found else None


#: What a group status means for the request.
GROUP_EVENTS: Mapping[PaymentStatus, SubmissionEvent] = {
    PaymentStatus.RECEIVED: SubmissionEvent.RECEIVED,
    PaymentStatus.TECHNICALLY_ACCEPTED: SubmissionEvent.RECEIVED,
    PaymentStatus.PENDING: SubmissionEvent.RECEIVED,
    PaymentStatus.SETTLED: SubmissionEvent.SETTLED,
    PaymentStatus.PARTIALLY_ACCEPTED: SubmissionEvent.PARTIALLY_SETTLED,
    PaymentStatus.REJECTED: SubmissionEvent.REJECTED,
}
#: Where a transfer stands for each status an item may have (PART belongs to groups only).
TRANSFER_STATUSES: Mapping[PaymentStatus, TransferStatus] = {
    PaymentStatus.RECEIVED: TransferStatus.RECEIVED,
    PaymentStatus.TECHNICALLY_ACCEPTED: TransferStatus.ACCEPTED,
    PaymentStatus.PENDING: TransferStatus.PENDING,
    PaymentStatus.PARTIALLY_ACCEPTED: TransferStatus.PENDING,
    PaymentStatus.SETTLED: TransferStatus.PAID,
    PaymentStatus.REJECTED: TransferStatus.REJECTED,
}
#: A reason code in brackets at the start of a NARR text: ``(AM04) Insufficient funds``.
_NARRATED_REASON = re.compile(r"\(([A-Z0-9]{4})\)\s*(.*)")


def _group_reason(status: BatchStatus) -> tuple[str | None, str | None]:
    """Return the reason code and text of a whole-batch rejection, the narrated code unwrapped."""
    code, text = status.reason_code, "; ".join(status.additional_information) or None
    if code == "NARR" and text:
        narrated = _NARRATED_REASON.match(text)
        if narrated:
            return narrated.group(1), narrated.group(2) or text
    return code, text


def bulk_payment_news(status: BatchStatus) -> BulkPaymentNews:
    """Return what a status report says of the request and, by instruction id, of each transfer.

    A transfer rejected without its own reason carries the batch's (a whole batch rejected for
    insufficient funds lists its items as rejected with no reason of their own).
    """
    group_code, group_text = _group_reason(status)
    rejected_whole = TransferNews(TransferStatus.REJECTED, group_code, group_text)
    transfers = {}
    for item in status.items:
        if item.instruction_id is None:
            continue
        state = TRANSFER_STATUSES[item.status]
        if state is TransferStatus.REJECTED and item.reason_code is None:
            transfers[item.instruction_id] = rejected_whole
        else:
            text = "; ".join(item.additional_information) or None
            transfers[item.instruction_id] = TransferNews(state, item.reason_code, text)
    event = GROUP_EVENTS[status.group_status]  # type: ignore[index] - a found report has one
    return BulkPaymentNews(
        event=event,
        group_status=status.group_status.value,
        code=group_code,
        message=group_text,
        transfers=transfers,
        unnamed=rejected_whole if event is SubmissionEvent.REJECTED else None,
    )


def outcome_of(status: PaymentStatus) -> CallOutcome:
    """Return what a group status means: paid (some items may have failed), refused, or not yet."""
    if status in PROCESSING:
        return CallOutcome.UNKNOWN
    return CallOutcome.FAILED if status is PaymentStatus.REJECTED else CallOutcome.SUCCEEDED


def _status(value: Any, where: str) -> PaymentStatus:
    try:
        return PaymentStatus(value)
    except ValueError:
        raise MalformedMessage(f"{where} {value!r} is not a known status") from None


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(str(text) for text in value) if isinstance(value, list) else ()


def parse_status(payload: Any, message_id: str, record: CallRecord) -> BatchStatus:
    """Read a pain.002 status report.

    :raises MalformedMessage: no readable ``group_status`` or an unknown item status
    """
    if not isinstance(payload, Mapping):
        raise MalformedMessage("the status report is not a JSON object")
    group = _status(payload.get("group_status"), "group_status")
    items: list[ItemStatus] = []
    batch_id = None
    for details in payload.get("original_payment_information_and_status_details") or ():
        batch_id = details.get("original_payment_information_identification")
        for item in details.get("transaction_information_and_status") or ():
            items.append(
                ItemStatus(
                    instruction_id=item.get("original_instruction_identification"),
                    end_to_end_id=item.get("original_end_to_end_identification"),
                    status=_status(item.get("transaction_status"), "transaction_status"),
                    reason_code=item.get("transaction_status_reason_code"),
                    additional_information=_texts(item.get("transaction_status_additional_information")),
                    accepted_at=item.get("acceptance_date_time"),
                )
            )
    return BatchStatus(
        outcome=outcome_of(group),
        record=record,
        result_code=payload.get("group_status_reason_code") or group.value,
        result_message="; ".join(_texts(payload.get("group_status_additional_information"))) or None,
        raw=payload,
        message_id=message_id,
        group_status=group,
        reason_code=payload.get("group_status_reason_code"),
        additional_information=_texts(payload.get("group_status_additional_information")),
        batch_id=batch_id,
        items=tuple(items),
    )


def not_found(message_id: str, record: CallRecord | None) -> BatchStatus:
    """Return the status of a batch the bank never received."""
    return BatchStatus(
        outcome=CallOutcome.UNKNOWN,
        record=record,
        result_code="EC000_004",
        message_id=message_id,
        found=False,
    )


def error_code(payload: Any) -> tuple[str | None, str | None]:
    """Return the ``(code, text)`` of an ``ErrorCode`` body ``{"status": {...}}``; Nones if absent."""
    status = payload.get("status") if isinstance(payload, Mapping) else None
    if not isinstance(status, Mapping):
        return None, None
    return status.get("code"), status.get("text")
