"""Every list reads its page from an index in page order, and a search by id from the ids it names;
what jobs, notifications and the API read again and again reads only the rows it needs.

The plans are those of the statements each list really runs, read on SQLite (``EXPLAIN QUERY PLAN``)
and on PostgreSQL (``EXPLAIN``, with sequential scans discouraged: on a tiny test table PostgreSQL
would rightly prefer reading the whole table, which says nothing about a million rows).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import text

from dashboard import clock
from dashboard.ach.sending import _open_submission_ids as open_submission_ids
from dashboard.agreements.queries import AgreementFilter
from dashboard.agreements.queries import agreement_page
from dashboard.agreements.tasks import sweep_agreements
from dashboard.audit.models import AuditLog
from dashboard.audit.queries import WALKED
from dashboard.audit.queries import AuditFilter
from dashboard.audit.queries import audit_page
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.service import LATEST_EVENT_ID
from dashboard.events.service import feed
from dashboard.extensions import db
from dashboard.listing import FEW_ENOUGH_TO_SORT
from dashboard.listing import Cursor
from dashboard.notifications.handlers import _any_waiting as waiting_notification
from dashboard.notifications.handlers import _claim as claim
from dashboard.notifications.queries import NotificationFilter
from dashboard.notifications.queries import notification_detail
from dashboard.notifications.queries import notification_page
from dashboard.notifications.retention import recent_rejections
from dashboard.notifications.tasks import APPLY_BATCH
from dashboard.notifications.tasks import unprocessed
from dashboard.payments import export
from dashboard.payments.changes import find_payment
from dashboard.payments.models import Payment
from dashboard.payments.queries import PaymentFilter
from dashboard.payments.queries import payment_page
from dashboard.reports.payments_figures import _stuck as stuck_payments
from dashboard.reports.ranges import RangeKey
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.ranges import ReportRange
from dashboard.settlements.models import Scope
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.reconcile import RULES
from dashboard.settlements.reconcile import _by_ids as match_by_ids
from dashboard.settlements.reconcile import _missing_theirs as missing_theirs
from dashboard.settlements.reconcile import _Seen
from tests.conftest import empty_all_tables
from tests.factories import make_agreement
from tests.factories import make_notification
from tests.factories import make_payment
from tests.factories import make_refund

ZONE = "Asia/Hong_Kong"
START = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Plan:
    """How the database answers one statement."""

    statement: str = field(repr=False)
    #: Each step in a word or two: SQLite's plan lines, PostgreSQL's node types with their index.
    steps: list[str]

    @property
    def scans_a_table(self) -> bool:
        return any(
            step.startswith(("SCAN ", "Seq Scan")) and "CONSTANT ROW" not in step for step in self.steps
        )

    @property
    def sorts(self) -> bool:
        return any("TEMP B-TREE FOR ORDER BY" in step or step.startswith("Sort") for step in self.steps)

    def scans(self, table: str) -> bool:
        """Whether a step reads the whole of ``table`` (not a subquery's rows)."""
        return any(step.startswith((f"SCAN {table}", f"Seq Scan {table}")) for step in self.steps)

    def uses(self, index: str) -> bool:
        return any(index in step for step in self.steps)

    def looks_up(self, table: str, column: str) -> bool:
        """Whether a step reads ``table`` through an index on ``column`` (not a scan that filters it)."""
        return any(
            table in step and column in step and not step.startswith(("SCAN ", "Seq Scan"))
            for step in self.steps
        )


def _steps_of(node: dict[str, Any]) -> Iterator[str]:
    parts = (node["Node Type"], node.get("Index Name"), node.get("Relation Name"), node.get("Index Cond"))
    yield " ".join(filter(None, parts))
    for child in node.get("Plans", ()):
        yield from _steps_of(child)


def _explain(statement: str, parameters: Any) -> Plan:
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return Plan(statement, [row[3] for row in rows])
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    (document,) = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).one()
    if isinstance(document, str):
        document = json.loads(document)
    return Plan(statement, list(_steps_of(document[0]["Plan"])))


