"""The refunds section: refunded money and rate, reasons, approval waits, rejections and failures.

Every figure comes from the refund rollups (:mod:`dashboard.reports.refund_rollups`) and the daily
payment totals, summed in SQL over the range's days; refunds count on the local day they were asked
for, in the status they have now. Only "waiting now" reads refunds: the few awaiting approval,
through their status index.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.i18n import ngettext
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.reasons import reason_label as refund_reason_label
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import RefundStatus
from dashboard.providers.guidance import About
from dashboard.providers.guidance import Guidance
from dashboard.providers.registry import guidance
from dashboard.providers.registry import label as provider_label
from dashboard.reports.charts import bar_chart
from dashboard.reports.charts import column_chart
from dashboard.reports.models import DailyTotal
from dashboard.reports.models import summed
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.refund_rollups import WAIT_BUCKETS
from dashboard.reports.refund_rollups import RefundApprovalWait
from dashboard.reports.refund_rollups import RefundDailyTotal
from dashboard.reports.tables import Section
from dashboard.reports.tables import Table

#: Ranges up to this many days show refunded money per day; longer ones per calendar month.
DAILY_UP_TO_DAYS = 62

#: Payment statuses whose money was paid: what a refund rate is taken of.
PAID = (PaymentStatus.SUCCEEDED, PaymentStatus.SETTLED, PaymentStatus.DISPUTED, PaymentStatus.CHARGED_BACK)


@dataclass(frozen=True)
class CurrencyRefunds:
    """The range's refunds in one currency."""

    currency: str
    #: Refunds asked for in the range, whatever became of them.
    asked: int
    #: Those refunded (succeeded), and their sum.
    refunded_count: int
    refunded: Money
    #: What payments made in the range paid, and the refunded share of it in per cent (None: nothing paid).
    paid: Money
    rate: Decimal | None
    #: Those a manager rejected, and their sum.
    rejected_count: int
    rejected: Money


@dataclass(frozen=True)
class ReasonRefunds:
    """The range's refunds of one reason in one currency."""

    #: The reason staff chose ("" when none was given: a refund made at the provider).
    reason: str
    currency: str
    asked: int
    refunded_count: int
    refunded: Money


@dataclass(frozen=True)
class FailedRefunds:
    """The range's failed refunds of one provider's code."""

    provider: str
    #: The provider's code ("" when it gave none).
    code: str
    count: int
    #: What the code means on a refund and what staff do next (None: no guidance yet).
    guidance: Guidance | None


@dataclass(frozen=True)
class WaitBucket:
    """How many decisions came after a wait from ``from_seconds`` up to ``to_seconds`` (None: no end)."""

    from_seconds: int
    to_seconds: int | None
    count: int


@dataclass(frozen=True)
class ApprovalWaits:
    """How long refunds asked for in the range waited for a manager's decision."""

    #: Refunds decided (approved or rejected), by wait.
    buckets: tuple[WaitBucket, ...]
    #: The bucket the median wait falls in (None: no decision).
    median: WaitBucket | None
    #: The longest wait in seconds (None: no decision).
    longest_seconds: int | None
    #: Refunds waiting for a decision now (whenever asked for), and since when the oldest waits.
    waiting_now: int
    oldest_waiting_since: datetime | None

    @property
    def decided(self) -> int:
        """Return how many refunds were decided."""
        return sum(bucket.count for bucket in self.buckets)


