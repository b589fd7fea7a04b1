"""The report page's sections, in page order."""

from __future__ import annotations

from dashboard.reports import agreements_figures
from dashboard.reports import errors_figures
from dashboard.reports import notifications_figures
from dashboard.reports import payments_figures
from dashboard.reports import payroll_figures
from dashboard.reports import refunds_figures
from dashboard.reports import settlements_figures
from dashboard.reports.tables import Section

#: Every section, in page order (each figures module defines its ``SECTION``).
SECTIONS: list[Section] = [
    payments_figures.SECTION,
    errors_figures.SECTION,
    refunds_figures.SECTION,
    settlements_figures.SECTION,
    agreements_figures.SECTION,
    payroll_figures.SECTION,
    notifications_figures.SECTION,
]


def section_named(name: str) -> Section | None:
    """Return the section called ``name``, or None."""
    return next((section for section in SECTIONS if section.name == name), None)
