"""The agreements read side: keyset pages, status filter, search by customer ref or authState."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from dashboard.agreements.models import Agreement
from dashboard.agreements.queries import RECENT_PAYMENTS
from dashboard.agreements.queries import AgreementFilter
from dashboard.agreements.queries import agreement_detail
from dashboard.agreements.queries import agreement_page
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.listing import PAGE_SIZE
from tests.factories import make_agreement
from tests.factories import make_payment

START = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


def found(**filters) -> list[str]:
    rows = agreement_page(db.session, AgreementFilter(**filters)).rows
    return [row.customer_ref for row in rows]


def test_pages_list_every_agreement_once_newest_first(app_ctx):
    made = [
        make_agreement(db.session, created_at=START + timedelta(minutes=n // 2)) for n in range(PAGE_SIZE + 3)
    ]
    page = agreement_page(db.session, AgreementFilter())
    first, cursor = page.rows, page.next_cursor
    page = agreement_page(db.session, AgreementFilter(), cursor)
    second, last = page.rows, page.next_cursor
    expected = [a.id for a in sorted(made, key=lambda a: (a.created_at, a.id), reverse=True)]
    assert [a.id for a in first + second] == expected
    assert (len(first), len(second), last) == (PAGE_SIZE, 3, None)


def test_search_by_customer_ref_whole_or_start_and_by_exact_auth_state(app_ctx):
    make_agreement(db.session, customer_ref="CUST-HK-1001", auth_state="9f0c-aa11", created_at=START)
    make_agreement(db.session, customer_ref="CUST-HK-1002", auth_state="9f0c-bb22", created_at=START)
    make_agreement(
        db.session, customer_ref="VIP-CUST-HK", auth_state="77aa", status="active", created_at=START
    )
    assert found(q="CUST-HK-1001") == ["CUST-HK-1001"]
    assert sorted(found(q="CUST-HK")) == ["CUST-HK-1001", "CUST-HK-1002"]
    assert found(q="9f0c-bb22") == ["CUST-HK-1002"]
    assert found(q="9f0c") == []  # authState matches whole only
    assert found(q="HK-1001") == []  # never the middle of a reference
    assert found(status="active") == ["VIP-CUST-HK"]
    assert found(status="active", q="CUST") == []


def test_an_agreement_comes_with_its_newest_payments_timeline_and_revoker(app_ctx, create_user):
    clerk = create_user("support")
    agreement = make_agreement(db.session, status="revoked", revoked_by_id=clerk.id)
    payments = [
        make_payment(db.session, agreement_id=agreement.id, created_at=START + timedelta(days=n))
        for n in range(RECENT_PAYMENTS + 2)
    ]
    make_payment(db.session)  # another customer's
    record_event(
        db.session, "agreement", agreement.id, "revoke_requested", {"reason": "asked"}, actor_id=clerk.id
    )

    detail = agreement_detail(db.session, agreement.id)
    assert [p.id for p in detail.payments] == [p.id for p in reversed(payments)][:RECENT_PAYMENTS]
    assert [entry.text for entry in detail.timeline.entries] == ["asked"]
    assert detail.revoked_by == clerk.name
    assert agreement_detail(db.session, agreement.id + 1000) is None


# --- wallet, status and "expiring within" --------------------------------------------------------

NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # the fake clock's start


def with_tokens(ref: str, days: int | None, refresh_days: int | None = None, **fields) -> None:
    """Add an agreement whose access token (and refresh token) expire ``days`` (``refresh_days``) from now."""
    agreement = make_agreement(db.session, customer_ref=ref, created_at=START, **fields)
    if days is not None:
        agreement.access_token_expires_at = NOW + timedelta(days=days)
    if refresh_days is not None:
        agreement.refresh_token_expires_at = NOW + timedelta(days=refresh_days)
    db.session.flush()


def test_an_agreement_runs_out_with_the_later_of_its_tokens():
    agreement = Agreement(access_token_expires_at=NOW)
    assert agreement.expires_at == NOW
    agreement.refresh_token_expires_at = NOW + timedelta(days=365)
    assert agreement.expires_at == NOW + timedelta(days=365)
    agreement.access_token_expires_at = NOW + timedelta(days=30)  # a refresh
    assert agreement.expires_at == NOW + timedelta(days=365)
    assert Agreement().expires_at is None


def test_filter_by_wallet_alone_and_with_a_status(app_ctx):
    make_agreement(
        db.session, customer_ref="HK-ACTIVE", wallet="ALIPAY_HK", status="active", created_at=START
    )
    make_agreement(db.session, customer_ref="HK-PENDING", wallet="ALIPAY_HK", created_at=START)
    make_agreement(db.session, customer_ref="PH-ACTIVE", wallet="GCASH", status="active", created_at=START)
    assert sorted(found(wallet="ALIPAY_HK")) == ["HK-ACTIVE", "HK-PENDING"]
    assert found(wallet="ALIPAY_HK", status="active") == ["HK-ACTIVE"]
    assert found(wallet="GCASH", status="pending") == []
    assert found(wallet="KAKAOPAY") == []


def test_expiring_within_days_keeps_active_agreements_that_run_out_by_then(app_ctx, fake_clock):
    with_tokens("SOON", 3, status="active")
    with_tokens("LATER", 20, status="active")
    with_tokens("RENEWED", 3, refresh_days=200, status="active")  # its refresh token renews it
    with_tokens("PAST", -1, status="active")  # not swept yet: it is running out
    with_tokens("REVOKED", 3, status="revoked")
    with_tokens("PENDING", None)
    with_tokens("GCASH-SOON", 2, status="active", wallet="GCASH")

    assert sorted(found(expiring=7)) == ["GCASH-SOON", "PAST", "SOON"]
    assert sorted(found(expiring=30)) == ["GCASH-SOON", "LATER", "PAST", "SOON"]
    assert found(expiring=7, wallet="GCASH") == ["GCASH-SOON"]
    assert sorted(found(expiring=7, status="active", q="S")) == ["SOON"]
    fake_clock.advance(days=18)
    assert "LATER" in found(expiring=3)
