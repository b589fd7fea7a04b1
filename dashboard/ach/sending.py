"""Send an approved payroll batch to the bank and follow it until every item is final (DESIGN §3, §9).

Each request (:class:`AchSubmission`) goes through :func:`dashboard.provider_step.provider_step`:
its message id was committed when the batch was approved, the call runs with no transaction
open, and the answer is committed with the call's record on the batch's timeline. A request
whose answer was lost is sent again only if the bank never received it, under the same message
id, so a batch is never paid twice. Items are updated in bulk, a statement per outcome.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any
from typing import TypeVar

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from dashboard import clock
from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.ach.models import AchSubmission
from dashboard.ach.models import row_of
from dashboard.ach.service import SUBMIT_BATCH
from dashboard.ach.states import BATCH_MACHINE
from dashboard.ach.states import FINAL_ITEM
from dashboard.ach.states import FINAL_SUBMISSION
from dashboard.ach.states import ITEM_PROGRESS
from dashboard.ach.states import RUNNING_BATCH
from dashboard.ach.states import SUBMISSION_MACHINE
from dashboard.ach.states import BatchEvent
from dashboard.ach.states import BatchStatus
from dashboard.ach.states import ItemStatus
from dashboard.ach.states import SubmissionEvent
from dashboard.ach.states import SubmissionStatus
from dashboard.ach.states import batch_ending
from dashboard.db import clipped
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.jobs import enqueue_after_commit
from dashboard.money import Money
from dashboard.provider_step import provider_step
from dashboard.provider_step import settle
from dashboard.providers.base import Call
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.hkach import CreditTransfer
from dashboard.providers.hkach import HkachAuthError
from dashboard.providers.hkach import HkachClient
from dashboard.providers.hkach import HkachRateLimited
from dashboard.providers.hkach import InvalidBatch
from dashboard.providers.hkach import PaymentBatch
from dashboard.providers.hkach.consts import PROVIDER as HKACH
from dashboard.providers.news import BulkPaymentNews
from dashboard.providers.news import TransferNews
from dashboard.providers.registry import provider
from dashboard.transitions import move

log = logging.getLogger(__name__)

R = TypeVar("R")

#: The job that asks the bank about a batch's requests (declared in ``dashboard/ach/tasks.py``).
POLL_BATCH = "dashboard.ach.tasks.poll_batch_task"
#: Seconds before the first status report is asked for; the wait doubles up to :data:`MAX_POLL_DELAY`.
FIRST_POLL_DELAY = 2
MAX_POLL_DELAY = 30
#: The attempt number a poll re-queued by the sweeper starts at (the longest wait between polls).
LATE_POLL = 5
#: Seconds before a request whose answer was lost is asked about (and sent again if never received).
RESEND_DELAY = 30
#: Rows per UPDATE (well under every database's limit of bound parameters).
UPDATE_CHUNK = 500
UNSENT = frozenset({SubmissionStatus.PENDING, SubmissionStatus.SUBMITTED})


class BankBusy(Exception):
    """The bank kept refusing calls for their number (429) longer than the client waits: it
    processed nothing; the job stops its round and comes back later."""


def _unless_throttled(call: Callable[[], R]) -> R:
    """Make the call; a rate limit the client could not wait out raises :class:`BankBusy`."""
    try:
        return call()
    except HkachRateLimited as limited:
        raise BankBusy(str(limited)) from limited


def _each_until_busy(step: Callable[[int], int], submission_ids: list[int]) -> int:
    """Run ``step`` for each request until the bank is busy; return how many items moved."""
    moved = 0
    for submission_id in submission_ids:
        try:
            moved += step(submission_id)
        except BankBusy:
            log.info("the bank throttles us; the remaining requests wait for the next round")
            break
    return moved


def bank_client() -> HkachClient:
    """Return the app's HK ACH client from the provider registry (built once: its token is reused)."""
    return provider(HKACH).client()


def poll_delay(attempt: int) -> int:
    """Return the seconds before status report number ``attempt`` (0, 1, …): 2, 4, 8, 16, 30, 30, …"""
    return min(FIRST_POLL_DELAY * 2 ** min(attempt, 5), MAX_POLL_DELAY)


