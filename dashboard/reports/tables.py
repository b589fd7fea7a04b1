"""What a report section is: what it computes, the tables that show its figures, their CSV files.

A section's figures come from SQL over rollups; its tables are built from the figures alone, and are
both the text alternative under its charts and its downloads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import LazyString
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy.orm import Session

from dashboard.i18n import gettext as _
from dashboard.listing import spreadsheet_safe
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.reports.ranges import ReportFilters
from dashboard.templating import link


@dataclass(frozen=True)
class Link:
    """A cell that opens the records behind its figure."""

    text: str
    url: str


Cell = str | int | float | Decimal | date | datetime | Money | Link | None


@dataclass(frozen=True)
class Table:
    """A section's figures as rows: the text alternative under its chart and its CSV download."""

    #: Unique in its section: the download is ``/reports/<section>/<name>.csv``.
    name: str
    #: Says what the rows are.
    caption: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]]


@dataclass(frozen=True)
class Section:
    """One part of the report page, loaded and refreshed on its own."""

    #: Its URL part, and its template ``reports/_<name>.html``.
    name: str
    title: str
    #: The live topics whose events refresh it (``payment``, ``agreement``, ...).
    topics: tuple[str, ...]
    #: Compute its figures for the filters (SQL aggregates only).
    figures: Callable[[Session, ReportFilters], Any]
    #: Build its tables from the figures, without another query.
    tables: Callable[[Any], list[Table]]


def csv_cell(value: Cell, zone: ZoneInfo) -> str:
    """Write one cell as a spreadsheet reads it: amounts in major units, times in ``zone``, no formulas."""
    if value is None:
        return ""
    if isinstance(value, Link):
        value = value.text
    if isinstance(value, LazyString):  # guidance texts
        value = str(value)
    if isinstance(value, Money):
        return f"{value.decimal:f}"
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return str(value)


def csv_text(table: Table, zone: ZoneInfo) -> str:
    """Return ``table`` as a CSV file (with a BOM, so a spreadsheet reads it as UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    writer.writerows([csv_cell(cell, zone) for cell in row] for row in table.rows)
    return "\ufeff" + buffer.getvalue()


def table_named(tables: Iterable[Table], name: str) -> Table | None:
    """Return the table called ``name`` among ``tables``, or None."""
    return next((table for table in tables if table.name == name), None)


def html_cell(value: Cell, zone: ZoneInfo) -> Markup:
    """Show one cell on the page: amounts in their currency's format, times in ``zone``, links as links."""
    if value is None:
        return Markup('<span class="muted">—</span>')
    if isinstance(value, Link):
        return link(value.url, value.text)
    if isinstance(value, Money):
        return escape(format_money(value))
    if isinstance(value, datetime):
        return escape(f"{value.astimezone(zone):%Y-%m-%d %H:%M}")
    if isinstance(value, bool):
        return escape(_("yes") if value else _("no"))
    if isinstance(value, int):
        return escape(f"{value:,}")
    if isinstance(value, float):
        return escape(f"{value:,.1f}")
    return escape(str(value))


def is_number(value: Cell) -> bool:
    """Return True for a cell aligned as a number (counts, amounts)."""
    return isinstance(value, int | float | Decimal | Money) and not isinstance(value, bool)
