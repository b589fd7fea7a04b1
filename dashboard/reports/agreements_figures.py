"""The agreements section: active now, made, revoked by us and cancelled in the wallet in the range, and
those running out within a week — each a count that opens the agreements list filtered the same way.

Each figure is counted with the very conditions the list filters with
(:func:`dashboard.agreements.queries.agreement_conditions`), through the same indexes, so a figure and
its list always agree. Agreements are Antom Auto Debit authorisations without an amount: the provider
and currency filters do not apply.
"""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass

from flask import url_for
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.agreements.models import Agreement
from dashboard.agreements.queries import AgreementFilter
from dashboard.agreements.queries import agreement_conditions
from dashboard.agreements.states import AgreementStatus
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.reports.charts import bar_chart
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.tables import Link
from dashboard.reports.tables import Section
from dashboard.reports.tables import Table

#: "Expiring soon": active agreements that run out within this many days.
EXPIRING_DAYS = 7


@dataclass(frozen=True)
class AgreementCount:
    """One figure: what it counts, how many, and the agreements list filter that lists them."""

    label: str
    count: int
    listed_by: AgreementFilter

    def list_args(self) -> dict[str, str]:
        """Return the agreements list's URL arguments for :attr:`listed_by`."""
        return {name: str(value) for name, value in asdict(self.listed_by).items() if value}


@dataclass(frozen=True)
class AgreementFigures:
    """Everything the agreements section shows."""

    counts: tuple[AgreementCount, ...]

    @property
    def charts(self) -> list[Markup]:
        """Return the chart of the counts."""
        return [
            bar_chart(
                _("Agreements"), [(line.label, line.count) for line in self.counts], chart_id="agreements"
            )
        ]


def agreement_figures(session: Session, filters: ReportFilters) -> AgreementFigures:
    """Return the agreements section's figures: the range's days for made, revoked and cancelled."""
    days = {"day_from": filters.range.first_day, "day_to": filters.range.last_day}
    asked = (
        (_("Active now"), AgreementFilter(status=AgreementStatus.ACTIVE.value)),
        (_("Made in the range"), AgreementFilter(**days)),
        (_("Revoked by us in the range"), AgreementFilter(dated="revoked", **days)),
        (_("Cancelled in the wallet in the range"), AgreementFilter(dated="cancelled", **days)),
        (
            _("Active, running out within %(days)s days", days=EXPIRING_DAYS),
            AgreementFilter(expiring=EXPIRING_DAYS),
        ),
    )
    return AgreementFigures(
        tuple(
            AgreementCount(
                label,
                session.scalar(select(func.count(Agreement.id)).where(*agreement_conditions(listed_by))),
                listed_by,
            )
            for label, listed_by in asked
        )
    )


def agreement_tables(figures: AgreementFigures) -> list[Table]:
    """Return the agreements section's table: each count opens the agreements it counts."""
    return [
        Table(
            "agreements",
            _("Auto Debit agreements; each count opens the list of them"),
            (_l("Agreements"), _l("Count")),
            [
                (line.label, Link(f"{line.count:,}", url_for("agreements.index", **line.list_args())))
                for line in figures.counts
            ],
        )
    ]


SECTION = Section(
    name="agreements",
    title=_l("Agreements"),
    topics=("agreement",),
    figures=agreement_figures,
    tables=agreement_tables,
)