@dataclass(frozen=True)
class RefundFigures:
    """Everything the refunds section shows."""

    currencies: tuple[CurrencyRefunds, ...]
    reasons: tuple[ReasonRefunds, ...]
    failures: tuple[FailedRefunds, ...]
    waits: ApprovalWaits
    #: Refunded money per period asked for (a day ``2026-02-04``, or a month ``2026-02`` in a range of
    #: more than :data:`DAILY_UP_TO_DAYS`), per currency: every period of the range, in order.
    refunded_over_time: dict[str, tuple[tuple[str, Money], ...]]

    @property
    def charts(self) -> list[Markup]:
        """Return the charts: refunded per day (one per currency), reasons, waits, failures."""
        charts = [
            column_chart(
                _("Refunded over time, %(currency)s", currency=currency),
                [(name, amount.minor) for name, amount in periods],
                chart_id=f"refunds-per-day-{currency.lower()}",
                value_label=lambda minor, currency=currency: format_money(minor, currency),
            )
            for currency, periods in self.refunded_over_time.items()
        ]
        asked: dict[str, int] = {}
        for line in self.reasons:
            asked[reason_label(line.reason)] = asked.get(reason_label(line.reason), 0) + line.asked
        charts.append(
            bar_chart(_("Refunds asked for, by reason"), list(asked.items()), chart_id="refunds-reasons")
        )
        charts.append(
            bar_chart(
                _("Refunds decided by a manager, by wait"),
                [(wait_label(bucket), bucket.count) for bucket in self.waits.buckets],
                chart_id="refunds-waits",
            )
        )
        charts.append(
            bar_chart(
                _("Failed refunds, by code"),
                [(failure_label(line), line.count) for line in self.failures],
                chart_id="refunds-failures",
            )
        )
        return charts


def refund_figures(session: Session, filters: ReportFilters) -> RefundFigures:
    """Return the refunds section's figures for ``filters`` (range, provider, currency)."""
    buckets = session.execute(
        select(
            RefundDailyTotal.provider,
            RefundDailyTotal.status,
            RefundDailyTotal.currency,
            RefundDailyTotal.reason,
            RefundDailyTotal.result_code,
            summed(RefundDailyTotal.count),
            summed(RefundDailyTotal.amount_minor),
        )
        .where(*filters.rollup_conditions(RefundDailyTotal))
        .group_by(
            RefundDailyTotal.provider,
            RefundDailyTotal.status,
            RefundDailyTotal.currency,
            RefundDailyTotal.reason,
            RefundDailyTotal.result_code,
        )
        .having(func.sum(RefundDailyTotal.count) != 0)
    ).all()
    paid = dict(
        session.execute(
            select(DailyTotal.currency, summed(DailyTotal.amount_minor))
            .where(*filters.rollup_conditions(DailyTotal), DailyTotal.status.in_(PAID))
            .group_by(DailyTotal.currency)
        ).all()
    )
    return RefundFigures(
        currencies=_by_currency(buckets, paid),
        reasons=_by_reason(buckets),
        failures=_failures(buckets),
        waits=_approval_waits(session, filters),
        refunded_over_time=_refunded_over_time(session, filters),
    )


def _by_currency(buckets: list, paid: dict[str, int]) -> tuple[CurrencyRefunds, ...]:
    """Fold the grouped buckets into one line per currency (sums of a few dozen grouped rows)."""
    sums: dict[str, dict[str, list[int]]] = {}
    for _provider, status, currency, _reason, _code, count, amount in buckets:
        by_status = sums.setdefault(currency, {})
        totals = by_status.setdefault(status, [0, 0])
        totals[0], totals[1] = totals[0] + count, totals[1] + amount
    lines = []
    for currency in sorted(sums.keys() | {code for code, amount in paid.items() if amount}):
        by_status = sums.get(currency, {})
        refunded_count, refunded = by_status.get(RefundStatus.SUCCEEDED, (0, 0))
        rejected_count, rejected = by_status.get(RefundStatus.REJECTED, (0, 0))
        paid_minor = paid.get(currency) or 0
        lines.append(
            CurrencyRefunds(
                currency=currency,
                asked=sum(count for count, _ in by_status.values()),
                refunded_count=refunded_count,
                refunded=Money(refunded, currency),
                paid=Money(paid_minor, currency),
                rate=_percent(refunded, paid_minor),
                rejected_count=rejected_count,
                rejected=Money(rejected, currency),
            )
        )
    return tuple(lines)


