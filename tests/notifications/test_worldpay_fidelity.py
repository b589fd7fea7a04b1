"""Worldpay as its published documents describe it, end to end: events shaped as the Events spec
shows them (tests/payloads/worldpay), POSTed over HTTP into the real webhook, and the simulator's
switches in both positions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re

import pytest
import requests
from sqlalchemy import select
from sqlalchemy import update

from dashboard import clock
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.payments.changes import INQUIRE_PAYMENT
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import NotRefundable
from dashboard.payments.tasks import sweep_open_payments
from dashboard.sandbox import worldpay as simulator
from dashboard.sandbox.core import ActiveFaults
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import WorldpayPayment
from dashboard.sandbox.store import transaction
from dashboard.users import service as users
from tests.conftest import TEST_PASSWORD
from tests.factories import make_refund
from tests.notifications.notify_helpers import notifications
from tests.notifications.notify_helpers import post_worldpay_over_http
from tests.notifications.notify_helpers import spec_event
from tests.notifications.notify_helpers import worldpay_secrets
from tests.sandbox import worldpay_helpers as wh


def fresh(model, object_id):
    db.session.rollback()
    return db.session.get(model, object_id)


def sale(minor: int = 12345) -> Payment:
    """An AlipayHK sale waiting for the shopper, with nothing queued."""
    payment = payments.create_alipayhk_payment(Money(minor, "HKD"), "Order 51")
    assert payment.status == "processing"
    return payment


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def payment_page(sandboxed, payment_id: int) -> str:
    """Sign a viewer in to the served app, as a browser would, and return the payment's page."""
    email = f"viewer-{payment_id}@staff.example"
    users.create_user(email, "Vera Viewer", "viewer", TEST_PASSWORD, must_change_password=False)
    with requests.Session() as browser:
        token = _CSRF.search(browser.get(f"{sandboxed.url}/login", timeout=5).text).group(1)
        form = {"csrf_token": token, "email": email, "password": TEST_PASSWORD}
        assert browser.post(f"{sandboxed.url}/login", data=form, timeout=5).url == f"{sandboxed.url}/"
        return browser.get(f"{sandboxed.url}/payments/{payment_id}", timeout=5).text


def refund_note(page: str) -> str:
    """Return why the payment page says nothing can be refunded now."""
    return html.unescape(re.search(r'<span id="refund-note">([^<]*)</span>', page).group(1))


def refunds_of(payment_id: int) -> list[Refund]:
    db.session.rollback()
    return list(db.session.scalars(select(Refund).where(Refund.payment_id == payment_id)))


# --- Event-Signature: hex or base64 ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_an_event_signed_in_hex_or_base64_is_accepted_and_applied(sandboxed, encoding):
    paying = sale()
    sandboxed.app.extensions["huey"].flush()
    body = spec_event("event_authorized", paying.request_id, minor=12345)

    answer = post_worldpay_over_http(sandboxed.app, sandboxed.url, body, encoding=encoding)
    sandboxed.run_jobs()

    assert answer.status_code == 200
    [row] = notifications()
    assert (row.verdict, row.outcome) == ("valid", "applied")
    assert fresh(Payment, paying.id).status == "succeeded"


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_the_simulator_signs_in_the_encoding_its_switch_names(sandboxed, monkeypatch, encoding):
    monkeypatch.setitem(sandboxed.app.config, "SANDBOX_WORLDPAY_SIGNATURE_ENCODING", encoding)
    refused = sale()
    wh.choose(refused.redirect_url, "refuse")

    sandboxed.settle()

    [row] = notifications()
    assert (row.verdict, row.outcome) == ("valid", "applied")
    [(key_id, secret)] = worldpay_secrets(sandboxed.app).items()
    digest = hmac.new(secret.encode(), row.body, hashlib.sha256).digest()
    written = base64.b64encode(digest).decode() if encoding == "base64" else digest.hex()
    assert row.headers["Event-Signature"] == f"{key_id}/SHA256/{written}"
    assert fresh(Payment, refused.id).status == "failed"


# --- "Authorised" stays authorised: refundable only when the actions offer a reversal --------------


def test_an_authorised_sale_holds_money_but_is_not_refundable_until_captured(sandboxed):
    authorised = sale()
    wh.choose(authorised.redirect_url, "authorise")
    sandboxed.settle()
    assert fresh(Payment, authorised.id).status == "succeeded"

    with pytest.raises(NotRefundable, match="authorised but not captured") as refused:
        payments.refund_payment(authorised.id, Money(1000, "HKD"), None, payments.new_refund_request_id())

    assert "try again once it is captured" in str(refused.value)
    assert refunds_of(authorised.id) == []
    page = payment_page(sandboxed, authorised.id)
    assert '<dd id="payment-refundable">HK$0.00</dd>' in page
    assert refund_note(page) == str(refused.value)
    assert '<dd id="payment-actions">none</dd>' in page


