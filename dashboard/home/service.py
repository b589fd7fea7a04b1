"""System health as staff and load balancers see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dashboard import clock
from dashboard import jobs
from dashboard.extensions import db

#: A worker that has not beaten for this long is reported as stale.
HEARTBEAT_STALE_SECONDS = 180


@dataclass(frozen=True)
class Health:
    """What /healthz reports."""

    database_ok: bool
    database_error: str | None
    queue_depth: int | None
    last_heartbeat: datetime | None

    @property
    def worker_state(self) -> str:
        """Return ``ok``, ``stale`` or ``never`` for the worker heartbeat."""
        if self.last_heartbeat is None:
            return "never"
        age = (clock.now() - self.last_heartbeat).total_seconds()
        return "ok" if age <= HEARTBEAT_STALE_SECONDS else "stale"

    def as_dict(self) -> dict:
        """Return the JSON body of /healthz."""
        return {
            "status": "ok" if self.database_ok else "unavailable",
            "database": "ok" if self.database_ok else f"error: {self.database_error}",
            "queue_depth": self.queue_depth,
            "worker": self.worker_state,
            "worker_last_heartbeat": self.last_heartbeat.isoformat() if self.last_heartbeat else None,
        }


def check_health() -> Health:
    """Probe the database and the job queue; never raises."""
    try:
        # Read in the request's own transaction: ending it would make the page read the user again.
        db.session.execute(text("SELECT 1"))
        database_ok, database_error = True, None
    except SQLAlchemyError as exc:
        db.session.rollback()
        database_ok, database_error = False, exc.__class__.__name__
    try:
        huey = jobs.get_huey()
        depth, heartbeat = jobs.queue_depth(huey), jobs.last_heartbeat(huey)
    except Exception:  # a broken queue must not turn the health check into a 500
        depth, heartbeat = None, None
    return Health(database_ok, database_error, depth, heartbeat)
