"""Payroll files and batches for the batch tests: rows that pass every check unless told otherwise."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from dashboard.ach import service
from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.extensions import db
from tests.ach.payroll_csv import payroll_csv

#: The fake clock's first day (Monday 5 January 2026, 10:00 in Hong Kong): a valid same-day value date.
VALUE_DATE = date(2026, 1, 5)
DEBTOR_ACCOUNT = "012-345-678901"


def payee(number: int, **changes: str) -> dict[str, str]:
    """Return a valid row for employee ``number`` (an HSBC account of 9 digits, never a simulator reject)."""
    row = {
        "employee_id": f"E{number:05d}",
        "payee_name": f"CHAN TAI MAN {number}",
        "bank_code": "004",
        "branch_code": "002",
        "account_number": f"1{number:07d}5",
        "amount": f"{1000 + number}.50",
        "currency": "HKD",
        "reference": f"SAL-{number}",
    }
    row.update(changes)
    return row


def upload(rows: list[dict[str, str]] | bytes, uploader_id: int, **options: Any) -> service.Uploaded:
    """Upload ``rows`` (or a whole file) as ``uploader_id`` with the test value date and debit account."""
    data = rows if isinstance(rows, bytes) else payroll_csv(rows)
    options.setdefault("value_date", VALUE_DATE)
    options.setdefault("debtor_account", DEBTOR_ACCOUNT)
    return service.upload(
        io.BytesIO(data), options.pop("file_name", "payroll.csv"), uploader_id=uploader_id, **options
    )


def stored_counts() -> tuple[int, int]:
    """Return how many batches and items the database holds."""
    batches = db.session.scalar(select(func.count()).select_from(AchBatch))
    items = db.session.scalar(select(func.count()).select_from(AchItem))
    db.session.rollback()
    return batches, items


def items_of(batch_id: int) -> list[AchItem]:
    """Return a batch's items in row order."""
    return list(
        db.session.scalars(select(AchItem).where(AchItem.batch_id == batch_id).order_by(AchItem.row_number))
    )
