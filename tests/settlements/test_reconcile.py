"""Importing a batch's two report files reconciles it: every kind of difference, totals, notes."""

from __future__ import annotations

import io
from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import func
from sqlalchemy import select

from dashboard.audit.models import AuditLog
from dashboard.extensions import db
from dashboard.settlements import service
from dashboard.settlements.models import BatchState
from dashboard.settlements.models import Outcome
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.models import SettlementEntry
from dashboard.settlements.models import SettlementFile
from dashboard.settlements.models import SettlementResult
from dashboard.settlements.records import EntryKind
from tests.factories import make_cancel
from tests.factories import make_payment
from tests.factories import make_refund
from tests.settlements.files import Batch

#: 10:00 in Hong Kong on the batch's day; and 23:30 the day before.
ON_THE_DAY = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
THE_DAY_BEFORE = datetime(2026, 1, 4, 15, 30, tzinfo=UTC)


def paid(amount: int = 10000, **fields):
    values = {"status": "succeeded", "paid_at": ON_THE_DAY, "amount_minor": amount}
    payment = make_payment(db.session, **{**values, **fields})
    payment.provider_payment_id = payment.provider_payment_id or f"P{payment.id:08d}"
    db.session.flush()
    return payment


def import_batch(batch: Batch) -> SettlementBatch:
    for name, stream in (batch.details(), batch.summary()):
        imported = service.import_report("antom", stream, name, source="upload")
        assert imported.refused is None, imported.refused
    return db.session.scalar(select(SettlementBatch).where(SettlementBatch.reference == batch.reference))


def results(batch: SettlementBatch) -> dict[str, list[SettlementResult]]:
    found: dict[str, list[SettlementResult]] = {}
    for result in db.session.scalars(select(SettlementResult).where(SettlementResult.batch_id == batch.id)):
        found.setdefault(result.outcome, []).append(result)
    return found


def test_a_batch_that_says_what_we_know_is_balanced(app_ctx):
    payment = paid(12001)
    refunded = paid(5000, paid_at=THE_DAY_BEFORE)
    refund = make_refund(
        db.session,
        refunded,
        amount_minor=2000,
        status="succeeded",
        refunded_at=ON_THE_DAY,
        provider_refund_id="R1",
    )
    cancelled = paid(3000, status="cancelled", paid_at=THE_DAY_BEFORE)
    make_cancel(db.session, cancelled, status="succeeded", cancelled_at=ON_THE_DAY)
    disputed = paid(8000, status="disputed")  # the dispute settles later, as a row of its own
    batch = Batch()
    batch.add(EntryKind.PAYMENT, payment.provider_payment_id, payment.request_id, 12001, 144)
    batch.add(EntryKind.PAYMENT, disputed.provider_payment_id, disputed.request_id, 8000, 96)
    batch.add(EntryKind.REFUND, "R1", refund.request_id, -2000, original=refunded.provider_payment_id)
    batch.add(EntryKind.CANCEL, cancelled.provider_payment_id, cancelled.request_id, -3000, -36)

    reconciled = import_batch(batch)

    assert reconciled.state == BatchState.BALANCED and reconciled.difference_count == 0
    assert [result.outcome for result in results(reconciled)[Outcome.MATCHED]] == [Outcome.MATCHED] * 4
    assert (reconciled.gross_minor, reconciled.fee_minor) == (12001 + 8000 - 2000 - 3000, 144 + 96 - 36)
    assert reconciled.net_minor == reconciled.summary_net_minor == 12001 - 144 + 8000 - 96 - 2000 - 3000 + 36
    matched = {result.payment_id for result in results(reconciled)[Outcome.MATCHED]}
    assert matched == {payment.id, disputed.id, refunded.id, cancelled.id}


