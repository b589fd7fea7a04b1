"""Reconcile a settlement batch: each of its rows against our payment, refund or cancel, our records
of its day against its rows, and its rows against its summary's total. A day's transactions (one
currency of the day's transactions report) are reconciled the same way, by each transaction's latest
status instead of by what settled, and against ours made that day; they have no summary.

Rows are read a chunk at a time and looked up with one query per kind of id and chunk, so memory
stays flat in the batch's size; only the ids of what matched are kept, to find what the batch lacks.
"""

from __future__ import annotations

from collections.abc import Callable
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
from dashboard.db import checked_on_rows
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import CancelStatus
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import RefundStatus
from dashboard.settlements.models import BatchState
from dashboard.settlements.models import Outcome
from dashboard.settlements.models import Scope
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.models import SettlementEntry
from dashboard.settlements.models import SettlementResult
from dashboard.settlements.models import SettlementTotal
from dashboard.settlements.records import EntryKind
from dashboard.settlements.records import TransactionState

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
    SettlementEntry.status,
)

#: Where a transactions report would put each of our payment statuses.
PAYMENT_STATES = {
    PaymentStatus.PENDING: TransactionState.PROCESSING,
    PaymentStatus.PROCESSING: TransactionState.PROCESSING,
    PaymentStatus.SUCCEEDED: TransactionState.SUCCEEDED,
    PaymentStatus.SETTLED: TransactionState.SUCCEEDED,
    PaymentStatus.DISPUTED: TransactionState.SUCCEEDED,
    PaymentStatus.CHARGED_BACK: TransactionState.SUCCEEDED,
    PaymentStatus.FAILED: TransactionState.FAILED,
    PaymentStatus.EXPIRED: TransactionState.FAILED,
    PaymentStatus.CANCELLED: TransactionState.CANCELLED,
}
#: Where a transactions report would put each of our refund statuses (not sent yet: still processing).
REFUND_STATES = {
    RefundStatus.AWAITING_APPROVAL: TransactionState.PROCESSING,
    RefundStatus.SUBMITTED: TransactionState.PROCESSING,
    RefundStatus.PROCESSING: TransactionState.PROCESSING,
    RefundStatus.UNRESOLVED: TransactionState.PROCESSING,
    RefundStatus.SUCCEEDED: TransactionState.SUCCEEDED,
    RefundStatus.FAILED: TransactionState.FAILED,
    RefundStatus.REJECTED: TransactionState.FAILED,
}


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
        "note": None,
        "resolved_by_id": None,
        "resolved_at": None,
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
    """Return ``model`` rows by the provider's id and by our request id, one query for a chunk.

    The ids are looked up in their indexes; ``where`` (a provider, say) is checked on the rows found.
    """
    if not ids and not request_ids:
        return {}, {}
    named = or_(provider_column.in_(ids), model.request_id.in_(request_ids))
    rows = session.execute(select(*columns).where(named, *map(checked_on_rows, where))).all()
    return (
        {row[1]: row for row in rows if row[1] is not None},
        {row.request_id: row for row in rows},
    )


@dataclass(frozen=True)
class _Rules:
    """How a scope judges the rows whose ours it found, and which of ours it expects to see."""

    #: Whether a payment (or cancel) row's state agrees with our payment and its cancel (if any).
    payment_agrees: Callable[[Row, Row, int | None], bool]
    #: Whether a refund row's state agrees with our refund.
    refund_agrees: Callable[[Row, Row], bool]
    #: The conditions picking our payments, refunds and cancels of the day the rows must name.
    expected: Callable[[datetime, datetime], tuple[tuple, tuple, tuple]]
    #: Whether the rows are checked against a summary's totals.
    has_summary: bool


def _settled(row: Row, payment: Row, cancel_id: int | None) -> bool:
    return payment.status in PAID if row.kind == EntryKind.PAYMENT else cancel_id is not None


def _settled_on(start: datetime, end: datetime) -> tuple[tuple, tuple, tuple]:
    """Ours the batch of the day settles: paid, refunded or (paid and) cancelled that day."""
    return (
        (checked_on_rows(Payment.status.in_(PAID)), Payment.paid_at >= start, Payment.paid_at < end),
        (
            checked_on_rows(Refund.status == RefundStatus.SUCCEEDED.value),
            Refund.refunded_at >= start,
            Refund.refunded_at < end,
        ),
        (
            checked_on_rows(Payment.paid_at.is_not(None)),
            Cancel.cancelled_at >= start,
            Cancel.cancelled_at < end,
        ),
    )


def _same_state(row: Row, payment: Row, cancel_id: int | None) -> bool:
    if row.kind == EntryKind.PAYMENT:
        return row.status == PAYMENT_STATES[PaymentStatus(payment.status)]
    cancelled = row.status in (TransactionState.SUCCEEDED, TransactionState.CANCELLED)
    return cancelled == (cancel_id is not None)


