"""A batch's differences as CSV: one line per difference, formula-safe, streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy.orm import Session

from dashboard.listing import readable
from dashboard.listing import spreadsheet_safe
from dashboard.money import Money
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.queries import each_difference

HEADER = (
    "batch", "day", "difference", "kind", "provider_id", "payment_id", "refund_id", "cancel_id", "currency",
    "provider_amount", "our_amount", "fee", "net", "note", "resolved_at_utc",
)  # fmt: skip


def _amount(minor: int | None, currency: str) -> str:
    return "" if minor is None else f"{Money(minor, currency).decimal:f}"


def _line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([spreadsheet_safe(value) for value in values])
    return out.getvalue()


def difference_lines(session: Session, batch: SettlementBatch) -> Iterator[str]:
    """Yield the CSV of a batch's differences, header first."""
    yield _line(list(HEADER))
    day = batch.day.isoformat() if batch.day else ""
    for result in each_difference(session, batch.id):
        currency = result.currency
        yield _line(
            [
                batch.reference,
                day,
                readable(result.outcome),
                readable(result.kind),
                result.provider_id or "",
                str(result.payment_id or ""),
                str(result.refund_id or ""),
                str(result.cancel_id or ""),
                currency,
                _amount(result.their_minor, currency),
                _amount(result.our_minor, currency),
                _amount(result.fee_minor, currency),
                _amount(result.net_minor, currency),
                result.note or "",
                result.resolved_at.isoformat() if result.resolved_at else "",
            ]
        )


def filename(batch: SettlementBatch) -> str:
    """Return the download's name."""
    return f"settlement-{batch.provider}-{batch.reference}-differences.csv"
