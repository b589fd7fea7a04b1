"""Notification jobs: apply one notification; the inbox sweeper (the inbox is also an outbox)."""

from __future__ import annotations

from dashboard import clock
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.jobs import sweeper
from dashboard.jobs import task
from dashboard.notifications import service
from dashboard.notifications.models import Notification


def _record_crash(exc: Exception, notification_id: int) -> None:
    """Show a crashed apply in the inbox; the row stays pending so a retry or the sweeper runs it again."""
    db.session.rollback()
    with write_transaction(db.session) as session:
        row = locked(session, Notification, notification_id)
        if row is not None and row.processed_at is None:
            row.attempts += 1
            row.processing_error = f"{type(exc).__name__}: {exc}"[:2000]


@task(retries=3, retry_delay=5, on_failure=_record_crash)
def apply_notification_task(notification_id: int) -> str | None:
    """Apply a stored notification (safe to run twice: a processed one is left alone)."""
    return service.apply(notification_id)


@sweeper
def sweep_notifications() -> None:
    """Queue again every verified notification not processed 30 s after it arrived."""
    pending = service.sweep_unprocessed(clock.now())
    db.session.rollback()
    for notification_id in pending:
        apply_notification_task.enqueue(notification_id)
