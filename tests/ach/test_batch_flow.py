"""A payroll batch against the HK ACH simulator, as the app runs it: approved, sent in requests of
at most 1,000 items by the submit job, followed by the poll job to its end; the simulator's
deterministic rejects, a whole batch refused for insufficient funds, and a request whose answer
was lost resent by the rule and paid once."""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update

from dashboard import clock
from dashboard.ach import samples
from dashboard.ach import sending
from dashboard.ach import service
from dashboard.ach.export import result_rows
from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.ach.models import AchSubmission
from dashboard.ach.rules import first_value_date
from dashboard.ach.states import BatchStatus
from dashboard.ach.states import ItemStatus
from dashboard.ach.states import SubmissionStatus
from dashboard.ach.tasks import sweep_running_batches
from dashboard.approvals.kinds import ApprovalRefused
from dashboard.approvals.service import decide
from dashboard.demo import Demo
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.models import Event
from dashboard.events.queries import object_timeline
from dashboard.extensions import db
from dashboard.providers.hkach import mapping
from dashboard.providers.hkach.settings import from_app
from dashboard.providers.news import TransferNews
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import FaultSwitch
from dashboard.sandbox.store import HkachBatch
from dashboard.sandbox.store import transaction
from dashboard.users import service as users
from tests.ach.batch_helpers import items_of
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import upload
from tests.conftest import TEST_PASSWORD
from tests.conftest import skip_unless_postgresql
from tests.payments.test_payment_service import staff_browser


@pytest.fixture
def bank(sandboxed, monkeypatch):
    """The sandboxed app without the bank's rate limits, a fresh HK ACH client, a finance user, a manager."""
    app = sandboxed.app
    monkeypatch.setitem(app.config, "SANDBOX_HKACH_RATE_LIMITS", False)
    monkeypatch.delitem(app.extensions, "hkach_client", raising=False)
    finance = users.create_user(
        "pay@staff.example", "Fay Finance", "finance", TEST_PASSWORD, must_change_password=False
    )
    manager = users.create_user(
        "boss@staff.example", "Manny Manager", "manager", TEST_PASSWORD, must_change_password=False
    )
    db.session.commit()
    sandboxed.staff = (finance.id, manager.id)
    return sandboxed


def held_by_the_bank(sandbox) -> list[HkachBatch]:
    with sandbox.sandbox.engine.connect() as connection:
        return list(connection.execute(select(HkachBatch).order_by(HkachBatch.id)).all())


def approved(bank, rows) -> int:
    finance_id, manager_id = bank.staff
    batch_id = upload(rows, finance_id).batch_id
    service.submit_for_approval(batch_id, finance_id, warnings_acknowledged=True)
    assert held_by_the_bank(bank) == []  # nothing leaves before approval
    decide("payroll", batch_id, approve=True, actor_id=manager_id, comment=None)
    return batch_id


def submissions_of(batch_id: int) -> list[AchSubmission]:
    return list(
        db.session.scalars(
            select(AchSubmission).where(AchSubmission.batch_id == batch_id).order_by(AchSubmission.number)
        )
    )


def test_a_batch_of_1200_runs_in_two_requests_to_completed_with_failures_with_the_exact_reasons(bank):
    rows = [payee(number) for number in range(1, 1201)]
    rows[4] = payee(5, account_number="123456000")
    rows[6] = payee(7, payee_name="CHAN MISMATCH")
    rows[599] = payee(600, account_number="123456404")
    rows[1099] = payee(1100, account_number="123456406")
    batch_id = approved(bank, rows)

    bank.run_jobs(scheduled=True)

    batch = db.session.get(AchBatch, batch_id)
    assert batch.status == BatchStatus.COMPLETED_WITH_FAILURES
    items = items_of(batch_id)
    rejected = {
        item.row_number: (item.reason_code, item.reason_text) for item in items if item.status == "rejected"
    }
    assert rejected == {
        6: ("AC03", "Invalid creditor account number"),
        8: ("BE01", "Inconsistent with end customer"),
        601: ("AC04", "Closed account number"),
        1101: ("AC06", "Blocked account"),
    }
    paid = [item for item in items if item.status == ItemStatus.PAID]
    assert len(paid) == 1196 and all(item.final_at is not None and item.reason_code is None for item in paid)
    assert (batch.final_count, batch.paid_count, batch.rejected_count) == (1200, 1196, 4)
    assert batch.paid_minor == sum(item.amount_minor for item in paid)
    submissions = submissions_of(batch_id)
    assert [(s.reference, s.item_count, s.status) for s in submissions] == [
        (f"{batch.reference}-1", 1000, SubmissionStatus.COMPLETED_WITH_FAILURES),
        (f"{batch.reference}-2", 200, SubmissionStatus.COMPLETED_WITH_FAILURES),
    ]
    held = held_by_the_bank(bank)
    assert [(h.message_id, h.batch_id) for h in held] == [(s.message_id, s.reference) for s in submissions]
    assert [len(json.loads(h.items)) for h in held] == [1000, 200]
    kinds = db.session.scalars(
        select(Event.kind).where(Event.object_type == ObjectType.ACH_BATCH, Event.object_id == str(batch_id))
    ).all()
    assert EventKind.ACH_PROGRESS in kinds and kinds.count(EventKind.PROVIDER_CALL) >= 4
    result = list(csv.reader(io.StringIO("".join(result_rows(db.session, batch_id)).lstrip("\ufeff"))))
    assert result[0][:3] == ["Row", "Employee ID", "Payee name"]
    assert result[5][0] == "6"
    assert result[5][11:15] == [
        "rejected",
        "AC03",
        "Invalid creditor account number",
        "The payee's account number does not exist at their bank.",
    ]
    assert result[1][11] == "paid" and len(result) == 1201


