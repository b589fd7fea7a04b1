"""Staff read what a provider's result code means and what to do next, beside the code: on the
payment page (the payment, its refunds and cancels), on the agreement page, and in the timeline."""

from __future__ import annotations

import html
import re

import pytest

from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service
from dashboard.payments.models import Payment
from dashboard.providers.registry import guidance
from tests.agreements.test_agreement_service import authorised
from tests.factories import make_agreement
from tests.factories import make_cancel
from tests.factories import make_payment
from tests.factories import make_refund
from tests.payments.test_payment_service import staff_browser
from tests.sandbox import worldpay_helpers as wh


def text_of(page: str, element_id: str) -> str:
    """Return the text a reader gets from the element with ``element_id`` (tags dropped, unescaped)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no element #{element_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(2))).split())


def timeline_guidance(page: str) -> list[str]:
    """Return the guidance lines of the timeline, oldest first."""
    timeline = re.search(r'<table class="table timeline" id="timeline">(.*?)</table>', page, re.S).group(1)
    ids = re.findall(r'<p class="help event-guidance" id="(event-\d+-guidance)">', timeline)
    return [text_of(timeline, element_id) for element_id in ids]


# --- through the real services and the simulators ---------------------------------------------------


def test_a_failed_auto_debit_says_the_balance_was_short_and_to_top_up_then_charge_again(sandboxed):
    agreement = authorised(sandboxed)
    payment = service.charge_agreement(agreement.id, Money(10011, "HKD"), "June plan")  # F: balance
    assert (payment.status, payment.result_code) == ("failed", "USER_BALANCE_NOT_ENOUGH")
    expected = guidance("antom", "USER_BALANCE_NOT_ENOUGH", "payment")

    with staff_browser(sandboxed, "viewer") as browser:
        page = browser.get(f"{sandboxed.url}/payments/{payment.id}", timeout=5).text

    assert text_of(page, "payment-result-code") == "USER_BALANCE_NOT_ENOUGH"
    assert text_of(page, "payment-result-meaning") == expected.meaning
    assert "balance was not enough" in expected.meaning
    assert text_of(page, "payment-result-next-step") == expected.next_step
    assert "top up" in expected.next_step and "charge again" in expected.next_step
    [line] = timeline_guidance(page)
    assert line == f"USER_BALANCE_NOT_ENOUGH means: {expected.meaning} Next step: {expected.next_step}"


def test_a_refused_alipayhk_sale_says_nothing_was_taken_and_what_to_ask_the_customer(sandboxed):
    sale = service.create_alipayhk_payment(Money(12345, "HKD"), "Order 42")
    wh.choose(sale.redirect_url, "refuse")
    sandboxed.settle()
    db.session.rollback()
    sale = db.session.get(Payment, sale.id)
    assert (sale.status, sale.result_code) == ("failed", "refused")
    expected = guidance("worldpay", "refused", "payment")

    with staff_browser(sandboxed, "viewer") as browser:
        page = browser.get(f"{sandboxed.url}/payments/{sale.id}", timeout=5).text

    assert text_of(page, "payment-result-meaning") == expected.meaning
    assert "AlipayHK declined" in expected.meaning and "Nothing was taken" in expected.meaning
    assert text_of(page, "payment-result-next-step") == expected.next_step
    lines = timeline_guidance(page)
    assert lines[-1] == f"refused means: {expected.meaning} Next step: {expected.next_step}"
    # The sale's earlier step needed nothing from staff: its line says what it meant, no next step.
    assert lines[0].startswith("pending means: Waiting for the customer") and "Next step" not in lines[0]


# --- pages built from stored rows ---------------------------------------------------------------


@pytest.fixture
def worldpay_refunds(app) -> dict:
    """A captured AlipayHK sale with a failed refund and one with a code nobody has explained yet."""
    with app.app_context():
        payment = make_payment(
            db.session, provider="worldpay", status="succeeded", result_code="sentForSettlement"
        )
        failed = make_refund(db.session, payment, status="failed", result_code="refundFailed")
        odd = make_refund(db.session, payment, status="failed", result_code="REFUSAL-57")
        record_event(
            db.session,
            "payment",
            payment.id,
            "refund_status_changed",
            {"refund_id": failed.id, "status": ["processing", "failed"], "result_code": "refundFailed"},
        )
        db.session.commit()
        return {"id": payment.id, "failed": failed.id, "odd": odd.id}


def test_a_refund_row_and_its_timeline_line_explain_its_own_code(client, login_as, worldpay_refunds):
    login_as("support")
    page = client.get(f"/payments/{worldpay_refunds['id']}").get_data(as_text=True)
    on_refund = guidance("worldpay", "refundFailed", "refund")

    cell = text_of(page, f"refund-{worldpay_refunds['failed']}-guidance")
    assert cell == f"What it means {on_refund.meaning} Next step {on_refund.next_step}"
    assert "Nothing was returned to the customer" in on_refund.meaning
    # The same event on the sale reads differently; the refund's line reads as the refund's story.
    assert on_refund.meaning != guidance("worldpay", "refundFailed", "payment").meaning
    assert timeline_guidance(page) == [
        f"refundFailed means: {on_refund.meaning} Next step: {on_refund.next_step}"
    ]
    # The sale's own code needs nothing from staff and says so.
    assert text_of(page, "payment-result-next-step") == "Nothing to do. It can be refunded from now on."


def test_a_code_without_guidance_shows_alone_with_no_guidance_yet(client, login_as, worldpay_refunds):
    login_as("viewer")
    page = client.get(f"/payments/{worldpay_refunds['id']}").get_data(as_text=True)
    refunds = text_of(page, "refunds")
    assert "REFUSAL-57" in refunds
    assert text_of(page, f"refund-{worldpay_refunds['odd']}-guidance") == "No guidance yet for this code."


def test_a_cancel_too_late_says_to_refund_instead(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        payment = make_payment(db.session, status="succeeded", result_code="SUCCESS")
        cancel = make_cancel(db.session, payment, status="failed", result_code="CANCEL_WINDOW_EXCEED")
        db.session.commit()
        ids = payment.id, cancel.id
    page = client.get(f"/payments/{ids[0]}").get_data(as_text=True)
    cell = text_of(page, f"cancel-{ids[1]}-guidance")
    assert "00:15 Hong Kong time" in cell and cell.endswith("Next step Refund the payment instead.")


def test_a_stored_code_is_escaped_and_unexplained_never_breaking_the_page(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        payment = make_payment(db.session, status="failed", result_code="<b>BAD</b>", result_message="x")
        record_event(
            db.session,
            "payment",
            payment.id,
            "status_changed",
            {"status": ["pending", "failed"], "result_code": "<b>BAD</b>"},
        )
        db.session.commit()
        payment_id = payment.id
    response = client.get(f"/payments/{payment_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<b>BAD</b>" not in page and "&lt;b&gt;BAD&lt;/b&gt;" in page
    assert text_of(page, "payment-result-meaning") == "No guidance yet for this code."
    assert "payment-result-next-step" not in page
    assert timeline_guidance(page) == ["<b>BAD</b>: no guidance yet."]


def test_htmx_refreshes_of_the_payment_block_keep_the_guidance(client, login_as, worldpay_refunds):
    login_as("viewer")
    body = client.get(f"/payments/{worldpay_refunds['id']}", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert body.lstrip().startswith('<div id="payment-detail"')
    assert 'id="payment-result-meaning"' in body and 'class="help event-guidance"' in body


def test_the_agreement_page_explains_its_code_on_the_agreement_and_in_its_timeline(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        agreement = make_agreement(
            db.session, status="revoked", result_code="INVALID_ACCESS_TOKEN", result_message="expired"
        )
        record_event(
            db.session,
            "agreement",
            agreement.id,
            "status_changed",
            {"status": ["active", "revoked"], "result_code": "INVALID_ACCESS_TOKEN"},
        )
        record_event(
            db.session,
            "agreement",
            agreement.id,
            "token_refresh_failed",
            {"result_code": "EXPIRED_REFRESH_TOKEN"},
        )
        db.session.commit()
        agreement_id = agreement.id
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    on_agreement = guidance("antom", "INVALID_ACCESS_TOKEN", "agreement")

    assert text_of(page, "agreement-result-code") == "INVALID_ACCESS_TOKEN"
    assert text_of(page, "agreement-result-meaning") == on_agreement.meaning
    assert "treated as revoked" in on_agreement.meaning
    assert text_of(page, "agreement-result-next-step") == on_agreement.next_step
    refresh = guidance("antom", "EXPIRED_REFRESH_TOKEN", "agreement")
    assert timeline_guidance(page) == [
        f"INVALID_ACCESS_TOKEN means: {on_agreement.meaning}",
        f"EXPIRED_REFRESH_TOKEN means: {refresh.meaning} Next step: {refresh.next_step}",
    ]
