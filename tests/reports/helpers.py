"""Report filters for figures tests."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace


def report_filters(first: date, last: date, *, provider: str | None = None, currency: str | None = None):
    """Return filters of a custom range from ``first`` to ``last`` (local days, both included)."""
    return SimpleNamespace(
        range=SimpleNamespace(first_day=first, last_day=last), provider=provider, currency=currency
    )
