"""Database-level rules of the payment core, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from dashboard import crypto
from dashboard.agreements.models import Agreement
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.notifications.models import AppendOnlyViolation
from dashboard.notifications.models import Notification
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.reports.models import DailyTotal
from dashboard.reports.models import move_in_rollup
from dashboard.users.models import User


def make_payment(request_id: str = "pay-1", **fields) -> Payment:
    values = {"provider": "antom", "amount_minor": 1000, "currency": "HKD", **fields}
    return Payment(request_id=request_id, **values)


def make_user(email: str) -> User:
    return User(email=email, name="Staff", role="manager", password_hash="x")


def make_notification(**fields) -> Notification:
    values = {
        "provider": "worldpay",
        "kind": "authorized",
        "headers": {},
        "body": b"{}",
        "verdict": "missing",
    }
    values.update(fields)
    return Notification(**values)


def flush_fails(*objects) -> None:
    """Assert that inserting ``objects`` breaks a constraint; keep the test's earlier rows."""
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add_all(objects)
        db.session.flush()


# --- payments and refunds --------------------------------------------------------------------------


def test_a_payment_starts_pending_with_nothing_refunded_and_version_one(app_ctx):
    payment = make_payment()
    db.session.add(payment)
    db.session.flush()
    assert (payment.status, payment.refunded_minor, payment.version) == ("pending", 0, 1)
    assert str(payment.amount) == "10.00 HKD"
    assert "pay-1" in repr(payment)


@pytest.mark.parametrize("amount", [0, -1])
def test_a_payment_amount_must_be_positive(app_ctx, amount):
    flush_fails(make_payment(amount_minor=amount))


@pytest.mark.parametrize("refunded", [-1, 1001])
def test_refunded_must_stay_between_zero_and_the_amount(app_ctx, refunded):
    flush_fails(make_payment(refunded_minor=refunded))


def test_a_fully_refunded_payment_is_allowed(app_ctx):
    db.session.add(make_payment(refunded_minor=1000))
    db.session.flush()


def test_an_unknown_status_or_provider_is_refused(app_ctx):
    flush_fails(make_payment(status="paid"))
    flush_fails(make_payment(provider="stripe"))


def test_our_request_id_is_unique_per_provider(app_ctx):
    db.session.add(make_payment("same"))
    db.session.flush()
    db.session.add(make_payment("same", provider="worldpay"))
    db.session.flush()
    flush_fails(make_payment("same"))


def test_a_refund_amount_must_be_positive_and_its_request_id_unique(app_ctx):
    payment = make_payment()
    db.session.add(payment)
    db.session.flush()

    def refund(amount_minor: int) -> Refund:
        return Refund(
            payment_id=payment.id,
            request_id="r-1",
            amount_minor=amount_minor,
            currency="HKD",
            status="submitted",
        )

    flush_fails(refund(0))
    db.session.add(refund(1))
    db.session.flush()
    flush_fails(refund(1))


def test_nobody_approves_their_own_refund(app_ctx):
    payment, requester, manager = make_payment(), make_user("a@staff.example"), make_user("b@staff.example")
    db.session.add_all([payment, requester, manager])
    db.session.flush()

    def refund(request_id: str, approver: User) -> Refund:
        return Refund(
            payment_id=payment.id,
            request_id=request_id,
            amount_minor=100,
            currency="HKD",
            status="submitted",
            requested_by_id=requester.id,
            approved_by_id=approver.id,
        )

    db.session.add(refund("r-ok", manager))
    db.session.flush()
    flush_fails(refund("r-self", requester))


def test_a_cancel_belongs_to_a_payment_and_has_a_unique_request_id(app_ctx):
    payment = make_payment()
    db.session.add(payment)
    db.session.flush()
    db.session.add(Cancel(payment_id=payment.id, request_id="c-1"))
    db.session.flush()
    flush_fails(Cancel(payment_id=payment.id, request_id="c-1"))


def test_a_concurrent_update_of_a_payment_raises_stale_data(app_ctx):
    payment = make_payment()
    db.session.add(payment)
    db.session.flush()
    # Another writer moves the row on (its own UPDATE bumps the version).
    db.session.execute(
        update(Payment.__table__)
        .where(Payment.__table__.c.id == payment.id)
        .values(status="succeeded", version=Payment.__table__.c.version + 1)
    )
    payment.status = "failed"
    with pytest.raises(StaleDataError):
        db.session.flush()
    db.session.rollback()


def test_an_update_bumps_the_version(app_ctx):
    payment = make_payment()
    db.session.add(payment)
    db.session.flush()
    payment.status = "processing"
    db.session.flush()
    assert payment.version == 2


# --- agreements --------------------------------------------------------------------------------------


def test_agreement_tokens_are_encrypted_at_rest_and_found_by_their_hash(app_ctx):
    agreement = Agreement(wallet="ALIPAY_HK", customer_ref="cust-1", auth_state="state-1")
    agreement.set_access_token("tok-secret-9876")
    agreement.refresh_token = "refresh-secret"
    db.session.add(agreement)
    db.session.flush()
    raw = db.session.execute(
        text("SELECT access_token, refresh_token FROM agreements WHERE id = :id"), {"id": agreement.id}
    ).one()
    assert "tok-secret" not in raw.access_token
    assert "refresh-secret" not in raw.refresh_token
    assert agreement.access_token_last4 == "9876"
    db.session.expire_all()

    found = db.session.scalars(
        select(Agreement).where(Agreement.access_token_hash.in_(crypto.lookup_hashes("tok-secret-9876")))
    ).one()
    assert found.id == agreement.id
    assert found.access_token == "tok-secret-9876"
    assert found.status == "pending"


