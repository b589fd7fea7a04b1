"""Storing a payroll file as a draft batch: counts, refusals that store nothing, the duplicate file
rule, and replacing the file of a draft or rejected batch."""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from sqlalchemy import event
from sqlalchemy import select

from dashboard import clock
from dashboard.ach import service
from dashboard.ach.models import AchBatch
from dashboard.ach.payroll_file import read_payroll
from dashboard.ach.rules import first_value_date
from dashboard.ach.states import BatchStatus
from dashboard.ach.states import ItemStatus
from dashboard.audit.models import AuditLog
from dashboard.events.kinds import ObjectType
from dashboard.events.models import Event
from dashboard.extensions import db
from tests.ach.batch_helpers import items_of
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import stored_counts
from tests.ach.batch_helpers import upload
from tests.ach.payroll_csv import payroll_csv


@pytest.fixture
def finance(app_ctx, create_user, fake_clock):
    return create_user("finance")


def audit_actions(batch_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditLog.action)
            .where(AuditLog.object_type == ObjectType.ACH_BATCH, AuditLog.object_id == str(batch_id))
            .order_by(AuditLog.seq)
        )
    )


def test_upload_stores_a_draft_with_every_row_counts_and_the_valid_total(finance):
    rows = [
        payee(1),
        payee(2, bank_code="999"),
        payee(3, payee_name="CHAN TAI MAN WITH A NAME LONGER THAN 35"),
    ]

    uploaded = upload(rows, finance.id)

    batch = db.session.get(AchBatch, uploaded.batch_id)
    assert (uploaded.refused, uploaded.duplicate_of) == (None, None)
    assert batch.status == BatchStatus.DRAFT
    assert batch.reference == f"PAY{batch.id:08d}"
    assert (batch.item_count, batch.error_count, batch.warning_count) == (3, 1, 1)
    assert (batch.currency, batch.total_minor) == ("HKD", 100150 + 100350)
    assert (batch.encoding, batch.file_name, batch.debtor_account) == ("UTF-8", "payroll.csv", "012345678901")
    assert len(batch.sha256) == 64
    items = items_of(batch.id)
    assert [(i.row_number, i.status, i.has_error, i.has_warning) for i in items] == [
        (2, ItemStatus.VALID, False, False),
        (3, ItemStatus.INVALID, True, False),
        (4, ItemStatus.VALID, False, True),
    ]
    assert items[0].instruction_id == f"{batch.reference}-2"
    assert items[1].problems[0]["code"] == "bank_unknown"
    assert items[1].problems[0]["column"] == "bank_code"
    assert audit_actions(batch.id) == ["ach.batch_uploaded"]
    events = db.session.scalars(select(Event.kind).where(Event.object_type == ObjectType.ACH_BATCH)).all()
    assert events == ["created"]


@pytest.mark.parametrize(
    "data",
    [b"", b"employee_id,payee_name\nE1,CHAN\n", b"\n".join([b",".join(b"x" for _ in range(3))] * 3)],
    ids=["empty", "header-missing-columns", "no-header"],
)
def test_a_refused_file_stores_nothing(finance, data):
    uploaded = upload(data, finance.id)

    assert uploaded.batch_id is None
    assert uploaded.refused is not None and uploaded.refused.message
    assert stored_counts() == (0, 0)


def test_a_sunday_value_date_is_refused_like_a_form_error_and_stores_nothing(finance):
    with pytest.raises(service.BatchRefused, match="Sunday"):
        upload([payee(1)], finance.id, value_date=date(2026, 1, 11))
    assert stored_counts() == (0, 0)


def test_a_past_value_date_is_refused(finance):
    with pytest.raises(service.BatchRefused, match="in the past"):
        upload([payee(1)], finance.id, value_date=date(2026, 1, 2))


def test_a_debit_account_that_is_not_digits_is_refused(finance):
    with pytest.raises(service.BatchRefused, match="1 to 34 digits"):
        upload([payee(1)], finance.id, debtor_account="ACCOUNT-1")
    assert stored_counts() == (0, 0)


def test_the_same_file_again_is_refused_unless_a_reason_is_given_and_then_audited(finance):
    rows = [payee(1), payee(2)]
    first = upload(rows, finance.id)
    reference = db.session.get(AchBatch, first.batch_id).reference

    again = upload(rows, finance.id, file_name="payroll (1).csv")
    assert (again.batch_id, again.duplicate_of) == (None, reference)
    assert stored_counts() == (1, 2)

    allowed = upload(rows, finance.id, duplicate_reason="  Second half of the bonus run  ")
    batch = db.session.get(AchBatch, allowed.batch_id)
    assert batch.duplicate_reason == "Second half of the bonus run"
    assert audit_actions(batch.id) == ["ach.batch_uploaded", "ach.duplicate_file_allowed"]
    uploaded_entry = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "ach.batch_uploaded", AuditLog.object_id == str(batch.id))
    ).one()
    assert uploaded_entry.after["duplicate_of"] == reference
    assert uploaded_entry.after["debtor_account_number"] == "********8901"


