"""The payments read side: stable keyset pages, filters, search by every kind of id, one payment."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.listing import PAGE_SIZE
from dashboard.listing import Cursor
from dashboard.listing import in_chunks
from dashboard.listing import keyset
from dashboard.money import Money
from dashboard.payments.models import Payment
from dashboard.payments.queries import PaymentFilter
from dashboard.payments.queries import export_rows
from dashboard.payments.queries import payment_detail
from dashboard.payments.queries import payment_page
from dashboard.payments.queries import payments_matching
from tests.factories import make_agreement
from tests.factories import make_cancel
from tests.factories import make_payment
from tests.factories import make_refund

START = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
ZONE = "Asia/Hong_Kong"


def walk(filters: PaymentFilter) -> list[list[int]]:
    """Return the ids on every page, following the cursors to the end."""
    pages, before = [], None
    while True:
        page = payment_page(db.session, filters, ZONE, before)
        rows, before = page.rows, page.next_cursor
        pages.append([row.id for row in rows])
        if before is None:
            return pages


def found(q: str) -> list[str]:
    rows = payment_page(db.session, PaymentFilter(q=q), ZONE).rows
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
    cursor = payment_page(db.session, PaymentFilter(), ZONE).next_cursor
    second_before = payment_page(db.session, PaymentFilter(), ZONE, cursor).rows
    for n in range(5):
        make_payment(db.session, created_at=START + timedelta(hours=1, seconds=n))
    second_after = payment_page(db.session, PaymentFilter(), ZONE, Cursor.parse(str(cursor))).rows
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
    rows = payment_page(db.session, PaymentFilter(provider="worldpay", q="PAY-2026"), ZONE).rows
    assert rows == []
    rows = payment_page(db.session, PaymentFilter(provider="worldpay", q="ORDER"), ZONE).rows
    assert sorted(row.request_id for row in rows) == ["ORDERX1Z", "ORDER_1%"]


# --- the filters beside the search ----------------------------------------------------------------


def ids_of(filters: PaymentFilter) -> set[str]:
    return {row.request_id for page in walk_rows(filters) for row in page}


def walk_rows(filters: PaymentFilter) -> list[list[Payment]]:
    pages, before = [], None
    while True:
        page = payment_page(db.session, filters, ZONE, before)
        rows, before = page.rows, page.next_cursor
        pages.append(rows)
        if before is None:
            return pages


def test_a_wallet_code_matches_as_either_provider_stores_it_whole_and_in_any_case(app_ctx):
    make_payment(db.session, request_id="ANTOM-AHK", payment_method="ALIPAY_HK")
    make_payment(db.session, request_id="WP-AHK", provider="worldpay", payment_method="alipay_hk")
    make_payment(db.session, request_id="ANTOM-GCASH", payment_method="GCASH")
    make_payment(db.session, request_id="ANTOM-ACN", payment_method="ALIPAY_CN")
    assert ids_of(PaymentFilter(method="alipay_hk")) == {"ANTOM-AHK", "WP-AHK"}
    assert ids_of(PaymentFilter(method="Alipay_HK", provider="antom")) == {"ANTOM-AHK"}
    assert ids_of(PaymentFilter(method="gcash")) == {"ANTOM-GCASH"}
    assert ids_of(PaymentFilter(method="ALIPAY")) == set()  # whole codes only


def test_a_result_code_matches_the_code_a_payment_holds_whole_and_as_stored(app_ctx):
    make_payment(db.session, request_id="NO-MONEY", status="failed", result_code="USER_BALANCE_NOT_ENOUGH")
    make_payment(
        db.session,
        request_id="NO-MONEY-WP",
        provider="worldpay",
        status="failed",
        result_code="USER_BALANCE_NOT_ENOUGH",
    )
    make_payment(
        db.session, request_id="STILL-OPEN", status="processing", result_code="USER_BALANCE_NOT_ENOUGH"
    )
    make_payment(db.session, request_id="OTHER", status="failed", result_code="RISK_REJECT")
    make_payment(db.session, request_id="NO-CODE", status="failed")
    assert ids_of(PaymentFilter(code="USER_BALANCE_NOT_ENOUGH", status="failed", provider="antom")) == {
        "NO-MONEY"
    }
    assert ids_of(PaymentFilter(code="USER_BALANCE_NOT_ENOUGH")) == {"NO-MONEY", "NO-MONEY-WP", "STILL-OPEN"}
    assert ids_of(PaymentFilter(code="user_balance_not_enough")) == set()
    assert ids_of(PaymentFilter(code="USER_BALANCE")) == set()


@pytest.mark.parametrize(
    ("currency", "low", "high", "expected"),
    [
        ("HKD", "12.50", "12.50", {"HKD-1250"}),  # one amount, exactly
        ("HKD", "12.5", None, {"HKD-1250", "HKD-1251"}),
        ("HKD", None, "12.50", {"HKD-1249", "HKD-1250"}),
        ("HKD", "12.49", "12.50", {"HKD-1249", "HKD-1250"}),  # both ends included
        ("JPY", "1250", None, {"JPY-1250"}),  # no minor units: 1250 yen is 1250, not 125000
        ("KWD", "1.25", "1.25", {"KWD-1250"}),  # three decimals: 1.250 dinars is 1250 fils
        ("KWD", "1.249", "1.249", set()),
    ],
)
def test_an_amount_range_is_in_major_units_of_its_currency(app_ctx, currency, low, high, expected):
    for code, minor in [("HKD", 1249), ("HKD", 1250), ("HKD", 1251), ("JPY", 1250), ("KWD", 1250)]:
        make_payment(db.session, request_id=f"{code}-{minor}", currency=code, amount_minor=minor)
    filters = PaymentFilter(
        currency=currency,
        amount_min=None if low is None else Decimal(low),
        amount_max=None if high is None else Decimal(high),
    )
    assert ids_of(filters) == expected


def test_a_currency_alone_keeps_its_payments_and_an_amount_never_goes_without_one(app_ctx):
    make_payment(db.session, request_id="IN-HKD", currency="HKD")
    make_payment(db.session, request_id="IN-JPY", currency="JPY", amount_minor=1200)
    assert ids_of(PaymentFilter(currency="JPY")) == {"IN-JPY"}
    with pytest.raises(ValueError, match="needs its currency"):
        payment_page(db.session, PaymentFilter(amount_min=Decimal(1)), ZONE)


def test_created_days_are_hong_kong_days(app_ctx):
    # Hong Kong's 2 March runs from 1 March 16:00 to 2 March 16:00 UTC.
    for name, at in [
        ("LATE-1ST-HK", datetime(2026, 3, 1, 15, 59, 59, 999999, tzinfo=UTC)),
        ("EARLY-2ND-HK", datetime(2026, 3, 1, 16, 0, tzinfo=UTC)),
        ("LATE-2ND-HK", datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC)),
        ("EARLY-3RD-HK", datetime(2026, 3, 2, 16, 0, tzinfo=UTC)),
    ]:
        make_payment(db.session, request_id=name, created_at=at)
    second = date(2026, 3, 2)
    assert ids_of(PaymentFilter(day_from=second, day_to=second)) == {"EARLY-2ND-HK", "LATE-2ND-HK"}
    assert ids_of(PaymentFilter(day_from=second)) == {"EARLY-2ND-HK", "LATE-2ND-HK", "EARLY-3RD-HK"}
    assert ids_of(PaymentFilter(day_to=date(2026, 3, 1))) == {"LATE-1ST-HK"}


def test_has_refunds_keeps_payments_with_money_refunded(app_ctx):
    refunded = make_payment(db.session, request_id="REFUNDED", status="succeeded", refunded_minor=500)
    make_refund(db.session, refunded, amount_minor=500, status="succeeded")
    in_flight = make_payment(db.session, request_id="REFUND-IN-FLIGHT", status="succeeded")
    make_refund(db.session, in_flight, amount_minor=500, status="processing")
    make_payment(db.session, request_id="NEVER-REFUNDED", status="succeeded")
    assert ids_of(PaymentFilter(has_refunds=True)) == {"REFUNDED"}


def test_every_filter_combines_with_the_search_and_the_pages(app_ctx):
    for n in range(PAGE_SIZE + 2):
        make_payment(
            db.session,
            request_id=f"ORD-{n:03d}",
            payment_method="GCASH",
            currency="HKD",
            amount_minor=10000 + n,
            refunded_minor=100,
            created_at=START + timedelta(seconds=n),
        )
    make_payment(
        db.session, request_id="ORD-OTHER", payment_method="GCASH", currency="JPY", amount_minor=10001
    )
    filters = PaymentFilter(
        q="ORD-",
        method="GCASH",
        currency="HKD",
        amount_min=Decimal("100.01"),
        day_from=date(2026, 3, 2),
        has_refunds=True,
    )
    pages = walk_rows(filters)
    assert [len(page) for page in pages] == [PAGE_SIZE, 1]
    assert {row.request_id for page in pages for row in page} == {
        f"ORD-{n:03d}" for n in range(1, PAGE_SIZE + 2)
    }


def test_an_export_reads_every_row_once_in_chunks_newest_first(app_ctx):
    made = [make_payment(db.session, created_at=START + timedelta(minutes=n // 2)).id for n in range(11)]
    db.session.commit()  # each chunk ends its read transaction
    chunks = list(in_chunks(db.session, export_rows(db.session, PaymentFilter(), ZONE), Payment, 4))
    assert [len(chunk) for chunk in chunks] == [4, 4, 3]
    newest_first = sorted(
        made, key=lambda i: (START + timedelta(minutes=made.index(i) // 2), i), reverse=True
    )
    assert [row.id for chunk in chunks for row in chunk] == newest_first


def _plan(statement) -> list[str]:
    compiled = statement.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True})
    return [row[3] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]


def test_a_wallet_page_reads_both_spellings_in_page_order_and_merges_one_page_of_each(app_ctx):
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("reads SQLite's EXPLAIN QUERY PLAN")
    plan = _plan(
        keyset(payments_matching(db.session, PaymentFilter(method="GCASH"), ZONE), Payment, Cursor(START, 10))
    )
    # The sorter holds at most a page per spelling: SQLite stops reading a spelling once it is full.
    assert plan == [
        "SEARCH payments USING INDEX ix_payments_payment_method_created_at_id"
        " (payment_method=? AND created_at<?)",
        "USE TEMP B-TREE FOR ORDER BY",
    ]


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
