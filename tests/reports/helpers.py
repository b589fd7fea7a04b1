"""Report filters for figures tests."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from dashboard.reports.ranges import RangeKey
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.ranges import ReportRange

HONG_KONG = ZoneInfo("Asia/Hong_Kong")


def report_filters(
    first: date, last: date, *, provider: str | None = None, currency: str | None = None
) -> ReportFilters:
    """Return filters of a custom range from ``first`` to ``last`` (Hong Kong days, both included)."""
    return ReportFilters(ReportRange(RangeKey.CUSTOM, first, last, HONG_KONG), provider, currency)
