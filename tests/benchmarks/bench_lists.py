"""Every list page at a million rows, beside the same question with OFFSET + COUNT and a minimal keyset page.

Run from the repository root (a plain script, not collected by pytest), on databases made by
``million.py``::

    .venv/bin/python tests/benchmarks/bench_lists.py --database sqlite postgresql
    .venv/bin/python tests/benchmarks/bench_lists.py --database sqlite --only payments --explain
    .venv/bin/python tests/benchmarks/bench_lists.py --demo-start

Per database, the app made by ``dashboard.create_app`` on the kept database is asked in-process
through a signed-in Flask test client (server time: around ``client.get``) for every case of every
list: page 1; a page 500,000 rows deep (10,000 pages; the middle of a smaller list), whose cursor is
built from the row at that depth in the form the list's own "Older" link uses; each filter alone;
each filter with a search; exact and prefix search of every id kind the list searches; a search that
matches nothing. The same question is answered in the same run by a throw-away Flask app on the same
database, in a process of its own, with SQLAlchemy Core: (a) ``OFFSET`` + ``COUNT(*)`` (what a stock
admin does) and (b) a minimal keyset page (50 rows, no COUNT, a search that resolves ids first, one
index lookup per id kind); both render a tiny Jinja table. Per case it prints the median and p95 of
each, the ratio ours/minimal, and the SQL our page ran (caught by a ``before_cursor_execute``
listener, replayed on the app's own engine, with its connection settings, and every row fetched: SQL
ms and statement count). ``--explain`` prints the plan of every statement that reads the list's
table. Numbers only.
"""

from __future__ import annotations

import argparse
import gc
import html
import multiprocessing
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import APP_SETTING_NAMES
from harness import BIN
from harness import DEFAULT_POSTGRES
from harness import REPO
from harness import BenchmarkError
from harness import free_port
from harness import machine_facts
from harness import percentile
from harness import print_facts
from harness import print_table
from million import STAFF
from million import app_settings
from million import instance_folder

DEFAULT_SQLITE = "/work/bench-data/million.db"
DEFAULT_DATABASE = "bench_million"
PAGE = 50
#: How deep the deep page starts: 10,000 pages of 50 (or the middle of a smaller list).
DEPTH = 500_000
#: Most rows one id kind may contribute to a search (a broad prefix is cut there).
SEARCH_CAP = 500
HONG_KONG = ZoneInfo("Asia/Hong_Kong")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The p95 each list page must keep, by database (issue "fast at a million"), in ms.
TARGET_P95_MS = {"sqlite": 5.0, "postgresql": 8.0}
NO_MATCH = "zz-no-such-id-0000"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="csrf_token"')
_BEFORE = re.compile(r"[?&;]before=([^&\"'#]+)")
TEMPLATE = """<table>{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>{% if total is not none %}<p>{{ total }} rows</p>{% endif %}
{% if next %}<a href="?before={{ next }}">Older</a>{% endif %}"""


# --- what each list is ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One question to a list: the filter and search arguments of its URL and how deep the page starts."""

    name: str
    args: Mapping[str, str]
    deep: bool = False


@dataclass
class ListSpec:
    """One list page and the plain Core form of the question it answers."""

    name: str
    path: str
    role: str
    table: object
    #: Order columns, newest first: a time and a unique key, or a key alone.
    order: tuple[str, ...]
    #: The columns the minimal page shows.
    shown: tuple[str, ...]
    #: URL arguments → Core conditions (filters, and the search resolved to ids first).
    conditions: Callable[[Mapping[str, str]], list]
    cases: list[Case] = field(default_factory=list)
    ascending: bool = False


def prefix_of(column, prefix: str):
    """Match values starting with ``prefix`` as an index range (what the app's lists do too)."""
    from dashboard.listing import starts_with

    return starts_with(column, prefix)


def capped_ids(*branches) -> object:
    """Return ``IN``-able ids: the union of one capped index lookup per id kind."""
    from sqlalchemy import select
    from sqlalchemy import union

    parts = [select(branch.subquery().c[0]) for branch in (b.limit(SEARCH_CAP) for b in branches)]
    return union(*parts).scalar_subquery() if len(parts) > 1 else parts[0].scalar_subquery()


def day_bounds(column, args: Mapping[str, str]) -> list:
    """Created-day conditions: the UTC bounds of Hong Kong days."""
    conditions = []
    if args.get("day_from"):
        start = datetime.combine(date.fromisoformat(args["day_from"]), datetime.min.time(), HONG_KONG)
        conditions.append(column >= start.astimezone(UTC))
    if args.get("day_to"):
        end = datetime.combine(date.fromisoformat(args["day_to"]), datetime.min.time(), HONG_KONG)
        conditions.append(column < (end + timedelta(days=1)).astimezone(UTC))
    return conditions