def test_agreements_without_tokens_may_share_a_null_hash_but_tokens_are_unique(app_ctx):
    db.session.add_all(
        [
            Agreement(wallet="ALIPAY_HK", customer_ref="c", auth_state="s-1"),
            Agreement(wallet="ALIPAY_HK", customer_ref="c", auth_state="s-2"),
        ]
    )
    db.session.flush()
    first = Agreement(wallet="GCASH", customer_ref="c", auth_state="s-3")
    first.set_access_token("token-1")
    db.session.add(first)
    db.session.flush()
    second = Agreement(wallet="GCASH", customer_ref="c", auth_state="s-4")
    second.set_access_token("token-1")
    flush_fails(second)


def test_the_auth_state_is_unique(app_ctx):
    db.session.add(Agreement(wallet="ALIPAY_HK", customer_ref="c", auth_state="s"))
    db.session.flush()
    flush_fails(Agreement(wallet="ALIPAY_HK", customer_ref="c", auth_state="s"))


# --- notifications inbox -----------------------------------------------------------------------------


def test_many_unverified_rows_may_share_a_dedup_key(app_ctx):
    db.session.add_all(
        [
            make_notification(dedup_key="evt-1", verdict="invalid"),
            make_notification(dedup_key="evt-1", verdict="missing"),
            make_notification(dedup_key="evt-1", verdict="valid"),
        ]
    )
    db.session.flush()


def test_only_one_verified_primary_row_holds_a_dedup_key(app_ctx):
    primary = make_notification(dedup_key="evt-2", verdict="valid")
    db.session.add(primary)
    db.session.flush()
    flush_fails(make_notification(dedup_key="evt-2", verdict="valid"))

    primary = make_notification(dedup_key="evt-3", verdict="valid")
    db.session.add(primary)
    db.session.flush()
    db.session.add(make_notification(dedup_key="evt-3", verdict="valid", duplicate_of_id=primary.id))
    db.session.add(make_notification(dedup_key="evt-3", verdict="valid", provider="antom"))
    db.session.flush()


def test_a_forged_notification_does_not_take_the_key_of_the_real_one(app_ctx):
    db.session.add(make_notification(dedup_key="evt-4", verdict="invalid"))
    db.session.flush()
    real = make_notification(dedup_key="evt-4", verdict="valid")
    db.session.add(real)
    db.session.flush()
    assert real.outcome == "pending"


def test_a_notification_keeps_its_raw_bytes_exactly(app_ctx):
    body = b'{"a": 1,  "b":"\xe6\xb8\xaf"}\n'
    notification = make_notification(body=body, headers={"Event-Signature": "x"})
    db.session.add(notification)
    db.session.flush()
    db.session.expire_all()
    loaded = db.session.get(Notification, notification.id)
    assert loaded.body == body
    assert loaded.headers == {"Event-Signature": "x"}


def test_a_notification_is_append_only_except_its_processing_fields(app_ctx, fake_clock):
    notification = make_notification()
    db.session.add(notification)
    db.session.flush()
    notification.verdict = "valid"
    notification.outcome = "applied"
    notification.processed_at = fake_clock.now()
    notification.attempts = 1
    notification.object_type, notification.object_id = "payment", "7"
    db.session.flush()

    notification.body = b"tampered"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


# --- events and rollups ------------------------------------------------------------------------------


def test_event_ids_increase_in_write_order(app_ctx):
    events = [Event(object_type="payment", object_id="1", kind="created", summary={"n": n}) for n in range(3)]
    for event in events:
        db.session.add(event)
        db.session.flush()
    assert [event.id for event in events] == sorted(event.id for event in events)
    assert len({event.id for event in events}) == 3


def _totals():
    rows = db.session.execute(
        select(
            DailyTotal.day, DailyTotal.provider, DailyTotal.status, DailyTotal.count, DailyTotal.amount_minor
        )
    ).all()
    return {(str(row.day), row.provider, row.status): (row.count, row.amount_minor) for row in rows}


def test_rollups_move_payments_between_status_buckets_of_their_hong_kong_day(app_ctx):
    # 17:30 UTC is 01:30 the next day in Hong Kong.
    late = make_payment("a", created_at=datetime(2026, 1, 5, 17, 30, tzinfo=UTC), amount_minor=500)
    early = make_payment("b", created_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), amount_minor=200)
    other = make_payment("c", created_at=datetime(2026, 1, 5, 17, 45, tzinfo=UTC), amount_minor=300)
    db.session.add_all([late, early, other])
    db.session.flush()
    for payment in (late, early, other):
        move_in_rollup(db.session, payment, None, "pending")
    move_in_rollup(db.session, late, "pending", "succeeded")
    move_in_rollup(db.session, late, "succeeded", "succeeded")  # no change, no write

    assert _totals() == {
        ("2026-01-06", "antom", "pending"): (1, 300),
        ("2026-01-06", "antom", "succeeded"): (1, 500),
        ("2026-01-05", "antom", "pending"): (1, 200),
    }

    move_in_rollup(db.session, other, "pending", "succeeded")
    assert _totals()[("2026-01-06", "antom", "succeeded")] == (2, 800)
    assert _totals()[("2026-01-06", "antom", "pending")] == (0, 0)
