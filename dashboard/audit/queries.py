"""Read side of the audit log: filtered keyset pages, newest first."""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_
from sqlalchemy import select
from sqlalchemy import tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from dashboard.audit.models import AuditLog
from dashboard.db import checked_on_rows
from dashboard.listing import Cursor
from dashboard.listing import in_page_order_when_many
from dashboard.listing import keyset
from dashboard.listing import newest_first
from dashboard.listing import starts_with
from dashboard.listing import within_days
from dashboard.money import UnknownCurrency
from dashboard.money import format_money


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page filters on; empty fields do not filter."""

    action: str | None = None
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    day_from: date | None = None
    day_to: date | None = None


#: What the audit log shows of each entry.
LISTED_COLUMNS = (
    AuditLog.seq,
    AuditLog.created_at,
    AuditLog.actor_label,
    AuditLog.action,
    AuditLog.object_type,
    AuditLog.object_id,
    AuditLog.ip,
    AuditLog.before,
    AuditLog.after,
)


def audit_conditions(filters: AuditFilter, zone: str) -> list[ColumnElement[bool]]:
    """Return the conditions of ``filters`` on audit entries (the page and its "N new" bar share them)."""
    return _other_than_days(filters) + _days(filters, zone)


def _other_than_days(filters: AuditFilter) -> list[ColumnElement[bool]]:
    conditions = []
    if filters.action:
        conditions.append(starts_with(AuditLog.action, filters.action))
    if filters.actor:
        conditions.append(AuditLog.actor_label == filters.actor.strip().lower())
    if filters.object_type:
        conditions.append(AuditLog.object_type == filters.object_type)
    if filters.object_id:
        conditions.append(AuditLog.object_id == filters.object_id)
    return conditions


def _days(filters: AuditFilter, zone: str) -> list[ColumnElement[bool]]:
    return within_days(AuditLog.created_at, filters.day_from, filters.day_to, zone)


def listed_order(filters: AuditFilter) -> tuple[str, ...]:
    """Return the order a page of ``filters`` lists entries in: by time when a day filters, else by chain.

    An entry's time need not grow along the chain (a wall clock set back, two servers' clocks
    apart): a day's bound holds on the time alone, and only an index of the time walks from a "to"
    day however far back it lies. Entries of the same instant follow the chain.
    """
    return ("created_at", "seq") if filters.day_from or filters.day_to else ("seq",)


#: How many entries of the days a page walks in its order, looking for the other filters' matches,
#: before it reads those filters' own indexes instead.
WALKED = 2000


def audit_page(
    session: Session, filters: AuditFilter, zone: str, before: Cursor | None = None
) -> tuple[list[tuple], Cursor | None]:
    """Return up to one page of entries after ``before`` (in :func:`listed_order`) and the next cursor."""
    order = listed_order(filters)

    def page(*conditions: ColumnElement[bool]) -> tuple[list[tuple], Cursor | None]:
        query = select(*LISTED_COLUMNS).where(*conditions)
        return newest_first(session, query, AuditLog, before, order=order, timed=False)

    others, days = _other_than_days(filters), _days(filters, zone)
    if not days and filters.action:
        # An action's index gives chain order only for one action, not for a start many share.
        action, *rest = others
        return page(in_page_order_when_many(session, AuditLog, action), *rest)
    if not days or not others:
        return page(*others, *days)
    # Listed by time, which the other filters' indexes do not give. Their matches are first looked
    # for among the next WALKED entries of the days, whose last the time index alone finds; only
    # when those hold no more than a page are the filters' own indexes read, and what they find in
    # the days sorted. Either way the page is exact.
    walk = keyset(select(AuditLog.created_at, AuditLog.seq).where(*days), AuditLog, before, order=order)
    last_walked = session.execute(walk.limit(1).offset(WALKED - 1)).first()
    checked = checked_on_rows(and_(*others))
    if last_walked is None:
        return page(checked, *days)
    rows, following = page(checked, *days, tuple_(AuditLog.created_at, AuditLog.seq) >= tuple(last_walked))
    return (rows, following) if following is not None else page(*others, *days)


def _currency_key(state: Mapping[str, Any], amount_key: str) -> str | None:
    """Return the key of the currency beside ``amount_key`` (``fee_minor``: ``fee_currency``, then
    ``currency``; ``settlement_amount_minor``: ``settlement_amount_currency``, ``settlement_currency``,
    then ``currency``), or None when it has none."""
    base = amount_key.removesuffix("_minor")
    for key in (f"{base}_currency", f"{base.removesuffix('_amount')}_currency", "currency"):
        if isinstance(state.get(key), str):
            return key
    return None


def change_fields(
    state: Mapping[str, Any] | None, show_money: Callable[[int, str], str] = format_money
) -> list[tuple[str, str]]:
    """Return an entry's before or after state as (name, text) pairs, for reading.

    Every amount in minor units with a currency beside it reads in that currency's format
    (``amount_minor`` 123450 and ``currency`` HKD: ``amount`` HK$1,234.50); a currency that only
    named amounts is not repeated.

    :param show_money: how to write minor units of a currency (the page's language's way)
    """
    if not state:
        return []
    amounts: dict[str, str] = {}
    used: set[str] = set()
    for key, value in state.items():
        currency_key = _currency_key(state, key) if key.endswith("_minor") else None
        if currency_key is None or isinstance(value, bool) or not isinstance(value, int):
            continue
        try:
            amounts[key] = show_money(value, state[currency_key])
        except UnknownCurrency:
            continue
        used.add(currency_key)
    fields = []
    for key, value in state.items():
        if key in amounts:
            fields.append((key.removesuffix("_minor"), amounts[key]))
        elif key not in used:
            fields.append((key, _text(value)))
    return fields


def _text(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