def payment_conditions(args: Mapping[str, str]) -> list:
    """Return the payments list's filters and id search as Core conditions."""
    from sqlalchemy import literal_column
    from sqlalchemy import select

    from dashboard.models import Agreement
    from dashboard.models import Payment
    from dashboard.models import Refund
    from dashboard.money import Money

    payments, refunds, agreements = Payment.__table__.c, Refund.__table__.c, Agreement.__table__.c
    conditions = [
        payments[name] == args[name] for name in ("provider", "status", "currency") if args.get(name)
    ]
    if args.get("method"):
        conditions.append(
            payments.payment_method.in_(sorted({args["method"].upper(), args["method"].lower()}))
        )
    low, high = args.get("amount_min"), args.get("amount_max")
    minor = {
        key: Money.parse(str(Decimal(value)), args["currency"]).minor
        for key, value in (("low", low), ("high", high))
        if value
    }
    if low and low == high:
        conditions.append(payments.amount_minor == minor["low"])
    else:
        if low:
            conditions.append(payments.amount_minor >= minor["low"])
        if high:
            conditions.append(payments.amount_minor <= minor["high"])
    conditions += day_bounds(payments.created_at, args)
    if args.get("has_refunds"):
        conditions.append(payments.refunded_minor > literal_column("0"))
    q = args.get("q")
    if q:
        customers = select(agreements.id).where(prefix_of(agreements.customer_ref, q)).limit(SEARCH_CAP)
        conditions.append(
            payments.id.in_(
                capped_ids(
                    select(payments.id).where(prefix_of(payments.request_id, q)),
                    select(payments.id).where(prefix_of(payments.provider_payment_id, q)),
                    select(refunds.payment_id).where(prefix_of(refunds.request_id, q)),
                    select(refunds.payment_id).where(prefix_of(refunds.provider_refund_id, q)),
                    select(payments.id).where(payments.agreement_id.in_(customers.scalar_subquery())),
                )
            )
        )
    return conditions


def agreement_conditions(args: Mapping[str, str]) -> list:
    """Return the agreements list's filters and search as Core conditions."""
    from sqlalchemy import select

    from dashboard.models import Agreement

    agreements = Agreement.__table__.c
    conditions = [agreements[name] == args[name] for name in ("wallet", "status") if args.get(name)]
    if args.get("expiring"):
        soon = datetime.now(UTC) + timedelta(days=int(args["expiring"]))
        conditions += [agreements.status == "active", agreements.expires_at < soon]
    q = args.get("q")
    if q:
        conditions.append(
            agreements.id.in_(
                capped_ids(
                    select(agreements.id).where(prefix_of(agreements.customer_ref, q)),
                    select(agreements.id).where(agreements.auth_state == q),
                )
            )
        )
    return conditions


def notification_conditions(args: Mapping[str, str]) -> list:
    """Return the inbox's filters and id search as Core conditions."""
    from sqlalchemy import select

    from dashboard.models import Notification

    inbox = Notification.__table__.c
    conditions = [
        inbox[name] == args[name] for name in ("provider", "kind", "verdict", "outcome") if args.get(name)
    ]
    conditions += day_bounds(inbox.received_at, args)
    q = args.get("q")
    if q:
        branches = [
            select(inbox.id).where(prefix_of(inbox.reference, q)),
            select(inbox.id).where(inbox.dedup_key == q),
            select(inbox.id).where(inbox.object_type.in_(("payment", "agreement")), inbox.object_id == q),
        ]
        number = q.removeprefix("#")
        if number.isascii() and number.isdigit() and len(number) < 19:
            branches.append(select(inbox.id).where(inbox.id == int(number)))
        conditions.append(inbox.id.in_(capped_ids(*branches)))
    return conditions


def audit_conditions(args: Mapping[str, str]) -> list:
    """Return the audit log's filters as Core conditions."""
    from dashboard.models import AuditLog

    audit = AuditLog.__table__.c
    conditions = [audit[name] == args[name] for name in ("object_type", "object_id") if args.get(name)]
    if args.get("action"):
        conditions.append(prefix_of(audit.action, args["action"]))
    if args.get("actor"):
        conditions.append(audit.actor_label == args["actor"].strip().lower())
    return conditions + day_bounds(audit.created_at, args)


def approval_conditions(args: Mapping[str, str]) -> list:
    """Return the approvals queue's condition: refunds waiting for a manager."""
    from dashboard.models import Refund

    return [Refund.__table__.c.status == "awaiting_approval"]