def test_every_kind_of_difference_is_found(app_ctx):
    off = paid(5000)
    unsettled = paid(7000)  # we believe it settled that day; the details leave it out
    failed = paid(4000, status="failed", paid_at=None)
    refunded = paid(9000, paid_at=THE_DAY_BEFORE)
    refund = make_refund(
        db.session,
        refunded,
        amount_minor=1000,
        status="succeeded",
        refunded_at=THE_DAY_BEFORE,
        provider_refund_id="R9",
    )
    batch = Batch()
    batch.add(EntryKind.PAYMENT, off.provider_payment_id, off.request_id, 5001, 60)
    batch.add(EntryKind.PAYMENT, "STRANGER", "unknown-1", 12300, 148)
    batch.add(EntryKind.PAYMENT, "P-FAILED", failed.request_id, 4000, 48)
    batch.add(EntryKind.REFUND_REVERSAL, "R9", refund.request_id, 1000, original=refunded.provider_payment_id)
    batch.left_out.append(
        (EntryKind.PAYMENT, unsettled.provider_payment_id, unsettled.request_id, 7000, 84, None)
    )
    batch.fee_adjustments.append(500)

    reconciled = import_batch(batch)
    found = results(reconciled)

    [mismatch] = found[Outcome.AMOUNT_MISMATCH]
    assert (mismatch.payment_id, mismatch.their_minor, mismatch.our_minor) == (off.id, 5001, 5000)
    [stranger] = found[Outcome.MISSING_OURS]
    assert (stranger.provider_id, stranger.payment_id, stranger.their_minor) == ("STRANGER", None, 12300)
    [missing] = found[Outcome.MISSING_THEIRS]
    assert (missing.payment_id, missing.our_minor, missing.entry_id) == (unsettled.id, 7000, None)
    statuses = {result.kind: result for result in found[Outcome.STATUS_MISMATCH]}
    assert statuses[EntryKind.PAYMENT].payment_id == failed.id
    assert statuses[EntryKind.REFUND_REVERSAL].refund_id == refund.id
    [fee] = found[Outcome.FEE]
    assert (fee.fee_minor, fee.their_minor) == (500, -500)
    [totals] = found[Outcome.TOTALS_MISMATCH]  # the summary counts the row the details left out
    assert totals.their_minor - totals.our_minor == 7000 - 84
    assert Outcome.MATCHED not in found
    assert reconciled.state == BatchState.DIFFERENCES
    assert reconciled.difference_count == reconciled.open_count == 7


def test_a_summary_that_disagrees_with_its_details_is_a_difference(app_ctx):
    payment = paid(10000)
    batch = Batch(total_skew=-1).add(
        EntryKind.PAYMENT, payment.provider_payment_id, payment.request_id, 10000, 120
    )

    reconciled = import_batch(batch)

    [totals] = results(reconciled)[Outcome.TOTALS_MISMATCH]
    assert (totals.their_minor, totals.our_minor) == (10000 - 120 - 1, 10000 - 120)


def test_a_quiet_day_balances_with_a_total_of_zero(app_ctx):
    reconciled = import_batch(Batch())
    assert reconciled.state == BatchState.BALANCED and reconciled.summary_net_minor == 0


def test_the_same_file_imports_once_and_a_batch_waits_for_its_other_file(app_ctx):
    batch = Batch().add(EntryKind.PAYMENT, "X", "Y", 100)
    name, stream = batch.details()
    first = service.import_report("antom", stream, name, source="upload")
    again = service.import_report("antom", io.BytesIO(stream.getvalue()), name, source="fetched")

    assert first.file_id is not None and again.duplicate_of == first.file_id
    assert db.session.scalar(select(func.count(SettlementFile.id))) == 1
    waiting = db.session.get(SettlementBatch, first.batch_id)
    assert waiting.state == BatchState.WAITING and waiting.reconciled_at is None


def test_a_bad_file_stores_nothing_and_names_its_line(app_ctx):
    payment = paid(10000)
    name, stream = (
        Batch().add(EntryKind.PAYMENT, payment.provider_payment_id, payment.request_id, 10000).details()
    )
    cut = io.BytesIO(stream.getvalue().replace(b"<END>\n", b""))

    imported = service.import_report("antom", cut, name, source="upload")

    assert imported.refused is not None and imported.refused.line == 3
    assert db.session.scalar(select(func.count(SettlementFile.id))) == 0
    assert db.session.scalar(select(func.count(SettlementEntry.id))) == 0
    assert db.session.scalar(select(func.count(SettlementBatch.id))) == 0


def test_a_name_that_is_no_report_is_refused(app_ctx):
    with pytest.raises(service.ImportRefused, match="not the name of an Antom settlement report"):
        service.import_report("antom", io.BytesIO(b"x"), "payroll.csv", source="upload")


def test_notes_resolve_differences_and_are_audited(app_ctx, create_user):
    finance = create_user(role="finance")
    batch = Batch().add(EntryKind.PAYMENT, "STRANGER", "unknown-1", 100)
    batch.fee_adjustments.append(500)
    reconciled = import_batch(batch)
    stranger, fee = results(reconciled)[Outcome.MISSING_OURS][0], results(reconciled)[Outcome.FEE][0]

    service.resolve(stranger.id, "A test payment from the wallet's team; ignore.", actor_id=finance.id)
    assert db.session.get(SettlementBatch, reconciled.id).state == BatchState.DIFFERENCES
    service.resolve(fee.id, "Monthly platform fee (contract §4).", actor_id=finance.id)

    resolved = db.session.get(SettlementBatch, reconciled.id)
    assert resolved.state == BatchState.RESOLVED and resolved.open_count == 0
    entry = db.session.scalars(
        select(AuditLog)
        .where(AuditLog.action == "settlement.difference_resolved")
        .order_by(AuditLog.id.desc())
    ).first()
    assert entry.object_id == str(reconciled.id) and "Monthly platform fee" in entry.canonical
