"""Reconcile a settlement batch: each of its rows against our payment, refund or cancel, our records
of its day against its rows, and its rows against its summary's total.

Rows are read a chunk at a time and looked up with one query per kind of id and chunk, so memory
stays flat in the batch's size; only the ids of what matched are kept, to find what the batch lacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import tzinfo
from typing import Any

from sqlalchemy import Row
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import CancelStatus
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import RefundStatus
from dashboard.settlements.models import BatchState
from dashboard.settlements.models import Outcome
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.models import SettlementEntry
from dashboard.settlements.models import SettlementResult
from dashboard.settlements.models import SettlementTotal
from dashboard.settlements.records import EntryKind

#: Rows read, looked up and written at a time.
CHUNK = 2000
#: Our payment statuses in which its money was taken: a cancelled payment may have been paid first, and
#: a dispute or a chargeback comes after the payment settled (it settles as a row of its own).
PAID = tuple(
    status.value
    for status in (
        PaymentStatus.SUCCEEDED,
        PaymentStatus.SETTLED,
        PaymentStatus.CANCELLED,
        PaymentStatus.DISPUTED,
        PaymentStatus.CHARGED_BACK,
    )
)
#: Kinds whose row names a payment (by its id or, for reversals and disputes, the original's).
ON_PAYMENT = (EntryKind.PAYMENT, EntryKind.CANCEL, EntryKind.PAYMENT_REVERSAL, EntryKind.DISPUTE)
ON_REFUND = (EntryKind.REFUND, EntryKind.REFUND_REVERSAL)

_ENTRY_COLUMNS = (
    SettlementEntry.id,
    SettlementEntry.kind,
    SettlementEntry.provider_id,
    SettlementEntry.original_provider_id,
    SettlementEntry.request_id,
    SettlementEntry.amount_minor,
    SettlementEntry.currency,
    SettlementEntry.fee_minor,
    SettlementEntry.settlement_amount_minor,
)


@dataclass
class _Seen:
    """Ours that some row of the batch named, and the batch's sums."""

    payments: set[int] = field(default_factory=set)
    refunds: set[int] = field(default_factory=set)
    cancels: set[int] = field(default_factory=set)
    gross: int = 0
    fee: int = 0
    net: int = 0
    count: int = 0