def read_samples(connection) -> dict[str, str]:
    """Pick ids from about a third of the way down each table (not the newest, not the oldest)."""
    from sqlalchemy import func
    from sqlalchemy import select

    from dashboard.models import Agreement
    from dashboard.models import AuditLog
    from dashboard.models import Notification
    from dashboard.models import Payment
    from dashboard.models import Refund

    def third(table) -> int:
        return (connection.scalar(select(func.max(table.c.id))) or 3) // 3

    p, r, a, n, audit = (
        Payment.__table__,
        Refund.__table__,
        Agreement.__table__,
        Notification.__table__,
        AuditLog.__table__,
    )
    refund = connection.execute(
        select(r.c.request_id, r.c.provider_refund_id, r.c.payment_id)
        .where(r.c.id >= third(r), r.c.provider_refund_id.is_not(None))
        .order_by(r.c.id)
        .limit(1)
    ).one()
    antom = connection.execute(
        select(p.c.id, p.c.request_id, p.c.provider_payment_id, p.c.agreement_id).where(
            p.c.id == refund.payment_id
        )
    ).one()
    worldpay = connection.execute(
        select(p.c.id, p.c.request_id, p.c.provider_payment_id)
        .where(p.c.id >= third(p), p.c.provider == "worldpay", p.c.provider_payment_id.is_not(None))
        .order_by(p.c.id)
        .limit(1)
    ).one()
    agreement = connection.execute(
        select(a.c.customer_ref, a.c.auth_state).where(a.c.id == antom.agreement_id)
    ).one()

    def notification(kind: str):
        return connection.execute(
            select(n.c.id, n.c.reference, n.c.dedup_key, n.c.object_id)
            .where(
                n.c.id >= third(n), n.c.kind == kind, n.c.verdict == "valid", n.c.duplicate_of_id.is_(None)
            )
            .order_by(n.c.id)
            .limit(1)
        ).one()

    paid, event, refunded, authorised = (
        notification("PAYMENT_RESULT"),
        notification("settled"),
        notification("REFUND_RESULT"),
        notification("AUTHCODE_CREATED"),
    )
    entry = connection.execute(
        select(audit.c.object_id, audit.c.actor_label)
        .where(audit.c.id >= third(audit), audit.c.object_type == "payment")
        .order_by(audit.c.id)
        .limit(1)
    ).one()
    return {
        "antom_request_id": antom.request_id,
        "antom_payment_id": antom.provider_payment_id,
        "worldpay_request_id": worldpay.request_id,
        "worldpay_payment_id": worldpay.provider_payment_id,
        "refund_request_id": refund.request_id,
        "refund_id": refund.provider_refund_id,
        "customer_ref": agreement.customer_ref,
        "auth_state": agreement.auth_state,
        "inbox_payment_reference": paid.reference,
        "inbox_payment_key": paid.dedup_key,
        "inbox_event_id": event.dedup_key,
        "inbox_transaction_reference": event.reference,
        "inbox_refund_reference": refunded.reference,
        "inbox_auth_state": authorised.reference,
        "inbox_object_id": paid.object_id,
        "inbox_id": str(paid.id),
        "audit_object_id": entry.object_id,
        "audit_actor": entry.actor_label,
        "day": (datetime.now(HONG_KONG).date() - timedelta(days=100)).isoformat(),
    }


def with_search(filters: list[Case], q: str) -> list[Case]:
    """Return each filter case again, combined with the search ``q``."""
    return [Case(f"{case.name} + search", {**case.args, "q": q}) for case in filters]


def id_searches(kinds: Mapping[str, str]) -> list[Case]:
    """Return an exact and a prefix (first 12 characters) search of each id kind."""
    cases = []
    for kind, value in kinds.items():
        cases.append(Case(f"exact {kind} ({len(value)} ch)", {"q": value}))
        cases.append(Case(f"prefix {kind} ({value[:12]})", {"q": value[:12]}))
    return cases


