"""Every list's search by id, as staff see it: each kind of id whole or by its start, a too broad start,
the longest ids providers send, and a search too long to be an id."""

from __future__ import annotations

import html
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard import listing
from dashboard.agreements.models import Agreement
from dashboard.extensions import db
from dashboard.listing import PAGE_SIZE
from dashboard.payments.models import Payment
from dashboard.security import NUL_REFUSED
from tests.factories import make_agreement
from tests.factories import make_notification
from tests.factories import make_payment
from tests.factories import make_refund

PAID = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
#: A full Worldpay payment id is 160–180 characters.
WORLDPAY_ID = "eyJrIjoxLCJkIjoi" + "Zk9GcW1xS3hQ" * 13 + "ZmQ=In0="


def payments_shown(response) -> list[str]:
    return re.findall(
        r'<tr id="payment-\d+">.*?<code>([^<]+)</code></a>', response.get_data(as_text=True), re.S
    )


def agreements_shown(response) -> list[str]:
    return re.findall(r'<tr id="agreement-\d+">.*?">([^<]+)</a>', response.get_data(as_text=True), re.S)


def notifications_shown(response) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="notification-(\d+)"', response.get_data(as_text=True))]


@pytest.fixture
def payments(app, client):
    with app.app_context():
        customer = make_agreement(db.session, customer_ref="CUST-HK-42", auth_state="state-42")
        card = make_payment(
            db.session,
            request_id="PAY-WP-1",
            provider="worldpay",
            provider_payment_id=WORLDPAY_ID,
            created_at=PAID,
        )
        wallet = make_payment(
            db.session,
            request_id="PAY-AN-1",
            provider_payment_id="2026030219ANTOM",
            agreement_id=customer.id,
            created_at=PAID + timedelta(minutes=1),
        )
        make_refund(db.session, card, request_id="RF-HK-1", provider_refund_id="2026030219REFUND")
        make_payment(db.session, request_id="PAY-OTHER", created_at=PAID + timedelta(minutes=2))
        made = {"card": card.request_id, "wallet": wallet.request_id}
        db.session.commit()
    assert len(WORLDPAY_ID) == 180
    return made


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("PAY-WP-1", ["PAY-WP-1"]),  # our request id
        ("PAY-WP", ["PAY-WP-1"]),
        (WORLDPAY_ID, ["PAY-WP-1"]),  # the provider's payment id, whole
        (WORLDPAY_ID[:40], ["PAY-WP-1"]),
        ("2026030219ANTOM", ["PAY-AN-1"]),
        ("RF-HK-1", ["PAY-WP-1"]),  # a refund's request id
        ("RF-HK", ["PAY-WP-1"]),
        ("2026030219REFUND", ["PAY-WP-1"]),  # the provider's refund id
        ("2026030219", ["PAY-AN-1", "PAY-WP-1"]),  # the start of a payment id and of a refund id
        ("CUST-HK-42", ["PAY-AN-1"]),  # the customer reference of its agreement
        ("CUST-HK", ["PAY-AN-1"]),
        ("HK-42", []),  # never the middle of an id
    ],
)
def test_the_payments_search_finds_each_kind_of_id_whole_or_by_its_start(
    client, login_as, payments, q, expected
):
    login_as("viewer")
    assert payments_shown(client.get("/payments/", query_string={"q": q})) == expected


def test_the_payments_search_finds_a_payment_by_its_number(app, client, login_as, payments):
    login_as("viewer")
    with app.app_context():
        number = db.session.scalar(select(Payment.id).where(Payment.request_id == "PAY-AN-1"))

    def shown(q: str) -> list[str]:
        return payments_shown(client.get("/payments/", query_string={"q": q}))

    assert shown(f"#{number}") == shown(f" #{number} ") == ["PAY-AN-1"]
    assert "PAY-AN-1" in shown(str(number))  # besides ids that start with the same digits
    assert shown(f"#{number}99") == []


def test_a_search_combines_with_the_filters(client, login_as, payments):
    login_as("viewer")
    assert payments_shown(client.get("/payments/?q=PAY-&provider=worldpay")) == ["PAY-WP-1"]
    assert payments_shown(client.get("/payments/?q=PAY-&status=failed")) == []


def test_a_prefix_of_too_many_ids_lists_the_exact_matches_and_says_so(app, client, login_as, monkeypatch):
    monkeypatch.setattr(listing, "SEARCH_CAP", 2)
    login_as("viewer")
    with app.app_context():
        for request_id in ("WIDE", "WIDE-1", "WIDE-2", "WIDE-3"):
            make_payment(db.session, request_id=request_id)
        db.session.commit()

    broad = client.get("/payments/?q=WIDE")
    assert payments_shown(broad) == ["WIDE"]
    assert 'id="search-too-broad"' in broad.get_data(as_text=True)
    narrow = client.get("/payments/?q=WIDE-1")
    assert payments_shown(narrow) == ["WIDE-1"]
    assert 'id="search-too-broad"' not in narrow.get_data(as_text=True)


