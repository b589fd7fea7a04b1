"""Notification health: what each provider sent, what became of it, and how late it came.

Counts and delays come from the notification rollup (:mod:`dashboard.reports.notification_rollups`),
and the notifications still waiting to be applied from the inbox's outcome index (the rollup never
holds them); a range of two days or less is charted per hour by counting the inbox's rows over its
index of receipt times, which such a range keeps small.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

from flask import url_for
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Notification
from dashboard.providers.registry import NOTIFYING
from dashboard.providers.registry import label as provider_label
from dashboard.reports.charts import column_chart
from dashboard.reports.local_time import day_of_number
from dashboard.reports.local_time import local_day_number
from dashboard.reports.local_time import offsets
from dashboard.reports.local_time import whole_epoch_seconds
from dashboard.reports.models import bucket_quantiles
from dashboard.reports.models import epoch_seconds
from dashboard.reports.notification_rollups import WAITING
from dashboard.reports.notification_rollups import NotificationTally
from dashboard.reports.notification_rollups import bucket_bound
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.tables import Cell
from dashboard.reports.tables import Link
from dashboard.reports.tables import Section
from dashboard.reports.tables import Table

#: The outcomes the section counts besides what was received, and their column headings.
COUNTED = (
    (InboxOutcome.REJECTED, _l("Signature failures")),
    (InboxOutcome.DUPLICATE, _l("Duplicates")),
    (InboxOutcome.LATE, _l("Late")),
    (InboxOutcome.FAILED, _l("Failed")),
    (InboxOutcome.UNMATCHED, _l("Unmatched")),
    (InboxOutcome.PENDING, _l("Waiting")),
)
#: Delays are those of first deliveries that verified, once processed: a redelivery's says how
#: the provider retries, and a forged body's time is anybody's guess.
UNTIMED = (InboxOutcome.REJECTED.value, InboxOutcome.DUPLICATE.value)


@dataclass(frozen=True)
class Delay:
    """How late one provider's news came: delay buckets of the median and the 95th percentile."""

    #: How many notifications the delays are of (verified first deliveries with an event time).
    timed: int = 0
    median: int | None = None
    p95: int | None = None


@dataclass(frozen=True)
class ProviderHealth:
    """One provider's notifications received in the range."""

    provider: str
    #: How many have each outcome now (an ``InboxOutcome`` value → count).
    outcomes: dict[str, int]
    delay: Delay
    #: How many arrived in each period of :attr:`NotificationHealth.periods`.
    received_per_period: list[int]

    @property
    def label(self) -> str:
        return provider_label(self.provider)

    @property
    def received(self) -> int:
        """Return how many arrived, whatever became of them."""
        return sum(self.outcomes.values())


@dataclass(frozen=True)
class NotificationHealth:
    """The section's figures: each provider's health over the range."""

    filters: ReportFilters
    providers: list[ProviderHealth]
    #: The days of the range, or for a short one the start of each of its hours (UTC).
    periods: list[date] | list[datetime]

    @property
    def charts(self) -> list[Markup]:
        """Draw what each provider sent per day (per hour for a short range)."""
        hourly = self.filters.range.hourly
        labels = [_period_label(period, self.filters) for period in self.periods]
        return [
            column_chart(
                _("%(provider)s notifications received per hour", provider=health.label)
                if hourly
                else _("%(provider)s notifications received per day", provider=health.label),
                list(zip(labels, health.received_per_period, strict=True)),
                chart_id=f"notifications-received-{health.provider}",
            )
            for health in self.providers
        ]


def _period_label(period: date | datetime, filters: ReportFilters) -> str:
    if isinstance(period, datetime):
        return f"{period.astimezone(filters.range.zone):%d %b %H:%M}"
    return f"{period:%d %b}"


def shown_providers(filters: ReportFilters) -> list[str]:
    """Return the providers that notify, or of them the one the filters name."""
    return [code for code in NOTIFYING if filters.provider in (None, code)]