def list_specs(samples: dict[str, str]) -> list[ListSpec]:
    """Return every list with its cases on this data."""
    from dashboard.models import Agreement
    from dashboard.models import AuditLog
    from dashboard.models import Notification
    from dashboard.models import Payment
    from dashboard.models import Refund

    day = {"day_from": samples["day"], "day_to": samples["day"]}
    payment_filters = [
        Case("provider=antom", {"provider": "antom"}),
        Case("provider=worldpay", {"provider": "worldpay"}),
        Case("status=succeeded", {"status": "succeeded"}),
        Case("status=charged_back (rare)", {"status": "charged_back"}),
        Case("method=GCASH", {"method": "GCASH"}),
        Case("currency=JPY", {"currency": "JPY"}),
        Case("amount = HKD 88.00", {"currency": "HKD", "amount_min": "88.00", "amount_max": "88.00"}),
        Case("amount HKD 1000-2000", {"currency": "HKD", "amount_min": "1000", "amount_max": "2000"}),
        Case("one day", day),
        Case("has refunds", {"has_refunds": "y"}),
    ]
    agreement_filters = [
        Case("wallet=GCASH", {"wallet": "GCASH"}),
        Case("status=revoked", {"status": "revoked"}),
        Case("status=pending (rare)", {"status": "pending"}),
        Case("expiring in 30 days", {"expiring": "30"}),
    ]
    inbox_filters = [
        Case("provider=worldpay", {"provider": "worldpay"}),
        Case("kind=PAYMENT_RESULT", {"kind": "PAYMENT_RESULT"}),
        Case("kind=AUTHCODE_CREATED", {"kind": "AUTHCODE_CREATED"}),
        Case("kind=TOKEN_CANCELED", {"kind": "TOKEN_CANCELED"}),
        Case("kind=REFUND_RESULT", {"kind": "REFUND_RESULT"}),
        Case("kind=chargedBack (rare)", {"kind": "chargedBack"}),
        Case("verdict=invalid", {"verdict": "invalid"}),
        Case("outcome=duplicate", {"outcome": "duplicate"}),
        Case("outcome=failed (rare)", {"outcome": "failed"}),
        Case("one day", day),
    ]
    audit_filters = [
        Case("action=auth.", {"action": "auth."}),
        Case("action=payment.refund (rare)", {"action": "payment.refund"}),
        Case("actor", {"actor": samples["audit_actor"]}),
        Case("object_type=payment", {"object_type": "payment"}),
        Case("one day", day),
        # Listed by time (the minimal page keeps chain order, so walks the chain down to the day).
        Case("to a day", {"day_to": samples["day"]}),
    ]
    top = [Case("page 1", {}), Case("deep page", {}, deep=True)]
    nothing = [Case("search matching nothing", {"q": NO_MATCH})]
    return [
        ListSpec(
            "payments",
            "/payments/",
            "viewer",
            Payment.__table__,
            ("created_at", "id"),
            ("id", "created_at", "provider", "request_id", "amount_minor", "currency", "status"),
            payment_conditions,
            top
            + payment_filters
            + with_search(payment_filters, samples["antom_request_id"])
            + id_searches(
                {
                    "Antom request id": samples["antom_request_id"],
                    "Antom payment id": samples["antom_payment_id"],
                    "Worldpay request id": samples["worldpay_request_id"],
                    "Worldpay payment id": samples["worldpay_payment_id"],
                    "refund request id": samples["refund_request_id"],
                    "refund id": samples["refund_id"],
                    "customer ref": samples["customer_ref"],
                }
            )
            + nothing,
        ),
        ListSpec(
            "agreements",
            "/agreements/",
            "viewer",
            Agreement.__table__,
            ("created_at", "id"),
            ("id", "created_at", "wallet", "customer_ref", "status", "access_token_last4"),
            agreement_conditions,
            top
            + agreement_filters
            + with_search(agreement_filters, samples["customer_ref"])
            + id_searches({"customer ref": samples["customer_ref"]})
            + [Case(f"exact authState ({len(samples['auth_state'])} ch)", {"q": samples["auth_state"]})]
            + nothing,
        ),
        ListSpec(
            "notifications",
            "/notifications/",
            "viewer",
            Notification.__table__,
            ("received_at", "id"),
            ("id", "received_at", "provider", "kind", "reference", "verdict", "outcome"),
            notification_conditions,
            top
            + inbox_filters
            + with_search(inbox_filters, samples["inbox_payment_reference"])
            + id_searches(
                {
                    "Antom payment id": samples["inbox_payment_reference"],
                    "Worldpay transaction reference": samples["inbox_transaction_reference"],
                    "refund id": samples["inbox_refund_reference"],
                    "authState": samples["inbox_auth_state"],
                }
            )
            + [
                Case("exact dedup key (Antom)", {"q": samples["inbox_payment_key"]}),
                Case("exact eventId (Worldpay)", {"q": samples["inbox_event_id"]}),
                Case("linked payment id", {"q": samples["inbox_object_id"]}),
                Case("notification #id", {"q": "#" + samples["inbox_id"]}),
            ]
            + nothing,
        ),
        ListSpec(
            "audit",
            "/audit/",
            "viewer",
            AuditLog.__table__,
            ("seq",),
            ("seq", "created_at", "actor_label", "action", "object_type", "object_id"),
            audit_conditions,
            top
            + audit_filters
            + [
                Case(f"{case.name} + object_id", {**case.args, "object_id": samples["audit_object_id"]})
                for case in audit_filters
            ]
            + [Case("object_id", {"object_id": samples["audit_object_id"]})],
        ),
        ListSpec(
            "approvals",
            "/approvals/",
            "manager",
            Refund.__table__,
            ("created_at", "id"),
            ("id", "created_at", "payment_id", "amount_minor", "currency", "reason"),
            approval_conditions,
            [Case("page 1", {})],
            ascending=True,
        ),
    ]