def test_a_captured_sale_is_refundable_as_its_actions_offer(sandboxed):
    captured = sale()
    wh.choose(captured.redirect_url, "capture")
    sandboxed.settle()

    page = payment_page(sandboxed, captured.id)

    assert '<dd id="payment-refundable">HK$123.45</dd>' in page
    assert 'id="refund-note"' not in page
    refund = payments.refund_payment(captured.id, Money(1000, "HKD"), None, payments.new_refund_request_id())
    assert refund.status == "processing"


# --- no reversal offered while a refund is in flight -------------------------------------------------


def test_a_refund_while_another_is_in_flight_is_refused_saying_when_to_retry(
    sandboxed, monkeypatch, fake_clock
):
    # A reversal takes 60 documented seconds: 0.06 s of the fake clock, which only the test moves.
    monkeypatch.setattr(sandboxed.sandbox, "time_scale", 0.001)
    captured = sale()
    wh.choose(captured.redirect_url, "capture")
    fake_clock.advance(seconds=1)
    sandboxed.settle()
    first = payments.refund_payment(captured.id, Money(1000, "HKD"), None, payments.new_refund_request_id())
    assert first.status == "processing"
    sandboxed.settle()  # sentForRefund arrives; the query after it sees no actions

    with pytest.raises(NotRefundable) as refused:
        payments.refund_payment(captured.id, Money(500, "HKD"), None, payments.new_refund_request_id())

    assert str(refused.value) == (
        f"Worldpay offers no reversal while refund {first.request_id} of HK$10.00 is in flight; "
        "try again once it has finished (its status shows on this payment's page)"
    )
    assert [refund.id for refund in refunds_of(captured.id)] == [first.id]
    page = payment_page(sandboxed, captured.id)
    assert '<dd id="payment-refundable">HK$0.00</dd>' in page
    assert refund_note(page) == str(refused.value)

    fake_clock.advance(seconds=1)
    sandboxed.settle()  # the first refund finishes; the query after it sees the actions again
    assert fresh(Refund, first.id).status == "succeeded"
    second = payments.refund_payment(captured.id, Money(500, "HKD"), None, payments.new_refund_request_id())
    assert second.status == "processing"


# --- settled and settlementFailed ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "last", "status", "code"),
    [(12345, "settled", "settled", "settled"), (900, "settlementFailed", "failed", "settlementFailed")],
)
def test_a_captured_sale_settles_a_compressed_day_later(
    sandboxed, monkeypatch, fake_clock, minor, last, status, code
):
    # One documented day is 86.4 s of the fake clock at this scale.
    monkeypatch.setattr(sandboxed.sandbox, "time_scale", 0.001)
    captured = sale(minor)
    wh.choose(captured.redirect_url, "capture")
    fake_clock.advance(seconds=1)
    sandboxed.settle()
    assert fresh(Payment, captured.id).status == "succeeded"

    fake_clock.advance(seconds=90)
    sandboxed.settle()

    payment = fresh(Payment, captured.id)
    assert (payment.status, payment.result_code) == (status, code)
    kinds = [row.kind for row in notifications()]
    assert kinds == ["authorized", "sentForSettlement", last]
    assert {row.outcome for row in notifications()} == {"applied"}
    page = requests.get(f"{sandboxed.url}/sandbox/", timeout=5).text
    assert f'<td class="wp-settlement">{last}</td>' in page


@pytest.mark.parametrize(
    ("sample", "status"), [("event_settled", "settled"), ("event_settlement_failed", "failed")]
)
def test_settlement_events_as_the_spec_shows_them_move_the_sale(sandboxed, sample, status):
    paying = sale()
    sandboxed.app.extensions["huey"].flush()
    for body in (
        spec_event("event_authorized", paying.request_id, minor=12345),
        spec_event(sample, paying.request_id, minor=12345),
    ):
        assert post_worldpay_over_http(sandboxed.app, sandboxed.url, body).status_code == 200
        sandboxed.run_jobs()

    assert [row.outcome for row in notifications()] == ["applied", "applied"]
    assert fresh(Payment, paying.id).status == status


# --- refunded without a reference ------------------------------------------------------------------


