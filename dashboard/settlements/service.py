"""Settlement: import a provider's report file, reconcile the batch it completes, resolve differences.

Every function here runs in one write transaction of its own and is audited. A file is read as a
stream and stored in the same transaction as its rows: a file that turns out bad at any line
(a cut file, a missing ``<END>``) leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import BinaryIO

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.audit import service as audit
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.payments.models import Payment
from dashboard.providers.entry import Provider
from dashboard.providers.registry import REGISTRY
from dashboard.providers.registry import provider as provider_entry
from dashboard.settlements.models import DIFFERENCES
from dashboard.settlements.models import BatchState
from dashboard.settlements.models import Scope
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.models import SettlementEntry
from dashboard.settlements.models import SettlementFile
from dashboard.settlements.models import SettlementResult
from dashboard.settlements.models import SettlementTotal
from dashboard.settlements.reconcile import Reconciled
from dashboard.settlements.reconcile import day_window
from dashboard.settlements.reconcile import reconcile
from dashboard.settlements.records import ReportFile
from dashboard.settlements.records import ReportFormatError
from dashboard.settlements.records import ReportKind
from dashboard.settlements.records import SettlementEntry as EntryRecord
from dashboard.settlements.records import SettlementTotal as TotalRecord

#: Rows inserted at a time.
INSERT_CHUNK = 2000
#: Bytes hashed at a time.
_BLOCK = 1 << 16


class ImportRefused(ValueError):
    """The file cannot be imported as a report of that provider (its name, or a provider without reports)."""


@dataclass(frozen=True)
class Imported:
    """What importing a file did: stored it (maybe reconciling its batch), found it there, or refused it."""

    file_id: int | None = None
    #: The batch the file belongs to (details, summary).
    batch_id: int | None = None
    #: The file imported before with the same provider, name and bytes.
    duplicate_of: int | None = None
    refused: ReportFormatError | None = None


def reporting_providers() -> list[Provider]:
    """Return the providers whose settlement reports the back office reads."""
    return [entry for entry in REGISTRY.values() if entry.settlement_reports is not None]


def _reports_of(provider_code: str):
    try:
        entry = provider_entry(provider_code)
    except LookupError:
        raise ImportRefused(_("There is no provider %(code)s.", code=repr(provider_code))) from None
    if entry.settlement_reports is None:
        raise ImportRefused(_("%(provider)s sends no settlement reports.", provider=entry.label))
    return entry, entry.settlement_reports


def _digest(stream: BinaryIO) -> tuple[str, int]:
    """Hash a seekable stream and rewind it."""
    digest, size = hashlib.sha256(), 0
    while block := stream.read(_BLOCK):
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return digest.hexdigest(), size


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _entry_values(file_id: int, record: EntryRecord) -> dict:
    return {
        "file_id": file_id,
        "line": record.line,
        "kind": record.kind.value,
        "batch_reference": record.batch_id,
        "provider_id": record.provider_id,
        "original_provider_id": record.original_provider_id,
        "request_id": record.request_id,
        "status": record.status.value if record.status else None,
        "amount_minor": record.amount_minor,
        "currency": record.currency,
        "settlement_amount_minor": record.settlement_amount_minor,
        "settlement_currency": record.settlement_currency,
        "fee_minor": record.fee_minor,
        "fee_currency": record.fee_currency,
        "created_at": record.created_at,
        "completed_at": record.completed_at,
        "settled_on": record.settled_on,
    }


def _total_values(file_id: int, record: TotalRecord) -> dict:
    return {
        "file_id": file_id,
        "line": record.line,
        "kind": record.kind.value,
        "batch_reference": record.batch_id,
        "count": record.count,
        "settlement_amount_minor": record.settlement_amount_minor,
        "settlement_currency": record.settlement_currency,
        "fee_minor": record.fee_minor,
        "settled_on": record.settled_on,
    }


def _store_rows(
    session: Session, stored: SettlementFile, records: Iterable[EntryRecord | TotalRecord]
) -> tuple[int, date | None, str | None]:
    """Insert a file's records in chunks; return their count, the settlement day and currency they give."""
    count, day, currency = 0, None, None
    summary = stored.kind == ReportKind.SETTLEMENT_SUMMARY
    model, values = (SettlementTotal, _total_values) if summary else (SettlementEntry, _entry_values)
    for chunk in _chunks(records, INSERT_CHUNK):
        # Core, not the ORM's bulk path: a tenth of the cost per row (nothing here is tracked).
        session.connection().execute(
            model.__table__.insert(), [values(stored.id, record) for record in chunk]
        )
        count += len(chunk)
        first = chunk[0]
        day = day or first.settled_on
        currency = currency or (
            first.settlement_currency if summary else first.settlement_currency or first.currency
        )
    return count, day, currency


def _new_batch(**fields) -> SettlementBatch:
    """Return a batch (or a day's record) with nothing counted yet: its sums are added to before
    the first flush, when the columns' defaults would apply."""
    return SettlementBatch(
        state=BatchState.WAITING.value,
        gross_minor=0,
        fee_minor=0,
        net_minor=0,
        entry_count=0,
        difference_count=0,
        open_count=0,
        **fields,
    )


