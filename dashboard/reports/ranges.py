"""The days a report covers: today, the last 7 or 30 days, this or last month, or days staff choose.

Days are local days in the display time zone (``DISPLAY_TIMEZONE``), the days the rollups count in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement

from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l

#: The longest range a custom choice may span (the rollups answer a year in one read; longer is a
#: question for an export).
MAX_DAYS = 400

#: Ranges this short are charted per hour, not per day.
HOURLY_UP_TO_DAYS = 2


class RangeKey(enum.StrEnum):
    """A choice of the range picker."""

    TODAY = "today"
    LAST_7_DAYS = "7d"
    LAST_30_DAYS = "30d"
    THIS_MONTH = "month"
    LAST_MONTH = "last-month"
    CUSTOM = "custom"


RANGE_LABELS: dict[RangeKey, str] = {
    RangeKey.TODAY: _l("Today"),
    RangeKey.LAST_7_DAYS: _l("Last 7 days"),
    RangeKey.LAST_30_DAYS: _l("Last 30 days"),
    RangeKey.THIS_MONTH: _l("This month"),
    RangeKey.LAST_MONTH: _l("Last month"),
    RangeKey.CUSTOM: _l("Custom days"),
}


class RangeError(ValueError):
    """The days asked for do not make a range."""


@dataclass(frozen=True)
class ReportRange:
    """Local days ``first_day`` to ``last_day``, both included, in ``zone``."""

    key: RangeKey
    first_day: date
    last_day: date
    zone: ZoneInfo

    @property
    def start_utc(self) -> datetime:
        """The instant the first day begins."""
        return datetime.combine(self.first_day, time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """The instant the day after the last one begins (excluded)."""
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def days(self) -> int:
        """How many days it covers."""
        return (self.last_day - self.first_day).days + 1

    @property
    def hourly(self) -> bool:
        """Return True when it is short enough to chart per hour."""
        return self.days <= HOURLY_UP_TO_DAYS

    @property
    def label(self) -> str:
        """Say which days it covers, e.g. ``1 Nov 2026 – 30 Nov 2026``."""
        if self.first_day == self.last_day:
            return _day_label(self.first_day)
        return f"{_day_label(self.first_day)} – {_day_label(self.last_day)}"

    def previous(self) -> ReportRange:
        """Return the range of the same length that ends the day before this one begins."""
        last_day = self.first_day - timedelta(days=1)
        return ReportRange(RangeKey.CUSTOM, last_day - timedelta(days=self.days - 1), last_day, self.zone)

    def local_days(self) -> list[date]:
        """Return every day it covers, first to last."""
        return [self.first_day + timedelta(days=offset) for offset in range(self.days)]


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def report_range(
    key: RangeKey, today: date, zone: ZoneInfo, first_day: date | None = None, last_day: date | None = None
) -> ReportRange:
    """Return the range ``key`` means on ``today``; a custom one needs both days.

    :raises RangeError: a custom range without both days, ending before it starts, or too long
    """
    if key is RangeKey.CUSTOM:
        if first_day is None or last_day is None:
            raise RangeError(_("Give both days of a custom range."))
        if last_day < first_day:
            raise RangeError(_("The last day is before the first."))
        if (last_day - first_day).days + 1 > MAX_DAYS:
            raise RangeError(_("Choose at most %(days)s days.", days=MAX_DAYS))
        return ReportRange(key, first_day, last_day, zone)
    if key is RangeKey.TODAY:
        return ReportRange(key, today, today, zone)
    if key is RangeKey.LAST_7_DAYS:
        return ReportRange(key, today - timedelta(days=6), today, zone)
    if key is RangeKey.LAST_30_DAYS:
        return ReportRange(key, today - timedelta(days=29), today, zone)
    first_of_month = today.replace(day=1)
    if key is RangeKey.THIS_MONTH:
        return ReportRange(key, first_of_month, today, zone)
    last_of_previous = first_of_month - timedelta(days=1)
    return ReportRange(key, last_of_previous.replace(day=1), last_of_previous, zone)


@dataclass(frozen=True)
class ReportFilters:
    """What a report shows: its days, and optionally one provider and one currency."""

    range: ReportRange
    provider: str | None = None
    currency: str | None = None

    def narrowing(self, provider: Any, currency: Any) -> list[ColumnElement[bool]]:
        """Return the conditions keeping rows to the chosen provider and currency (none for all)."""
        conditions = []
        if self.provider:
            conditions.append(provider == self.provider)
        if self.currency:
            conditions.append(currency == self.currency)
        return conditions

    def rollup_conditions(self, rollup: Any) -> list[ColumnElement[bool]]:
        """Return the conditions keeping a daily rollup's rows (``day``, ``provider``, ``currency``)
        to these days, provider and currency."""
        days = [rollup.day >= self.range.first_day, rollup.day <= self.range.last_day]
        return days + self.narrowing(rollup.provider, rollup.currency)

    def query_args(self) -> dict[str, str]:
        """Return the URL arguments that give these filters back (links, fragments, downloads)."""
        args = {"range": self.range.key.value}
        if self.range.key is RangeKey.CUSTOM:
            args["day_from"] = self.range.first_day.isoformat()
            args["day_to"] = self.range.last_day.isoformat()
        if self.provider:
            args["provider"] = self.provider
        if self.currency:
            args["currency"] = self.currency
        return args

    def list_args(self) -> dict[str, str]:
        """Return the arguments a records list takes for the same days, provider and currency."""
        args = {"day_from": self.range.first_day.isoformat(), "day_to": self.range.last_day.isoformat()}
        if self.provider:
            args["provider"] = self.provider
        if self.currency:
            args["currency"] = self.currency
        return args