def captured_sale(sandboxed, minor: int = 12345) -> Payment:
    paying = sale(minor)
    wh.choose(paying.redirect_url, "capture")
    sandboxed.settle()
    return paying


@pytest.mark.parametrize("shape", ["spec", "rich"])
@pytest.mark.parametrize(("minor", "final"), [(12345, "succeeded"), (700, "failed")])
def test_a_refund_ends_by_the_simulators_events_in_either_shape(sandboxed, monkeypatch, shape, minor, final):
    monkeypatch.setitem(sandboxed.app.config, "SANDBOX_WORLDPAY_EVENT_SHAPE", shape)
    paid = captured_sale(sandboxed, minor)
    # Magic 700: a reversal of a 700 sale fails by a refundFailed event.
    amount = Money(700 if minor == 700 else 2000, "HKD")
    refund = payments.refund_payment(paid.id, amount, "late", payments.new_refund_request_id())
    assert refund.status == "processing"

    sandboxed.settle()

    refund = fresh(Refund, refund.id)
    assert refund.status == final
    assert fresh(Payment, paid.id).refunded_minor == (amount.minor if final == "succeeded" else 0)
    last = [row for row in notifications() if row.kind in ("refunded", "refundFailed")][-1]
    assert (last.kind, last.outcome) == ("refunded" if final == "succeeded" else "refundFailed", "applied")
    body = last.body.decode()
    assert ('"reference"' in body) == (shape == "rich" or final == "failed")


def test_a_refunded_event_without_reference_finishes_the_refund_of_its_amount(sandboxed):
    paid = captured_sale(sandboxed)
    other = payments.refund_payment(paid.id, Money(1000, "HKD"), None, payments.new_refund_request_id())
    sandboxed.settle()  # sentForRefund, then refunded: the other refund is done
    assert fresh(Refund, other.id).status == "succeeded"
    # A refund whose events we now post ourselves, as Worldpay shows them: no reference on refunded.
    refund = payments.refund_payment(paid.id, Money(2345, "HKD"), None, payments.new_refund_request_id())
    sandboxed.app.extensions["huey"].flush()
    before = len(notifications())
    for body in (
        spec_event("event_sent_for_refund", paid.request_id, minor=2345, reference=refund.request_id),
        spec_event("event_refunded", paid.request_id, minor=2345),
    ):
        assert "reference" not in body["eventDetails"] or body["eventDetails"]["type"] == "sentForRefund"
        assert post_worldpay_over_http(sandboxed.app, sandboxed.url, body).status_code == 200
        sandboxed.run_jobs()

    rows = notifications()[before:]
    assert [(row.kind, row.outcome) for row in rows] == [
        ("sentForRefund", "applied"),
        ("refunded", "applied"),
    ]
    refund = fresh(Refund, refund.id)
    assert (refund.status, refund.result_code) == ("succeeded", "refunded")
    assert refund.result_message == "matched by payment and amount (the only one in flight)"
    assert rows[-1].object_id == str(paid.id)
    assert fresh(Payment, paid.id).refunded_minor == 1000 + 2345


def test_with_two_refunds_of_one_amount_in_flight_refunded_finishes_the_oldest(sandboxed):
    paid = captured_sale(sandboxed)
    first = payments.refund_payment(paid.id, Money(1000, "HKD"), None, payments.new_refund_request_id())
    sandboxed.app.extensions["huey"].flush()
    # A second one of the same amount in flight: the simulator offers no reversal meanwhile, but
    # whether Worldpay allows it is not documented (worldpay_hkach.md §1.7.1).
    second = make_refund(db.session, fresh(Payment, paid.id), amount_minor=1000, status="processing")
    db.session.commit()
    before = len(notifications())

    body = spec_event("event_refunded", paid.request_id, minor=1000)
    assert post_worldpay_over_http(sandboxed.app, sandboxed.url, body).status_code == 200
    sandboxed.run_jobs()

    [row] = notifications()[before:]
    assert row.outcome == "applied"
    first, second = fresh(Refund, first.id), fresh(Refund, second.id)
    assert first.status == "succeeded" and second.status != "succeeded"
    assert first.result_message == "matched by payment and amount (the oldest of 2 in flight)"


def test_a_refunded_event_matching_no_refund_in_flight_is_unmatched(sandboxed):
    paid = captured_sale(sandboxed)
    refund = payments.refund_payment(paid.id, Money(1000, "HKD"), None, payments.new_refund_request_id())
    sandboxed.app.extensions["huey"].flush()
    before = len(notifications())

    body = spec_event("event_refunded", paid.request_id, minor=999)
    assert post_worldpay_over_http(sandboxed.app, sandboxed.url, body).status_code == 200
    sandboxed.run_jobs()

    [row] = notifications()[before:]
    assert (row.outcome, row.object_id) == ("unmatched", None)
    assert fresh(Refund, refund.id).status == "processing"


