"""Settlement's read side: the batch list (keyset), a batch's results, a payment's settlement."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.listing import Cursor
from dashboard.listing import Page
from dashboard.listing import newest_first
from dashboard.settlements.models import DIFFERENCES
from dashboard.settlements.models import Outcome
from dashboard.settlements.models import Scope
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.models import SettlementFile
from dashboard.settlements.models import SettlementResult
from dashboard.settlements.records import EntryKind

#: Most differences a batch's page lists (the CSV has every one).
DIFFERENCES_SHOWN = 500


@dataclass(frozen=True)
class BatchFilter:
    """The list's filters, read from the URL (empty: any)."""

    state: str = ""
    provider: str = ""
    #: One settlement day (None: any).
    day: date | None = None


def batch_page(session: Session, filters: BatchFilter, before: Cursor | None) -> Page:
    """Return a keyset page of batches, newest first (each filter has an index ending in id)."""
    statement = select(
        SettlementBatch.id,
        SettlementBatch.provider,
        SettlementBatch.reference,
        SettlementBatch.currency,
        SettlementBatch.day,
        SettlementBatch.state,
        SettlementBatch.scope,
        SettlementBatch.entry_count,
        SettlementBatch.fee_minor,
        SettlementBatch.net_minor,
        SettlementBatch.difference_count,
        SettlementBatch.open_count,
    )
    if filters.state:
        statement = statement.where(SettlementBatch.state == filters.state)
    if filters.provider:
        statement = statement.where(SettlementBatch.provider == filters.provider)
    if filters.day is not None:
        statement = statement.where(SettlementBatch.day == filters.day)
    rows, next_cursor = newest_first(session, statement, SettlementBatch, before, order=("id",), timed=False)
    return Page(rows, next_cursor)


def differences(
    session: Session, batch_id: int, limit: int | None = DIFFERENCES_SHOWN
) -> list[SettlementResult]:
    """Return a batch's differences, open ones first."""
    statement = (
        select(SettlementResult)
        .where(SettlementResult.batch_id == batch_id, SettlementResult.outcome.in_(DIFFERENCES))
        .order_by(SettlementResult.resolved_at.is_not(None), SettlementResult.id)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def each_difference(session: Session, batch_id: int) -> Iterator[SettlementResult]:
    """Yield every difference of a batch in order, a chunk at a time (the CSV)."""
    statement = (
        select(SettlementResult)
        .where(SettlementResult.batch_id == batch_id, SettlementResult.outcome.in_(DIFFERENCES))
        .order_by(SettlementResult.id)
        .execution_options(yield_per=1000)
    )
    yield from session.scalars(statement)


def matched_count(session: Session, batch_id: int) -> int:
    """Return how many of a batch's rows matched ours."""
    return session.scalar(
        select(func.count(SettlementResult.id)).where(
            SettlementResult.batch_id == batch_id, SettlementResult.outcome == Outcome.MATCHED.value
        )
    )


def settlement_of_payment(session: Session, payment_id: int) -> Row | None:
    """Return the batch that settled a payment (reference, day, fee, net, currency), once reconciled."""
    return session.execute(
        select(
            SettlementBatch.id.label("batch_id"),
            SettlementBatch.reference,
            SettlementBatch.day,
            SettlementResult.fee_minor,
            SettlementResult.net_minor,
            SettlementResult.currency,
            SettlementResult.outcome,
        )
        .join(SettlementBatch, SettlementBatch.id == SettlementResult.batch_id)
        .where(SettlementResult.payment_id == payment_id, SettlementResult.kind == EntryKind.PAYMENT.value)
        .where(SettlementBatch.scope == Scope.BATCH.value)
        .where(SettlementResult.entry_id.is_not(None))
        .order_by(SettlementResult.id.desc())
        .limit(1)
    ).first()


def replaced_files(session: Session, stored: SettlementFile) -> list[SettlementFile]:
    """Return the earlier files of the same name a corrected file replaced, newest first."""
    return list(
        session.scalars(
            select(SettlementFile)
            .where(
                SettlementFile.provider == stored.provider,
                SettlementFile.name == stored.name,
                SettlementFile.id < stored.id,
            )
            .order_by(SettlementFile.id.desc())
        )
    )