def day_window(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return the start and end of ``day`` in the provider's zone, as aware times."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def _result(batch: SettlementBatch, outcome: Outcome, kind: str, **values: Any) -> dict[str, Any]:
    row = {
        "batch_id": batch.id,
        "outcome": outcome.value,
        "kind": kind,
        "entry_id": None,
        "provider_id": None,
        "payment_id": None,
        "refund_id": None,
        "cancel_id": None,
        "currency": batch.currency,
        "their_minor": None,
        "our_minor": None,
        "fee_minor": 0,
        "net_minor": None,
    }
    row.update(values)
    return row


def _by_ids(
    session: Session,
    model: Any,
    columns: Sequence[Any],
    provider_column: Any,
    ids: set[str],
    request_ids: set[str],
    where: Iterable[Any],
) -> tuple[dict[str, Row], dict[str, Row]]:
    """Return ``model`` rows by the provider's id and by our request id, one query for a chunk."""
    if not ids and not request_ids:
        return {}, {}
    rows = session.execute(
        select(*columns).where(or_(provider_column.in_(ids), model.request_id.in_(request_ids)), *where)
    ).all()
    return (
        {row[1]: row for row in rows if row[1] is not None},
        {row.request_id: row for row in rows},
    )


def _match_chunk(session: Session, batch: SettlementBatch, chunk: Sequence[Row], seen: _Seen) -> list[dict]:
    """Return the result of each row of ``chunk``, looking ours up with one query per kind."""
    payment_ids = {row.provider_id for row in chunk if row.kind in ON_PAYMENT}
    payment_ids |= {
        row.original_provider_id for row in chunk if row.kind in ON_PAYMENT and row.original_provider_id
    }
    payment_requests = {row.request_id for row in chunk if row.kind in ON_PAYMENT and row.request_id}
    refund_ids = {row.provider_id for row in chunk if row.kind in ON_REFUND}
    refund_requests = {row.request_id for row in chunk if row.kind in ON_REFUND and row.request_id}
    payments, payments_by_request = _by_ids(
        session,
        Payment,
        (
            Payment.id,
            Payment.provider_payment_id,
            Payment.request_id,
            Payment.amount_minor,
            Payment.currency,
            Payment.status,
        ),
        Payment.provider_payment_id,
        payment_ids,
        payment_requests,
        (Payment.provider == batch.provider,),
    )
    refunds, refunds_by_request = _by_ids(
        session,
        Refund,
        (
            Refund.id,
            Refund.provider_refund_id,
            Refund.request_id,
            Refund.amount_minor,
            Refund.currency,
            Refund.status,
            Refund.payment_id,
        ),
        Refund.provider_refund_id,
        refund_ids,
        refund_requests,
        (),
    )
    cancelled = {row.payment_id: row.id for row in _cancels(session, [row.id for row in payments.values()])}
    results = []
    for row in chunk:
        seen.gross += row.amount_minor
        seen.fee += row.fee_minor
        seen.net += row.settlement_amount_minor or 0
        seen.count += 1
        theirs = {
            "entry_id": row.id,
            "provider_id": row.provider_id,
            "currency": row.currency,
            "their_minor": row.amount_minor,
            "fee_minor": row.fee_minor,
            "net_minor": row.settlement_amount_minor,
        }
        if row.kind in ON_REFUND:
            refund = refunds.get(row.provider_id) or refunds_by_request.get(row.request_id)
            results.append(_refund_result(batch, row, refund, theirs, seen))
        else:
            key = (
                row.original_provider_id
                if row.kind in (EntryKind.PAYMENT_REVERSAL, EntryKind.DISPUTE)
                else None
            )
            payment = payments.get(key or row.provider_id) or payments_by_request.get(row.request_id)
            results.append(_payment_result(batch, row, payment, cancelled, theirs, seen))
    return results


def _cancels(session: Session, payment_ids: list[int]) -> list[Row]:
    if not payment_ids:
        return []
    return session.execute(
        select(Cancel.id, Cancel.payment_id).where(
            Cancel.payment_id.in_(payment_ids), Cancel.status == CancelStatus.SUCCEEDED.value
        )
    ).all()


def _outcome(ours: int, currency: str, row: Row, good_status: bool) -> Outcome:
    if currency != row.currency or ours != row.amount_minor:
        return Outcome.AMOUNT_MISMATCH
    return Outcome.MATCHED if good_status else Outcome.STATUS_MISMATCH


def _payment_result(batch, row, payment, cancelled: dict[int, int], theirs: dict, seen: _Seen) -> dict:
    kind = row.kind
    if payment is None:
        return _result(batch, Outcome.MISSING_OURS, kind, **theirs)
    ours = {"payment_id": payment.id, "our_minor": payment.amount_minor}
    if kind == EntryKind.PAYMENT:
        seen.payments.add(payment.id)
        outcome = _outcome(payment.amount_minor, payment.currency, row, payment.status in PAID)
    elif kind == EntryKind.CANCEL:
        cancel_id = cancelled.get(payment.id)
        ours |= {"our_minor": -payment.amount_minor, "cancel_id": cancel_id}
        if cancel_id is not None:
            seen.cancels.add(cancel_id)
        outcome = _outcome(-payment.amount_minor, payment.currency, row, cancel_id is not None)
    else:
        # A reversal or a dispute of a payment we believe stands.
        outcome = Outcome.STATUS_MISMATCH
    return _result(batch, outcome, kind, **(theirs | ours))


def _refund_result(batch, row, refund, theirs: dict, seen: _Seen) -> dict:
    if refund is None:
        return _result(batch, Outcome.MISSING_OURS, row.kind, **theirs)
    ours = {"refund_id": refund.id, "payment_id": refund.payment_id, "our_minor": -refund.amount_minor}
    if row.kind == EntryKind.REFUND:
        seen.refunds.add(refund.id)
        outcome = _outcome(
            -refund.amount_minor, refund.currency, row, refund.status == RefundStatus.SUCCEEDED
        )
    else:
        # The provider gave the refund back to us (the customer never got it).
        ours["our_minor"] = None
        outcome = Outcome.STATUS_MISMATCH
    return _result(batch, outcome, row.kind, **(theirs | ours))


def _missing_theirs(session: Session, batch: SettlementBatch, zone: tzinfo, seen: _Seen) -> list[dict]:
    """Return ours that settled on the batch's day (we believe) and that no row of the batch names."""
    if batch.day is None:
        return []
    start, end = day_window(batch.day, zone)
    results = []
    payments = session.execute(
        select(Payment.id, Payment.provider_payment_id, Payment.amount_minor).where(
            Payment.provider == batch.provider,
            Payment.currency == batch.currency,
            Payment.status.in_(PAID),
            Payment.paid_at >= start,
            Payment.paid_at < end,
        )
    ).yield_per(CHUNK)
    for payment in payments:
        if payment.id not in seen.payments:
            results.append(
                _result(
                    batch,
                    Outcome.MISSING_THEIRS,
                    EntryKind.PAYMENT,
                    payment_id=payment.id,
                    provider_id=payment.provider_payment_id,
                    our_minor=payment.amount_minor,
                )
            )
    refunds = session.execute(
        select(Refund.id, Refund.payment_id, Refund.provider_refund_id, Refund.amount_minor)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(
            Payment.provider == batch.provider,
            Refund.currency == batch.currency,
            Refund.status == RefundStatus.SUCCEEDED.value,
            Refund.refunded_at >= start,
            Refund.refunded_at < end,
        )
    ).yield_per(CHUNK)
    for refund in refunds:
        if refund.id not in seen.refunds:
            results.append(
                _result(
                    batch,
                    Outcome.MISSING_THEIRS,
                    EntryKind.REFUND,
                    refund_id=refund.id,
                    payment_id=refund.payment_id,
                    provider_id=refund.provider_refund_id,
                    our_minor=-refund.amount_minor,
                )
            )
    cancels = session.execute(
        select(Cancel.id, Cancel.payment_id, Payment.provider_payment_id, Payment.amount_minor)
        .join(Payment, Payment.id == Cancel.payment_id)
        .where(
            Payment.provider == batch.provider,
            Payment.currency == batch.currency,
            Payment.paid_at.is_not(None),
            Cancel.status == CancelStatus.SUCCEEDED.value,
            Cancel.cancelled_at >= start,
            Cancel.cancelled_at < end,
        )
    ).yield_per(CHUNK)
    for cancel in cancels:
        if cancel.id not in seen.cancels:
            results.append(
                _result(
                    batch,
                    Outcome.MISSING_THEIRS,
                    EntryKind.CANCEL,
                    cancel_id=cancel.id,
                    payment_id=cancel.payment_id,
                    provider_id=cancel.provider_payment_id,
                    our_minor=-cancel.amount_minor,
                )
            )
    return results


def _against_summary(session: Session, batch: SettlementBatch, seen: _Seen) -> list[dict]:
    """Return the summary's fee rows as differences, and the totals' disagreement, if any."""
    totals = session.scalars(
        select(SettlementTotal)
        .where(SettlementTotal.file_id == batch.summary_file_id)
        .order_by(SettlementTotal.line)
    ).all()
    results = []
    expected_net, expected_fee, expected_count = seen.net, seen.fee, seen.count
    grand = None
    for total in totals:
        if total.kind == EntryKind.TOTAL:
            grand = total
        elif total.kind == EntryKind.FEE_ADJUSTMENT:
            expected_net += total.settlement_amount_minor
            expected_fee += total.fee_minor
            expected_count += total.count
            results.append(
                _result(
                    batch,
                    Outcome.FEE,
                    total.kind,
                    their_minor=total.settlement_amount_minor,
                    fee_minor=total.fee_minor,
                    net_minor=total.settlement_amount_minor,
                )
            )
    batch.summary_net_minor = grand.settlement_amount_minor if grand else None
    batch.summary_fee_minor = grand.fee_minor if grand else None
    batch.summary_count = grand.count if grand else None
    if grand is None or (grand.settlement_amount_minor, grand.fee_minor, grand.count) != (
        expected_net,
        expected_fee,
        expected_count,
    ):
        results.append(
            _result(
                batch,
                Outcome.TOTALS_MISMATCH,
                EntryKind.TOTAL,
                their_minor=batch.summary_net_minor,
                our_minor=expected_net,
                fee_minor=(batch.summary_fee_minor or 0) - expected_fee,
            )
        )
    return results


def reconcile(session: Session, batch: SettlementBatch, zone: tzinfo) -> None:
    """Reconcile a batch whose details and summary are both imported, in the caller's transaction.

    What an earlier run found is replaced (its notes with it): run it when a batch's file changes.
    """
    session.execute(delete(SettlementResult).where(SettlementResult.batch_id == batch.id))
    seen = _Seen()
    entries = session.execute(
        select(*_ENTRY_COLUMNS)
        .where(SettlementEntry.file_id == batch.details_file_id)
        .order_by(SettlementEntry.line)
        .execution_options(yield_per=CHUNK)
    )
    differences = 0
    for chunk in entries.partitions():
        results = _match_chunk(session, batch, chunk, seen)
        differences += _store(session, results)
    differences += _store(session, _missing_theirs(session, batch, zone, seen))
    differences += _store(session, _against_summary(session, batch, seen))
    batch.gross_minor, batch.fee_minor, batch.net_minor, batch.entry_count = (
        seen.gross,
        seen.fee,
        seen.net,
        seen.count,
    )
    batch.difference_count = batch.open_count = differences
    batch.state = (BatchState.DIFFERENCES if differences else BatchState.BALANCED).value
    batch.reconciled_at = clock.now()


def _store(session: Session, results: list[dict]) -> int:
    """Insert results; return how many are differences."""
    if results:
        session.connection().execute(SettlementResult.__table__.insert(), results)
    return sum(result["outcome"] != Outcome.MATCHED for result in results)