def _submission_ids(session: Session, batch_id: int, statuses: frozenset[SubmissionStatus]) -> list[int]:
    return list(
        session.scalars(
            select(AchSubmission.id)
            .where(AchSubmission.batch_id == batch_id, AchSubmission.status.in_(statuses))
            .order_by(AchSubmission.number)
        )
    )


def submit_batch(batch_id: int) -> str:
    """Send every request of an approved batch not yet with the bank; return the batch's status.

    Once all are with the bank (or refused before it) the batch is processing and the poll job
    is queued; a request whose answer was lost is tried again by this job, later.
    """
    batch = db.session.get(AchBatch, batch_id)
    status = batch.status if batch is not None else "missing"
    db.session.rollback()
    if status not in RUNNING_BATCH:
        return status
    if status == BatchStatus.APPROVED:
        with write_transaction(db.session) as session:
            batch = locked(session, AchBatch, batch_id)
            settle(lambda: move(session, batch, BATCH_MACHINE, BatchEvent.SENDING))
    unsent = _submission_ids(db.session, batch_id, UNSENT)
    db.session.rollback()
    moved = _each_until_busy(send_submission, unsent)
    with write_transaction(db.session) as session:
        batch = locked(session, AchBatch, batch_id)
        if _submission_ids(session, batch_id, UNSENT):
            _tried(session, batch_id, UNSENT)
            _record_progress(session, batch, moved)
            enqueue_after_commit(session, SUBMIT_BATCH, batch_id, delay=RESEND_DELAY)
        elif settle(lambda: move(session, batch, BATCH_MACHINE, BatchEvent.SENT)):
            _follow(session, batch, 0, moved)
        return batch.status