def _made_on(start: datetime, end: datetime) -> tuple[tuple, tuple, tuple]:
    """Ours the provider knows of that were made that day: created (payments, refunds) or cancelled."""
    return (
        (Payment.provider_payment_id.is_not(None), Payment.created_at >= start, Payment.created_at < end),
        (Refund.provider_refund_id.is_not(None), Refund.created_at >= start, Refund.created_at < end),
        (Cancel.cancelled_at >= start, Cancel.cancelled_at < end),
    )


RULES = {
    Scope.BATCH: _Rules(
        payment_agrees=_settled,
        refund_agrees=lambda row, refund: refund.status == RefundStatus.SUCCEEDED,
        expected=_settled_on,
        has_summary=True,
    ),
    Scope.DAY: _Rules(
        payment_agrees=_same_state,
        refund_agrees=lambda row, refund: row.status == REFUND_STATES[RefundStatus(refund.status)],
        expected=_made_on,
        has_summary=False,
    ),
}


def _match_chunk(
    session: Session, batch: SettlementBatch, chunk: Sequence[Row], seen: _Seen, rules: _Rules
) -> list[dict]:
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
            results.append(_refund_result(batch, row, refund, theirs, seen, rules))
        else:
            key = (
                row.original_provider_id
                if row.kind in (EntryKind.PAYMENT_REVERSAL, EntryKind.DISPUTE)
                else None
            )
            payment = payments.get(key or row.provider_id) or payments_by_request.get(row.request_id)
            results.append(_payment_result(batch, row, payment, cancelled, theirs, seen, rules))
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


def _payment_result(batch, row, payment, cancelled: dict[int, int], theirs: dict, seen: _Seen, rules) -> dict:
    kind = row.kind
    if payment is None:
        return _result(batch, Outcome.MISSING_OURS, kind, **theirs)
    ours = {"payment_id": payment.id, "our_minor": payment.amount_minor}
    if kind == EntryKind.PAYMENT:
        seen.payments.add(payment.id)
        outcome = _outcome(
            payment.amount_minor, payment.currency, row, rules.payment_agrees(row, payment, None)
        )
    elif kind == EntryKind.CANCEL:
        cancel_id = cancelled.get(payment.id)
        ours |= {"our_minor": -payment.amount_minor, "cancel_id": cancel_id}
        if cancel_id is not None:
            seen.cancels.add(cancel_id)
        agrees = rules.payment_agrees(row, payment, cancel_id)
        outcome = _outcome(-payment.amount_minor, payment.currency, row, agrees)
    else:
        # A reversal or a dispute of a payment we believe stands.
        outcome = Outcome.STATUS_MISMATCH
    return _result(batch, outcome, kind, **(theirs | ours))


def _refund_result(batch, row, refund, theirs: dict, seen: _Seen, rules) -> dict:
    if refund is None:
        return _result(batch, Outcome.MISSING_OURS, row.kind, **theirs)
    ours = {"refund_id": refund.id, "payment_id": refund.payment_id, "our_minor": -refund.amount_minor}
    if row.kind == EntryKind.REFUND:
        seen.refunds.add(refund.id)
        outcome = _outcome(-refund.amount_minor, refund.currency, row, rules.refund_agrees(row, refund))
    else:
        # The provider gave the refund back to us (the customer never got it).
        ours["our_minor"] = None
        outcome = Outcome.STATUS_MISMATCH
    return _result(batch, outcome, row.kind, **(theirs | ours))


