"""The report's Errors section: failed payments by result code, with what each code means and what to
do next, its share of all attempts, its trend against the period before, and a link to its payments.

Every figure is a SQL aggregate over the rollups: failures from ``daily_failures`` (payments created
in the range and failed now, under the code they hold), attempts from ``daily_totals``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.payments.queries import NO_CODE
from dashboard.payments.states import PaymentStatus
from dashboard.providers.guidance import About
from dashboard.providers.registry import guidance
from dashboard.providers.registry import label as provider_label
from dashboard.reports.charts import bar_chart
from dashboard.reports.models import NONE
from dashboard.reports.models import DailyFailure
from dashboard.reports.models import DailyTotal
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.tables import Link
from dashboard.reports.tables import Section
from dashboard.reports.tables import Table


@dataclass(frozen=True)
class CodeFailures:
    """Payments of one provider created in the range and failed now with one result code."""

    provider: str
    #: As the payments hold it; ``""`` for failures without a code.
    code: str
    count: int
    #: The same count for the period of the same length just before.
    previous: int
    #: What the code means and what staff do next (the payment page's guidance), when known.
    meaning: str | None
    next_step: str | None


@dataclass(frozen=True)
class ErrorFigures:
    """The Errors section's figures for one set of filters."""

    filters: ReportFilters
    #: Payments created in the range (every attempt, whatever its status), and in the period before.
    attempts: int
    previous_attempts: int
    #: Most failures first.
    codes: list[CodeFailures]

    @property
    def failed(self) -> int:
        """Payments created in the range and failed now."""
        return sum(code.count for code in self.codes)

    def _bar_label(self, failures: CodeFailures) -> str:
        """Name a code's bar; with its provider only when another provider has the same code."""
        label = code_label(failures.code)
        if sum(1 for other in self.codes if other.code == failures.code) > 1:
            return _("%(code)s (%(provider)s)", code=label, provider=provider_label(failures.provider))
        return label

    def charts(self) -> list[Markup]:
        """Draw the section's chart (from the figures alone)."""
        return [
            bar_chart(
                _("Failed payments by result code"),
                [(self._bar_label(code), code.count) for code in self.codes],
                chart_id="errors-by-code",
            )
        ]


def code_label(code: str) -> str:
    """Say a result code, or that there was none."""
    return code or _("no code given")


def _failures(session: Session, filters: ReportFilters) -> dict[tuple[str, str], int]:
    keys = (DailyFailure.provider, DailyFailure.result_code)
    statement = (
        select(*keys, func.sum(DailyFailure.count))
        .where(*filters.rollup_conditions(DailyFailure))
        .group_by(*keys)
    )
    return {(provider, code): int(count) for provider, code, count in session.execute(statement) if count}


def _attempts(session: Session, filters: ReportFilters) -> int:
    statement = select(func.sum(DailyTotal.count)).where(*filters.rollup_conditions(DailyTotal))
    return int(session.scalar(statement) or 0)


def error_figures(session: Session, filters: ReportFilters) -> ErrorFigures:
    """Compute the Errors section for ``filters``: the range against the period of the same length before."""
    before = ReportFilters(filters.range.previous(), filters.provider, filters.currency)
    now, then = _failures(session, filters), _failures(session, before)
    codes = []
    for (provider, code), count in now.items():
        known = guidance(provider, code, About.PAYMENT) if code != NONE else None
        codes.append(
            CodeFailures(
                provider=provider,
                code=code,
                count=count,
                previous=then.get((provider, code), 0),
                meaning=known.meaning if known else None,
                next_step=known.next_step if known else None,
            )
        )
    codes.sort(key=lambda failures: (-failures.count, failures.provider, failures.code))
    return ErrorFigures(
        filters=filters,
        attempts=_attempts(session, filters),
        previous_attempts=_attempts(session, before),
        codes=codes,
    )


def code_payments_url(filters: ReportFilters, failures: CodeFailures) -> str:
    """Return the payments list of exactly the failures counted: the code, failed, created in the range."""
    args = filters.list_args() | {"provider": failures.provider}
    code = failures.code or NO_CODE
    return url_for("payments.index", code=code, status=PaymentStatus.FAILED.value, **args)


def trend(now: int, before: int) -> str:
    """Say how a count moved against the period before: ``+3 (+50 %)``, ``−2 (−100 %)``, ``new``."""
    if now == before:
        return _("no change")
    if not before:
        return _("new (+%(count)s)", count=format(now, ","))
    change = now - before
    sign = "+" if change > 0 else "−"
    return f"{sign}{abs(change):,} ({sign}{abs(change) * 100 / before:.0f} %)"


def _share(count: int, attempts: int) -> str | None:
    return f"{100 * count / attempts:.1f} %" if attempts else None


def error_tables(figures: ErrorFigures) -> list[Table]:
    """Build the section's table from its figures."""
    rows = [
        (
            Link(code_label(code.code), code_payments_url(figures.filters, code)),
            provider_label(code.provider),
            code.count,
            _share(code.count, figures.attempts),
            code.previous,
            trend(code.count, code.previous),
            code.meaning,
            code.next_step,
        )
        for code in figures.codes
    ]
    return [
        Table(
            "by-code",
            _(
                "Failed payments by result code: %(failed)s of %(attempts)s attempts",
                failed=format(figures.failed, ","),
                attempts=format(figures.attempts, ","),
            ),
            (
                _l("Result code"),
                _l("Provider"),
                _l("Failed"),
                _l("Share of attempts"),
                _l("Previous period"),
                _l("Trend"),
                _l("Meaning"),
                _l("Next step"),
            ),
            rows,
        )
    ]


SECTION = Section(
    name="errors",
    title=_l("Errors"),
    topics=("payment",),
    figures=error_figures,
    tables=error_tables,
)
