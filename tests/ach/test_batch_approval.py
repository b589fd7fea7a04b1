"""Asking for approval and deciding: errors and unacknowledged warnings refused, the approver never
the uploader, a comment to reject, requests stored with their message ids before anything is sent."""

from __future__ import annotations

import re
from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard.ach import service
from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.ach.models import AchSubmission
from dashboard.ach.states import BatchStatus
from dashboard.approvals.kinds import ApprovalRefused
from dashboard.approvals.service import decide
from dashboard.approvals.service import waiting
from dashboard.approvals.service import waiting_count
from dashboard.audit.models import AuditLog
from dashboard.extensions import db
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import upload

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
LONG_NAME = "CHAN TAI MAN WITH A NAME LONGER THAN 35"


@pytest.fixture
def staff(app, app_ctx, create_user, fake_clock):
    app.extensions["huey"].flush()
    return create_user("finance"), create_user("manager"), create_user("manager")


def submitted(rows, finance, warnings_acknowledged: bool = True, **options) -> int:
    batch_id = upload(rows, finance.id, **options).batch_id
    service.submit_for_approval(batch_id, finance.id, warnings_acknowledged=warnings_acknowledged)
    return batch_id


def actions(batch_id: int) -> list[str]:
    statement = select(AuditLog.action).where(AuditLog.object_id == str(batch_id)).order_by(AuditLog.seq)
    return [action for action in db.session.scalars(statement) if action.startswith("ach.")]


def queued(app) -> list[str]:
    return [task.name for task in app.extensions["huey"].pending()]


def test_a_batch_with_errors_cannot_be_submitted(staff):
    finance, _, _ = staff
    batch_id = upload([payee(1), payee(2, bank_code="999")], finance.id).batch_id

    with pytest.raises(service.BatchRefused, match="1 error"):
        service.submit_for_approval(batch_id, finance.id, warnings_acknowledged=True)
    assert db.session.get(AchBatch, batch_id).status == BatchStatus.DRAFT


def test_warnings_need_an_acknowledgement_which_is_recorded(staff, fake_clock):
    finance, _, _ = staff
    batch_id = upload([payee(1), payee(2, payee_name=LONG_NAME)], finance.id).batch_id

    with pytest.raises(service.BatchRefused, match="Acknowledge the 1 warning"):
        service.submit_for_approval(batch_id, finance.id, warnings_acknowledged=False)
    service.submit_for_approval(batch_id, finance.id, warnings_acknowledged=True)

    batch = db.session.get(AchBatch, batch_id)
    assert batch.status == BatchStatus.AWAITING_APPROVAL
    assert (batch.warnings_acknowledged_by_id, batch.warnings_acknowledged_at) == (
        finance.id,
        fake_clock.now(),
    )
    assert batch.submitted_for_approval_at == fake_clock.now()
    assert actions(batch_id) == ["ach.batch_uploaded", "ach.batch_submitted"]


def test_the_uploader_never_decides_and_nothing_is_stored_for_sending_before_approval(app, staff):
    finance, _, _ = staff
    batch_id = submitted([payee(1)], finance)

    with pytest.raises(ApprovalRefused, match="another manager"):
        decide("payroll", batch_id, approve=True, actor_id=finance.id, comment=None)
    assert db.session.get(AchBatch, batch_id).status == BatchStatus.AWAITING_APPROVAL
    assert db.session.scalars(select(AchSubmission)).all() == []
    assert queued(app) == []


def test_whoever_submitted_a_batch_never_decides_on_it(staff):
    finance, manager, other = staff
    batch_id = upload([payee(1)], finance.id).batch_id
    service.submit_for_approval(batch_id, manager.id, warnings_acknowledged=False)

    assert db.session.get(AchBatch, batch_id).submitted_by_id == manager.id
    for approve in (True, False):
        with pytest.raises(ApprovalRefused, match="another manager"):
            decide("payroll", batch_id, approve=approve, actor_id=manager.id, comment="Fine")
    decide("payroll", batch_id, approve=True, actor_id=other.id, comment=None)
    assert db.session.get(AchBatch, batch_id).status == BatchStatus.APPROVED


def test_approving_stores_requests_of_at_most_1000_items_each_with_its_message_id_then_queues_sending(
    app, staff
):
    finance, manager, _ = staff
    batch_id = submitted([payee(number) for number in range(1, 2502)], finance)

    message, category = decide("payroll", batch_id, approve=True, actor_id=manager.id, comment="Payroll OK")

    batch = db.session.get(AchBatch, batch_id)
    assert category == "success" and batch.reference in message
    assert batch.status == BatchStatus.APPROVED
    assert (batch.decided_by_id, batch.decision_comment) == (manager.id, "Payroll OK")
    submissions = db.session.scalars(
        select(AchSubmission).where(AchSubmission.batch_id == batch_id).order_by(AchSubmission.number)
    ).all()
    assert [(s.number, s.reference, s.first_row, s.last_row, s.item_count) for s in submissions] == [
        (1, f"{batch.reference}-1", 2, 1001, 1000),
        (2, f"{batch.reference}-2", 1002, 2001, 1000),
        (3, f"{batch.reference}-3", 2002, 2502, 501),
    ]
    assert all(UUID.fullmatch(s.message_id) for s in submissions)
    assert len({s.message_id for s in submissions}) == 3
    assert sum(s.total_minor for s in submissions) == batch.total_minor
    assert all(s.status == "pending" and s.sent_at is None for s in submissions)
    carried = db.session.execute(
        select(AchItem.submission_id, AchItem.row_number).where(AchItem.batch_id == batch_id)
    ).all()
    by_submission = {s.id: s for s in submissions}
    assert all(by_submission[sid].first_row <= row <= by_submission[sid].last_row for sid, row in carried)
    assert queued(app) == ["dashboard.ach.tasks.submit_batch_task"]
    assert actions(batch_id)[-1] == "ach.batch_approved"


