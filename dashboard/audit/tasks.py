"""Audit jobs: the checkpoint of the chain, written for keeping outside the database."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import current_app

from dashboard import clock
from dashboard.audit.checkpoints import current_checkpoint
from dashboard.audit.checkpoints import write_checkpoint
from dashboard.extensions import db
from dashboard.jobs import get_huey
from dashboard.jobs import sweeper

#: Where the time of the last checkpoint is kept (the queue's storage, shared by every worker).
_WRITTEN_AT = "audit-checkpoint-written-at"


@sweeper
def anchor_audit_chain() -> None:
    """Write the chain's checkpoint every ``AUDIT_CHECKPOINT_MINUTES``."""
    huey = get_huey()
    now = clock.now()
    written = huey.get(_WRITTEN_AT, peek=True)
    every = timedelta(minutes=current_app.config["AUDIT_CHECKPOINT_MINUTES"])
    if written is not None and now - datetime.fromisoformat(written) < every:
        return
    checkpoint = current_checkpoint(db.session)
    db.session.rollback()
    if checkpoint is not None:
        write_checkpoint(checkpoint, now, current_app.config["AUDIT_CHECKPOINT_FILE"])
    huey.put(_WRITTEN_AT, now.isoformat())