def test_the_next_page_of_a_search_continues_it(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        for n in range(PAGE_SIZE + 2):
            make_payment(db.session, request_id=f"DEEP-{n:03d}", created_at=PAID + timedelta(seconds=n))
        make_payment(db.session, request_id="SHALLOW", created_at=PAID)
        db.session.commit()

    first = client.get("/payments/?q=DEEP-")
    assert len(payments_shown(first)) == PAGE_SIZE
    link = re.search(r'<a href="([^"]+)"[^>]*>Older payments', first.get_data(as_text=True)).group(1)
    second = client.get(link.replace("&amp;", "&"))
    assert payments_shown(second) == ["DEEP-001", "DEEP-000"]


@pytest.mark.parametrize(
    ("url", "longest", "rows"),
    [
        ("/payments/", 512, r'<tr id="payment-'),
        ("/agreements/", 64, r'<tr id="agreement-'),
        ("/notifications/", 255, r'<tr id="notification-'),
    ],
)
def test_a_search_longer_than_any_id_is_refused_and_lists_nothing(
    client, login_as, payments, url, longest, rows
):
    login_as("admin")
    with client.application.app_context():
        make_notification(db.session, reference="REF-1")
        db.session.commit()
    allowed = client.get(url, query_string={"q": "X" * longest}).get_data(as_text=True)
    assert "cannot be longer" not in allowed

    refused = client.get(url, query_string={"q": "X" * (longest + 1)}).get_data(as_text=True)
    assert f"Field cannot be longer than {longest} characters." in refused
    assert not re.search(rows, refused)
    assert re.search(rows, client.get(url).get_data(as_text=True))  # there are rows to hide


@pytest.fixture
def agreements(app, client):
    with app.app_context():
        for ref, state in (("CUST-A-1", "aa-1"), ("CUST-A-2", "aa-2"), ("OTHER-1", "bb-1")):
            make_agreement(db.session, customer_ref=ref, auth_state=state, created_at=PAID)
        db.session.commit()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("CUST-A-1", ["CUST-A-1"]),
        ("CUST-A", ["CUST-A-2", "CUST-A-1"]),
        ("aa-2", ["CUST-A-2"]),  # an authState, whole only
        ("aa-", []),
        ("A-1", []),
    ],
)
def test_the_agreements_search_finds_a_customer_ref_or_auth_state(client, login_as, agreements, q, expected):
    login_as("viewer")
    assert agreements_shown(client.get("/agreements/", query_string={"q": q})) == expected


def test_the_agreements_search_finds_an_agreement_by_its_number(app, client, login_as, agreements):
    login_as("viewer")
    with app.app_context():
        number = db.session.scalar(select(Agreement.id).where(Agreement.customer_ref == "CUST-A-2"))
    assert agreements_shown(client.get("/agreements/", query_string={"q": f"#{number}"})) == ["CUST-A-2"]
    assert agreements_shown(client.get("/agreements/", query_string={"q": str(number)})) == ["CUST-A-2"]


def test_the_agreements_search_says_when_a_prefix_is_too_broad(client, login_as, agreements, monkeypatch):
    monkeypatch.setattr(listing, "SEARCH_CAP", 1)
    login_as("viewer")
    response = client.get("/agreements/?q=CUST-A")
    assert agreements_shown(response) == []
    assert 'id="search-too-broad"' in response.get_data(as_text=True)
    assert agreements_shown(client.get("/agreements/?q=CUST-A-2")) == ["CUST-A-2"]


def test_the_inbox_finds_a_long_dedup_key_whole(app, client, login_as):
    login_as("viewer")
    key = "PAYMENT_RESULT:" + WORLDPAY_ID[:200] + ":S"
    with app.app_context():
        wanted = make_notification(db.session, dedup_key=key).id
        make_notification(db.session, dedup_key="PAYMENT_RESULT:other:S")
        db.session.commit()
    assert notifications_shown(client.get("/notifications/", query_string={"q": key})) == [wanted]


CONTROL_CHARACTERS = "Remove the tabs, line breaks or other control characters."


@pytest.mark.parametrize(
    ("url", "rows", "message"),
    [
        # A NUL is refused before any page runs (400), whatever the field.
        ("/payments/?q=PAY-WP%001", r'<tr id="payment-', NUL_REFUSED),
        ("/agreements/?q=CUST%0A1", r'<tr id="agreement-', CONTROL_CHARACTERS),
        ("/notifications/?q=REF%091", r'<tr id="notification-', CONTROL_CHARACTERS),
        ("/audit/?object_id=1%00", r'<tr id="audit-', NUL_REFUSED),
    ],
)
def test_a_search_with_control_characters_is_refused_and_lists_nothing(
    client, login_as, payments, url, rows, message
):
    login_as("admin")
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code < 500
    assert html.escape(message, quote=True) in page or message in page
    assert not re.search(rows, page)