# --- the reference routes --------------------------------------------------------------------------


def micros(moment: datetime) -> int:
    """Return microseconds since the epoch of an aware (or naive UTC) datetime."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def order_columns(spec: ListSpec) -> list:
    """Return the list's ORDER BY columns."""
    columns = [spec.table.c[name] for name in spec.order]
    return [column.asc() if spec.ascending else column.desc() for column in columns]


def reference_app(database_url: str, specs: Mapping[str, ListSpec]):
    """Return a throw-away Flask app: ``/minimal/<list>`` (keyset) and ``/offset/<list>`` (OFFSET + COUNT)."""
    from flask import Flask
    from flask import request
    from sqlalchemy import create_engine
    from sqlalchemy import func
    from sqlalchemy import select
    from sqlalchemy import tuple_

    app = Flask("minimal")
    engine = create_engine(database_url)
    template = app.jinja_env.from_string(TEMPLATE)

    def statement(spec: ListSpec):
        return select(*(spec.table.c[name] for name in spec.shown)).where(*spec.conditions(request.args))

    @app.get("/minimal/<name>")
    def minimal(name: str):
        spec = specs[name]
        query = statement(spec)
        before = request.args.get("before")
        if before:
            *time_name, key = spec.order
            if time_name:
                at, number = before.split(".")
                moment = EPOCH + timedelta(microseconds=int(at))
                query = query.where(
                    tuple_(spec.table.c[time_name[0]], spec.table.c[key]) < (moment, int(number))
                )
            else:
                query = query.where(spec.table.c[key] < int(before))
        with engine.connect() as connection:
            rows = connection.execute(query.order_by(*order_columns(spec)).limit(PAGE + 1)).all()
        following = None
        if len(rows) > PAGE:
            last = rows[PAGE - 1]._mapping
            *time_name, key = spec.order
            following = f"{micros(last[time_name[0]])}.{last[key]}" if time_name else str(last[key])
        return template.render(rows=rows[:PAGE], next=following, total=None)

    @app.get("/offset/<name>")
    def offset(name: str):
        spec = specs[name]
        query = statement(spec)
        with engine.connect() as connection:
            total = connection.scalar(select(func.count()).select_from(query.subquery()))
            page = query.order_by(*order_columns(spec)).limit(PAGE).offset(int(request.args.get("offset", 0)))
            rows = connection.execute(page).all()
        return template.render(rows=rows, next=None, total=total)

    return app, engine


# --- measuring ---------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Server times of one variant of one case, in ms."""

    samples: list[float]
    status: int

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)

    @property
    def slowest(self) -> float:
        return max(self.samples)


def timed(client, url: str, options) -> Timing:
    """Ask ``url`` ``--warmup`` times, then up to ``--repeat`` times (at least 5 within ``--budget`` s)."""
    status = 0
    for _ in range(options.warmup):
        status = client.get(url).status_code
    samples: list[float] = []
    began = time.perf_counter()
    while len(samples) < options.repeat:
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        status = response.status_code
        if len(samples) >= 5 and time.perf_counter() - began > options.budget:
            break
    return Timing(samples, status)


class StatementLog:
    """Catches the SQL a request runs (``before_cursor_execute``)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.statements: list[tuple[str, object]] = []
        event.listen(engine, "before_cursor_execute", self._caught)

    def _caught(self, connection, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append((statement, parameters))

    def queries(self) -> list[tuple[str, object]]:
        """Return the reads caught (SELECTs), not BEGIN, COMMIT or the session's writes."""
        return [
            (sql, args)
            for sql, args in self.statements
            if sql.lstrip().upper().startswith(("SELECT", "WITH"))
        ]


def replay_ms(engine, statement: str, parameters) -> float:
    """Return the median ms of running ``statement`` and fetching every row (5 runs)."""
    runs = []
    with engine.connect() as connection:
        for _ in range(5):
            start = time.perf_counter()
            connection.exec_driver_sql(statement, parameters).fetchall()
            runs.append((time.perf_counter() - start) * 1000)
        connection.rollback()
    return statistics.median(runs)