def notification_health(session: Session, filters: ReportFilters) -> NotificationHealth:
    """Compute each provider's notification health over the filters' days (three reads of the rollup,
    or of the inbox's receipt times for a range charted per hour)."""
    providers = shown_providers(filters)
    waiting = _waiting_per_day(session, filters, providers)
    outcomes = _outcome_counts(session, filters, providers, waiting)
    delays = _delays(session, filters, providers)
    periods, received = _received_per_period(session, filters, providers, waiting)
    return NotificationHealth(
        filters,
        [
            ProviderHealth(
                provider,
                outcomes.get(provider, {}),
                delays.get(provider, Delay()),
                [received.get((provider, period), 0) for period in periods],
            )
            for provider in providers
        ],
        periods,
    )


_TALLY = NotificationTally.__table__


def _in_range(filters: ReportFilters, providers: list[str]) -> tuple:
    return (
        _TALLY.c.day.between(filters.range.first_day, filters.range.last_day),
        _TALLY.c.provider.in_(providers),
        # Counted from the inbox instead; a worker of the earlier code may still move rows here.
        _TALLY.c.outcome != WAITING,
    )


def _waiting_per_day(
    session: Session, filters: ReportFilters, providers: list[str]
) -> dict[tuple[str, date], int]:
    """Count the notifications received in the range that wait to be applied, per provider and local
    day, over the inbox's (outcome, received_at) index: the backlog, not the range's traffic."""
    days = filters.range
    day = local_day_number(Notification.received_at, offsets(days.zone, days.start_utc, days.end_utc)).label(
        "day"
    )
    rows = session.execute(
        select(Notification.provider, day, func.count())
        .where(
            Notification.outcome == WAITING,
            Notification.received_at >= days.start_utc,
            Notification.received_at < days.end_utc,
            Notification.provider.in_(providers),
        )
        .group_by(Notification.provider, day)
    )
    return {(provider, day_of_number(number)): int(count) for provider, number, count in rows}


def _outcome_counts(
    session: Session, filters: ReportFilters, providers: list[str], waiting: dict[tuple[str, date], int]
) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(_TALLY.c.provider, _TALLY.c.outcome, func.sum(_TALLY.c.count))
        .where(*_in_range(filters, providers))
        .group_by(_TALLY.c.provider, _TALLY.c.outcome)
    )
    for provider, outcome, count in rows:
        if count:
            counts.setdefault(provider, {})[outcome] = int(count)
    for (provider, _outcome), count in waiting.items():
        per_outcome = counts.setdefault(provider, {})
        per_outcome[WAITING] = per_outcome.get(WAITING, 0) + count
    return counts


def _delays(session: Session, filters: ReportFilters, providers: list[str]) -> dict[str, Delay]:
    """Return each provider's median and 95th percentile delay bucket: the first bucket whose
    running count reaches half (95 %) of all, read from cumulative counts in SQL."""
    per_bucket = (
        select(_TALLY.c.provider, _TALLY.c.delay_bucket.label("up_to"), func.sum(_TALLY.c.count).label("n"))
        .where(*_in_range(filters, providers), _TALLY.c.outcome.not_in(UNTIMED), _TALLY.c.delay_bucket >= 0)
        .group_by(_TALLY.c.provider, _TALLY.c.delay_bucket)
        .having(func.sum(_TALLY.c.count) > 0)
        .subquery()
    )
    rows = session.execute(bucket_quantiles(per_bucket, per_bucket.c.provider))
    return {provider: Delay(int(total), median, p95) for provider, total, median, p95 in rows}


def _periods(filters: ReportFilters) -> list[date] | list[datetime]:
    days = filters.range
    if not days.hourly:
        return days.local_days()
    hours = int((days.end_utc - days.start_utc) / timedelta(hours=1))
    return [days.start_utc + timedelta(hours=hour) for hour in range(hours)]


