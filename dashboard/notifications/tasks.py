"""Notification jobs: the appliers of stored notifications, apply one again, the inbox sweeper."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from dashboard import clock
from dashboard.db import locked
from dashboard.db import one_writer_at_a_time
from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.jobs import RETRY_NOTIFICATION
from dashboard.jobs import drainer
from dashboard.jobs import sweeper
from dashboard.jobs import task
from dashboard.notifications.handlers import ApplyCrashed
from dashboard.notifications.handlers import apply
from dashboard.notifications.handlers import apply_batch
from dashboard.notifications.handlers import apply_next
from dashboard.notifications.handlers import describe_error
from dashboard.notifications.intake import APPLY_NOTIFICATION
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Notification
from dashboard.notifications.models import Verdict
from dashboard.notifications.retention import purge_rejected_bodies

#: Unprocessed notifications older than this are queued again by the sweeper (DESIGN §8).
SWEEP_AFTER = timedelta(seconds=30)
#: A notification whose apply job crashed this many times waits for staff (Reprocess).
MAX_ATTEMPTS = 10
SWEEP_BATCH = 500
#: How many waiting notifications an applier claims per transaction.
APPLY_BATCH = 50
#: How many it claims where its transaction holds the whole database (SQLite): intake waits behind
#: it, and a batch of 50 held it for 50-125 ms (PostgreSQL locks only the rows it applies).
APPLY_BATCH_ALONE = 10

log = logging.getLogger(__name__)


def _record_crash(exc: Exception, notification_id: int) -> None:
    """Show a crashed apply in the inbox; the row stays pending so a retry or the sweeper runs it again."""
    db.session.rollback()
    with write_transaction(db.session) as session:
        row = locked(session, Notification, notification_id)
        if row is not None and row.processed_at is None:
            row.attempts += 1
            row.processing_error = describe_error(exc)


@task(APPLY_NOTIFICATION, RETRY_NOTIFICATION, on_failure=_record_crash)
def apply_notification_task(notification_id: int) -> str | None:
    """Apply a stored notification (safe to run twice: a processed one is left alone)."""
    return apply(notification_id)


@drainer
def apply_next_notifications() -> int:
    """Apply the oldest notifications nothing has tried yet, a batch at a time; return how many (0: none).

    One that crashes is shown as crashed and handed to :func:`apply_notification_task`, whose
    retries continue from this first try. A batch that cannot commit at all is taken again one
    notification at a time, so one that breaks the batch is found and set aside.
    """
    try:
        batch = apply_batch(APPLY_BATCH_ALONE if one_writer_at_a_time(db.engine) else APPLY_BATCH)
    except Exception:
        log.exception("a batch of notifications could not be applied; applying them one at a time")
        db.session.rollback()
        return _apply_one()
    for notification_id in batch.crashed:
        _retry_later(notification_id)
    return len(batch)


def _apply_one() -> int:
    try:
        return int(apply_next() is not None)
    except ApplyCrashed as crash:
        _record_crash(crash.__cause__, crash.notification_id)
        _retry_later(crash.notification_id)
        return 1


def _retry_later(notification_id: int) -> None:
    apply_notification_task.enqueue(
        notification_id, delay=RETRY_NOTIFICATION.delay, retries=RETRY_NOTIFICATION.retries - 1
    )


def unprocessed(now) -> list[int]:
    """Return verified primary notifications still pending 30 s after receipt (a lost or crashed job)."""
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(
                Notification.processed_at.is_(None),
                Notification.received_at < now - SWEEP_AFTER,
                Notification.outcome == InboxOutcome.PENDING.value,
                Notification.verdict == Verdict.VALID.value,
                Notification.duplicate_of_id.is_(None),
                Notification.attempts < MAX_ATTEMPTS,
            )
            .order_by(Notification.received_at)
            .limit(SWEEP_BATCH)
        )
    )


@sweeper
def purge_old_rejected_bodies() -> None:
    """Empty the bodies of rejected notifications past their retention, a batch per sweep."""
    with write_transaction(db.session) as session:
        purge_rejected_bodies(session, clock.now(), current_app.config["REJECTED_BODY_RETENTION_DAYS"])


@sweeper
def sweep_notifications() -> None:
    """Queue again every verified notification not processed 30 s after it arrived."""
    pending = unprocessed(clock.now())
    db.session.rollback()
    for notification_id in pending:
        apply_notification_task.enqueue(notification_id)