def test_rejecting_needs_a_comment_and_a_corrected_file_makes_a_draft_again(app, staff):
    finance, manager, _ = staff
    batch_id = submitted([payee(1), payee(2)], finance)

    with pytest.raises(ApprovalRefused, match="say why"):
        decide("payroll", batch_id, approve=False, actor_id=manager.id, comment=None)
    decide("payroll", batch_id, approve=False, actor_id=manager.id, comment="Row 3 is last month's bonus")

    batch = db.session.get(AchBatch, batch_id)
    assert (batch.status, batch.decision_comment) == (BatchStatus.REJECTED, "Row 3 is last month's bonus")
    assert queued(app) == []
    rejected = db.session.scalars(select(AuditLog).where(AuditLog.action == "ach.batch_rejected")).one()
    assert rejected.after["comment"] == "Row 3 is last month's bonus"

    upload([payee(1)], finance.id, batch_id=batch_id)
    assert db.session.get(AchBatch, batch_id).status == BatchStatus.DRAFT
    service.submit_for_approval(batch_id, finance.id, warnings_acknowledged=False)
    assert db.session.get(AchBatch, batch_id).status == BatchStatus.AWAITING_APPROVAL


def test_a_value_date_gone_by_at_approval_leaves_the_batch_waiting_and_is_audited(staff, fake_clock):
    finance, manager, _ = staff
    batch_id = submitted([payee(1)], finance)
    fake_clock.advance(timedelta(days=1))

    with pytest.raises(ApprovalRefused, match="value date"):
        decide("payroll", batch_id, approve=True, actor_id=manager.id, comment=None)

    assert db.session.get(AchBatch, batch_id).status == BatchStatus.AWAITING_APPROVAL
    assert actions(batch_id)[-1] == "ach.batch_approval_failed"
    assert db.session.scalars(select(AchSubmission)).all() == []


def test_a_same_day_batch_past_the_cut_off_is_shown_and_refused_as_the_bank_would_reject_it(
    staff, fake_clock
):
    finance, manager, _ = staff
    batch_id = submitted([payee(1)], finance)  # paid today, submitted at 10:00 Hong Kong time
    fake_clock.advance(hours=8)

    (item,) = waiting(db.session)
    assert (
        "cut-off has passed: the bank would reject the batch (TM01)"
        in dict(item.details)["Cannot be approved"]
    )
    with pytest.raises(
        ApprovalRefused, match=r"TM01.*finance uploads the file again with another value date"
    ):
        decide("payroll", batch_id, approve=True, actor_id=manager.id, comment=None)

    assert db.session.get(AchBatch, batch_id).status == BatchStatus.AWAITING_APPROVAL
    assert actions(batch_id)[-1] == "ach.batch_approval_failed"
    assert db.session.scalars(select(AchSubmission)).all() == []


def test_the_queue_shows_a_saturday_past_its_cut_off(staff, fake_clock):
    finance, _, _ = staff
    submitted([payee(1)], finance, value_date=date(2026, 1, 10))
    fake_clock.advance(days=4, hours=8)  # Friday 18:00 in Hong Kong

    (item,) = waiting(db.session)
    assert "is a Saturday, whose cut-off was 17:55 Hong Kong time" in dict(item.details)["Value date"]


def test_the_queue_shows_totals_per_bank_and_the_acknowledged_warnings(staff):
    finance, _, _ = staff
    rows = [payee(1), payee(2, bank_code="024", account_number="123456789"), payee(3, payee_name=LONG_NAME)]
    batch_id = submitted(rows, finance)

    (item,) = [item for item in waiting(db.session) if item.kind == "payroll"]

    assert waiting_count(db.session) == 1
    assert (item.id, item.requested_by_id) == (batch_id, finance.id)
    assert item.amount.minor == 100150 + 100250 + 100350
    assert item.summary.startswith("Pay 3 employee(s) HK$3,007.50 by HK ACH")
    details = dict(item.details)
    assert details["Bank 004"].endswith("2 payee(s), HK$2,005.00")
    assert details["Bank 024"].endswith("1 payee(s), HK$1,002.50")
    assert details["Warnings acknowledged"].startswith("1 warning(s), by Finance Tester at 2026-01-05 10:00")
    assert "35" in details["Warning"]


def test_the_approvals_page_shows_a_batch_with_its_banks_and_acknowledged_warnings(
    app, client, login_as, create_user, fake_clock
):
    finance = create_user("finance")
    rows = [payee(1), payee(2, bank_code="024", account_number="123456789"), payee(3, payee_name=LONG_NAME)]
    with app.test_request_context():  # popped before the page is asked for: it gets its own
        batch_id = submitted(rows, finance)
        reference = db.session.get(AchBatch, batch_id).reference
    login_as("manager")

    page = client.get("/approvals/").get_data(as_text=True)

    article = page[page.index(f'id="approval-payroll-{batch_id}"') :]
    article = article[: article.index("</article>")]
    assert f'href="/ach/batches/{batch_id}"' in article and f"payroll batch {reference}" in article
    assert "Pay 3 employee(s) HK$3,007.50 by HK ACH" in article
    assert "<dt>Bank 024</dt>" in article and "1 payee(s), HK$1,002.50" in article
    assert "<dt>Warnings acknowledged</dt>" in article
    assert f'id="approve-payroll-{batch_id}"' in article
