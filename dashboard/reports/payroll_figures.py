"""The payroll (ACH) section: batches by status, payees rejected by reason code, money paid per value date.

A batch belongs to the range by its value date (the day its payees are paid), as the batches list
filters it, so each status count opens that list showing the same batches. Payroll batches are few
(a handful a month), and their items are read only where rejected, through the items' status index:
no rollup is needed. The provider and currency filters are about payments and do not apply here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import url_for
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.ach.states import BatchStatus
from dashboard.ach.states import ItemStatus
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.providers.guidance import Guidance
from dashboard.providers.hkach.consts import PROVIDER as HKACH
from dashboard.providers.registry import guidance
from dashboard.reports.charts import bar_chart
from dashboard.reports.models import summed
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.tables import Link
from dashboard.reports.tables import Section
from dashboard.reports.tables import Table
from dashboard.statuses import status_label


@dataclass(frozen=True)
class RejectedItems:
    """Payees the bank did not pay, of one reason code."""

    #: The bank's reason code ("" when it gave none).
    code: str
    count: int
    #: What the code means and what finance does next (None: no guidance yet).
    guidance: Guidance | None


@dataclass(frozen=True)
class PaidOnDay:
    """What the bank paid on one value date in one currency."""

    value_date: date
    currency: str
    paid: Money
    #: Payees paid.
    payees: int


@dataclass(frozen=True)
class PayrollFigures:
    """Everything the payroll section shows, for batches whose value date is in the range."""

    first_day: date
    last_day: date
    #: Batches per status, in the order a batch moves (statuses without batches left out).
    batches: tuple[tuple[BatchStatus, int], ...]
    rejected: tuple[RejectedItems, ...]
    paid: tuple[PaidOnDay, ...]

    @property
    def charts(self) -> list[Markup]:
        """Return the charts: batches by status, rejected payees by code, paid per value date per currency."""
        charts = [
            bar_chart(
                _("Payroll batches by status"),
                [(batch_status_label(status), count) for status, count in self.batches],
                chart_id="payroll-statuses",
            ),
            bar_chart(
                _("Payees rejected by the bank, by reason code"),
                [(line.code or _("(no code)"), line.count) for line in self.rejected],
                chart_id="payroll-rejections",
            ),
        ]
        for currency in sorted({line.currency for line in self.paid}):
            charts.append(
                bar_chart(
                    _("Paid per value date, %(currency)s", currency=currency),
                    [
                        (f"{line.value_date:%d %b %Y}", line.paid.minor)
                        for line in self.paid
                        if line.currency == currency
                    ],
                    chart_id=f"payroll-paid-{currency.lower()}",
                    value_label=lambda minor, currency=currency: format_money(minor, currency),
                )
            )
        return charts


def payroll_figures(session: Session, filters: ReportFilters) -> PayrollFigures:
    """Return the payroll section's figures for the batches whose value date is in ``filters``' range."""
    first, last = filters.range.first_day, filters.range.last_day
    in_range = (AchBatch.value_date >= first, AchBatch.value_date <= last)
    counts = dict(
        session.execute(
            select(AchBatch.status, func.count(AchBatch.id)).where(*in_range).group_by(AchBatch.status)
        ).all()
    )
    rejected = session.execute(
        select(AchItem.reason_code, func.count(AchItem.id))
        .join(AchBatch, AchBatch.id == AchItem.batch_id)
        .where(*in_range, AchItem.status == ItemStatus.REJECTED)
        .group_by(AchItem.reason_code)
    ).all()
    paid = session.execute(
        select(
            AchBatch.value_date,
            AchBatch.currency,
            summed(AchBatch.paid_minor),
            summed(AchBatch.paid_count),
        )
        .where(*in_range, AchBatch.paid_count > 0)
        .group_by(AchBatch.value_date, AchBatch.currency)
        .order_by(AchBatch.value_date, AchBatch.currency)
    ).all()
    return PayrollFigures(
        first_day=first,
        last_day=last,
        batches=tuple((status, counts[status]) for status in BatchStatus if counts.get(status)),
        rejected=tuple(
            sorted(
                (RejectedItems(code or "", count, guidance(HKACH, code)) for code, count in rejected),
                key=lambda line: (-line.count, line.code),
            )
        ),
        paid=tuple(
            PaidOnDay(day, currency, Money(minor, currency), payees) for day, currency, minor, payees in paid
        ),
    )


def batch_status_label(status: BatchStatus) -> str:
    """Name a batch status as the batches list does, in the reader's language."""
    return str(status_label(status.value)).capitalize()


def payroll_tables(figures: PayrollFigures) -> list[Table]:
    """Return the payroll section's tables, from its figures; each status opens its batches."""
    days = {"value_from": figures.first_day.isoformat(), "value_to": figures.last_day.isoformat()}
    return [
        Table(
            "batches",
            _("Payroll batches with a value date in the range, by status"),
            (_l("Status"), _l("Batches")),
            [
                (
                    batch_status_label(status),
                    Link(f"{count:,}", url_for("ach.index", status=status.value, **days)),
                )
                for status, count in figures.batches
            ],
        ),
        Table(
            "rejected",
            _("Payees the bank rejected, by reason code, with what the code means and what to do"),
            (_l("Reason code"), _l("Payees"), _l("What it means"), _l("Next step")),
            [
                (
                    line.code or None,
                    line.count,
                    line.guidance.meaning if line.guidance else _("No guidance yet for this code."),
                    line.guidance.next_step if line.guidance else None,
                )
                for line in figures.rejected
            ],
        ),
        Table(
            "paid",
            _("Paid to payees per value date and currency"),
            (_l("Value date"), _l("Currency"), _l("Paid"), _l("Payees paid")),
            [(line.value_date, line.currency, line.paid, line.payees) for line in figures.paid],
        ),
    ]


SECTION = Section(
    name="payroll",
    title=_l("Payroll (ACH)"),
    topics=("ach_batch",),
    figures=payroll_figures,
    tables=payroll_tables,
)
