"""Open pages follow changes committed elsewhere: a payment's badge, a list's "new payments" bar."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.payments.models import Payment
from tests.browser.conftest import sign_in
from tests.factories import make_payment

pytestmark = [pytest.mark.browser, pytest.mark.live]

#: DESIGN §7: a change is visible on an open page within 2 s; the assertions allow 5.
VISIBLE_WITHIN_MS = 5000

CALL = {
    "provider": "antom",
    "operation": "pay",
    "method": "POST",
    "path": "/ams/api/v1/payments/pay",
    "status": 200,
    "duration_ms": 300,
    "outcome": "U",
    "request_body": {"paymentRequestId": "PAY-LIVE-1"},
    "response_body": {"result": {"resultStatus": "U"}},
}


def commit(app, change) -> int:
    """Run ``change(session)`` in its own transaction, as a webhook or job would, and return its result."""
    with app.app_context():
        result = change(db.session)
        db.session.commit()
        db.session.remove()
    return result


def succeed(session, payment_id: int) -> None:
    payment = session.get(Payment, payment_id)
    payment.status, payment.result_code = "succeeded", "SUCCESS"
    summary = {"status": ["processing", "succeeded"], "result_code": "SUCCESS", "result_message": "Success."}
    record_event(session, "payment", payment_id, "status_changed", summary)


def test_a_payment_page_shows_a_status_change_without_reloading(app, live_server, create_user, page):
    def create(session) -> int:
        payment = make_payment(session, request_id="PAY-LIVE-1", status="processing")
        record_event(session, "payment", payment.id, "provider_call", CALL)
        return payment.id

    payment_id = commit(app, create)
    sign_in(page, live_server, create_user("viewer").email)
    page.goto(f"{live_server}/payments/{payment_id}")
    expect(page.locator("#payment-status")).to_have_text("processing")
    expect(page.locator("#live-status")).to_contain_text("synced")
    page.get_by_text("Request and response").click()  # the reader opens the call's details
    page.evaluate("window.notReloaded = true")

    commit(app, lambda session: succeed(session, payment_id))

    expect(page.locator("#payment-status")).to_have_text("succeeded", timeout=VISIBLE_WITHIN_MS)
    expect(page.locator("#payment-result-code")).to_have_text("SUCCESS")
    expect(page.locator("#timeline th[scope=row]").last).to_have_text("Status changed")
    expect(page.locator("details.call")).to_have_attribute("open", "")  # still open after the refresh
    assert page.evaluate("window.notReloaded") is True


def test_a_list_offers_new_payments_in_a_bar_instead_of_inserting_rows(app, live_server, create_user, page):
    shown_id = commit(
        app, lambda session: make_payment(session, request_id="PAY-SHOWN", status="processing").id
    )
    sign_in(page, live_server, create_user("viewer").email)
    page.goto(f"{live_server}/payments/")
    expect(page.locator(f"#payment-{shown_id}")).to_be_visible()
    expect(page.locator("#live-status")).to_contain_text("synced")
    page.evaluate("window.notReloaded = true")

    def create(session) -> int:
        payment = make_payment(session, request_id="PAY-ARRIVED")
        record_event(session, "payment", payment.id, "created", {"status": "pending"})
        return payment.id

    commit(app, lambda session: succeed(session, shown_id))  # a change to a shown row is not "new"
    new_id = commit(app, create)

    bar = page.get_by_role("button", name=re.compile(r"new payment"))
    expect(bar).to_have_text("1 new payment — show", timeout=VISIBLE_WITHIN_MS)
    assert page.locator(f"#payment-{new_id}").count() == 0  # the rows did not move
    assert page.evaluate("window.notReloaded") is True

    bar.click()
    expect(page.locator(f"#payment-{new_id}")).to_be_visible()
    expect(page.locator("#payments-table tbody tr").first).to_have_id(f"payment-{new_id}")
    expect(page.locator("#live-bar")).to_be_hidden()