def _tried(session: Session, batch_id: int, statuses: frozenset[SubmissionStatus]) -> None:
    """Mark the batch's requests still in ``statuses`` as tried just now, so the sweeper leaves them
    to the job that tries them (a throttled or again-unanswered call changes nothing else on them)."""
    session.execute(
        update(AchSubmission)
        .where(AchSubmission.batch_id == batch_id, AchSubmission.status.in_(statuses))
        .values(updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def _payment_batch(session: Session, batch: AchBatch, submission: AchSubmission) -> PaymentBatch:
    """Return the request's transfers as the client sends them (plain values, read in row order)."""
    items = session.execute(
        select(
            AchItem.instruction_id,
            AchItem.reference,
            AchItem.amount_minor,
            AchItem.bank_code,
            AchItem.branch_code,
            AchItem.account_number,
            AchItem.payee_name,
        )
        .where(
            AchItem.batch_id == submission.batch_id,
            AchItem.row_number.between(submission.first_row, submission.last_row),
            AchItem.submission_id == submission.id,
        )
        .order_by(AchItem.row_number)
    )
    return PaymentBatch(
        batch_id=submission.reference,
        value_date=batch.value_date,
        debtor_account=batch.debtor_account,
        transfers=tuple(
            CreditTransfer(
                instruction_id=item.instruction_id,
                end_to_end_id=item.reference,
                amount=Money(item.amount_minor, batch.currency),
                bank_code=item.bank_code,
                branch_code=item.branch_code,
                account_number=item.account_number,
                creditor_name=item.payee_name,
            )
            for item in items
        ),
    )


def send_submission(submission_id: int) -> int:
    """Send one request (or, after a lost answer, send it again only if the bank never got it).

    :returns: how many of its items moved
    """
    refused_because: list[dict[str, str]] = []

    def prepare(submission: AchSubmission) -> Callable[[], Any] | None:
        if submission.status not in UNSENT:
            return None
        payment = _payment_batch(db.session, db.session.get(AchBatch, submission.batch_id), submission)
        message_id, answer_lost = submission.message_id, submission.status == SubmissionStatus.SUBMITTED
        client = bank_client()

        def send() -> Any:
            try:
                if answer_lost:
                    return _unless_throttled(lambda: client.resubmit_if_never_received(payment, message_id))
                return _unless_throttled(lambda: client.submit(payment, message_id))
            except InvalidBatch as invalid:
                refused_because.extend({"code": p.code, "message": p.message} for p in invalid.problems)
                raise
            except HkachAuthError as refused:
                # Our credentials, not the batch: nothing was sent; asked again (and sent) later.
                raise ProviderUnavailable(
                    refused.message, record=refused.record, code=refused.code
                ) from refused

        return send

    return provider_step(
        AchSubmission, submission_id, prepare, partial(_sent, refused_because), unsent=lambda row: 0
    )


def _sent(
    refused_because: list[dict[str, str]], session: Session, submission: AchSubmission, call: Call
) -> int:
    """Apply the answer to sending a request: with the bank, lost, or refused before it.

    :returns: how many of its items moved
    """
    news = call.news
    if submission.sent_at is None and call.record is not None:
        submission.sent_at = clock.now()
    if news is not None:  # the status report of a request the bank had after all
        return _apply_report(session, submission, news)
    if call.result is not None:
        submission.group_status = call.code
        _change(session, submission, SubmissionEvent.RECEIVED)
        return _update_unnamed(session, submission, TransferNews(ItemStatus.RECEIVED))
    if call.outcome is CallOutcome.UNKNOWN:
        _change(session, submission, SubmissionEvent.ANSWER_LOST, (call.code, call.message))
        return 0
    summary = {"problems": refused_because} if refused_because else None
    if not _change(session, submission, SubmissionEvent.REFUSED, (call.code, call.message), summary):
        return 0
    return _update_unnamed(session, submission, TransferNews(ItemStatus.REJECTED, call.code, call.message))


def _change(
    session: Session,
    submission: AchSubmission,
    event: SubmissionEvent,
    result: tuple[str | None, str | None] = (None, None),
    summary: dict[str, Any] | None = None,
) -> bool:
    code, message = result
    if code is not None:
        summary = {**(summary or {}), "result_code": code, "result_message": message}
    return settle(
        lambda: move(session, submission, SUBMISSION_MACHINE, event, result=result, summary=summary)
    )


def _open_submission_ids(session: Session, batch_id: int) -> list[int]:
    """Return the batch's requests the bank has and that still carry an item that is not final: those
    in process, and those the bank called final while leaving an item pending."""
    not_final = select(AchItem.id).where(
        AchItem.submission_id == AchSubmission.id, AchItem.status.not_in(FINAL_ITEM)
    )
    return list(
        session.scalars(
            select(AchSubmission.id)
            .where(
                AchSubmission.batch_id == batch_id,
                AchSubmission.status.not_in(UNSENT),
                (AchSubmission.status == SubmissionStatus.RECEIVED) | not_final.exists(),
            )
            .order_by(AchSubmission.number)
        )
    )


def poll_batch(batch_id: int, attempt: int = 0) -> str:
    """Ask the bank about every open request of a processing batch; apply it; come back later until
    every item is final."""
    batch = db.session.get(AchBatch, batch_id)
    status = batch.status if batch is not None else "missing"
    open_ids = _open_submission_ids(db.session, batch_id)
    db.session.rollback()
    if status != BatchStatus.PROCESSING:
        return status
    moved = _each_until_busy(poll_submission, open_ids)
    with write_transaction(db.session) as session:
        batch = locked(session, AchBatch, batch_id)
        _tried(session, batch_id, frozenset({SubmissionStatus.RECEIVED}))
        _follow(session, batch, attempt + 1, moved)
        return batch.status


def poll_submission(submission_id: int) -> int:
    """Ask the bank for the status report of one request with the bank, and apply it.

    :returns: how many of its items moved
    """

    def prepare(submission: AchSubmission) -> Callable[[], Any] | None:
        if submission.status in UNSENT:
            return None
        message_id, client = submission.message_id, bank_client()
        return lambda: _unless_throttled(lambda: client.status(message_id))

    return provider_step(AchSubmission, submission_id, prepare, _polled, unsent=lambda row: 0)


def _polled(session: Session, submission: AchSubmission, call: Call) -> int:
    submission.polls += 1
    news = call.news
    if news is not None:
        return _apply_report(session, submission, news)
    if call.never_received:
        log.warning("the bank has no record of %r, which it had received", submission)
    return 0


def _apply_report(session: Session, submission: AchSubmission, news: BulkPaymentNews) -> int:
    """Move the request and its items as a status report says; return how many items moved."""
    submission.group_status = news.group_status
    _change(session, submission, news.event, (news.code, news.message))
    by_outcome: dict[TransferNews, list[int]] = defaultdict(list)
    for instruction_id, transfer in news.transfers.items():
        row = row_of(instruction_id)
        if row is not None:
            by_outcome[transfer].append(row)
    moved = 0
    for transfer, rows in by_outcome.items():
        for start in range(0, len(rows), UPDATE_CHUNK):
            chosen = AchItem.row_number.in_(rows[start : start + UPDATE_CHUNK])
            moved += _update_items(session, submission, transfer, chosen)
    if news.unnamed is not None:
        moved += _update_unnamed(session, submission, news.unnamed)
    return moved


def _update_unnamed(session: Session, submission: AchSubmission, transfer: TransferNews) -> int:
    """Move every item of a request not final yet (nor further on) to ``transfer``'s status."""
    return _update_items(
        session, submission, transfer, AchItem.row_number.between(submission.first_row, submission.last_row)
    )


def _update_items(
    session: Session, submission: AchSubmission, transfer: TransferNews, chosen: ColumnElement[bool]
) -> int:
    """Move the chosen items of a request to ``transfer``'s status, never backwards, in one statement;
    return how many moved."""
    rank = ITEM_PROGRESS[transfer.status]
    earlier = [status.value for status, step in ITEM_PROGRESS.items() if step < rank]
    values: dict[str, Any] = {
        "status": transfer.status.value,
        "reason_code": clipped(transfer.reason_code, 16),
        "reason_text": clipped(transfer.reason_text, 256),
    }
    if transfer.status in FINAL_ITEM:
        values["final_at"] = clock.now()
    result = session.execute(
        update(AchItem)
        .where(
            AchItem.batch_id == submission.batch_id,
            chosen,
            AchItem.submission_id == submission.id,
            AchItem.status.in_(earlier),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _follow(session: Session, batch: AchBatch, attempt: int, moved: int) -> None:
    """Bring the batch's progress up to date; end it when every request and every item is final,
    else poll again."""
    _record_progress(session, batch, moved)
    statuses = set(session.scalars(select(AchSubmission.status).where(AchSubmission.batch_id == batch.id)))
    if statuses <= FINAL_SUBMISSION and batch.final_count == batch.valid_count:
        ending = batch_ending(batch.paid_count, batch.rejected_count)
        settle(lambda: move(session, batch, BATCH_MACHINE, ending))
    elif batch.status == BatchStatus.PROCESSING:
        enqueue_after_commit(session, POLL_BATCH, batch.id, attempt, delay=poll_delay(attempt))


def _record_progress(session: Session, batch: AchBatch, moved: int) -> None:
    """Count the batch's items by status (the final ones into its progress columns, the paid ones
    summed); write a progress event when any item moved, so open pages follow."""
    counts = {
        status: (count, int(minor))
        for status, count, minor in session.execute(
            select(AchItem.status, func.count(), func.coalesce(func.sum(AchItem.amount_minor), 0))
            .where(AchItem.batch_id == batch.id)
            .group_by(AchItem.status)
        )
    }
    paid_count, paid_minor = counts.get(ItemStatus.PAID.value, (0, 0))
    rejected_count, _ = counts.get(ItemStatus.REJECTED.value, (0, 0))
    progress = (paid_count + rejected_count, paid_count, paid_minor, rejected_count)
    if not moved and progress == (
        batch.final_count,
        batch.paid_count,
        batch.paid_minor,
        batch.rejected_count,
    ):
        return
    batch.final_count, batch.paid_count, batch.paid_minor, batch.rejected_count = progress
    record_event(
        session,
        ObjectType.ACH_BATCH,
        batch.id,
        EventKind.ACH_PROGRESS,
        {
            "final": batch.final_count,
            "total": batch.valid_count,
            "paid": batch.paid_count,
            "paid_minor": batch.paid_minor,
            "currency": batch.currency,
            "rejected": batch.rejected_count,
            "items": {status: count for status, (count, _) in sorted(counts.items())},
        },
    )
