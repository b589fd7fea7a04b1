"""A day's transactions report, reconciled: each transaction's latest status and amount against ours."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import select

from dashboard.extensions import db
from dashboard.settlements import service
from dashboard.settlements.models import BatchState
from dashboard.settlements.models import Outcome
from dashboard.settlements.models import Scope
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.records import EntryKind
from dashboard.settlements.records import TransactionState as State
from tests.factories import make_cancel
from tests.factories import make_payment
from tests.factories import make_refund
from tests.settlements.files import Day
from tests.settlements.test_reconcile import results

#: 10:00 in Hong Kong on the report's day; and 23:30 the day before.
ON_THE_DAY = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
THE_DAY_BEFORE = datetime(2026, 1, 4, 15, 30, tzinfo=UTC)


def made(amount: int = 10000, status: str = "succeeded", **fields):
    values = {"status": status, "created_at": ON_THE_DAY, "amount_minor": amount}
    payment = make_payment(db.session, **{**values, **fields})
    payment.provider_payment_id = payment.provider_payment_id or f"P{payment.id:08d}"
    db.session.flush()
    return payment


def import_day(day: Day) -> dict[str, SettlementBatch]:
    name, stream = day.transactions()
    imported = service.import_report("antom", stream, name, source="upload")
    assert imported.refused is None, imported.refused
    found = db.session.scalars(select(SettlementBatch).where(SettlementBatch.scope == Scope.DAY.value))
    return {record.currency: record for record in found}


def test_a_day_whose_statuses_and_amounts_are_ours_is_balanced(app_ctx):
    paid = made(12001)
    waiting = made(3000, "processing")
    refused = made(2000, "failed")
    refunded = made(5000, created_at=THE_DAY_BEFORE)
    refund = make_refund(db.session, refunded, amount_minor=2000, status="succeeded", created_at=ON_THE_DAY,
                         provider_refund_id="R1")  # fmt: skip
    cancelled = made(4000, "cancelled", created_at=THE_DAY_BEFORE)
    make_cancel(db.session, cancelled, status="succeeded", cancelled_at=ON_THE_DAY)
    day = Day()
    day.add(EntryKind.PAYMENT, paid.provider_payment_id, paid.request_id, 12001)
    day.add(EntryKind.PAYMENT, waiting.provider_payment_id, waiting.request_id, 3000, State.PROCESSING)
    day.add(EntryKind.PAYMENT, refused.provider_payment_id, refused.request_id, 2000, State.FAILED)
    day.add(EntryKind.REFUND, "R1", refund.request_id, -2000, original=refunded.provider_payment_id)
    day.add(EntryKind.CANCEL, cancelled.provider_payment_id, cancelled.request_id, -4000, State.CANCELLED)

    [hkd] = import_day(day).values()

    assert (hkd.reference, hkd.day.isoformat(), hkd.state) == (
        "transactions-20260105-HKD",
        "2026-01-05",
        BatchState.BALANCED,
    )
    assert len(results(hkd)[Outcome.MATCHED]) == 5
    assert (hkd.entry_count, hkd.gross_minor) == (5, 12001 + 3000 + 2000 - 2000 - 4000)


def test_every_kind_of_difference_of_a_day_is_found(app_ctx):
    off = made(5000)
    unlisted = made(7000)  # made that day, known to the provider, absent from its report
    make_payment(db.session, status="failed", created_at=ON_THE_DAY)  # refused before the provider saw it
    failed = made(4000, "failed")
    final = made(8000)
    refunded = made(9000, created_at=THE_DAY_BEFORE)
    refund = make_refund(db.session, refunded, amount_minor=1000, status="succeeded", created_at=ON_THE_DAY,
                         provider_refund_id="R9")  # fmt: skip
    in_dollars = made(2500, currency="USD")
    day = Day()
    day.add(EntryKind.PAYMENT, off.provider_payment_id, off.request_id, 5001)
    day.add(EntryKind.PAYMENT, "STRANGER", "unknown-1", 12300)
    day.add(EntryKind.PAYMENT, failed.provider_payment_id, failed.request_id, 4000)  # SUCCESS vs our failed
    day.add(EntryKind.PAYMENT, final.provider_payment_id, final.request_id, 8000, State.PROCESSING)
    day.add(
        EntryKind.REFUND, "R9", refund.request_id, -1000, State.FAILED, original=refunded.provider_payment_id
    )
    day.add(EntryKind.PAYMENT, in_dollars.provider_payment_id, in_dollars.request_id, 2500, currency="USD")

    days = import_day(day)

    assert days["USD"].state == BatchState.BALANCED  # each currency of the day is reconciled on its own
    found = results(days["HKD"])
    [mismatch] = found[Outcome.AMOUNT_MISMATCH]
    assert (mismatch.payment_id, mismatch.their_minor, mismatch.our_minor) == (off.id, 5001, 5000)
    [stranger] = found[Outcome.MISSING_OURS]
    assert (stranger.provider_id, stranger.payment_id, stranger.their_minor) == ("STRANGER", None, 12300)
    [missing] = found[Outcome.MISSING_THEIRS]
    assert (missing.payment_id, missing.our_minor, missing.entry_id) == (unlisted.id, 7000, None)
    statuses = sorted(
        (result.kind, result.payment_id, result.refund_id) for result in found[Outcome.STATUS_MISMATCH]
    )
    assert statuses == sorted(
        [(EntryKind.PAYMENT, failed.id, None), (EntryKind.PAYMENT, final.id, None),
         (EntryKind.REFUND, refunded.id, refund.id)]
    )  # fmt: skip
    assert Outcome.MATCHED not in found and Outcome.TOTALS_MISMATCH not in found  # a day has no summary
    assert days["HKD"].state == BatchState.DIFFERENCES
    assert days["HKD"].difference_count == days["HKD"].open_count == 6
