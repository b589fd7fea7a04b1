"""The report page's sections, in page order."""

from __future__ import annotations

from dashboard.reports import agreements_figures
from dashboard.reports import payroll_figures
from dashboard.reports import refunds_figures
from dashboard.reports.tables import Section

#: Every section, in page order (each figures module defines its ``SECTION``).
SECTIONS: list[Section] = [refunds_figures.SECTION, agreements_figures.SECTION, payroll_figures.SECTION]


def section_named(name: str) -> Section | None:
    """Return the section called ``name``, or None."""
    return next((section for section in SECTIONS if section.name == name), None)