def test_a_batch_rejected_whole_for_insufficient_funds_fails_with_am04_on_every_item(bank):
    batch_id = approved(bank, [payee(1), payee(2, amount="13.13"), payee(3)])

    bank.run_jobs(scheduled=True)

    batch = db.session.get(AchBatch, batch_id)
    assert batch.status == BatchStatus.FAILED
    assert [(i.status, i.reason_code, i.reason_text) for i in items_of(batch_id)] == [
        (ItemStatus.REJECTED, "AM04", "Insufficient funds")
    ] * 3
    (submission,) = submissions_of(batch_id)
    assert (submission.status, submission.result_code) == (SubmissionStatus.REJECTED, "AM04")
    assert (batch.final_count, batch.paid_count, batch.rejected_count, batch.paid_minor) == (3, 0, 3, 0)


def test_a_request_whose_answer_was_lost_is_resent_by_the_rule_and_paid_once(bank, monkeypatch):
    app = bank.app
    monkeypatch.setattr(bank.sandbox, "timeout_seconds", 1.0)
    monkeypatch.setitem(app.extensions, "hkach_client", from_app(app, read_timeout=0.3))
    batch_id = approved(bank, [payee(1), payee(2), payee(3)])
    with transaction(bank.sandbox.engine) as session:
        add_switch(session, "timeout", operation="hkach_submit", remaining=1)

    bank.run_jobs()  # the first try only: its answer is lost after the bank processed it

    (submission,) = submissions_of(batch_id)
    assert submission.status == SubmissionStatus.SUBMITTED
    assert db.session.get(AchBatch, batch_id).status == BatchStatus.SUBMITTING
    assert len(held_by_the_bank(bank)) == 1

    bank.run_jobs(scheduled=True)

    (submission,) = submissions_of(batch_id)
    assert submission.status == SubmissionStatus.COMPLETED
    batch = db.session.get(AchBatch, batch_id)
    assert (batch.status, batch.paid_count, batch.paid_minor) == (BatchStatus.COMPLETED, 3, batch.total_minor)
    (held,) = held_by_the_bank(bank)
    assert held.message_id == submission.message_id
    calls = db.session.scalars(
        select(Event.summary).where(Event.object_id == str(batch_id), Event.kind == EventKind.PROVIDER_CALL)
    ).all()
    sent = [(call["operation"], call["status"]) for call in calls if call["operation"] != "auth"]
    assert sent == [("submit", None), ("status", 200)]


def item_statuses(batch_id: int) -> set[str]:
    statuses = {item.status for item in items_of(batch_id)}
    db.session.rollback()
    return statuses