@contextmanager
def _recorded() -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plans_of(read: Callable[[], Any]) -> list[Plan]:
    """Run ``read`` and return the plan of every SELECT it sent, in order, but the newest event id's.

    A live list reads the newest event id with its rows, and on its own only after a page without
    rows (listing.searched_page): a search of the events' key, checked apart.
    """
    newest_event = _newest_event_statement()
    with _recorded() as statements:
        read()
    selects = [
        (s, p) for s, p in statements if s.lstrip().upper().startswith(("SELECT", "(")) and s != newest_event
    ]
    return [_explain(statement, parameters) for statement, parameters in selects]


def _newest_event_statement() -> str:
    return str(LATEST_EVENT_ID.compile(dialect=db.session.get_bind().dialect))


def page_plan(read: Callable[[], Any]) -> Plan:
    """Return the plan of the last statement ``read`` sends: the page itself."""
    return plans_of(read)[-1]


#: Enough rows in realistic mixes for PostgreSQL's statistics to plan as it does at a million (on a few
#: rows it would walk any index at all); SQLite plans without statistics and needs none.
_POSTGRESQL_ROWS = """
INSERT INTO agreements (wallet, customer_ref, auth_state, auth_state_hash, status,
                        created_at, updated_at, version, expires_at)
SELECT (ARRAY['ALIPAY_HK', 'GCASH', 'DANA'])[1 + mod(i, 3)], 'BULK-CUST-' || i, 'bulk-state-' || i,
       md5(i::text),
       CASE WHEN mod(i, 50) = 0 THEN 'revoked' WHEN mod(i, 7) = 0 THEN 'expired' ELSE 'active' END,
       TIMESTAMPTZ '2026-03-01' - i * INTERVAL '1 minute', TIMESTAMPTZ '2026-03-01', 1,
       now() + (30 + mod(i, 700)) * INTERVAL '1 day'
FROM generate_series(1, 5000) AS i;
INSERT INTO payments (provider, request_id, provider_payment_id, agreement_id, amount_minor, currency,
                      payment_method, status, refunded_minor, created_at, updated_at, version, paid_at)
SELECT (ARRAY['antom', 'antom', 'worldpay'])[1 + mod(i, 3)], 'BULK-' || i, 'BULK-PP-' || i, NULL,
       100 + mod(i, 5000), (ARRAY['HKD', 'HKD', 'HKD', 'USD', 'JPY'])[1 + mod(i, 5)],
       (ARRAY['ALIPAY_HK', 'GCASH', 'card'])[1 + mod(i, 3)],
       (ARRAY['succeeded', 'succeeded', 'succeeded', 'succeeded', 'settled', 'settled', 'failed', 'pending',
              'processing', 'cancelled'])[1 + mod(i, 10)],
       CASE WHEN mod(i, 50) = 0 THEN 50 ELSE 0 END, TIMESTAMPTZ '2026-03-01' - i * INTERVAL '1 minute',
       TIMESTAMPTZ '2026-03-01', 1,
       CASE WHEN mod(i, 10) < 6 THEN TIMESTAMPTZ '2026-03-01' - i * INTERVAL '1 minute' + INTERVAL '20 s' END
FROM generate_series(1, 30000) AS i;
INSERT INTO refunds (payment_id, request_id, provider_refund_id, amount_minor, currency, status,
                     created_at, updated_at, version, refunded_at)
SELECT id, 'BULK-RF-' || id, 'BULK-PRF-' || id, 50, currency, 'succeeded', created_at, updated_at, 1,
       created_at + INTERVAL '1 minute'
FROM payments WHERE refunded_minor > 0;
INSERT INTO notifications (provider, kind, dedup_key, reference, headers, body, verdict, received_at, outcome,
                           attempts, object_type, object_id)
SELECT CASE WHEN mod(i, 20) = 0 THEN 'worldpay' ELSE 'antom' END,
       CASE WHEN mod(i, 50) = 0 THEN 'REFUND_RESULT' ELSE 'PAYMENT_RESULT' END,
       'BULK-KEY-' || i, 'BULK-REF-' || i, '{}', '',
       CASE WHEN mod(i, 100) = 0 THEN 'invalid' ELSE 'valid' END,
       TIMESTAMPTZ '2026-03-01' - i * INTERVAL '1 minute',
       CASE WHEN mod(i, 40) = 0 THEN 'failed' ELSE 'applied' END, 1, 'payment', i::text
FROM generate_series(1, 30000) AS i;
INSERT INTO audit_log (seq, created_at, actor_label, action, object_type, object_id,
                       canonical, prev_hash, hash)
SELECT 1000000 + i, TIMESTAMPTZ '2026-03-01' - i * INTERVAL '1 minute',
       CASE WHEN mod(i, 500) = 0 THEN 'auditor@example.com' ELSE 'staff' || mod(i, 20) || '@example.com' END,
       CASE WHEN mod(i, 500) = 0 THEN 'agreement.revoke_requested' ELSE 'auth.login' END,
       CASE WHEN mod(i, 50) = 0 THEN 'agreement' ELSE 'user' END, (mod(i, 5000))::text, '', '', ''
FROM generate_series(1, 20000) AS i;
ANALYZE agreements, payments, refunds, notifications, audit_log;
"""


