"""Write the timeline and read the live-update feed (DESIGN §6, §8 "Live-update feed").

Every change to an agreement or a payment (including its refunds and cancels, which are
recorded on their payment's timeline) appends one :class:`Event` in the transaction that makes
the change. Pages subscribe to *topics*: ``payment`` (any payment) or ``payment:42`` (one).

Ordering: on PostgreSQL, ids from a sequence can commit out of order, so a poller that only
asked for ``id > cursor`` could skip an event. Appends are serialised with a transaction-scoped
advisory lock taken just before the insert (held until commit, so ids are handed out in commit
order); on SQLite, ``BEGIN IMMEDIATE`` already serialises writers. The poller still re-reads a
short window behind its cursor (:data:`LOOK_BACK`) and the page de-duplicates by id, so a writer
that bypassed the lock is caught too.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from dashboard import clock
from dashboard.db import checked_on_rows
from dashboard.db import deferred
from dashboard.db import is_row_id
from dashboard.db import write_transaction
from dashboard.db import written_at_end
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.kinds import TimelineRef
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.providers.base import Call

#: Advisory lock key serialising event appends on PostgreSQL ("events" in ASCII).
_APPEND_LOCK = 0x6576656E7473
#: How many ids behind its cursor a poll re-reads.
LOOK_BACK = 50
#: Most events one poll returns; a page that fell further behind reloads its regions anyway.
MAX_POLL_EVENTS = 200
#: How much of a failed job's error its timeline entry keeps.
MAX_JOB_ERROR_TEXT = 500


def record_event(
    session: Session,
    object_type: str,
    object_id: int | str,
    kind: str,
    summary: dict[str, Any] | None = None,
    *,
    notification_id: int | None = None,
    actor_id: int | None = None,
) -> None:
    """Append an event for ``object_type:object_id`` in the current transaction."""
    values = {
        "created_at": clock.now(),
        "object_type": object_type,
        "object_id": str(object_id),
        "kind": kind,
        "summary": summary,
        "notification_id": notification_id,
        "actor_id": actor_id,
    }
    appends = deferred(session, _APPENDS)
    if appends is None:
        _append(session, [values])
    else:
        appends.append(values)


_APPENDS = "timeline_appends"


def _append(session: Session, events: list[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Re-taking a lock this transaction holds already returns at once.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    session.add_all(Event(**values) for values in events)
    session.flush()


def gathered_events(session: Session) -> AbstractContextManager[None]:
    """Gather the events recorded in the block and append them, in order, at its end.

    The append lock (PostgreSQL) is then held only from there to the commit, so appliers of
    batches work side by side instead of one after the other (see :func:`written_at_end`).
    """
    return written_at_end(session, _APPENDS, _append)


def record_provider_call(session: Session, timeline: TimelineRef, call: Call) -> None:
    """Append a provider call (its redacted record and what it meant: S, F or U) to a timeline.

    A call that never left (no record, e.g. refused before sending) appends nothing.
    """
    if call.record is None:
        return
    summary = {**call.record.as_dict(), "outcome": call.outcome.value, **timeline.extra}
    record_event(session, timeline.object_type, timeline.object_id, EventKind.PROVIDER_CALL, summary)


def failure_on_timeline(model: type, job: str):
    """Return a job ``on_failure`` hook writing ``job_failed`` on the timeline of the job's row.

    :param model: the model whose id is the job's first argument (a refund's go on its payment)
    """

    def hook(exc: Exception, object_id: int, *args: Any) -> None:
        db.session.rollback()
        with write_transaction(db.session) as session:
            row = session.get(model, object_id)
            if row is None:
                return
            timeline = row.timeline
            summary = {**timeline.extra, "job": job, "error": repr(exc)[:MAX_JOB_ERROR_TEXT]}
            record_event(session, timeline.object_type, timeline.object_id, EventKind.JOB_FAILED, summary)

    return hook


#: Every list page and live poll runs it: built once (see ``auth.guard``).
#: The newest event id: a live list reads it in the statement that reads its rows (see listing).
#: ``max``, not an order and a limit: SQLite reads it as a search of the key, and it takes no
#: parameter inside another statement.
LATEST_EVENT_ID = select(func.max(Event.id))


def latest_event_id(session: Session) -> int:
    """Return the newest event id (0 when there are none): a page's starting cursor."""
    return session.scalar(LATEST_EVENT_ID) or 0


