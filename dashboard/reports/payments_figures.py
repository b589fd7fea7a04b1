"""The report's Payments section: activity per day (or hour), success rates, time to a final status,
and the payments still open after ten minutes.

Every figure is a SQL aggregate over the rollups (:mod:`dashboard.reports.models`), except the hours
of a short range, read from the payments of at most two days through their creation index, and the
stuck payments, read oldest first through their status index with a limit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import url_for
from markupsafe import Markup
from sqlalchemy import String
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import type_coerce
from sqlalchemy import union_all
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.db import checked_on_rows
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.payments.models import Payment
from dashboard.payments.states import OPEN_PAYMENT
from dashboard.providers.methods import method_label
from dashboard.providers.registry import label as provider_label
from dashboard.reports.charts import bar_chart
from dashboard.reports.charts import column_chart
from dashboard.reports.local_time import HOUR
from dashboard.reports.local_time import hour_of_number
from dashboard.reports.local_time import local_hour_number
from dashboard.reports.local_time import offsets
from dashboard.reports.models import FINISH_BOUNDS
from dashboard.reports.models import PAID_STATUSES
from dashboard.reports.models import DailyTotal
from dashboard.reports.models import DailyWallet
from dashboard.reports.models import FinishTime
from dashboard.reports.models import bucket_quantiles
from dashboard.reports.models import epoch_seconds
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.tables import Link
from dashboard.reports.tables import Section
from dashboard.reports.tables import Table

#: A payment still open this long after its creation is listed as stuck.
STUCK_AFTER = timedelta(minutes=10)
#: How many stuck payments the section lists (oldest first); it counts them all.
STUCK_SHOWN = 20


@dataclass(frozen=True)
class Activity:
    """Payments of one provider in one currency created in one period (a day, or an hour)."""

    period: str
    provider: str
    currency: str
    count: int
    #: What was paid of them, in minor units of ``currency``.
    paid_minor: int


@dataclass(frozen=True)
class Rate:
    """How many finished payments of a provider or a wallet were paid."""

    label: str
    paid: int
    finished: int

    @property
    def percent(self) -> float | None:
        """The share paid, in percent (None when none finished)."""
        return 100 * self.paid / self.finished if self.finished else None


@dataclass(frozen=True)
class TimeToFinal:
    """How long the payments of a provider (or all) took from creation to a final status.

    Quantiles are upper bounds of the :data:`~dashboard.reports.models.FINISH_BOUNDS` bucket in
    which the cumulative count reaches the share: "half took at most ``median_up_to`` seconds".
    """

    label: str
    finished: int
    median_up_to: int | None
    p95_up_to: int | None


@dataclass(frozen=True)
class StuckPayment:
    """A payment still pending or processing after :data:`STUCK_AFTER`."""

    id: int
    request_id: str
    provider: str
    amount: Money
    status: str
    created_at: datetime


@dataclass(frozen=True)
class PaymentFigures:
    """The Payments section's figures for one set of filters."""

    filters: ReportFilters
    #: The periods charted, oldest first: days, or hours for a range of two days or less.
    periods: list[str]
    hourly: bool
    #: Every (period, provider, currency) with payments created, in period order.
    activity: list[Activity]
    provider_rates: list[Rate]
    wallet_rates: list[Rate]
    #: One per provider, then all providers together (when several).
    times_to_final: list[TimeToFinal]
    stuck: list[StuckPayment]
    #: How many payments are stuck in all (``stuck`` lists the oldest).
    stuck_total: int

    def counts_by_provider(self) -> dict[str, list[int]]:
        """Return payments created per period for each provider (counts add up across currencies)."""
        return self._per_period(lambda row: row.provider, lambda row: row.count)

    def paid_by_currency(self) -> dict[str, list[int]]:
        """Return the minor units paid per period in each currency (never added across currencies)."""
        return self._per_period(lambda row: row.currency, lambda row: row.paid_minor)

    def _per_period(self, group, value) -> dict[str, list[int]]:
        place = {period: index for index, period in enumerate(self.periods)}
        series: dict[str, list[int]] = defaultdict(lambda: [0] * len(self.periods))
        for row in self.activity:
            series[group(row)][place[row.period]] += value(row)
        return dict(sorted(series.items()))

    def activity_charts(self) -> list[Markup]:
        """Draw payments created per period for each provider, and paid per period in each currency."""
        charts = [
            column_chart(
                _("Payments created per hour, %(provider)s", provider=provider_label(provider))
                if self.hourly
                else _("Payments created per day, %(provider)s", provider=provider_label(provider)),
                list(zip(self.periods, counts, strict=True)),
                chart_id=f"payments-count-{provider}",
            )
            for provider, counts in self.counts_by_provider().items()
        ]
        return charts + [
            column_chart(
                _("Paid per hour in %(currency)s", currency=currency)
                if self.hourly
                else _("Paid per day in %(currency)s", currency=currency),
                list(zip(self.periods, amounts, strict=True)),
                chart_id=f"payments-paid-{currency}",
                value_label=lambda minor, currency=currency: format_money(minor, currency),
            )
            for currency, amounts in self.paid_by_currency().items()
        ]

    def rate_charts(self) -> list[Markup]:
        """Draw the success rates by provider and by wallet."""
        return [
            bar_chart(
                title,
                [(rate.label, round(rate.percent, 1)) for rate in rates if rate.percent is not None],
                chart_id=f"payments-rate-{name}",
                value_label=lambda value: f"{value:.1f} %",
            )
            for name, title, rates in (
                ("provider", _("Success rate by provider: paid of finished payments"), self.provider_rates),
                ("wallet", _("Success rate by wallet: paid of finished payments"), self.wallet_rates),
            )
        ]