def test_items_move_received_accepted_pending_paid_as_the_poll_waits_longer_each_time(
    bank, monkeypatch, fake_clock
):
    monkeypatch.setattr(bank.sandbox, "time_scale", 1 / 60)  # each documented minute passes in a second
    huey = bank.app.extensions["huey"]
    batch_id = approved(bank, [payee(1), payee(2)])

    bank.run_jobs()  # the submit job; the first poll waits its 2 seconds

    assert db.session.get(AchBatch, batch_id).status == BatchStatus.PROCESSING
    assert item_statuses(batch_id) == {ItemStatus.RECEIVED}
    assert [(task.name, task.args) for task in huey.scheduled()] == [(sending.POLL_BATCH, (batch_id, 0))]
    seen = []
    for attempt in range(3):
        fake_clock.advance(seconds=1.1)
        seen.append((sending.poll_batch(batch_id, attempt), item_statuses(batch_id)))

    assert seen == [
        (BatchStatus.PROCESSING, {ItemStatus.ACCEPTED}),
        (BatchStatus.PROCESSING, {ItemStatus.PENDING}),
        (BatchStatus.COMPLETED, {ItemStatus.PAID}),
    ]
    # Each poll queued the next one (the last one found the batch done): due later each time.
    assert [task.args for task in huey.pending()] == [(batch_id, 1), (batch_id, 2)]
    first, second = huey.pending()
    assert second.eta > first.eta
    assert [sending.poll_delay(attempt) for attempt in range(7)] == [2, 4, 8, 16, 30, 30, 30]
    progress = db.session.scalars(
        select(Event.summary).where(Event.object_id == str(batch_id), Event.kind == EventKind.ACH_PROGRESS)
    ).all()
    assert [summary["items"] for summary in progress] == [
        {"received": 2},
        {"accepted": 2},
        {"pending": 2},
        {"paid": 2},
    ]
    assert progress[-1] | {"items": None} == {
        "final": 2,
        "total": 2,
        "paid": 2,
        "paid_minor": 100150 + 100250,
        "currency": "HKD",
        "rejected": 0,
        "items": None,
    }


def test_a_request_the_bank_would_refuse_is_not_sent_and_fails_the_batch_with_its_problems(bank):
    batch_id = approved(bank, [payee(1), payee(2), payee(3)])
    db.session.execute(
        update(AchItem)
        .where(AchItem.batch_id == batch_id, AchItem.row_number == 3)
        .values(account_number="12AB5")
    )
    db.session.commit()

    bank.run_jobs(scheduled=True)

    assert held_by_the_bank(bank) == []
    batch = db.session.get(AchBatch, batch_id)
    assert (batch.status, batch.rejected_count, batch.paid_count) == (BatchStatus.FAILED, 3, 0)
    (submission,) = submissions_of(batch_id)
    assert (submission.status, submission.result_code, submission.sent_at) == (
        SubmissionStatus.FAILED,
        "AC01",
        None,
    )
    assert {(item.status, item.reason_code) for item in items_of(batch_id)} == {(ItemStatus.REJECTED, "AC01")}
    refused = db.session.scalars(
        select(Event.summary).where(
            Event.object_id == str(batch_id), Event.kind == EventKind.ACH_SUBMISSION_STATUS_CHANGED
        )
    ).one()
    assert refused["status"] == ["pending", "failed"]
    assert refused["problems"] == [
        {"code": "AC01", "message": "transfer 2: the account number is not 1-34 digits"}
    ]


def test_the_sweeper_sends_a_batch_whose_job_was_lost(bank, fake_clock):
    huey = bank.app.extensions["huey"]
    batch_id = approved(bank, [payee(1)])
    huey.flush()  # the submit job is lost (a crash between the commit and the queue)

    sweep_running_batches()
    assert huey.pending_count() == 0  # not stuck yet
    fake_clock.advance(minutes=11)
    sweep_running_batches()
    bank.run_jobs(scheduled=True)

    assert db.session.get(AchBatch, batch_id).status == BatchStatus.COMPLETED
    assert len(held_by_the_bank(bank)) == 1


def queued_jobs(huey) -> list[str]:
    return sorted(task.name.rpartition(".")[2] for task in [*huey.pending(), *huey.scheduled()])


def run_each_queued_job_once(huey) -> None:
    """Run every job queued now, however far ahead it was scheduled; what they queue waits."""
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
    due = huey.read_schedule(later)
    while (message := huey.dequeue()) is not None:
        due.append(message)
    for message in due:
        huey.execute(message, later)
    db.session.rollback()