def _batch_of(
    session: Session, stored: SettlementFile, report: ReportFile, currency: str | None
) -> tuple[SettlementBatch, int | None]:
    """Return the batch a details or summary file belongs to (created by the first of the two), and
    the file of the same kind it replaces (a corrected one), if any."""
    batch = session.scalar(
        select(SettlementBatch)
        .where(SettlementBatch.provider == stored.provider, SettlementBatch.reference == report.batch_id)
        .with_for_update()
    )
    if batch is None:
        batch = _new_batch(
            provider=stored.provider, reference=report.batch_id, currency=report.currency or currency
        )
        session.add(batch)
    batch.day = batch.day or stored.day
    if stored.kind == ReportKind.SETTLEMENT_DETAILS:
        replaced, batch.details_file_id = batch.details_file_id, stored.id
    else:
        replaced, batch.summary_file_id = batch.summary_file_id, stored.id
    session.flush()
    return batch, replaced


def day_reference(day: date, currency: str) -> str:
    """Return the reference of a day's transactions in one currency."""
    return f"transactions-{day:%Y%m%d}-{currency}"


def _days_of(session: Session, stored: SettlementFile, zone) -> list[tuple[SettlementBatch, int | None]]:
    """Return the day's transactions, one per currency of the file's rows or of our payments made that
    day that the provider knows of, each now read from this file (the day's latest), with the file
    it replaces, if any."""
    currencies = set(
        session.scalars(
            select(SettlementEntry.currency).where(SettlementEntry.file_id == stored.id).distinct()
        )
    )
    start, end = day_window(stored.day, zone)
    currencies |= set(
        session.scalars(
            select(Payment.currency)
            .where(
                Payment.provider == stored.provider,
                Payment.provider_payment_id.is_not(None),
                Payment.created_at >= start,
                Payment.created_at < end,
            )
            .distinct()
        )
    )
    days = []
    for currency in sorted(currencies):
        reference = day_reference(stored.day, currency)
        day = session.scalar(
            select(SettlementBatch)
            .where(SettlementBatch.provider == stored.provider, SettlementBatch.reference == reference)
            .with_for_update()
        )
        if day is None:
            day = _new_batch(
                provider=stored.provider,
                reference=reference,
                scope=Scope.DAY.value,
                currency=currency,
                day=stored.day,
            )
            session.add(day)
        replaced, day.details_file_id = day.details_file_id, stored.id
        session.flush()
        days.append((day, replaced))
    return days


def import_report(
    provider_code: str,
    stream: BinaryIO,
    name: str,
    *,
    source: str,
    actor_id: int | None = None,
    folder_day: date | None = None,
) -> Imported:
    """Store a report file and its rows in one transaction; reconcile the batch it completes.

    :param stream: the file's bytes, seekable (hashed first, then read as a stream)
    :param source: ``upload`` (staff) or ``fetched`` (the daily job)
    :param folder_day: the day of the folder it was fetched from (the day of a file whose name and
        rows do not say it: a quiet day's details)
    :raises ImportRefused: the name is no report of the provider's, or it sends none
    """
    try:
        return _import_once(
            provider_code, stream, name, source=source, actor_id=actor_id, folder_day=folder_day
        )
    except IntegrityError:
        # The same file (or the batch's other file) imported at the same moment elsewhere won the
        # race; a second run sees what it stored.
        stream.seek(0)
        return _import_once(
            provider_code, stream, name, source=source, actor_id=actor_id, folder_day=folder_day
        )


def _import_once(
    provider_code: str,
    stream: BinaryIO,
    name: str,
    *,
    source: str,
    actor_id: int | None = None,
    folder_day: date | None = None,
) -> Imported:
    entry, reports = _reports_of(provider_code)
    report = reports.classify(name)
    if report is None:
        raise ImportRefused(
            _(
                "%(name)s is not the name of an %(provider)s settlement report.",
                name=repr(name),
                provider=entry.label,
            )
        )
    sha256, size = _digest(stream)
    try:
        with write_transaction(db.session) as session:
            earlier = session.scalar(
                select(SettlementFile.id).where(
                    SettlementFile.provider == entry.code,
                    SettlementFile.name == name,
                    SettlementFile.sha256 == sha256,
                )
            )
            if earlier is not None:
                return Imported(duplicate_of=earlier)
            stored = SettlementFile(
                provider=entry.code,
                name=name,
                kind=report.kind.value,
                sha256=sha256,
                size_bytes=size,
                day=report.day,
                batch_reference=report.batch_id,
                rows=0,
                source=source,
                imported_by_id=actor_id,
                imported_at=clock.now(),
            )
            session.add(stored)
            session.flush()
            stored.rows, day, currency = _store_rows(session, stored, reports.read(stream, report))
            stored.day = stored.day or day or folder_day
            batch, replaced = (
                _batch_of(session, stored, report, currency) if report.batch_id else (None, None)
            )
            # A batch is reconciled once both its files are in; a day's transactions at once.
            due = [(batch, replaced)] if batch and batch.details_file_id and batch.summary_file_id else []
            transactions = stored.kind == ReportKind.TRANSACTIONS and stored.day is not None
            days = _days_of(session, stored, reports.day_zone) if transactions else []
            for record, earlier in due + days:
                reconciled = reconcile(session, record, reports.day_zone)
                if earlier is not None:
                    _record_replaced(session, record, earlier, stored, reconciled, actor_id)
            audit.record(
                session,
                "settlement.file_imported",
                object_type=ObjectType.SETTLEMENT_BATCH if batch else None,
                object_id=batch.id if batch else None,
                after={
                    "provider": entry.code,
                    "file": name,
                    "sha256": sha256,
                    "rows": stored.rows,
                    "source": source,
                    "batch_state": batch.state if batch else None,
                    "days": {day.reference: day.state for day, _ in days},
                },
                actor_id=actor_id,
                actor_label=None if actor_id else "settlement import",
            )
            # A day's transactions in one currency open as a batch does; in several, the list shows them.
            shown = batch or (days[0][0] if len(days) == 1 else None)
            return Imported(file_id=stored.id, batch_id=shown.id if shown else None)
    except ReportFormatError as error:
        return Imported(refused=error)