def _paid_minor(status_column, amount_minor):
    paid = sorted(status.value for status in PAID_STATUSES)
    return func.sum(case((status_column.in_(paid), amount_minor), else_=0))


def _daily_activity(session: Session, filters: ReportFilters) -> list[Activity]:
    # The day as its text: the period's label, without parsing a date per row on SQLite.
    keys = (type_coerce(DailyTotal.day, String()), DailyTotal.provider, DailyTotal.currency)
    statement = (
        select(*keys, func.sum(DailyTotal.count), _paid_minor(DailyTotal.status, DailyTotal.amount_minor))
        .where(*filters.rollup_conditions(DailyTotal))
        .group_by(*keys)
        .order_by(*keys)
    )
    return [
        Activity(str(day), provider, currency, int(count), int(paid))
        for day, provider, currency, count, paid in session.execute(statement)
        if count
    ]


def _hour_label(number: int, filters: ReportFilters) -> str:
    return f"{hour_of_number(number, filters.range.zone):%d %b %H:00}"


def _hours(filters: ReportFilters) -> list[int]:
    """Return the local hour numbers of the range, oldest first (a repeated autumn hour once)."""
    report = filters.range
    numbers: list[int] = []
    moment = report.start_utc
    while moment < report.end_utc:
        offset = int(moment.astimezone(report.zone).utcoffset().total_seconds())
        number = (epoch_seconds(moment) + offset) // HOUR
        if not numbers or numbers[-1] != number:
            numbers.append(number)
        moment += timedelta(hours=1)
    return numbers


def _hourly_activity(session: Session, filters: ReportFilters) -> list[Activity]:
    report = filters.range
    hour = local_hour_number(Payment.created_at, offsets(report.zone, report.start_utc, report.end_utc))
    keys = (hour, Payment.provider, Payment.currency)
    conditions = [
        Payment.created_at >= report.start_utc,
        Payment.created_at < report.end_utc,
        *filters.narrowing(Payment.provider, Payment.currency),
    ]
    statement = (
        select(*keys, func.count(), _paid_minor(Payment.status, Payment.amount_minor))
        .where(*conditions)
        .group_by(*keys)
        .order_by(*keys)
    )
    return [
        Activity(_hour_label(number, filters), provider, currency, int(count), int(paid))
        for number, provider, currency, count, paid in session.execute(statement)
    ]