@pytest.mark.parametrize(
    ("sample", "status"), [("event_cancelled_by_customer", "cancelled"), ("event_request_expired", "expired")]
)
def test_the_shoppers_cancel_and_the_expiry_as_the_spec_shows_them_close_the_sale(sandboxed, sample, status):
    paying = sale()
    sandboxed.app.extensions["huey"].flush()
    body = spec_event(sample, paying.request_id, minor=12345)
    assert "downstreamReference" not in body["eventDetails"]

    assert post_worldpay_over_http(sandboxed.app, sandboxed.url, body).status_code == 200
    sandboxed.run_jobs()

    [row] = notifications()
    assert row.outcome == "applied"
    assert fresh(Payment, paying.id).status == status


# --- a sale whose create never answered, and whose events are lost ---------------------------------


def lose_every_event(sandboxed) -> None:
    """Worldpay gave up on its events (a week of failed retries): none will ever arrive."""
    with transaction(sandboxed.sandbox.engine) as session:
        session.execute(update(Delivery).values(status="gave_up", next_try_at=None))


def operations(payment_id: int) -> list[str]:
    db.session.rollback()
    summaries = db.session.scalars(
        select(Event.summary)
        .where(
            Event.object_type == "payment", Event.object_id == str(payment_id), Event.kind == "provider_call"
        )
        .order_by(Event.id)
    )
    return [summary["operation"] for summary in summaries]


def test_a_sale_whose_create_never_answered_is_found_by_its_reference_when_its_events_are_lost(sandboxed):
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "http_500", "create_payment", remaining=1)  # made, then answered 500
    unknown = payments.create_alipayhk_payment(Money(12345, "HKD"), "Order 52")
    assert (unknown.status, unknown.provider_payment_id, unknown.redirect_url) == ("processing", None, None)
    # The shopper pays all the same (say the storefront retried the page) and every event is lost.
    with transaction(sandboxed.sandbox.engine) as session:
        token = session.scalars(
            select(WorldpayPayment.shopper_token).where(
                WorldpayPayment.transaction_reference == unknown.request_id
            )
        ).one()
        simulator.choose(sandboxed.sandbox, session, token, "authorise", clock.now(), ActiveFaults())
    lose_every_event(sandboxed)

    sandboxed.run_jobs(scheduled=True)  # the inquiry the unanswered create queued

    found = fresh(Payment, unknown.id)
    assert found.status == "succeeded" and found.provider_payment_id
    assert operations(unknown.id) == ["create_payment", "lookup_payment", "query_payment"]
    assert notifications() == []


def test_a_sale_not_found_yet_is_asked_about_again_and_swept_like_any_open_sale(sandboxed, fake_clock):
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "http_503", "create_payment", remaining=1)  # refused before anything was made
    unknown = payments.create_alipayhk_payment(Money(12345, "HKD"), "Order 53")
    assert unknown.provider_payment_id is None

    sandboxed.run_jobs(scheduled=True)
    assert fresh(Payment, unknown.id).status == "processing"
    assert operations(unknown.id)[:3] == ["create_payment", "lookup_payment", "lookup_payment"]

    huey = sandboxed.app.extensions["huey"]
    huey.flush()
    fake_clock.advance(minutes=11)
    sweep_open_payments()
    assert [(task.name, task.args) for task in huey.pending()] == [(INQUIRE_PAYMENT, (unknown.id, 0))]


# --- refunds for which no refunded event ever comes -----------------------------------------------


def refund_status_badges(page: str) -> list[str]:
    rows = re.findall(r'<tr id="refund-\d+">(.*?)</tr>', page, re.S)
    return [re.search(r'<span class="badge badge-\w+">([^<]+)</span>', row).group(1) for row in rows]


def sweep_and_run(sandboxed) -> None:
    """Run the sweeper, then every job it queued (as the periodic task and the workers would)."""
    sweep_open_payments()
    sandboxed.run_jobs()


