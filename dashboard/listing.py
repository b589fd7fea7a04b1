"""Shared pieces of filterable keyset list pages: filters from a GET form, day ranges, pager links."""

from __future__ import annotations

import dataclasses
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import request
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement

F = TypeVar("F")

#: The query argument that carries a list's keyset cursor.
CURSOR_ARG = "before"


def read_filters(form: FlaskForm, filters: type[F]) -> F:
    """Return the ``filters`` dataclass a valid GET form asks for (blank fields as None); else no filters."""
    if not form.validate():
        return filters()
    return filters(**{field.name: form[field.name].data or None for field in dataclasses.fields(filters)})


def start_of_day(day: date, zone: str) -> datetime:
    """Return the UTC instant at which ``day`` begins in time zone ``zone``."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def within_days(column: Any, day_from: date | None, day_to: date | None, zone: str) -> list[ColumnElement]:
    """Return conditions keeping ``column`` within days ``day_from`` to ``day_to`` (inclusive) in ``zone``."""
    conditions = []
    if day_from:
        conditions.append(column >= start_of_day(day_from, zone))
    if day_to:
        conditions.append(column < start_of_day(day_to + timedelta(days=1), zone))
    return conditions


def page_args() -> dict[str, str]:
    """Return this request's non-empty query arguments without the cursor, for the next page's link."""
    return {key: value for key, value in request.args.items() if key != CURSOR_ARG and value}
