"""The payments list as a CSV file: the list's filters, every matching row, written chunk by chunk.

Rows are read in keyset chunks (never all at once, never with OFFSET) and each chunk is written out
before the next is read, so an export of any length takes the same memory. Amounts are in major
units beside their currency, times in the display time zone with its UTC offset, and no cell can
start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.audit import service as audit
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType
from dashboard.listing import in_chunks
from dashboard.listing import readable
from dashboard.listing import spreadsheet_safe
from dashboard.money import exponent
from dashboard.payments.models import PROVIDERS
from dashboard.payments.models import Payment
from dashboard.payments.queries import PaymentFilter
from dashboard.payments.queries import export_rows
from dashboard.payments.queries import found_payments
from dashboard.payments.states import PaymentStatus
from dashboard.providers.registry import label as provider_label

#: Rows read per query: big enough that the queries cost little per row, small enough that a chunk
#: (a few hundred kB of CSV) never weighs on memory.
CHUNK_SIZE = 2000
#: Excel reads a UTF-8 file as UTF-8 (Chinese names, the HK$ sign) only when it starts with a BOM.
BOM = "\ufeff"
AUDIT_ACTION = "payments.exported"


def filename(zone: str) -> str:
    """Return the download's name, dated today in the display time zone: ``payments-2026-03-02.csv``."""
    return f"payments-{clock.now().astimezone(ZoneInfo(zone)):%Y-%m-%d}.csv"


def header(zone: str) -> list[str]:
    """Return the first line's cells; time columns name their zone."""
    return [
        f"Created ({zone})",
        "Provider",
        "Our id",
        "Provider id",
        "Wallet / method",
        "Customer ref",
        "Amount",
        "Currency",
        "Refunded",
        "Status",
        "Result code",
        "Result message",
        f"Paid ({zone})",
        "Description",
    ]


def record_export(session: Session, filters: Mapping[str, str]) -> None:
    """Write who exported payments with which filters to the audit log, and commit it.

    Called before the first row is sent, so an export that is cut short is on record too.

    :param filters: the URL's filter arguments, as the list shows them
    """
    with write_transaction(session):
        audit.record(
            session,
            AUDIT_ACTION,
            object_type=ObjectType.PAYMENT,
            after={"filters": dict(sorted(filters.items())), "format": "csv"},
        )


class _Cells:
    """Turns one exported row into its cells, with the per-currency and per-provider work cached."""

    def __init__(self, zone: str):
        self.zone = ZoneInfo(zone)
        self.scales: dict[str, tuple[int, int]] = {}
        self.providers = {code: provider_label(code) for code in PROVIDERS}
        self.statuses = {status.value: readable(status.value) for status in PaymentStatus}

    def time(self, value: datetime | None) -> str:
        return "" if value is None else value.astimezone(self.zone).isoformat(timespec="seconds")

    def major(self, minor: int, currency: str) -> str:
        scale = self.scales.get(currency)
        if scale is None:
            places = exponent(currency)
            scale = self.scales[currency] = (places, 10**places)
        places, unit = scale
        if not places:
            return str(minor)
        whole, part = divmod(abs(minor), unit)
        return f"{'-' if minor < 0 else ''}{whole}.{part:0{places}d}"

    def row(self, row: Row) -> list[str]:
        # In the order of queries.export_rows (unpacked: a name lookup per cell costs more than the cell).
        (
            _,
            created_at,
            provider,
            request_id,
            provider_payment_id,
            method,
            customer_ref,
            amount_minor,
            currency,
            refunded_minor,
            status,
            result_code,
            result_message,
            paid_at,
            description,
        ) = row
        # Cells from providers, customers and staff may start like a formula and are neutralised;
        # times, amounts, currency codes, provider names and statuses are ours and start with a
        # digit or a letter.
        return [
            self.time(created_at),
            self.providers.get(provider, provider),
            spreadsheet_safe(request_id),
            spreadsheet_safe(provider_payment_id or ""),
            spreadsheet_safe(method or ""),
            spreadsheet_safe(customer_ref or ""),
            self.major(amount_minor, currency),
            currency,
            self.major(refunded_minor or 0, currency),
            self.statuses.get(status, status),
            spreadsheet_safe(result_code or ""),
            spreadsheet_safe(result_message or ""),
            self.time(paid_at),
            spreadsheet_safe(description or ""),
        ]


def csv_text(
    session: Session, filters: PaymentFilter, zone: str, chunk_size: int | None = None
) -> Iterator[str]:
    """Yield the CSV file in pieces: the BOM and header line, then one piece per chunk of rows.

    Nothing is read before the first piece is asked for, and each further piece reads one chunk.

    :param zone: the display time zone (times and the created-day filters)
    :param chunk_size: rows per query (default :data:`CHUNK_SIZE`)
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(zone))
    yield BOM + buffer.getvalue()
    cells = _Cells(zone)
    statement = export_rows(session, filters, zone, found_payments(session, filters))
    for rows in in_chunks(session, statement, Payment, chunk_size or CHUNK_SIZE):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(cells.row(row) for row in rows)
        yield buffer.getvalue()