def test_a_refund_without_a_refunded_event_succeeds_from_worldpays_records_after_the_period(
    sandboxed, monkeypatch, fake_clock
):
    monkeypatch.setitem(sandboxed.app.config, "SANDBOX_WORLDPAY_REFUNDED_EVENTS", False)
    paid = captured_sale(sandboxed)
    refund = payments.refund_payment(paid.id, Money(2345, "HKD"), None, payments.new_refund_request_id())
    sandboxed.settle(scheduled=True)
    assert [row.kind for row in notifications()][-1] == "sentForRefund"  # and no refunded ever
    calls = len(operations(paid.id))

    fake_clock.advance(days=7)  # within the period: nothing is asked
    sweep_and_run(sandboxed)
    assert fresh(Refund, refund.id).status == "processing" and len(operations(paid.id)) == calls

    fake_clock.advance(days=1, minutes=1)  # 8 days after it was sent
    sweep_and_run(sandboxed)

    refund = fresh(Refund, refund.id)
    assert (refund.status, refund.result_code) == ("succeeded", "RESOLVED_FROM_RECORDS")
    assert refund.result_message == (
        "No refunded event in 8 days; Worldpay's records show it taken (balance HK$100.00) and no failure"
    )
    assert operations(paid.id)[calls:] == ["retrieve_payment"]
    assert fresh(Payment, paid.id).refunded_minor == 2345


def test_a_refund_whose_failure_event_was_lost_fails_from_worldpays_records(sandboxed, fake_clock):
    paid = captured_sale(sandboxed, 700)
    refund = payments.refund_payment(paid.id, Money(700, "HKD"), None, payments.new_refund_request_id())
    lose_every_event(sandboxed)  # sentForRefund and refundFailed never arrive

    fake_clock.advance(days=8, minutes=1)
    sweep_and_run(sandboxed)

    refund = fresh(Refund, refund.id)
    assert (refund.status, refund.result_code) == ("failed", "refundRequestSubmissionFailed")
    assert fresh(Payment, paid.id).refunded_minor == 0


def test_a_refund_worldpays_records_do_not_show_is_left_unresolved_for_staff(sandboxed, fake_clock):
    paid = captured_sale(sandboxed)
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "http_503", "partial_reverse", remaining=1)  # never reached Worldpay
    refund = payments.refund_payment(paid.id, Money(2345, "HKD"), None, payments.new_refund_request_id())
    assert refund.status == "processing"  # a 503 says nothing: it is never sent again

    fake_clock.advance(days=8, minutes=1)
    sweep_and_run(sandboxed)

    refund = fresh(Refund, refund.id)
    assert (refund.status, refund.result_code) == ("unresolved", "NO_FINAL_EVENT")
    assert refund.result_message == (
        "No refund event in 8 days, and Worldpay's records do not show it taken "
        "(balance HK$123.45, HK$100.00 if it were): check it with Worldpay"
    )
    page = payment_page(sandboxed, paid.id)
    assert refund_status_badges(page) == ["unresolved"]
    assert refund.result_message in html.unescape(page)
    assert '<dd id="payment-refundable">HK$100.00</dd>' in page  # it still holds its amount

    # The sweeper leaves it to staff; asking again reads the records again and says so.
    calls = len(operations(paid.id))
    sweep_and_run(sandboxed)
    assert len(operations(paid.id)) == calls
    assert payments.inquire_refund(refund.id) == "unresolved"
    assert operations(paid.id)[calls:] == ["retrieve_payment"]

    # A late refunded still finishes it.
    body = spec_event("event_refunded", paid.request_id, minor=2345)
    assert post_worldpay_over_http(sandboxed.app, sandboxed.url, body).status_code == 200
    sandboxed.run_jobs()
    assert fresh(Refund, refund.id).status == "succeeded"


@pytest.mark.parametrize(
    ("currency", "minor"),
    [("JPY", 1000), ("HKD", 12346)],  # another currency; more than the payment holds
    ids=["another currency", "more than the payment"],
)
def test_refund_news_that_does_not_fit_its_payment_is_kept_failed_and_never_applied(
    sandboxed, currency, minor
):
    paid = captured_sale(sandboxed)
    before = len(notifications())
    body = spec_event("event_sent_for_refund", paid.request_id, minor=minor, reference="rf-made-elsewhere-1")
    body["eventDetails"]["amount"]["currencyCode"] = currency

    assert post_worldpay_over_http(sandboxed.app, sandboxed.url, body).status_code == 200
    sandboxed.run_jobs()

    [row] = notifications()[before:]
    assert row.outcome == "failed"
    assert "does not fit payment" in row.processing_error
    assert fresh(Payment, paid.id).refunded_minor == 0
    assert db.session.scalars(select(Refund).where(Refund.payment_id == paid.id)).all() == []
