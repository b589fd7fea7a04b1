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


def test_two_staff_watch_a_filtered_list_and_a_payment_while_payments_change(
    app, live_server, create_user, browser, page
):
    def create_processing(session) -> list[int]:
        return [make_payment(session, status="processing").id for _ in range(2)]

    older, watched = commit(app, create_processing)
    sign_in(page, live_server, create_user("viewer").email)
    page.goto(f"{live_server}/payments/?status=processing")
    expect(page.locator("#live-status")).to_contain_text("synced")
    rows = page.locator("#payments-table tbody tr")
    expect(rows).to_have_count(2)
    page.locator(f"#payment-{watched} a").focus()

    other = browser.new_context(locale="en-HK", timezone_id="Asia/Hong_Kong")
    detail = other.new_page()
    sign_in(detail, live_server, create_user("viewer").email)
    detail.goto(f"{live_server}/payments/{watched}")
    expect(detail.locator("#live-status")).to_contain_text("synced")
    expect(detail.locator("#live-announce[role=status]")).to_have_text("")  # nothing said on the first render

    commit(app, lambda session: succeed(session, watched))

    row = page.locator(f"#payment-{watched}")
    expect(row).to_have_class(re.compile(r"\blive-changed\b"), timeout=VISIBLE_WITHIN_MS)
    expect(row.locator(".badge")).to_have_text("succeeded")
    expect(rows.first).to_have_id(f"payment-{watched}")  # changed in place: no longer matching, not moved
    assert page.evaluate("document.activeElement.closest('tr').id") == f"payment-{watched}"
    expect(row).not_to_have_class(re.compile(r"\blive-changed\b"), timeout=VISIBLE_WITHIN_MS)
    expect(detail.locator("#payment-status")).to_have_text("succeeded", timeout=VISIBLE_WITHIN_MS)
    expect(detail.locator("#live-announce[role=status]")).to_have_text("Payment succeeded")

    page.locator("#status").focus()
    page.evaluate("window.focusedBefore = document.activeElement")

    def create_new(session) -> None:
        for status in ("processing", "pending", "processing"):
            payment = make_payment(session, status=status)
            record_event(session, "payment", payment.id, "created", {"status": status})

    commit(app, create_new)

    expect(page.locator("#live-bar-show")).to_have_text("2 new payments — show", timeout=VISIBLE_WITHIN_MS)
    expect(page.locator("#live-bar-other")).to_have_text("1 more does not match your filters")
    expect(rows).to_have_count(2)
    assert page.evaluate("document.activeElement === window.focusedBefore")

    page.locator("#live-bar-show").click()
    expect(rows).to_have_count(3)  # the fresh list: the two new processing payments and the older one
    expect(rows.last).to_have_id(f"payment-{older}")
    expect(page.locator("#live-bar")).to_be_hidden()
    assert page.evaluate("document.activeElement.tagName") == "H1"  # the list's heading, not the page top
    other.close()