def test_a_bank_down_for_15_minutes_leaves_one_send_job_then_one_poll_job(bank, fake_clock):
    huey = bank.app.extensions["huey"]
    batch_id = approved(bank, [payee(1)])
    with transaction(bank.sandbox.engine) as session:
        add_switch(session, "http_503")

    for _ in range(30):  # the send job tries every 30 s, the sweeper runs every minute
        run_each_queued_job_once(huey)
        fake_clock.advance(seconds=30)
        sweep_running_batches()
        assert queued_jobs(huey) == ["submit_batch_task"]
    with transaction(bank.sandbox.engine) as session:
        session.execute(delete(FaultSwitch))
    run_each_queued_job_once(huey)

    assert db.session.get(AchBatch, batch_id).status == BatchStatus.PROCESSING
    assert queued_jobs(huey) == ["poll_batch_task"]
    assert sending.submit_batch(batch_id) == BatchStatus.PROCESSING  # a late copy of the send job
    assert queued_jobs(huey) == ["poll_batch_task"]
    assert len(held_by_the_bank(bank)) == 1


def test_a_request_final_at_the_bank_with_a_payee_still_pending_keeps_the_batch_open_until_paid(
    bank, monkeypatch
):
    batch_id = approved(bank, [payee(1), payee(2)])
    left_pending = f"{db.session.get(AchBatch, batch_id).reference}-3"
    real_news = mapping.bulk_payment_news

    def one_payee_still_pending(status):
        news = real_news(status)
        return replace(news, transfers={**news.transfers, left_pending: TransferNews(ItemStatus.PENDING)})

    monkeypatch.setattr(mapping, "bulk_payment_news", one_payee_still_pending)
    assert sending.submit_batch(batch_id) == BatchStatus.PROCESSING
    assert sending.poll_batch(batch_id, 0) == BatchStatus.PROCESSING

    assert [s.status for s in submissions_of(batch_id)] == [SubmissionStatus.COMPLETED]
    assert [item.status for item in items_of(batch_id)] == [ItemStatus.PAID, ItemStatus.PENDING]
    db.session.rollback()
    monkeypatch.setattr(mapping, "bulk_payment_news", real_news)
    assert sending.poll_batch(batch_id, 1) == BatchStatus.COMPLETED
    assert [item.status for item in items_of(batch_id)] == [ItemStatus.PAID, ItemStatus.PAID]


def test_the_demo_pays_its_corrected_payroll_once_and_it_ends_with_the_simulators_rejects(bank):
    finance_id, manager_id = bank.staff
    demo = Demo(bank.app, seed=3)

    batch_id = demo.pay_payroll(finance_id, manager_id)
    bank.run_jobs(scheduled=True)

    batch = db.session.get(AchBatch, batch_id)
    assert (batch.status, batch.item_count, batch.error_count) == (
        BatchStatus.COMPLETED_WITH_FAILURES,
        500,
        0,
    )
    assert (batch.uploaded_by_id, batch.decided_by_id) == (finance_id, manager_id)
    rejected = {item.row_number: item.reason_code for item in items_of(batch_id) if item.status == "rejected"}
    assert rejected == {46: "AC03", 141: "AC04", 302: "AC06", 421: "BE01"}
    assert demo.pay_payroll(finance_id, manager_id) is None
    # The file the demo offers this month is not taken for the one it paid.
    day = first_value_date(clock.now())
    offered = upload(samples.demo_payroll_csv(value_date=day, fixed=True), finance_id, value_date=day)
    assert offered.duplicate_of is None and offered.batch_id != batch_id


def test_the_batch_timeline_reads_its_requests_and_progress_in_words(bank):
    batch_id = approved(bank, [payee(1), payee(2, amount="13.13")])
    bank.run_jobs(scheduled=True)

    lines = [
        (entry.title, entry.text)
        for entry in object_timeline(db.session, ObjectType.ACH_BATCH, batch_id, "hkach").entries
        if entry.title in ("Request to the bank", "Progress")
    ]

    assert lines == [
        ("Request to the bank", "request 1 · pending → received"),
        ("Progress", "0 of 2 final · 0 paid (HK$0.00) · 0 rejected"),
        ("Request to the bank", "request 1 · received → rejected · AM04: Insufficient funds"),
        ("Progress", "2 of 2 final · 0 paid (HK$0.00) · 2 rejected"),
    ]