def _percent(part: int, whole: int) -> Decimal | None:
    """Return ``part`` of ``whole`` in per cent to two places (None when ``whole`` is nothing)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"))


def _by_reason(buckets: list) -> tuple[ReasonRefunds, ...]:
    sums: dict[tuple[str, str], list[int]] = {}
    for _provider, status, currency, reason, _code, count, amount in buckets:
        totals = sums.setdefault((reason, currency), [0, 0, 0])
        totals[0] += count
        if status == RefundStatus.SUCCEEDED:
            totals[1], totals[2] = totals[1] + count, totals[2] + amount
    lines = [
        ReasonRefunds(reason, currency, asked, refunded_count, Money(refunded, currency))
        for (reason, currency), (asked, refunded_count, refunded) in sums.items()
    ]
    # Most asked first; a reason's currencies together.
    return tuple(sorted(lines, key=lambda line: (-line.asked, line.reason, line.currency)))


def _failures(buckets: list) -> tuple[FailedRefunds, ...]:
    counts: dict[tuple[str, str], int] = {}
    for provider, status, _currency, _reason, code, count, _amount in buckets:
        if status == RefundStatus.FAILED:
            counts[(provider, code)] = counts.get((provider, code), 0) + count
    lines = [
        FailedRefunds(provider, code, count, guidance(provider, code, About.REFUND))
        for (provider, code), count in counts.items()
    ]
    return tuple(sorted(lines, key=lambda line: (-line.count, line.provider, line.code)))


def _approval_waits(session: Session, filters: ReportFilters) -> ApprovalWaits:
    decided = dict(
        (start, (count, longest))
        for start, count, longest in session.execute(
            select(
                RefundApprovalWait.from_seconds,
                summed(RefundApprovalWait.count),
                func.max(RefundApprovalWait.longest_seconds),
            )
            .where(*filters.rollup_conditions(RefundApprovalWait))
            .group_by(RefundApprovalWait.from_seconds)
        )
    )
    ends = (*WAIT_BUCKETS[1:], None)
    buckets = tuple(
        WaitBucket(start, end, decided.get(start, (0, 0))[0])
        for start, end in zip(WAIT_BUCKETS, ends, strict=True)
    )
    waiting = select(func.count(Refund.id), func.min(Refund.created_at)).where(
        Refund.status == RefundStatus.AWAITING_APPROVAL
    )
    if filters.currency:
        waiting = waiting.where(Refund.currency == filters.currency)
    if filters.provider:
        waiting = waiting.join(Payment, Payment.id == Refund.payment_id).where(
            Payment.provider == filters.provider
        )
    waiting_now, oldest = session.execute(waiting).one()
    return ApprovalWaits(
        buckets=buckets,
        median=median_bucket(buckets),
        longest_seconds=max((longest for _count, longest in decided.values()), default=None),
        waiting_now=waiting_now,
        oldest_waiting_since=oldest,
    )


def median_bucket(buckets: tuple[WaitBucket, ...]) -> WaitBucket | None:
    """Return the bucket holding the median of the counted waits (the lower median of an even count)."""
    total = sum(bucket.count for bucket in buckets)
    if not total:
        return None
    middle, seen = (total + 1) // 2, 0
    for bucket in buckets:
        seen += bucket.count
        if seen >= middle:
            return bucket
    raise AssertionError("unreachable: the counts add up to the total")


def _refunded_over_time(session: Session, filters: ReportFilters) -> dict[str, tuple[tuple[str, Money], ...]]:
    monthly = filters.range.days > DAILY_UP_TO_DAYS
    width = 7 if monthly else 10  # an ISO day cut to its month when monthly
    rows = session.execute(
        select(RefundDailyTotal.currency, RefundDailyTotal.day, summed(RefundDailyTotal.amount_minor))
        .where(
            *filters.rollup_conditions(RefundDailyTotal), RefundDailyTotal.status == RefundStatus.SUCCEEDED
        )
        .group_by(RefundDailyTotal.currency, RefundDailyTotal.day)
        .having(func.sum(RefundDailyTotal.count) != 0)
    )
    # At most one row per currency and day: the days are added up to months here.
    sums: dict[str, Counter] = {}
    for currency, day, amount in rows:
        sums.setdefault(currency, Counter())[day.isoformat()[:width]] += amount
    days = (day.isoformat() for day in filters.range.local_days())
    periods = list(dict.fromkeys(day[:7] for day in days) if monthly else days)
    return {
        currency: tuple((name, Money(by_period.get(name, 0), currency)) for name in periods)
        for currency, by_period in sorted(sums.items())
    }


# --- how the figures read --------------------------------------------------------------------------


def duration_text(seconds: int) -> str:
    """Say a wait the way staff read it: ``45 s``, ``12 min``, ``3 h 5 min``, ``2 days 4 h``."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    days, hours = divmod(minutes // 60, 24)
    return ngettext("%(num)d day %(hours)s h", "%(num)d days %(hours)s h", days, hours=hours)


