"""Payroll batch jobs: send an approved batch, follow it at the bank; the sweeper of batches left running."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dashboard import clock
from dashboard.ach import sending
from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchSubmission
from dashboard.ach.service import SUBMIT_BATCH
from dashboard.ach.states import SubmissionStatus
from dashboard.events.service import failure_on_timeline
from dashboard.extensions import db
from dashboard.jobs import RETRY_PAYMENT_CALL
from dashboard.jobs import sweeper
from dashboard.jobs import task

#: A request untouched for this long (unsent, or with the bank and not asked about) is picked up again.
STUCK_AFTER = timedelta(minutes=10)
#: Most batches one sweep re-queues (the rest wait for the next minute).
SWEEP_BATCH = 200


@task(SUBMIT_BATCH, RETRY_PAYMENT_CALL, on_failure=failure_on_timeline(AchBatch, "submit batch"))
def submit_batch_task(batch_id: int) -> str:
    """Send the requests of an approved batch that the bank does not have yet."""
    return sending.submit_batch(batch_id)


@task(sending.POLL_BATCH, RETRY_PAYMENT_CALL, on_failure=failure_on_timeline(AchBatch, "poll batch"))
def poll_batch_task(batch_id: int, attempt: int = 0) -> str:
    """Ask the bank where a processing batch's requests stand; queue itself again until all are final."""
    return sending.poll_batch(batch_id, attempt)


@sweeper
def sweep_running_batches() -> None:
    """Re-queue the jobs of batches whose requests were left unsent or unpolled (a crash, a lost job)."""
    cutoff = clock.now() - STUCK_AFTER
    waiting = SubmissionStatus.PENDING, SubmissionStatus.SUBMITTED, SubmissionStatus.RECEIVED
    rows = db.session.execute(
        select(AchSubmission.batch_id, AchSubmission.status)
        .where(AchSubmission.status.in_(waiting), AchSubmission.updated_at < cutoff)
        .distinct()
        .limit(SWEEP_BATCH)
    ).all()
    db.session.rollback()
    unsent = {batch_id for batch_id, status in rows if status != SubmissionStatus.RECEIVED}
    for batch_id in sorted(unsent):
        submit_batch_task.enqueue(batch_id)
    for batch_id in sorted({batch_id for batch_id, _ in rows} - unsent):
        poll_batch_task.enqueue(batch_id, sending.LATE_POLL)