def _missing_theirs(
    session: Session, batch: SettlementBatch, zone: tzinfo, seen: _Seen, rules: _Rules
) -> list[dict]:
    """Return ours of the batch's day (as its rules pick them) that no row of the batch names."""
    if batch.day is None:
        return []
    paid, refunded, cancelled = rules.expected(*day_window(batch.day, zone))
    # The provider and the day's times narrow each read, through their indexes; the rest (a currency
    # or a status covers half the rows or more) is checked on what they find. A refund's or a
    # cancel's payment is read by its id: the provider is checked on it.
    provider = Payment.provider == batch.provider
    currency = checked_on_rows(Payment.currency == batch.currency)
    # (ours expected, those rows named, what they are, the key of their own id): each read streamed.
    expected = (
        (
            select(
                Payment.id,
                Payment.id.label("payment_id"),
                Payment.provider_payment_id.label("provider_id"),
                Payment.amount_minor.label("our_minor"),
            ).where(provider, currency, *paid),
            seen.payments,
            EntryKind.PAYMENT,
            "payment_id",
        ),
        (
            select(
                Refund.id,
                Refund.payment_id,
                Refund.provider_refund_id.label("provider_id"),
                (-Refund.amount_minor).label("our_minor"),
            )
            .join(Payment, Payment.id == Refund.payment_id)
            .where(checked_on_rows(provider), checked_on_rows(Refund.currency == batch.currency), *refunded),
            seen.refunds,
            EntryKind.REFUND,
            "refund_id",
        ),
        (
            select(
                Cancel.id,
                Cancel.payment_id,
                Payment.provider_payment_id.label("provider_id"),
                (-Payment.amount_minor).label("our_minor"),
            )
            .join(Payment, Payment.id == Cancel.payment_id)
            .where(
                checked_on_rows(provider),
                currency,
                checked_on_rows(Cancel.status == CancelStatus.SUCCEEDED.value),
                *cancelled,
            ),
            seen.cancels,
            EntryKind.CANCEL,
            "cancel_id",
        ),
    )
    results = []
    for statement, named, kind, own_id in expected:
        for row in session.execute(statement).yield_per(CHUNK):
            if row.id not in named:
                results.append(
                    _result(
                        batch,
                        Outcome.MISSING_THEIRS,
                        kind,
                        # For a payment its own id is the payment id: the second key wins, the same.
                        **{"payment_id": row.payment_id, own_id: row.id},
                        provider_id=row.provider_id,
                        our_minor=row.our_minor,
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


#: What makes a difference the same one in a later run: its outcome and what it is about.
_NOTE_KEY = ("outcome", "kind", "provider_id", "payment_id", "refund_id", "cancel_id")
_NOTE_FIELDS = ("note", "resolved_by_id", "resolved_at")


@dataclass
class _Notes:
    """The notes of an earlier run, waiting for the same difference in this one."""

    waiting: dict[tuple, list[dict]]
    kept: int = 0
    #: Differences of this run, and those without a note.
    differences: int = 0
    open: int = 0

    @classmethod
    def of(cls, session: Session, batch_id: int) -> _Notes:
        rows = session.execute(
            select(*(getattr(SettlementResult, name) for name in _NOTE_KEY + _NOTE_FIELDS))
            .where(SettlementResult.batch_id == batch_id, SettlementResult.note.is_not(None))
            .order_by(SettlementResult.id)
        ).all()
        waiting: dict[tuple, list[dict]] = {}
        for row in rows:
            waiting.setdefault(tuple(row[: len(_NOTE_KEY)]), []).append(
                dict(zip(_NOTE_FIELDS, row[len(_NOTE_KEY) :], strict=True))
            )
        return cls(waiting)

    def carry(self, results: list[dict]) -> None:
        """Give each difference the note of the same one in the earlier run, if it had one; count them."""
        for result in results:
            if result["outcome"] == Outcome.MATCHED:
                continue
            self.differences += 1
            earlier = self.waiting.get(tuple(result[name] for name in _NOTE_KEY))
            if earlier:
                result.update(earlier.pop(0))
                self.kept += 1
            else:
                self.open += 1

    @property
    def dropped(self) -> int:
        """Notes of the earlier run whose difference is gone."""
        return sum(len(notes) for notes in self.waiting.values())


@dataclass(frozen=True)
class Reconciled:
    """What a run did with the notes of the one it replaced."""

    notes_kept: int
    notes_dropped: int


def reconcile(session: Session, batch: SettlementBatch, zone: tzinfo) -> Reconciled:
    """Reconcile a batch whose details and summary are both imported (or a day whose transactions
    are), in the caller's transaction.

    What an earlier run found is replaced: run it when a batch's file changes. Each note of the
    earlier run goes to the same difference (same outcome, kind and ids) in the new one, if there is one.
    """
    rules = RULES[Scope(batch.scope)]
    notes = _Notes.of(session, batch.id)
    session.execute(delete(SettlementResult).where(SettlementResult.batch_id == batch.id))
    seen = _Seen()
    rows = select(*_ENTRY_COLUMNS).where(SettlementEntry.file_id == batch.details_file_id)
    if batch.scope == Scope.DAY:
        rows = rows.where(SettlementEntry.currency == batch.currency)
    entries = session.execute(rows.order_by(SettlementEntry.line).execution_options(yield_per=CHUNK))
    for chunk in entries.partitions():
        _store(session, _match_chunk(session, batch, chunk, seen, rules), notes)
    _store(session, _missing_theirs(session, batch, zone, seen, rules), notes)
    if rules.has_summary:
        _store(session, _against_summary(session, batch, seen), notes)
    batch.gross_minor, batch.fee_minor, batch.net_minor, batch.entry_count = (
        seen.gross,
        seen.fee,
        seen.net,
        seen.count,
    )
    batch.difference_count, batch.open_count = notes.differences, notes.open
    if not notes.differences:
        batch.state = BatchState.BALANCED.value
    else:
        batch.state = (BatchState.DIFFERENCES if notes.open else BatchState.RESOLVED).value
    batch.reconciled_at = clock.now()
    return Reconciled(notes.kept, notes.dropped)


def _store(session: Session, results: list[dict], notes: _Notes) -> None:
    """Insert results, each difference with its earlier note if it had one."""
    notes.carry(results)
    if results:
        session.connection().execute(SettlementResult.__table__.insert(), results)
