"""The notifications inbox: every provider notification, stored raw before anything else."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy import literal
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from dashboard import clock
from dashboard.db import CLIPPED
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import UTCDateTime
from dashboard.db import one_of
from dashboard.db import partial_index
from dashboard.providers.entry import Verdict
from dashboard.providers.registry import NOTIFYING


class InboxOutcome(enum.StrEnum):
    """What processing did with the notification."""

    #: Stored, waiting for the apply job (the sweeper re-enqueues it after 30 s).
    PENDING = "pending"
    #: It changed (or created) the linked object.
    APPLIED = "applied"
    #: Same dedup key as an applied one (``duplicate_of`` links it); changed nothing.
    DUPLICATE = "duplicate"
    #: Out of order or after a final status; recorded on the timeline, status kept.
    LATE = "late"
    #: About a payment, refund or agreement we do not know and cannot record from it.
    UNMATCHED = "unmatched"
    #: Applying raised; ``processing_error`` says why, Reprocess may retry.
    FAILED = "failed"
    #: Bad or missing signature: stored and flagged, never applied.
    REJECTED = "rejected"


#: The only columns processing may change; everything else is written once (append-only). The one
#: exception is the retention of rejected bodies (``notifications/retention.py``): past its days, a
#: rejected POST's body is emptied by a Core update, its verdict, headers and size kept.
PROCESSING_FIELDS = frozenset(
    {
        "verdict",
        "duplicate_of_id",
        "outcome",
        "processed_at",
        "processing_error",
        "object_type",
        "object_id",
        "attempts",
    }
)

#: Rows the dedup key must be unique among: verified and not already marked as a duplicate.
_PRIMARY = "verdict = 'valid' AND duplicate_of_id IS NULL"
_UNPROCESSED = "processed_at IS NULL"
#: Rows linked to what they changed, and duplicates. A notification arrives with neither, so intake
#: writes neither index (each a write under SQLite's one writer lock); every query of them asks for
#: a value (``object_id = ?``, ``duplicate_of_id = ?``), which both databases know implies the
#: predicate.
_LINKED = "object_id IS NOT NULL"
_DUPLICATE = "duplicate_of_id IS NOT NULL"
#: Rows whose signature did not verify: the only ones the verdict index holds. Nearly every row is
#: valid, so intake writes no entry for one, and the inbox's "valid" filter reads the received-at
#: index (its rows are nearly all there). Without it, SQLite, which plans without statistics until
#: something runs ANALYZE, could read the appliers' and the sweeper's "valid and waiting" through
#: the verdict index: every verified notification read, oldest first, to find the few waiting.
_UNVERIFIED = "verdict <> 'valid'"
#: Rows whose body the retention empties in time: rejected ones that still hold theirs.
_REJECTED_WITH_BODY = f"{_UNVERIFIED} AND dropped_body_bytes IS NULL"


class Notification(Base):
    """One notification exactly as received (raw bytes, headers) and what became of it."""

    __tablename__ = "notifications"
    __table_args__ = (
        one_of("provider", tuple(NOTIFYING)),
        one_of("verdict", [verdict.value for verdict in Verdict]),
        one_of("outcome", [outcome.value for outcome in InboxOutcome]),
        # Unique only among verified primary rows: a forged or duplicate POST can never take
        # the key before the real one (DESIGN §8 "Notifications inbox").
        partial_index(
            "ix_notifications_primary_dedup_key", "provider", "dedup_key", where=_PRIMARY, unique=True
        ),
        Index("ix_notifications_dedup_key", "dedup_key"),
        Index("ix_notifications_reference", "reference"),
        Index("ix_notifications_received_at_id", "received_at", "id"),
        partial_index("ix_notifications_object", "object_type", "object_id", "id", where=_LINKED),
        # The inbox filtered by outcome, verdict, kind or provider, newest first; the duplicates of one row.
        Index("ix_notifications_outcome_received_at_id", "outcome", "received_at", "id"),
        partial_index(
            "ix_notifications_verdict_received_at_id", "verdict", "received_at", "id", where=_UNVERIFIED
        ),
        Index("ix_notifications_kind_received_at_id", "kind", "received_at", "id"),
        Index("ix_notifications_provider_received_at_id", "provider", "received_at", "id"),
        partial_index("ix_notifications_duplicate_of_id", "duplicate_of_id", where=_DUPLICATE),
        # The retention's query: rejected bodies still kept, oldest first.
        partial_index("ix_notifications_rejected_with_body", "received_at", where=_REJECTED_WITH_BODY),
        # The sweeper's query: not processed, received more than 30 s ago.
        partial_index("ix_notifications_unprocessed", "received_at", where=_UNPROCESSED),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The code of a provider that notifies (``antom``, ``worldpay``).
    provider: Mapped[str] = mapped_column(String(16))
    #: Antom ``notifyType`` / ``authorizationNotifyType``; Worldpay ``eventDetails.type``.
    kind: Mapped[str] = mapped_column(String(64), info=CLIPPED)
    #: Worldpay ``eventId``; Antom notify type + paymentId/refundId + status; authCode; accessToken hash.
    dedup_key: Mapped[str | None] = mapped_column(String(255))
    #: The main provider id it is about (paymentId, transactionReference, refundId …), for search.
    reference: Mapped[str | None] = mapped_column(String(128), info=CLIPPED)
    #: The verified row with the same dedup key, when this one is a redelivery.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="RESTRICT"))
    #: The relevant request headers (signature, client id, request time, content type).
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The body exactly as received; signatures are checked over these bytes. Empty for a rejected
    #: POST whose body was not kept (beyond the sample, or past its retention).
    body: Mapped[bytes] = mapped_column(LargeBinary)
    #: How many bytes the body had when it was not kept; None while it is.
    dropped_body_bytes: Mapped[int | None] = mapped_column(Integer)
    #: A :class:`Verdict` value, decided before the row is stored.
    verdict: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    #: When the provider says the news happened (Worldpay ``eventTimestamp``; Antom the body's time of
    #: what it reports, else its ``Request-Time``), read before trusting it; None when it does not say.
    event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When processing finished (applied, duplicate, late, unmatched, rejected); None while pending/failed.
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last processing error, shown in the inbox.
    processing_error: Mapped[str | None] = mapped_column(Text)
    #: An :class:`InboxOutcome` value.
    outcome: Mapped[str] = mapped_column(String(16), default=InboxOutcome.PENDING.value)
    #: What it is about: ``payment``, ``refund``, ``agreement`` … and that row's id.
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    #: How many times processing ran (jobs, sweeper, Reprocess).
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.provider} {self.kind} {self.verdict} {self.outcome}>"


#: The verdict index's condition, for a query to repeat: SQLite reads a partial index only for a query
#: that says the index's own condition, and PostgreSQL only for one whose value is in its text (a
#: prepared statement's generic plan knows no parameter's value).
UNVERIFIED = Notification.verdict != literal(Verdict.VALID.value, literal_execute=True)


class AppendOnlyViolation(RuntimeError):
    """Code tried to change a stored notification outside its processing fields."""


@event.listens_for(Notification, "before_update")
def _refuse_edits(mapper, connection, target: Notification) -> None:
    state = inspect(target)
    # Only attributes set since the row was read keep an old value there; the others cannot have changed.
    touched = state.committed_state.keys() - PROCESSING_FIELDS
    forbidden = {key for key in touched if state.attrs[key].history.has_changes()}
    if forbidden:
        raise AppendOnlyViolation(f"notifications are append-only; refused to change {sorted(forbidden)}")
