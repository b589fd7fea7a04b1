"""The settled-vs-paid section: per day and currency, what customers paid against what the providers settled.

Paid comes from the payments rollup (payments created that day and paid, in the display time zone);
settled from the reconciled settlement batches of that settlement day (the provider's day: Hong Kong
time for Antom, the same calendar as the rollup's). Only days with a reconciled batch are shown: a day
without settlement data has nothing to compare. Both reads are aggregates over an index on the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import url_for
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.reports.charts import bar_chart
from dashboard.reports.models import PAID_STATUSES
from dashboard.reports.models import DailyTotal
from dashboard.reports.models import summed
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.tables import Link
from dashboard.reports.tables import Section
from dashboard.reports.tables import Table
from dashboard.settlements.models import BatchState
from dashboard.settlements.models import Scope
from dashboard.settlements.models import SettlementBatch


@dataclass(frozen=True)
class SettledDay:
    """One day in one currency: paid by customers, and settled by the providers' batches of that day."""

    day: date
    currency: str
    paid: Money
    #: Payments paid.
    payments: int
    #: The transactions the batches settled (refunds and cancels taken off), their fees, and the net.
    gross: Money
    fees: Money
    net: Money
    batches: int

    @property
    def difference(self) -> Money:
        """Paid less settled gross: what the day's batches left out, or settled beyond that day's payments."""
        return Money(self.paid.minor - self.gross.minor, self.currency)


@dataclass(frozen=True)
class SettlementFigures:
    """Every day of the range that has a reconciled settlement batch, per currency, oldest first."""

    provider: str | None
    days: tuple[SettledDay, ...]

    def charts(self) -> list[Markup]:
        """Return one chart per currency: for each day, the amount paid and the gross settled (the
        difference's two sides)."""
        charts = []
        for currency in sorted({line.currency for line in self.days}):
            bars = []
            for line in self.days:
                if line.currency == currency:
                    day = f"{line.day:%d %b}"
                    bars.append((_("%(day)s paid", day=day), line.paid.minor))
                    bars.append((_("%(day)s settled", day=day), line.gross.minor))
            charts.append(
                bar_chart(
                    _("Paid and settled (gross) per day, %(currency)s", currency=currency),
                    bars,
                    chart_id=f"settled-{currency.lower()}",
                    value_label=lambda minor, currency=currency: format_money(minor, currency),
                )
            )
        return charts


def settlement_figures(session: Session, filters: ReportFilters) -> SettlementFigures:
    """Return the days of ``filters``' range with reconciled batches, with what was paid on each."""
    first, last = filters.range.first_day, filters.range.last_day
    settled = session.execute(
        select(
            SettlementBatch.day,
            SettlementBatch.currency,
            summed(SettlementBatch.gross_minor),
            summed(SettlementBatch.fee_minor),
            summed(SettlementBatch.net_minor),
            func.count(SettlementBatch.id),
        )
        .where(
            SettlementBatch.day >= first,
            SettlementBatch.day <= last,
            SettlementBatch.state != BatchState.WAITING.value,
            SettlementBatch.scope == Scope.BATCH.value,
            *filters.narrowing(SettlementBatch.provider, SettlementBatch.currency),
        )
        .group_by(SettlementBatch.day, SettlementBatch.currency)
        .order_by(SettlementBatch.day, SettlementBatch.currency)
    ).all()
    paid = {
        (day, currency): (minor, count)
        for day, currency, minor, count in session.execute(
            select(
                DailyTotal.day, DailyTotal.currency, summed(DailyTotal.amount_minor), summed(DailyTotal.count)
            )
            .where(
                *filters.rollup_conditions(DailyTotal),
                DailyTotal.status.in_([status.value for status in PAID_STATUSES]),
            )
            .group_by(DailyTotal.day, DailyTotal.currency)
        ).all()
    }
    days = []
    for day, currency, gross, fees, net, batches in settled:
        paid_minor, payments = paid.get((day, currency), (0, 0))
        days.append(
            SettledDay(
                day=day,
                currency=currency,
                paid=Money(paid_minor, currency),
                payments=payments,
                gross=Money(gross, currency),
                fees=Money(fees, currency),
                net=Money(net, currency),
                batches=batches,
            )
        )
    return SettlementFigures(filters.provider, tuple(days))


def settlement_tables(figures: SettlementFigures) -> list[Table]:
    """Return the section's table, from its figures; each day opens the settlement batches of that day."""
    narrowed = {"provider": figures.provider} if figures.provider else {}
    return [
        Table(
            "settled-vs-paid",
            _("Paid and settled per day and currency, and the difference (paid less settled gross)"),
            (
                _l("Day"),
                _l("Currency"),
                _l("Paid"),
                _l("Payments paid"),
                _l("Settled gross"),
                _l("Fees"),
                _l("Net settled"),
                _l("Difference"),
            ),
            [
                (
                    Link(
                        line.day.isoformat(),
                        url_for("settlements.index", day=line.day.isoformat(), **narrowed),
                    ),
                    line.currency,
                    line.paid,
                    line.payments,
                    line.gross,
                    line.fees,
                    line.net,
                    line.difference,
                )
                for line in figures.days
            ],
        )
    ]


SECTION = Section(
    name="settlements",
    title=_l("Settled vs paid"),
    topics=("payment",),
    figures=settlement_figures,
    tables=settlement_tables,
)