def _received_per_period(
    session: Session, filters: ReportFilters, providers: list[str], waiting: dict[tuple[str, date], int]
) -> tuple[list, dict[tuple[str, date | datetime], int]]:
    periods = _periods(filters)
    if not filters.range.hourly:
        rows = session.execute(
            select(_TALLY.c.provider, _TALLY.c.day, func.sum(_TALLY.c.count))
            .where(*_in_range(filters, providers))
            .group_by(_TALLY.c.provider, _TALLY.c.day)
        )
        received = Counter(waiting)
        received.update({(provider, day): int(count) for provider, day, count in rows})
        return periods, dict(received)
    # Hours since the range began, counted over the receipt times' index; a local hour is a whole
    # hour from the range's start in UTC, whatever the zone's offset.
    start = filters.range.start_utc
    slot = ((whole_epoch_seconds(Notification.received_at) - epoch_seconds(start)) // 3600).label("slot")
    rows = session.execute(
        select(Notification.provider, slot, func.count())
        .where(
            Notification.received_at >= start,
            Notification.received_at < filters.range.end_utc,
            Notification.provider.in_(providers),
        )
        .group_by(Notification.provider, slot)
    )
    return periods, {(provider, periods[int(index)]): int(count) for provider, index, count in rows}


# --- tables --------------------------------------------------------------------------------------------


def delay_text(bucket: int | None) -> str | None:
    """Say a delay bucket as the delay it is under (``under 4.5 s``), or None for no delay."""
    if bucket is None:
        return None
    bound = bucket_bound(bucket)
    if bound is None:
        return _("over %(duration)s", duration=_duration(bucket_bound(bucket - 1)))
    return _("under %(duration)s", duration=_duration(bound))


def _duration(delay: timedelta) -> str:
    seconds = delay.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return _("%(days)s days", days=format(seconds / 86400, ".1f"))


def _inbox(count: int, provider: str, filters: ReportFilters, outcome: str | None = None) -> Cell:
    """Return ``count`` linked to the inbox filtered to the notifications it counts."""
    if not count:
        return 0
    args = {
        "provider": provider,
        "day_from": filters.range.first_day.isoformat(),
        "day_to": filters.range.last_day.isoformat(),
    }
    if outcome is not None:
        args["outcome"] = outcome
    return Link(str(count), url_for("notifications.index", **args))


def notification_tables(figures: NotificationHealth) -> list[Table]:
    """Return the section's tables: each provider's counts and delays, and what arrived per period."""
    filters = figures.filters
    health = Table(
        "providers",
        _("Notifications per provider: what became of them, and their delay from the provider's event time"),
        (
            _l("Provider"),
            _l("Received"),
            *(heading for _outcome, heading in COUNTED),
            _l("Delay median"),
            _l("Delay 95th percentile"),
            _l("Delays known"),
        ),
        [
            (
                provider.label,
                _inbox(provider.received, provider.provider, filters),
                *(
                    _inbox(provider.outcomes.get(outcome.value, 0), provider.provider, filters, outcome.value)
                    for outcome, _heading in COUNTED
                ),
                delay_text(provider.delay.median),
                delay_text(provider.delay.p95),
                provider.delay.timed,
            )
            for provider in figures.providers
        ],
    )
    hourly = filters.range.hourly
    received = Table(
        "received",
        _("Notifications received per hour") if hourly else _("Notifications received per day"),
        (_l("Hour") if hourly else _l("Day"), *(provider.label for provider in figures.providers)),
        [
            (period, *(provider.received_per_period[index] for provider in figures.providers))
            for index, period in enumerate(figures.periods)
        ],
    )
    return [health, received]


SECTION = Section(
    "notifications",
    _l("Notification health"),
    # Intake records no event (it stays one write); applied notifications are recorded on the
    # timelines of the payments and agreements they concern.
    ("payment", "agreement"),
    notification_health,
    notification_tables,
)