def _rates(session: Session, filters: ReportFilters) -> tuple[list[Rate], list[Rate]]:
    """Return the success rates by provider and by wallet, from one read of the wallets' rollup."""
    counts = (
        select(
            DailyWallet.provider,
            DailyWallet.wallet,
            func.sum(DailyWallet.paid).label("paid"),
            func.sum(DailyWallet.finished).label("finished"),
        )
        .where(*filters.rollup_conditions(DailyWallet))
        .group_by(DailyWallet.provider, DailyWallet.wallet)
        .cte("wallet_counts")
        .prefix_with("MATERIALIZED")
    )
    by = [
        select(
            literal(kind).label("kind"),
            column.label("name"),
            func.sum(counts.c.paid),
            func.sum(counts.c.finished),
        ).group_by(column)
        for kind, column in (("provider", counts.c.provider), ("wallet", counts.c.wallet))
    ]
    rates: dict[str, list[Rate]] = {"provider": [], "wallet": []}
    for kind, name, paid, finished in session.execute(union_all(*by).order_by("kind", "name")):
        label = (
            provider_label(name)
            if kind == "provider"
            else method_label(name)
            if name
            else _("Wallet not known")
        )
        rates[kind].append(Rate(label, int(paid), int(finished)))
    return rates["provider"], rates["wallet"]


def _times_to_final(session: Session, filters: ReportFilters) -> list[TimeToFinal]:
    """Return the time-to-final quantiles of each provider, then of all (when several), from one read."""
    counts = (
        select(
            FinishTime.provider,
            FinishTime.up_to_seconds.label("up_to"),
            func.sum(FinishTime.count).label("n"),
        )
        .where(*filters.rollup_conditions(FinishTime))
        .group_by(FinishTime.provider, FinishTime.up_to_seconds)
        .cte("finish_counts")
        .prefix_with("MATERIALIZED")
    )
    every = select(counts.c.up_to, func.sum(counts.c.n).label("n")).group_by(counts.c.up_to).subquery()
    rows = session.execute(
        union_all(bucket_quantiles(counts, counts.c.provider), bucket_quantiles(every, None))
    ).all()
    providers = sorted((row for row in rows if row[0] is not None), key=lambda row: row[0])
    times = [
        TimeToFinal(provider_label(provider), int(n), median, p95) for provider, n, median, p95 in providers
    ]
    if len(providers) > 1:
        _provider, n, median, p95 = next(row for row in rows if row[0] is None)
        times.append(TimeToFinal(_("All providers"), int(n), median, p95))
    return times


def _stuck(session: Session, filters: ReportFilters) -> tuple[list[StuckPayment], int]:
    """Return the oldest stuck payments and how many there are.

    Each open status is read oldest first from its own (status, created_at, id) index and the pages
    are merged: asked for both statuses in creation order at once, SQLite would walk the creation
    index over every payment instead. A chosen provider reads its (provider, status, created_at)
    index; a chosen currency is checked on the rows found, never walked: its index holds far more
    payments.
    """
    others = [Payment.created_at < clock.now() - STUCK_AFTER]
    if filters.provider:
        others.append(Payment.provider == filters.provider)
    if filters.currency:
        others.append(checked_on_rows(Payment.currency == filters.currency))
    statuses = sorted(status.value for status in OPEN_PAYMENT)
    total = session.scalar(
        select(func.count()).select_from(Payment).where(Payment.status.in_(statuses), *others)
    )
    if not total:
        return [], 0
    columns = (
        Payment.id,
        Payment.request_id,
        Payment.provider,
        Payment.amount_minor,
        Payment.currency,
        Payment.status,
        Payment.created_at,
    )
    pages = [
        select(*columns)
        .where(Payment.status == status, *others)
        .order_by(Payment.created_at, Payment.id)
        .limit(STUCK_SHOWN)
        .subquery()
        for status in statuses
    ]
    merged = union_all(*(select(page) for page in pages)).subquery()
    statement = select(merged).order_by(merged.c.created_at, merged.c.id).limit(STUCK_SHOWN)
    shown = [
        StuckPayment(id, request_id, provider, Money(minor, currency), status, created)
        for id, request_id, provider, minor, currency, status, created in session.execute(statement)
    ]
    return shown, total