def created_after(session: Session, object_type: str, after: int, limit: int) -> list[int]:
    """Return the ids of at most ``limit`` objects of ``object_type`` created after event ``after``,
    oldest first: a range on ``(object_type, id)`` that starts at the cursor, so it reads only what
    happened since the page was rendered, whatever the size of the table."""
    statement = (
        select(Event.object_id)
        .where(Event.object_type == object_type, Event.id > after, Event.kind == EventKind.CREATED)
        .order_by(Event.id)
        .limit(limit)
    )
    return [int(object_id) for object_id in session.scalars(statement)]


@dataclass(frozen=True)
class Topic:
    """``payment`` (every object of a type) or ``payment:42`` (one object; ``notification:7``: what
    notification 7 changed)."""

    object_type: str
    object_id: str | None = None

    @classmethod
    def parse(cls, value: str) -> Topic:
        """Parse ``type`` or ``type:id``; raise ValueError on anything else."""
        object_type, _, object_id = value.partition(":")
        if not object_type.isidentifier() or (object_id and not object_id.isalnum()) or len(value) > 100:
            raise ValueError(f"bad topic {value!r}")
        return cls(object_type, object_id or None)

    def __str__(self) -> str:
        return self.object_type if self.object_id is None else f"{self.object_type}:{self.object_id}"


def _on(topic: Topic) -> ColumnElement[bool]:
    """Return what an event on ``topic`` is: of its object, or (``notification:12``) caused by that
    notification, whatever it changed."""
    if topic.object_id is None:
        return Event.object_type == topic.object_type
    if topic.object_type == ObjectType.NOTIFICATION and is_row_id(topic.object_id):
        return Event.notification_id == int(topic.object_id)
    return and_(Event.object_type == topic.object_type, Event.object_id == topic.object_id)


#: What a poll tells of each event: every poll re-reads its look-back window, so it reads these
#: columns as plain rows, neither building entities nor decoding summaries it does not send.
POLLED_COLUMNS = (Event.id, Event.object_type, Event.object_id, Event.kind, Event.notification_id)


def poll(session: Session, after: int, topics: Iterable[Topic]) -> list[Row]:
    """Return the :data:`POLLED_COLUMNS` of events on ``topics`` with an id above ``after - LOOK_BACK``,
    oldest first.

    One indexed range query on the primary key; callers drop ids they have seen already.
    """
    conditions = [_on(topic) for topic in topics]
    if not conditions:
        return []
    statement = (
        select(*POLLED_COLUMNS)
        .where(Event.id > max(after - LOOK_BACK, 0), or_(*conditions))
        .order_by(Event.id)
        .limit(MAX_POLL_EVENTS)
    )
    return list(session.execute(statement))


def feed(
    session: Session, after: int, object_types: Iterable[str], kinds: Iterable[str], limit: int
) -> list[Event]:
    """Return up to ``limit`` events of ``kinds`` on objects of ``object_types`` after id ``after``,
    oldest first: the storefront API's copy of the pages' feed (appends are serialised, see above,
    so nothing commits behind a cursor a reader has passed)."""
    statement = (
        select(Event)
        .where(
            Event.id > after,
            # Most events are the feed's: walk them in id order, never read and sort every one after
            # an old cursor from the object-type index.
            checked_on_rows(and_(Event.object_type.in_(list(object_types)), Event.kind.in_(list(kinds)))),
        )
        .order_by(Event.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def timeline(session: Session, object_type: str, object_id: int | str, limit: int = 500) -> list[Event]:
    """Return an object's events, oldest first."""
    statement = (
        select(Event)
        .where(Event.object_type == object_type, Event.object_id == str(object_id))
        .order_by(Event.id)
        .limit(limit)
    )
    return list(session.scalars(statement))