def explain(engine, statement: str, parameters) -> list[str]:
    """Return the plan of ``statement`` (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE, BUFFERS)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            depth = {0: 0}
            lines = []
            for node, parent, _, detail in rows:
                depth[node] = depth.get(parent, 0) + 1
                lines.append("  " * depth[node] + detail)
        else:
            lines = [
                row[0]
                for row in connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            ]
        connection.rollback()
    return lines


def sign_in(client, email: str, password: str) -> None:
    """Sign ``client`` in through the login form."""
    form = client.get("/login")
    found = _CSRF.search(form.get_data(as_text=True))
    if form.status_code != 200 or not found:
        raise BenchmarkError(f"GET /login gave {form.status_code} without a csrf_token field")
    token = found.group(1) or found.group(2)
    answer = client.post(
        "/login", data={"csrf_token": token, "email": email, "password": password, "next": ""}
    )
    if answer.status_code not in (302, 303):
        raise BenchmarkError(f"signing in as {email} gave HTTP {answer.status_code}, not a redirect")


def cursor_at(connection, spec: ListSpec, depth: int, timed_form: bool) -> str:
    """Return the cursor of the row ``depth`` rows down the whole list (the last row of the page before)."""
    from sqlalchemy import select

    columns = [spec.table.c[name] for name in spec.order]
    row = connection.execute(select(*columns).order_by(*order_columns(spec)).offset(depth - 1).limit(1)).one()
    *time_value, key = row
    return f"{micros(time_value[0])}.{key}" if time_value and timed_form else str(key)


@dataclass
class Result:
    """One line of a list's table."""

    case: str
    ours: Timing
    sql_ms: float
    statements: int
    offset: Timing
    minimal: Timing
    plan: list[str] = field(default_factory=list)


def serve_reference(url: str, only: list[str] | None, connection) -> None:
    """Time the reference app's pages that arrive on ``connection`` (a path and the options) and send
    each :class:`Timing` back, until None arrives. Run in a process of its own."""
    from sqlalchemy import create_engine

    probe = create_engine(url)
    with probe.connect() as reading:
        samples = read_samples(reading)
    probe.dispose()
    specs = {spec.name: spec for spec in list_specs(samples) if not only or spec.name in only}
    reference, engine = reference_app(url, specs)
    client = reference.test_client()
    gc.collect()
    gc.freeze()
    try:
        while (asked := connection.recv()) is not None:
            path, options = asked
            connection.send(timed(client, path, options))
    finally:
        engine.dispose()


class ReferenceProcess:
    """The reference app in a process of its own, so that neither app's objects are walked by the
    other's garbage collections (each would be served by a process of its own)."""

    def __init__(self, url: str, options):
        context = multiprocessing.get_context("fork")
        self._connection, theirs = context.Pipe()
        self._options = options
        self._process = context.Process(target=serve_reference, args=(url, options.only, theirs), daemon=True)
        self._process.start()

    def timed(self, path: str) -> Timing:
        """Ask ``path`` as :func:`timed` does, in the reference process."""
        self._connection.send((path, self._options))
        try:
            return self._connection.recv()
        except EOFError as exc:
            raise BenchmarkError(f"the reference app's process ended while asked {path}") from exc

    def stop(self) -> None:
        """Let the reference process end, and wait for it."""
        self._connection.send(None)
        self._process.join(timeout=30)