def payment_figures(session: Session, filters: ReportFilters) -> PaymentFigures:
    """Compute the Payments section for ``filters`` (SQL aggregates; see the module's note)."""
    report = filters.range
    if report.hourly:
        periods = [_hour_label(number, filters) for number in _hours(filters)]
        activity = _hourly_activity(session, filters)
    else:
        periods = [day.isoformat() for day in report.local_days()]
        activity = _daily_activity(session, filters)
    stuck, stuck_total = _stuck(session, filters)
    provider_rates, wallet_rates = _rates(session, filters)
    return PaymentFigures(
        filters=filters,
        periods=periods,
        hourly=report.hourly,
        activity=activity,
        provider_rates=provider_rates,
        wallet_rates=wallet_rates,
        times_to_final=_times_to_final(session, filters),
        stuck=stuck,
        stuck_total=stuck_total,
    )


def seconds_bound(seconds: int | None) -> str | None:
    """Say a time-to-final bound: ``≤ 20 s``, ``≤ 5 min``; the last bucket has no upper bound."""
    if seconds is None:
        return None
    if seconds == FINISH_BOUNDS[-1]:
        return f"> {FINISH_BOUNDS[-2]:,} s"
    return f"≤ {seconds:,} s"


def _percent(rate: Rate) -> str | None:
    return None if rate.percent is None else f"{rate.percent:.1f} %"


def payment_tables(figures: PaymentFigures) -> list[Table]:
    """Build the section's tables from its figures."""
    counts, paid = figures.counts_by_provider(), figures.paid_by_currency()
    return [
        Table(
            "activity",
            _("Payments created per hour by provider, and paid by currency")
            if figures.hourly
            else _("Payments created per day by provider, and paid by currency"),
            (
                _l("Hour") if figures.hourly else _l("Day"),
                *(_l("Payments, %(provider)s", provider=provider_label(provider)) for provider in counts),
                *(_l("Paid in %(currency)s", currency=currency) for currency in paid),
            ),
            [
                (
                    period,
                    *(series[index] for series in counts.values()),
                    *(Money(series[index], currency) for currency, series in paid.items()),
                )
                for index, period in enumerate(figures.periods)
                if figures.activity
            ],
        ),
        *(
            Table(
                f"rate-{name}",
                caption,
                (column, _l("Paid"), _l("Finished"), _l("Success rate")),
                [(rate.label, rate.paid, rate.finished, _percent(rate)) for rate in rates],
            )
            for name, caption, column, rates in (
                ("provider", _("Success rate by provider"), _l("Provider"), figures.provider_rates),
                ("wallet", _("Success rate by wallet"), _l("Wallet"), figures.wallet_rates),
            )
        ),
        Table(
            "time-to-final",
            _("Time from creation to a final status"),
            (_l("Provider"), _l("Finished"), _l("Median"), _l("95th percentile")),
            [
                (time.label, time.finished, seconds_bound(time.median_up_to), seconds_bound(time.p95_up_to))
                for time in figures.times_to_final
            ],
        ),
        Table(
            "stuck",
            _(
                "Payments open over %(minutes)s minutes: %(count)s (the oldest %(shown)s listed)",
                minutes=STUCK_AFTER.seconds // 60,
                count=format(figures.stuck_total, ","),
                shown=STUCK_SHOWN,
            ),
            (_l("Created"), _l("Payment"), _l("Provider"), _l("Amount"), _l("Status")),
            [
                (
                    payment.created_at,
                    Link(payment.request_id, url_for("payments.detail", payment_id=payment.id)),
                    provider_label(payment.provider),
                    payment.amount,
                    payment.status,
                )
                for payment in figures.stuck
            ],
        ),
    ]


SECTION = Section(
    name="payments",
    title=_l("Payments"),
    topics=("payment",),
    figures=payment_figures,
    tables=payment_tables,
)