def test_the_batch_page_shows_each_request_to_the_bank_its_answer_and_its_call_masked(bank):
    # Without a reference, the employee id is the transfer's end-to-end id.
    batch_id = approved(bank, [payee(1, reference=""), payee(2, amount="13.13")])
    bank.run_jobs(scheduled=True)

    with staff_browser(bank, "viewer") as browser:
        page = html.unescape(browser.get(f"{bank.url}/ach/batches/{batch_id}", timeout=5).text)

    timeline = page[page.index('id="timeline"') :]
    assert "request 1 · pending → received" in timeline
    assert "request 1 · received → rejected · AM04: Insufficient funds" in timeline
    assert "AM04 means:" in timeline
    assert "Request and response: POST /" in timeline and '"creditor_account_identification"' in timeline
    for whole in ("100000015", "100000025", "E00001", "12345678901"):
        assert whole not in page, whole
    assert '"*****0015"' in timeline and '"**0001"' in timeline


def test_a_request_sent_twice_by_two_workers_is_held_once_by_the_bank(bank):
    batch_id = approved(bank, [payee(1), payee(2)])
    (submission,) = submissions_of(batch_id)
    sending.send_submission(submission.id)
    # A second worker read the request while it was still pending and sends it as well.
    db.session.execute(
        update(AchSubmission).where(AchSubmission.id == submission.id).values(status=SubmissionStatus.PENDING)
    )
    db.session.commit()

    sending.send_submission(submission.id)

    (submission,) = submissions_of(batch_id)
    assert (submission.status, submission.group_status) == (SubmissionStatus.RECEIVED, "EC004_102")
    assert len(held_by_the_bank(bank)) == 1


def test_two_managers_approving_at_once_store_one_set_of_requests(bank):
    skip_unless_postgresql(bank.app, "concurrent approvals")
    finance_id, manager_id = bank.staff
    other_id = users.create_user(
        "boss2@staff.example", "Mo Manager", "manager", TEST_PASSWORD, must_change_password=False
    ).id
    db.session.commit()
    batch_id = upload([payee(number) for number in range(1, 1502)], finance_id).batch_id
    service.submit_for_approval(batch_id, finance_id, warnings_acknowledged=True)
    start = threading.Barrier(2)

    def approve(actor_id: int) -> str:
        with bank.app.app_context():
            start.wait()
            try:
                return decide("payroll", batch_id, approve=True, actor_id=actor_id, comment=None)[1]
            except ApprovalRefused as refused:
                return str(refused)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = sorted(pool.map(approve, (manager_id, other_id)))

    assert answers == ["it is approved already", "success"]
    assert [(s.number, s.item_count) for s in submissions_of(batch_id)] == [(1, 1000), (2, 501)]


def test_the_same_file_uploaded_twice_at_once_is_stored_once(bank, monkeypatch):
    skip_unless_postgresql(bank.app, "concurrent uploads")
    finance_id, _ = bank.staff
    real_check = service._earlier_upload
    both_checked = threading.Barrier(2)

    def check_then_wait_for_the_other(*args):
        found = real_check(*args)
        # Without the file's lock both uploads get here before either is stored.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=1)
        return found

    monkeypatch.setattr(service, "_earlier_upload", check_then_wait_for_the_other)

    def send(_: int) -> str | None:
        with bank.app.app_context():
            try:
                return upload([payee(1), payee(2)], finance_id).duplicate_of
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        duplicates = list(pool.map(send, range(2)))

    (stored,) = db.session.scalars(select(AchBatch)).all()
    assert set(duplicates) == {None, stored.reference}


def test_when_the_bank_throttles_a_round_stops_and_the_rest_goes_in_the_next(bank, monkeypatch, fake_clock):
    app = bank.app
    monkeypatch.setitem(app.config, "SANDBOX_HKACH_RATE_LIMITS", True)  # at most 2 calls a second
    monkeypatch.setitem(app.config, "HKACH_MAX_RATE_LIMIT_WAIT", 0.0)  # the client does not wait
    batch_id = approved(bank, [payee(number) for number in range(1, 2502)])

    def statuses() -> list[str]:
        found = [submission.status for submission in submissions_of(batch_id)]
        db.session.rollback()
        return found

    assert sending.submit_batch(batch_id) == BatchStatus.SUBMITTING
    assert statuses() == ["received", "received", "pending"]  # the third was throttled: not sent
    fake_clock.advance(seconds=2)
    assert sending.submit_batch(batch_id) == BatchStatus.PROCESSING
    fake_clock.advance(seconds=2)
    assert sending.poll_batch(batch_id, 0) == BatchStatus.PROCESSING
    assert statuses() == ["completed", "completed", "received"]
    fake_clock.advance(seconds=2)
    assert sending.poll_batch(batch_id, 1) == BatchStatus.COMPLETED
    assert len(held_by_the_bank(bank)) == 3