def wait_label(bucket: WaitBucket) -> str:
    """Say which waits a bucket holds: ``under 1 min``, ``15 min – 30 min``, ``7 days 0 h or more``."""
    if bucket.to_seconds is None:
        return _("%(duration)s or more", duration=duration_text(bucket.from_seconds))
    if bucket.from_seconds == 0:
        return _("under %(duration)s", duration=duration_text(bucket.to_seconds))
    return f"{duration_text(bucket.from_seconds)} – {duration_text(bucket.to_seconds)}"


def reason_label(reason: str) -> str:
    """Name a refund reason (a refund made at the provider has none)."""
    return str(refund_reason_label(reason)) if reason else _("None given (made at the provider)")


def failure_label(line: FailedRefunds) -> str:
    """Name a failure code with its provider."""
    return f"{provider_label(line.provider)} {line.code or _('(no code)')}"


def refund_tables(figures: RefundFigures) -> list[Table]:
    """Return the refunds section's tables, from its figures."""
    waits = figures.waits
    return [
        Table(
            "currencies",
            _("Refunds asked for in the range per currency, and the refunded share of what payments paid"),
            (
                _l("Currency"),
                _l("Asked for"),
                _l("Refunded"),
                _l("Refunded amount"),
                _l("Paid"),
                _l("Refund rate (%)"),
                _l("Rejected by a manager"),
                _l("Rejected amount"),
            ),
            [
                (
                    line.currency,
                    line.asked,
                    line.refunded_count,
                    line.refunded,
                    line.paid,
                    line.rate,
                    line.rejected_count,
                    line.rejected,
                )
                for line in figures.currencies
            ],
        ),
        Table(
            "over-time",
            _("Refunded amount per day asked for (per month in a range of over two months), per currency"),
            (_l("Day or month"), _l("Currency"), _l("Refunded amount")),
            [
                (name, currency, amount)
                for currency, periods in figures.refunded_over_time.items()
                for name, amount in periods
            ],
        ),
        Table(
            "reasons",
            _("Refunds asked for in the range, by reason and currency"),
            (_l("Reason"), _l("Currency"), _l("Asked for"), _l("Refunded"), _l("Refunded amount")),
            [
                (reason_label(line.reason), line.currency, line.asked, line.refunded_count, line.refunded)
                for line in figures.reasons
            ],
        ),
        Table(
            "approval",
            _("Approval of refunds asked for in the range: how long they waited for a manager's decision"),
            (_l("Figure"), _l("Value")),
            [
                (_("Decided (approved or rejected)"), waits.decided),
                (_("Median wait"), None if waits.median is None else wait_label(waits.median)),
                (
                    _("Longest wait"),
                    None if waits.longest_seconds is None else duration_text(waits.longest_seconds),
                ),
                (_("Waiting for a decision now (asked for any day)"), waits.waiting_now),
                (_("Oldest waiting since"), waits.oldest_waiting_since),
            ],
        ),
        Table(
            "waits",
            _("Refunds decided by a manager, by how long they waited"),
            (_l("Wait"), _l("Decided")),
            [(wait_label(bucket), bucket.count) for bucket in waits.buckets],
        ),
        Table(
            "failures",
            _("Failed refunds by provider and code, with what the code means and what to do"),
            (_l("Provider"), _l("Code"), _l("Failed"), _l("What it means"), _l("Next step")),
            [
                (
                    provider_label(line.provider),
                    line.code or None,
                    line.count,
                    line.guidance.meaning if line.guidance else _("No guidance yet for this code."),
                    line.guidance.next_step if line.guidance else None,
                )
                for line in figures.failures
            ],
        ),
    ]


SECTION = Section(
    name="refunds",
    title=_l("Refunds"),
    # Refund changes are written on their payment's timeline.
    topics=("payment",),
    figures=refund_figures,
    tables=refund_tables,
)