@pytest.fixture(scope="module")
def many_rows(app: Flask) -> Iterator[None]:
    """On PostgreSQL, store (and analyse) thousands of rows of every listed thing for this module's tests."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            yield
            return
        with db.engine.begin() as connection:
            connection.exec_driver_sql(_POSTGRESQL_ROWS)
    yield
    with app.app_context():
        empty_all_tables()


@pytest.fixture
def rows(many_rows, app_ctx):
    """A few of every listed thing, so a search finds something and the page query runs."""
    agreement = make_agreement(
        db.session, customer_ref="CUST-HK-1001", auth_state="state-9f0c", created_at=START
    )
    payment = make_payment(
        db.session,
        request_id="PAY-2026-0001",
        provider_payment_id="WP" + "x" * 178,
        agreement_id=agreement.id,
    )
    make_refund(db.session, payment, request_id="RF-77-A", provider_refund_id="PRF-77")
    make_payment(db.session, request_id="PAY-2026-0002", status="failed")
    make_notification(db.session, reference="2026REF", dedup_key="EVT-1", kind="REFUND_RESULT")


def assert_in_page_order(plan: Plan, index: str) -> None:
    """The page is read from the filter's own index: no other index's range is walked, no table scanned.

    (PostgreSQL may still sort what the index found when it expects only a few rows.)
    """
    assert plan.uses(index), plan
    assert not plan.scans_a_table, plan
    others = [step for step in plan.steps if "_at_id" in step and index not in step]
    assert not others, plan
    if plan.steps[0].startswith("SEARCH"):
        assert not plan.sorts, plan


def assert_by_primary_key(plan: Plan, table: str) -> None:
    """The page is read among the ids the search found: by primary key, never by walking a time index."""
    assert plan.uses("INTEGER PRIMARY KEY") or plan.uses(f"pk_{table}"), plan
    assert not plan.scans_a_table, plan
    assert not plan.uses("created_at") and not plan.uses("received_at"), plan


DEEP = Cursor(START, 10)


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (PaymentFilter(), "ix_payments_created_at_id"),
        (PaymentFilter(status="failed"), "ix_payments_status_created_at_id"),
        (PaymentFilter(provider="worldpay"), "ix_payments_provider_created_at_id"),
        (PaymentFilter(provider="worldpay", status="failed"), "ix_payments_provider_status_created_at_id"),
        (PaymentFilter(currency="JPY"), "ix_payments_currency_created_at_id"),
        (
            PaymentFilter(currency="HKD", amount_min=Decimal(12), amount_max=Decimal(12)),
            "ix_payments_currency_amount_minor_created_at_id",
        ),
        (PaymentFilter(has_refunds=True), "ix_payments_refunded_created_at_id"),
        # Fewer payments have refunds than any currency or provider has payments.
        (PaymentFilter(has_refunds=True, currency="HKD"), "ix_payments_refunded_created_at_id"),
        (PaymentFilter(has_refunds=True, provider="antom"), "ix_payments_refunded_created_at_id"),
        (PaymentFilter(day_from=date(2026, 3, 1), day_to=date(2026, 3, 2)), "ix_payments_created_at_id"),
        (PaymentFilter(code="USER_BALANCE_NOT_ENOUGH"), "ix_payments_result_code_created_at_id"),
        # The errors report's click-through: a code with its status, provider, currency and days.
        (
            PaymentFilter(
                code="USER_BALANCE_NOT_ENOUGH",
                status="failed",
                provider="antom",
                currency="HKD",
                day_from=date(2026, 2, 1),
                day_to=date(2026, 3, 2),
            ),
            "ix_payments_result_code_created_at_id",
        ),
    ],
    ids=[
        "everything",
        "status",
        "provider",
        "provider-status",
        "currency",
        "one-amount",
        "refunded",
        "refunded-currency",
        "refunded-provider",
        "days",
        "code",
        "code-click-through",
    ],
)
def test_each_payments_filter_reads_its_index_in_page_order(rows, filters, index):
    assert_in_page_order(page_plan(lambda: payment_page(db.session, filters, ZONE, DEEP)), index)


@pytest.mark.parametrize(
    "filters",
    [
        PaymentFilter(q="PAY-2026-0001"),
        PaymentFilter(q="PAY-2026"),
        PaymentFilter(q="RF-77-A"),
        PaymentFilter(q="PRF"),
        PaymentFilter(q="CUST-HK"),
        PaymentFilter(q="RF-77-A", status="succeeded"),
        PaymentFilter(q="PAY-2026", provider="antom", currency="HKD"),
        PaymentFilter(q="1"),
        PaymentFilter(q="#1"),
    ],
    ids=[
        "exact",
        "prefix",
        "refund",
        "provider-refund",
        "customer",
        "with-status",
        "with-filters",
        "number",
        "#number",
    ],
)
def test_a_payments_search_looks_up_each_kind_of_id_then_reads_the_page_by_primary_key(rows, filters):
    lookup, page = plans_of(lambda: payment_page(db.session, filters, ZONE, DEEP))
    assert not lookup.scans_a_table, lookup
    for table, column in (
        ("payments", "request_id"),
        ("payments", "provider_payment_id"),
        ("refunds", "request_id"),
        ("refunds", "provider_refund_id"),
        ("agreements", "customer_ref"),
    ):
        assert lookup.looks_up(table, column), (table, column, lookup)
    assert_by_primary_key(page, "payments")


def test_a_search_that_finds_nothing_reads_no_page(rows):
    plans = plans_of(
        lambda: payment_page(db.session, PaymentFilter(q="NOTHING-LIKE-THIS", status="failed"), ZONE)
    )
    assert len(plans) == 1 and not plans[0].scans_a_table, plans


def test_a_live_list_reads_the_newest_event_id_from_the_end_of_the_events_key(rows):
    alone = _explain(_newest_event_statement(), ())
    with_the_rows = page_plan(lambda: payment_page(db.session, PaymentFilter(), ZONE))
    for plan in alone, with_the_rows:
        # SQLite searches the key for its largest value; PostgreSQL reads its index from the end.
        assert "SEARCH events" in plan.steps or plan.uses("pk_events"), plan
        assert not plan.scans("events"), plan


def test_the_export_of_a_search_reads_its_chunks_by_primary_key(rows):
    plans = plans_of(lambda: list(export.csv_text(db.session, PaymentFilter(currency="HKD", q="PAY-"), ZONE)))
    assert not plans[0].scans_a_table, plans[0]
    assert_by_primary_key(plans[1], "payments")


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (AgreementFilter(), "ix_agreements_created_at_id"),
        (AgreementFilter(wallet="GCASH"), "ix_agreements_wallet_created_at_id"),
        (AgreementFilter(wallet="GCASH", status="revoked"), "ix_agreements_wallet_status_created_at_id"),
        (AgreementFilter(status="revoked"), "ix_agreements_status_created_at_id"),
        (AgreementFilter(day_from=date(2026, 3, 1), day_to=date(2026, 3, 2)), "ix_agreements_created_at_id"),
    ],
    ids=["everything", "wallet", "wallet-status", "status", "days-made"],
)
def test_each_agreements_filter_reads_its_index_in_page_order(rows, filters, index):
    assert_in_page_order(page_plan(lambda: agreement_page(db.session, filters, DEEP)), index)


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (
            AgreementFilter(dated="revoked", day_from=date(2026, 3, 1), day_to=date(2026, 3, 2)),
            "ix_agreements_status_revoked_at",
        ),
        (AgreementFilter(dated="cancelled", day_from=date(2026, 3, 1)), "ix_agreements_status_cancelled_at"),
    ],
    ids=["revoked", "cancelled"],
)
def test_agreements_revoked_or_cancelled_on_some_days_are_read_from_their_status_indexes(
    rows, filters, index
):
    # In page order from the status's creation index, or (the database's choice when it expects few)
    # the days' range from the status's index of that time, sorted: never the table.
    plan = page_plan(lambda: agreement_page(db.session, filters, DEEP))
    assert plan.uses("ix_agreements_status_created_at_id") or plan.uses(index), plan
    assert not plan.scans_a_table, plan


@pytest.mark.parametrize("days", [7, 366])
@pytest.mark.parametrize("deep", [False, True])
def test_the_expiring_agreements_are_read_soonest_first_from_their_expiry_index(rows, days, deep):
    # However many run out within the days asked, a page walks the expiry index in its own order.
    after = Cursor(clock.now() + timedelta(days=3), 10) if deep else None
    plan = page_plan(lambda: agreement_page(db.session, AgreementFilter(expiring=days), after))
    assert_in_page_order(plan, "ix_agreements_status_expires_at")


@pytest.mark.parametrize("q", ["CUST-HK-1001", "CUST", "state-9f0c", "#1"])
def test_an_agreements_search_reads_the_page_by_primary_key(rows, q):
    lookup, page = plans_of(lambda: agreement_page(db.session, AgreementFilter(q=q, status="active"), DEEP))
    assert lookup.looks_up("agreements", "customer_ref") and lookup.looks_up("agreements", "auth_state"), (
        lookup
    )
    assert not lookup.scans_a_table, lookup
    assert_by_primary_key(page, "agreements")


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (NotificationFilter(), "ix_notifications_received_at_id"),
        (NotificationFilter(kind="REFUND_RESULT"), "ix_notifications_kind_received_at_id"),
        (NotificationFilter(provider="worldpay"), "ix_notifications_provider_received_at_id"),
        (NotificationFilter(verdict="invalid"), "ix_notifications_verdict_received_at_id"),
        # The verdict index holds only the unverified; nearly every notification is valid.
        (NotificationFilter(verdict="valid"), "ix_notifications_received_at_id"),
        (NotificationFilter(outcome="failed"), "ix_notifications_outcome_received_at_id"),
        (NotificationFilter(provider="antom", outcome="failed"), "ix_notifications_outcome_received_at_id"),
        (
            NotificationFilter(provider="worldpay", verdict="valid"),
            "ix_notifications_provider_received_at_id",
        ),
        (
            NotificationFilter(day_from=date(2026, 3, 1), day_to=date(2026, 3, 2)),
            "ix_notifications_received_at_id",
        ),
    ],
    ids=[
        "everything",
        "kind",
        "provider",
        "verdict",
        "valid",
        "outcome",
        "provider-outcome",
        "provider-valid",
        "days",
    ],
)
def test_each_inbox_filter_reads_its_index_in_page_order(rows, filters, index):
    before = Cursor(None, 10)
    assert_in_page_order(page_plan(lambda: notification_page(db.session, filters, ZONE, before)), index)


@pytest.mark.parametrize("q", ["2026REF", "2026", "EVT-1", "#1"])
def test_an_inbox_search_reads_the_page_by_primary_key(rows, q):
    lookup, page = plans_of(
        lambda: notification_page(db.session, NotificationFilter(q=q, provider="antom"), ZONE)
    )
    assert lookup.looks_up("notifications", "reference") and not lookup.scans_a_table, lookup
    assert_by_primary_key(page, "notifications")


def test_an_inbox_search_by_a_linked_payment_reads_the_index_of_linked_notifications(rows):
    make_notification(db.session, object_type="payment", object_id="4242", outcome="applied")
    lookup, page = plans_of(lambda: notification_page(db.session, NotificationFilter(q="4242"), ZONE))
    assert lookup.uses("ix_notifications_object") and not lookup.scans_a_table, lookup
    assert_by_primary_key(page, "notifications")


def test_a_notifications_duplicates_are_read_from_the_index_of_duplicates(rows):
    original = make_notification(db.session, dedup_key="EVT-9")
    make_notification(db.session, dedup_key="EVT-9", duplicate_of_id=original.id, outcome="duplicate")
    plans = plans_of(lambda: notification_detail(db.session, original.id))
    duplicates = [plan for plan in plans if "duplicate_of_id =" in plan.statement]
    assert duplicates and all(plan.uses("ix_notifications_duplicate_of_id") for plan in duplicates), plans
    assert not any(plan.scans_a_table for plan in duplicates), duplicates


def test_the_appliers_and_the_sweeper_read_only_pending_notifications_oldest_first(rows):
    make_notification(db.session, dedup_key="EVT-WAITING", received_at=START)
    plans = plans_of(
        lambda: (
            waiting_notification(),
            claim(db.session, APPLY_BATCH),
            unprocessed(START + timedelta(minutes=5)),
        )
    )
    assert len(plans) == 3, plans
    for plan in plans:
        assert plan.uses("ix_notifications_unprocessed") or plan.uses("ix_notifications_outcome_"), plan
        assert not plan.scans_a_table and not plan.uses("verdict"), plan
        if plan.steps[0].startswith("SEARCH"):
            assert not plan.sorts, plan


def test_news_naming_only_the_providers_payment_id_finds_the_payment_by_that_id(rows):
    (plan,) = plans_of(lambda: find_payment(db.session, "antom", None, "WP" + "x" * 178, lock=False))
    assert plan.uses("ix_payments_provider_payment_id") and not plan.scans_a_table, plan


def test_the_api_event_feed_walks_the_events_after_its_cursor_in_id_order(rows):
    kinds = [kind.value for kind in EventKind]
    (plan,) = plans_of(lambda: feed(db.session, 0, (ObjectType.PAYMENT, ObjectType.AGREEMENT), kinds, 100))
    assert plan.uses("INTEGER PRIMARY KEY") or plan.uses("pk_events"), plan
    assert not plan.scans_a_table, plan
    if plan.steps[0].startswith("SEARCH"):  # (PostgreSQL sorts the few events a test has)
        assert not plan.sorts, plan


def test_the_agreements_sweep_reads_only_agreements_due_from_its_indexes(rows):
    plans = plans_of(sweep_agreements)
    due = {
        "ix_agreements_status_access_token_expires_at": "access_token_expires_at <",
        "ix_agreements_status_revoke_requested_at": "revoke_requested_at <",
    }
    for index, condition in due.items():
        (plan,) = [plan for plan in plans if condition in plan.statement]
        assert plan.uses(index) and not plan.scans_a_table, plan


def test_a_payroll_poll_asks_each_requests_items_from_their_index(rows):
    (plan,) = plans_of(lambda: open_submission_ids(db.session, 1))
    assert plan.uses("ix_ach_items_submission_id_status"), plan
    if plan.steps[0].startswith(("SEARCH", "SCAN")):  # SQLite names what it looks up
        assert any(re.search(r"\(submission_id=", step) for step in plan.steps), plan
    assert not plan.scans_a_table, plan


def test_a_settlement_files_ids_are_looked_up_by_id_and_the_provider_checked_on_what_they_find(rows):
    columns = (Payment.id, Payment.provider_payment_id, Payment.request_id)
    ids, requests, antom = {"PRF-77"}, {"PAY-2026-0001"}, (Payment.provider == "antom",)
    by_provider_id = Payment.provider_payment_id
    (plan,) = plans_of(
        lambda: match_by_ids(db.session, Payment, columns, by_provider_id, ids, requests, antom)
    )
    assert plan.looks_up("payments", "provider_payment_id") and plan.looks_up("payments", "request_id"), plan
    assert not plan.scans_a_table, plan
    provider_walks = ("ix_payments_provider_created_at_id", "ix_payments_provider_status_created_at_id")
    assert not any(plan.uses(index) for index in provider_walks), plan


@pytest.mark.parametrize(
    ("scope", "times"),
    [
        (Scope.BATCH, ("paid_at", "refunded_at", "cancelled_at")),
        (Scope.DAY, ("created_at", "created_at", "cancelled_at")),
    ],
    ids=["batch", "day"],
)
def test_a_settlement_days_own_payments_refunds_and_cancels_are_read_by_that_days_times(rows, scope, times):
    batch = SettlementBatch(provider="antom", currency="HKD", day=date(2026, 2, 27))
    plans = plans_of(lambda: missing_theirs(db.session, batch, ZoneInfo(ZONE), _Seen(), RULES[scope]))
    assert len(plans) == len(times), plans
    for plan, table, column in zip(plans, ("payments", "refunds", "cancels"), times, strict=True):
        # The day's range is looked up in an index: never every payment of a currency or a status, nor
        # every refund or cancel that succeeded.
        assert any(re.search(rf"ix_{table}\w* .*\b{column} ?>", step) for step in plan.steps), plan
        assert not plan.scans_a_table and not plan.uses("_currency_") and not plan.uses("_status_"), plan


@pytest.mark.parametrize(
    ("narrowing", "index"),
    [
        ({"provider": "antom"}, "ix_payments_provider_status_created_at_id"),
        ({"currency": "HKD"}, "ix_payments_status_created_at_id"),
    ],
    ids=["provider", "currency"],
)
def test_the_reports_stuck_payments_are_read_from_the_open_statuses_indexes(rows, narrowing, index):
    days = ReportRange(RangeKey.CUSTOM, date(2026, 3, 1), date(2026, 3, 2), ZoneInfo(ZONE))
    make_payment(db.session, request_id="PAY-STUCK", status="processing", created_at=START)
    plans = plans_of(lambda: stuck_payments(db.session, ReportFilters(days, **narrowing)))
    assert plans, plans
    for plan in plans:
        assert plan.uses(index) and not plan.scans("payments"), plan


def test_the_inbox_counts_the_days_rejected_posts_from_the_indexes_of_rejected_ones(rows):
    # The day before the bulk rows' newest: on PostgreSQL, a day of them, one in a hundred forged.
    day_end = datetime(2026, 3, 1, tzinfo=UTC)
    make_notification(
        db.session, dedup_key="EVT-FORGED", verdict="invalid", outcome="rejected", received_at=day_end
    )
    plans = plans_of(lambda: recent_rejections(db.session, day_end))
    assert len(plans) == 2, plans
    for plan in plans:
        # Of those still holding their body, PostgreSQL may count the retention's index instead.
        assert plan.uses("ix_notifications_verdict_received_at_id") or plan.uses("_rejected_with_body"), plan
        assert not plan.scans("notifications"), plan


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (AuditFilter(), "seq"),
        (AuditFilter(actor="auditor@example.com"), "ix_audit_log_actor_label_seq"),
        (AuditFilter(object_type="agreement"), "ix_audit_log_object_type_seq"),
        (AuditFilter(object_id="42"), "ix_audit_log_object_id_seq"),
        (AuditFilter(object_type="agreement", object_id="42"), "ix_audit_log_object_"),
        (AuditFilter(action="agreement."), "ix_audit_log_action_seq"),
    ],
    ids=["everything", "actor", "object-type", "object-id", "object", "action"],
)
def test_each_audit_filter_reads_its_index(rows, filters, index):
    plan = page_plan(lambda: audit_page(db.session, filters, ZONE, Cursor(None, 1_010_000)))
    assert plan.uses(index) and not plan.scans_a_table, plan


def store_entries(count: int, **fields: Any) -> None:
    """Store ``count`` audit entries at START, with chain positions from 2,000,000 up."""
    entry = {
        "created_at": START,
        "actor_label": "staff@example.com",
        "object_type": "user",
        "canonical": "",
        "prev_hash": "",
        "hash": "",
        **fields,
    }
    db.session.execute(
        insert(AuditLog), [{**entry, "seq": 2_000_000 + i, "object_id": str(i)} for i in range(count)]
    )
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE audit_log"))  # PostgreSQL plans from statistics


def test_an_action_start_that_many_entries_share_is_read_in_chain_order_not_sorted(rows):
    # Past FEW_ENOUGH_TO_SORT matches the action index would hand every match to a sort (SQLite has
    # no statistics to see it); the chain's own order finds a page of them sooner.
    store_entries(FEW_ENOUGH_TO_SORT + 1, action="auth.login_failed")
    latest = Cursor(None, 3_000_000)
    many = page_plan(lambda: audit_page(db.session, AuditFilter(action="auth.login_f"), ZONE, latest))
    few = page_plan(lambda: audit_page(db.session, AuditFilter(action="agreement."), ZONE, latest))

    assert not many.sorts and not many.uses("ix_audit_log_action_seq") and not many.scans_a_table, many
    assert few.uses("ix_audit_log_action_seq"), few


@pytest.mark.parametrize(
    "days",
    [
        {"day_to": date(2026, 2, 20)},
        {"day_from": date(2026, 2, 20)},
        {"day_from": date(2026, 2, 18), "day_to": date(2026, 2, 20)},
    ],
    ids=["to", "from", "from-to"],
)
def test_a_day_filter_walks_the_time_index_from_its_bound(rows, days):
    # In chain order a "to" day alone walked every entry after it before the page's first.
    plan = page_plan(lambda: audit_page(db.session, AuditFilter(**days), ZONE, Cursor(None, 1_010_000)))
    assert plan.uses("ix_audit_log_created_at_seq"), plan
    assert not plan.sorts and not plan.scans_a_table, plan


def test_a_day_filter_with_another_reads_that_filters_index_only_when_the_walked_entries_hold_too_few(rows):
    store_entries(WALKED + 1, action="auth.login_failed")
    users = AuditFilter(object_type="user", day_to=START.date())
    many = plans_of(lambda: audit_page(db.session, users, ZONE))
    few = plans_of(lambda: audit_page(db.session, AuditFilter(object_id="42", day_to=START.date()), ZONE))

    assert many[-1].uses("ix_audit_log_created_at_seq") and not many[-1].sorts, many
    assert few[-1].uses("ix_audit_log_object_id_seq"), few
    assert not any(plan.scans_a_table for plan in many + few), many + few


def test_an_amount_range_that_many_payments_share_is_read_in_page_order_not_sorted(rows):
    db.session.execute(
        insert(Payment),
        [
            {
                "provider": "antom",
                "request_id": f"RANGE-{i}",
                "amount_minor": 100_000 + i,
                "currency": "HKD",
                "status": "succeeded",
                "refunded_minor": 0,
                "created_at": START,
                "updated_at": START,
                "version": 1,
            }
            for i in range(FEW_ENOUGH_TO_SORT + 1)
        ],
    )
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE payments"))  # PostgreSQL plans from statistics
    wide = PaymentFilter(currency="HKD", amount_min=Decimal(1000), amount_max=Decimal(2000))
    narrow = PaymentFilter(currency="HKD", amount_min=Decimal(1000), amount_max=Decimal(1001))
    many = page_plan(lambda: payment_page(db.session, wide, ZONE))
    few = page_plan(lambda: payment_page(db.session, narrow, ZONE))

    assert not many.sorts and not many.scans_a_table, many
    assert few.uses("ix_payments_currency_amount_minor_created_at_id"), few