def _record_replaced(
    session: Session,
    record: SettlementBatch,
    earlier: int,
    stored: SettlementFile,
    reconciled: Reconciled,
    actor_id: int | None,
) -> None:
    """Audit a corrected file taking an earlier one's place, and what became of the earlier notes."""
    audit.record(
        session,
        "settlement.file_replaced",
        object_type=ObjectType.SETTLEMENT_BATCH,
        object_id=record.id,
        before={"file_id": earlier},
        after={
            "file_id": stored.id,
            "file": stored.name,
            "sha256": stored.sha256,
            "notes_kept": reconciled.notes_kept,
            "notes_dropped": reconciled.notes_dropped,
            "batch_state": record.state,
        },
        actor_id=actor_id,
        actor_label=None if actor_id else "settlement import",
    )


def import_download(provider_code: str, stream: BinaryIO, name: str, day: date) -> Imported:
    """Import a file fetched from the provider (spooled to disk first: a download cannot rewind)."""
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        shutil.copyfileobj(stream, spool)
        spool.seek(0)
        return import_report(provider_code, spool, name, source="fetched", folder_day=day)


def fetch_day(provider_code: str, day: date) -> list[Imported]:
    """Fetch and import the reports of a day from the provider's folder that are not imported yet.

    :raises ProviderUnavailable: the folder could not be read (the job retries)
    """
    entry, _reports = _reports_of(provider_code)
    folder = entry.report_folder()
    imported = []
    # Details before summaries, so a batch is reconciled once, when its summary arrives.
    order = {ReportKind.TRANSACTIONS: 0, ReportKind.SETTLEMENT_DETAILS: 1, ReportKind.SETTLEMENT_SUMMARY: 2}
    for report in sorted(folder.list_day(day), key=lambda report: (order[report.kind], report.name)):
        known = db.session.scalar(
            select(func.count(SettlementFile.id)).where(
                SettlementFile.provider == entry.code, SettlementFile.name == report.name
            )
        )
        db.session.rollback()
        if known:
            continue
        with folder.download(day, report.name) as stream:
            imported.append(import_download(entry.code, stream, report.name, day))
    return imported


class NotADifference(ValueError):
    """The result is a match: there is nothing to resolve."""


def resolve(result_id: int, note: str, *, actor_id: int) -> SettlementResult:
    """Keep the note of the person who explained a difference; the batch is resolved once all have one.

    :raises LookupError: no such result
    :raises NotADifference: the result is a match
    """
    with write_transaction(db.session) as session:
        result = session.get(SettlementResult, result_id, with_for_update=True)
        if result is None:
            raise LookupError(result_id)
        if result.outcome not in DIFFERENCES:
            raise NotADifference("A matched row has nothing to resolve.")
        before = {"note": result.note, "resolved_by_id": result.resolved_by_id}
        result.note = note
        result.resolved_by_id = actor_id
        result.resolved_at = clock.now()
        session.flush()
        batch = session.get(SettlementBatch, result.batch_id, with_for_update=True)
        batch.open_count = session.scalar(
            select(func.count(SettlementResult.id)).where(
                SettlementResult.batch_id == batch.id,
                SettlementResult.outcome.in_(DIFFERENCES),
                SettlementResult.resolved_at.is_(None),
            )
        )
        batch.state = (BatchState.RESOLVED if batch.open_count == 0 else BatchState.DIFFERENCES).value
        audit.record(
            session,
            "settlement.difference_resolved",
            object_type=ObjectType.SETTLEMENT_BATCH,
            object_id=batch.id,
            before=before,
            after={"result": result.id, "outcome": result.outcome, "note": note, "batch_state": batch.state},
        )
    return db.session.get(SettlementResult, result_id)


def record_download(batch_id: int) -> None:
    """Audit a download of a batch's differences."""
    with write_transaction(db.session) as session:
        audit.record(
            session,
            "settlement.differences_downloaded",
            object_type=ObjectType.SETTLEMENT_BATCH,
            object_id=batch_id,
        )