def run_database(kind: str, url: str, options) -> dict[str, list[Result]]:
    """Time every case of every list on one database; return the results by list."""
    from sqlalchemy import create_engine
    from sqlalchemy import func
    from sqlalchemy import select

    from dashboard import create_app
    from dashboard.extensions import db

    # Forked first, before this process holds the app or any connection.
    reference = ReferenceProcess(url, options)
    app = create_app(app_settings(url, instance_folder(url)))
    with app.app_context():
        engine = db.engine
        log = StatementLog(engine)
    probe = create_engine(url)
    with probe.connect() as connection:
        samples = read_samples(connection)
        specs = {
            spec.name: spec for spec in list_specs(samples) if not options.only or spec.name in options.only
        }
        sizes = {
            name: connection.scalar(select(func.count()).select_from(spec.table))
            for name, spec in specs.items()
        }
    # A web worker freezes what its start made (create_app). The benchmark's own start made more: the
    # engine that reads the samples, the samples and, on the second database, a second app that
    # create_app leaves to the collector. Frozen the same way, a full collection during the timed
    # requests walks what a worker's would: what the requests themselves keep.
    gc.collect()
    gc.freeze()
    passwords = {role: (email, password) for role, email, password in STAFF}
    clients = {}
    results: dict[str, list[Result]] = {}
    try:
        for name, spec in specs.items():
            if spec.role not in clients:
                clients[spec.role] = app.test_client()
                clients[spec.role].environ_base["HTTP_ACCEPT_LANGUAGE"] = options.language
                sign_in(clients[spec.role], *passwords[spec.role])
            client = clients[spec.role]
            depth = min(DEPTH, sizes[name] // 2)
            first = client.get(spec.path)
            if first.status_code != 200:
                raise BenchmarkError(f"GET {spec.path} as {spec.role} answered {first.status_code}")
            shown_in = re.search(r'<html lang="([^"]+)"', first.get_data(as_text=True))
            print(f"  {spec.path} reads in {shown_in.group(1) if shown_in else '?'}", flush=True)
            link = _BEFORE.search(html.unescape(first.get_data(as_text=True)))
            timed_form = bool(link and "." in link.group(1))
            with probe.connect() as connection:
                deep_ours = cursor_at(connection, spec, depth, timed_form) if depth else ""
                deep_minimal = cursor_at(connection, spec, depth, True) if depth else ""
            print(
                f"  {kind} {name}: {len(spec.cases)} cases ({sizes[name]:,} rows; deep page at {depth:,})…",
                flush=True,
            )
            results[name] = []
            for case in spec.cases:
                args = dict(case.args)
                ours_args, minimal_args, offset_args = dict(args), dict(args), dict(args)
                if case.deep:
                    ours_args["before"], minimal_args["before"] = deep_ours, deep_minimal
                    offset_args["offset"] = str(depth)
                query = f"?{urlencode(ours_args)}" if ours_args else ""
                ours = timed(client, spec.path + query, options)
                log.statements.clear()
                client.get(spec.path + query)
                reads = log.queries()
                replays = [replay_ms(engine, sql, parameters) for sql, parameters in reads]
                plan = []
                if options.explain:
                    for (sql, parameters), ms in zip(reads, replays, strict=True):
                        if f"FROM {spec.table.name}" in sql:
                            plan += [
                                f"statement on {spec.table.name} ({ms:.1f} ms):",
                                *explain(engine, sql, parameters),
                            ]
                offset = reference.timed(f"/offset/{name}?{urlencode(offset_args)}")
                minimal = reference.timed(f"/minimal/{name}?{urlencode(minimal_args)}")
                results[name].append(Result(case.name, ours, sum(replays), len(reads), offset, minimal, plan))
    finally:
        reference.stop()
        probe.dispose()
        with app.app_context():
            db.engine.dispose()
    return results


def print_results(kind: str, results: dict[str, list[Result]], explain_plans: bool) -> None:
    """Print one table per list (and the plans when asked)."""
    for name, rows in results.items():
        print(f"\n{kind} — {name}")
        print_table(
            [
                "case",
                "HTTP",
                "ours med",
                "ours p95",
                "ours max",
                "SQL ms",
                "stmts",
                "offset+count med",
                "p95",
                "minimal med",
                "p95",
                "ours/min",
            ],
            [
                [
                    row.case,
                    row.ours.status,
                    f"{row.ours.median:.1f}",
                    f"{row.ours.p95:.1f}",
                    f"{row.ours.slowest:.1f}",
                    f"{row.sql_ms:.1f}",
                    row.statements,
                    f"{row.offset.median:.1f}",
                    f"{row.offset.p95:.1f}",
                    f"{row.minimal.median:.1f}",
                    f"{row.minimal.p95:.1f}",
                    f"{row.ours.median / row.minimal.median:.1f}",
                ]
                for row in rows
            ],
        )
        worst = max(rows, key=lambda row: row.ours.p95)
        print(
            f"  worst p95: {worst.ours.p95:.1f} ms ({worst.case}); "
            f"worst median {max(r.ours.median for r in rows):.1f} ms"
        )
        if explain_plans:
            for row in rows:
                print(f"\n  [{name}] {row.case}")
                for line in row.plan:
                    print(f"    {line}")


def print_summary(kind: str, results: dict[str, list[Result]]) -> None:
    """Print the cases within the p95 target, the median of the cases' medians and ours/minimal."""
    rows = [row for list_rows in results.values() for row in list_rows]
    if not rows:
        return
    target = TARGET_P95_MS[kind]
    within = sum(row.ours.p95 <= target for row in rows)
    print(
        f"\n{kind} summary: p95 within {target:.0f} ms in {within} of {len(rows)} cases; "
        f"median of the medians {statistics.median(row.ours.median for row in rows):.1f} ms "
        f"(minimal {statistics.median(row.minimal.median for row in rows):.1f} ms); "
        f"ours/minimal {statistics.median(row.ours.median / row.minimal.median for row in rows):.1f} "
        f"(median over the cases); worst p95 {max(row.ours.p95 for row in rows):.1f} ms"
    )


# --- the demo's first page -----------------------------------------------------------------------------


def demo_start_seconds(tmp: Path) -> tuple[float, float]:
    """Start ``flask --app dashboard demo`` in a fresh instance folder; return the seconds until ``/``
    answers (a new demo's first page says it is getting ready) and until the sign-in form does."""
    port = free_port()
    instance = tmp / f"demo-{port}"
    env = {key: value for key, value in os.environ.items() if key not in APP_SETTING_NAMES}
    env.update(INSTANCE_PATH=str(instance), PYTHONPATH=str(REPO))
    # As Python runs by default: the first start writes the bytecode cache, later ones read it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    began = time.perf_counter()
    process = subprocess.Popen(
        [str(BIN / "flask"), "--app", "dashboard", "demo", "--port", str(port)],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        first = _seconds_until_answered(process, began, port, "/", ready=False)
        return first, _seconds_until_answered(process, began, port, "/login", ready=True)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _seconds_until_answered(
    process: subprocess.Popen, began: float, port: int, path: str, ready: bool
) -> float:
    """Return the seconds since ``began`` when ``path`` answers (with 200 when ``ready``)."""
    while True:
        if process.poll() is not None:
            raise BenchmarkError(f"the demo exited with {process.returncode} before answering {path}")
        if time.perf_counter() - began > 120:
            raise BenchmarkError(f"the demo did not answer {path} within 120 s")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
            return time.perf_counter() - began
        except urllib.error.HTTPError as answer:
            if not ready:
                return time.perf_counter() - began
            if answer.code != 503:  # a new demo's pages answer 503 while it writes its history
                raise BenchmarkError(f"the demo answered {path} with {answer.code}") from answer
            time.sleep(0.1)
        except OSError:
            time.sleep(0.02)


# --- the command line --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgresql"], default=[])
    parser.add_argument("--sqlite-path", default=DEFAULT_SQLITE, help="the SQLite file million.py made")
    parser.add_argument(
        "--postgres-url",
        default=f"{DEFAULT_POSTGRES}/{DEFAULT_DATABASE}",
        help="the PostgreSQL database million.py made",
    )
    parser.add_argument(
        "--only", nargs="+", choices=["payments", "agreements", "notifications", "audit", "approvals"]
    )
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per variant and case")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument(
        "--budget", type=float, default=5.0, help="seconds per variant and case (at least 5 requests)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print the plans of each case's reads of its table"
    )
    parser.add_argument(
        "--language", default="en", help="the Accept-Language our pages are asked in (zh-HK: Chinese)"
    )
    parser.add_argument("--demo-start", action="store_true", help="time the demo until / answers")
    parser.add_argument("--demo-runs", type=int, default=3)
    options = parser.parse_args(argv)
    if not options.database and not options.demo_start:
        parser.error("give --database and/or --demo-start")
    return options


def main(argv: list[str] | None = None) -> int:
    """Run the lists on each database asked for, then the demo start, and print the numbers."""
    options = parse_args(argv)
    print("list pages at a million rows: ours vs OFFSET + COUNT vs a minimal keyset page (server ms)")
    print_facts(machine_facts(options.database or ["sqlite"], DEFAULT_POSTGRES, None))
    print(
        f"  requests per variant: {options.warmup} warm-up + up to {options.repeat} "
        f"(≥ 5 within {options.budget:.0f} s); our pages in {options.language}"
    )
    try:
        for kind in options.database:
            url = (
                f"sqlite:///{Path(options.sqlite_path).resolve()}"
                if kind == "sqlite"
                else options.postgres_url
            )
            if kind == "sqlite" and not Path(options.sqlite_path).exists():
                raise BenchmarkError(f"{options.sqlite_path} is missing: make it with million.py first")
            began = time.perf_counter()
            results = run_database(kind, url, options)
            print(
                f"\n{kind}: {url} ({time.perf_counter() - began:.0f} s; "
                f"load average now {os.getloadavg()[0]:.2f})"
            )
            print_results(kind, results, options.explain)
            print_summary(kind, results)
        if options.demo_start:
            tmp = Path(tempfile.mkdtemp(prefix="bench-demo-"))
            try:
                runs = [demo_start_seconds(tmp) for _ in range(options.demo_runs)]
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            firsts, readies = [first for first, _ in runs], [ready for _, ready in runs]
            print(
                f"\ndemo start until / answers: {', '.join(f'{first:.2f}' for first in firsts)} s "
                f"(median {statistics.median(firsts):.2f} s); until the sign-in form answers: "
                f"{', '.join(f'{ready:.2f}' for ready in readies)} s "
                f"(median {statistics.median(readies):.2f} s)"
            )
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    print(f"\nload average at the end: {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
