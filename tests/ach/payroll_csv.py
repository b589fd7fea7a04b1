"""Build payroll CSV files in tests: a valid row to vary, any header, delimiter and encoding."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterable
from collections.abc import Mapping

from dashboard.ach.payroll_file import PayrollRow
from dashboard.ach.payroll_file import read_payroll
from dashboard.ach.samples import COLUMNS

#: A valid row (HSBC, 9-digit account) that tests change one cell at a time.
VALID = {
    "employee_id": "EMP0001",
    "payee_name": "CHAN TAI MAN",
    "payee_name_zh": "",
    "bank_code": "004",
    "branch_code": "123",
    "account_number": "456789001",
    "amount": "23500.00",
    "currency": "HKD",
    "reference": "EMP0001 NOV26",
    "email": "",
}
LIMIT = 20 * 1024 * 1024
MAX_ITEM = 999_999_999


def row(**changes: str) -> dict[str, str]:
    """Return the valid row with ``changes``; its reference follows the employee id unless given."""
    cells = {**VALID, **changes}
    if "reference" not in changes:
        cells["reference"] = f"{cells['employee_id']} NOV26"
    return cells


def payroll_csv(
    rows: Iterable[Mapping[str, str]],
    *,
    columns: Iterable[str] = COLUMNS,
    header: Iterable[str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bytes = b"",
    newline: str = "\r\n",
) -> bytes:
    """Return a CSV file of ``rows`` (quoted where needed) under ``header`` (default: ``columns``)."""
    import csv

    columns = list(columns)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(list(header) if header is not None else columns)
    for cells in rows:
        writer.writerow([cells.get(column, "") for column in columns])
    return bom + out.getvalue().encode(encoding)


def read_all(data: bytes, **options) -> tuple[list[PayrollRow], object]:
    """Read ``data`` to the end; return its rows and its facts."""
    options.setdefault("max_decoded_bytes", LIMIT)
    options.setdefault("max_item_minor", MAX_ITEM)
    reader = read_payroll(io.BytesIO(data), **options)
    return list(reader), reader.facts


UTF16_LE = codecs.BOM_UTF16_LE
UTF16_BE = codecs.BOM_UTF16_BE
UTF8_BOM = codecs.BOM_UTF8
