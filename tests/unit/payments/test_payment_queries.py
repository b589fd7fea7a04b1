"""The payments read side: stable keyset pages, filters, search by every kind of id, one payment."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import text

from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.listing import PAGE_SIZE
from dashboard.listing import Cursor
from dashboard.listing import keyset
from dashboard.money import Money
from dashboard.payments.models import Payment
from dashboard.payments.queries import PaymentFilter
from dashboard.payments.queries import payment_detail
from dashboard.payments.queries import payment_page
from dashboard.payments.queries import payments_matching
from tests.factories import make_agreement
from tests.factories import make_cancel
from tests.factories import make_payment
from tests.factories import make_refund

START = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


def walk(filters: PaymentFilter) -> list[list[int]]:
    """Return the ids on every page, following the cursors to the end."""
    pages, before = [], None
    while True:
        rows, before = payment_page(db.session, filters, before)
        pages.append([row.id for row in rows])
        if before is None:
            return pages


def found(q: str) -> list[str]:
    rows, _ = payment_page(db.session, PaymentFilter(q=q))
    return [row.request_id for row in rows]


def test_pages_list_every_payment_once_newest_first_even_with_equal_times(app_ctx):
    # Every third payment shares its time with the next: ties are broken by id.
    made = [
        make_payment(db.session, created_at=START + timedelta(minutes=n // 3))
        for n in range(2 * PAGE_SIZE + 7)
    ]
    pages = walk(PaymentFilter())
    assert [len(page) for page in pages] == [PAGE_SIZE, PAGE_SIZE, 7]
    expected = [p.id for p in sorted(made, key=lambda p: (p.created_at, p.id), reverse=True)]
    assert [row for page in pages for row in page] == expected


def test_a_later_page_does_not_shift_when_newer_payments_arrive(app_ctx):
    for n in range(PAGE_SIZE + 10):
        make_payment(db.session, created_at=START + timedelta(seconds=n))
    _, cursor = payment_page(db.session, PaymentFilter())
    second_before, _ = payment_page(db.session, PaymentFilter(), cursor)
    for n in range(5):
        make_payment(db.session, created_at=START + timedelta(hours=1, seconds=n))
    second_after, _ = payment_page(db.session, PaymentFilter(), Cursor.parse(str(cursor)))
    assert [p.id for p in second_after] == [p.id for p in second_before]
    assert len(second_after) == 10


def test_filters_by_provider_and_status_together_and_apart(app_ctx):
    kinds = [("antom", "failed"), ("antom", "succeeded"), ("worldpay", "failed"), ("worldpay", "pending")]
    made = {kind: make_payment(db.session, provider=kind[0], status=kind[1]).id for kind in kinds}
    assert walk(PaymentFilter(provider="antom", status="failed")) == [[made["antom", "failed"]]]
    assert set(walk(PaymentFilter(status="failed"))[0]) == {
        made["antom", "failed"],
        made["worldpay", "failed"],
    }
    assert set(walk(PaymentFilter(provider="worldpay"))[0]) == {
        made["worldpay", "failed"],
        made["worldpay", "pending"],
    }


@pytest.fixture
def ids(app_ctx) -> None:
    """One payment per kind of id, plus look-alikes that must not match."""
    agreement = make_agreement(db.session, customer_ref="CUST-HK-778899")
    make_agreement(db.session, customer_ref="XCUST-HK-778899")
    make_payment(db.session, request_id="PAY-2026-0001", provider_payment_id="202603021900000001")
    make_payment(db.session, request_id="PAY-2026-0002", provider_payment_id="202603021900000002")
    refunded = make_payment(db.session, request_id="PAY-2026-0003")
    make_refund(db.session, refunded, request_id="RF-77-A", provider_refund_id="2026030219REFUND9")
    make_payment(db.session, request_id="PAY-2026-0004", agreement_id=agreement.id)
    make_payment(db.session, request_id="ORDER_1%", provider="worldpay")
    make_payment(db.session, request_id="ORDERX1Z", provider="worldpay")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("PAY-2026-0001", ["PAY-2026-0001"]),  # our id, whole
        ("PAY-2026-000", ["PAY-2026-0004", "PAY-2026-0003", "PAY-2026-0002", "PAY-2026-0001"]),  # its start
        ("202603021900000002", ["PAY-2026-0002"]),  # the provider's payment id, whole
        ("20260302190000000", ["PAY-2026-0002", "PAY-2026-0001"]),  # its start
        ("RF-77-A", ["PAY-2026-0003"]),  # a refund's request id gives its payment
        ("2026030219REFUND", ["PAY-2026-0003"]),  # a refund's provider id, by its start
        ("CUST-HK-778899", ["PAY-2026-0004"]),  # the agreement's customer ref
        ("CUST-HK", ["PAY-2026-0004"]),
    ],
)
def test_search_finds_a_payment_by_each_kind_of_id_whole_or_by_its_start(ids, q, expected):
    assert found(q) == expected


@pytest.mark.parametrize("q", ["2026-0001", "778899", "REFUND9", "AY-2026", "pay-2026-0001"])
def test_search_never_matches_the_middle_of_an_id_or_another_case(ids, q):
    assert found(q) == []


def test_search_treats_percent_and_underscore_as_plain_characters(ids):
    assert found("ORDER_1%") == ["ORDER_1%"]
    assert found("ORDER_") == ["ORDER_1%"]
    assert found("ORDER%") == []


def test_search_combines_with_the_filters(ids):
    rows, _ = payment_page(db.session, PaymentFilter(provider="worldpay", q="PAY-2026"))
    assert rows == []
    rows, _ = payment_page(db.session, PaymentFilter(provider="worldpay", q="ORDER"))
    assert sorted(row.request_id for row in rows) == ["ORDERX1Z", "ORDER_1%"]


def _plan(statement) -> list[str]:
    compiled = statement.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True})
    return [row[3] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]


@pytest.mark.parametrize(
    "filters",
    [
        PaymentFilter(q="PAY-2026-0001"),
        PaymentFilter(q="2026"),
        PaymentFilter(q="RF-77-A", status="succeeded"),
    ],
    ids=["exact", "prefix", "with-status"],
)
def test_search_is_answered_from_indexes_without_scanning_a_table(app_ctx, filters):
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("reads SQLite's EXPLAIN QUERY PLAN")
    plan = _plan(keyset(payments_matching(filters), Payment, Cursor(START, 10)))
    assert not [line for line in plan if line.startswith("SCAN")], plan
    searched = {line.split()[1] for line in plan if line.startswith("SEARCH")}
    assert {"payments", "refunds", "agreements"} <= searched


@pytest.mark.parametrize(
    "filters", [PaymentFilter(), PaymentFilter(status="failed")], ids=["everything", "by-status"]
)
def test_a_deep_page_seeks_on_an_index_instead_of_skipping_rows(app_ctx, filters):
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("reads SQLite's EXPLAIN QUERY PLAN")
    plan = _plan(keyset(payments_matching(filters), Payment, Cursor(START, 10)))
    assert len(plan) == 1 and plan[0].startswith("SEARCH payments USING INDEX"), plan
    assert "created_at<?" in plan[0], plan


def test_a_payment_comes_with_its_refunds_cancels_timeline_and_refundable_balance(app_ctx, create_user):
    clerk = create_user("support")
    payment = make_payment(db.session, status="succeeded", amount_minor=10000, refunded_minor=1500)
    make_refund(db.session, payment, amount_minor=1500, status="succeeded", requested_by_id=clerk.id)
    make_refund(db.session, payment, amount_minor=2000, status="awaiting_approval", requested_by_id=clerk.id)
    make_refund(db.session, payment, amount_minor=4000, status="failed")
    cancel = make_cancel(db.session, payment, requested_by_id=clerk.id, status="failed")
    record_event(db.session, "payment", payment.id, "created", {"status": "pending"})
    record_event(db.session, "payment", payment.id, "refund_requested", {"refund_id": 1}, actor_id=clerk.id)
    record_event(db.session, "payment", payment.id + 1, "created", {"status": "pending"})

    detail = payment_detail(db.session, payment.id)
    assert detail.refundable == Money(6500, "HKD")  # awaiting approval holds balance; failed does not
    assert [r.amount_minor for r in detail.refunds] == [1500, 2000, 4000]
    assert detail.cancels == [cancel]
    assert [entry.event.kind for entry in detail.timeline.entries] == ["created", "refund_requested"]
    assert detail.timeline.entries[1].actor == clerk.name
    assert detail.names == {clerk.id: clerk.name}


@pytest.mark.parametrize("status", ["pending", "failed", "cancelled", "charged_back"])
def test_nothing_is_refundable_unless_the_payment_holds_money(app_ctx, status):
    payment = make_payment(db.session, status=status)
    assert payment_detail(db.session, payment.id).refundable == Money(0, "HKD")


def test_an_unknown_payment_has_no_detail(app_ctx):
    assert payment_detail(db.session, 987_654) is None