def test_a_discarded_batch_does_not_block_the_same_file(finance):
    rows = [payee(1)]
    first = upload(rows, finance.id)
    service.discard(first.batch_id, finance.id)

    again = upload(rows, finance.id)

    assert again.batch_id is not None and again.duplicate_of is None
    assert db.session.get(AchBatch, first.batch_id).status == BatchStatus.DISCARDED
    assert audit_actions(first.batch_id) == ["ach.batch_uploaded", "ach.batch_discarded"]


def test_replacing_the_file_of_a_draft_swaps_its_items(finance):
    first = upload([payee(1), payee(2, bank_code="999"), payee(3)], finance.id)

    replaced = upload([payee(1), payee(2)], finance.id, batch_id=first.batch_id, file_name="fixed.csv")

    assert replaced.batch_id == first.batch_id
    batch = db.session.get(AchBatch, first.batch_id)
    assert (batch.file_name, batch.item_count, batch.error_count) == ("fixed.csv", 2, 0)
    assert [item.row_number for item in items_of(batch.id)] == [2, 3]
    assert stored_counts() == (1, 2)
    assert audit_actions(batch.id) == ["ach.batch_uploaded", "ach.batch_file_replaced"]


def test_a_refused_replacement_keeps_the_items_it_would_have_replaced(finance):
    first = upload([payee(1), payee(2)], finance.id)

    refused = upload(b"", finance.id, batch_id=first.batch_id)

    assert refused.refused is not None
    assert stored_counts() == (1, 2)
    assert db.session.get(AchBatch, first.batch_id).file_name == "payroll.csv"


def test_a_batch_waiting_for_approval_cannot_have_its_file_replaced_or_be_discarded(finance):
    first = upload([payee(1)], finance.id)
    service.submit_for_approval(first.batch_id, finance.id, warnings_acknowledged=False)

    with pytest.raises(service.BatchRefused, match="awaiting approval"):
        upload([payee(2)], finance.id, batch_id=first.batch_id)
    with pytest.raises(service.BatchRefused, match="awaiting approval"):
        service.discard(first.batch_id, finance.id)
    assert stored_counts() == (1, 1)


def test_items_are_written_in_chunks_and_all_kept(finance):
    uploaded = upload([payee(number) for number in range(1, 2502)], finance.id)

    batch = db.session.get(AchBatch, uploaded.batch_id)
    assert (batch.item_count, batch.error_count) == (2501, 0)
    assert batch.total_minor == sum((1000 + n) * 100 + 50 for n in range(1, 2502))
    assert stored_counts() == (1, 2501)


def test_on_sqlite_the_items_are_written_with_a_larger_page_cache_then_the_connection_has_its_own(finance):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")
    default = db.session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
    db.session.rollback()
    writers = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT INTO ach_items"):
            writers.append((cursor.connection, cursor.connection.execute("PRAGMA cache_size").fetchone()[0]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        upload([payee(1), payee(2)], finance.id)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    ((connection, cache_size),) = writers
    assert cache_size == -service.SQLITE_UPLOAD_CACHE_KIB != default
    assert connection.execute("PRAGMA cache_size").fetchone()[0] == default


def test_a_file_of_the_right_bytes_keeps_its_sha256(finance):
    data = payroll_csv([payee(1)])
    uploaded = upload(data, finance.id)

    assert db.session.get(AchBatch, uploaded.batch_id).sha256 == hashlib.sha256(data).hexdigest()


def test_the_first_value_date_is_today_before_the_cut_off_and_skips_sundays_and_holidays(app_ctx, fake_clock):
    assert first_value_date(clock.now()) == date(2026, 1, 5)  # Monday 10:00 in Hong Kong
    fake_clock.advance(hours=8)  # 18:00, past the 17:55 cut-off
    assert first_value_date(clock.now()) == date(2026, 1, 6)
    fake_clock.advance(days=5)  # Saturday 18:00: Sunday is no value date
    assert first_value_date(clock.now()) == date(2026, 1, 12)


def test_the_reader_knows_the_files_sha256_before_its_rows_so_a_duplicate_costs_no_row():
    data = payroll_csv([payee(1), payee(2)])
    reader = read_payroll(io.BytesIO(data), max_decoded_bytes=10**6, max_item_minor=10**9)

    assert reader.facts.sha256 == hashlib.sha256(data).hexdigest()
