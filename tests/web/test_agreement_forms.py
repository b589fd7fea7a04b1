"""Revoking and charging an agreement from its page: who may, bad input, the confirmation step, one
charge per form, and what is shown after."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from dashboard.agreements.models import Agreement
from dashboard.audit.models import AuditLog
from dashboard.events.models import Event
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.payments.models import Payment
from dashboard.providers.registry import guidance
from tests.agreements.test_agreement_service import authorised
from tests.agreements.test_agreement_service import sign_with_a_stranger_key
from tests.factories import make_agreement
from tests.factories import make_payment
from tests.web.test_code_guidance_pages import text_of
from tests.web.test_money_forms import Desk

ACTIVATED = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)  # 14:30 in Hong Kong
HTMX = {"HX-Request": "true"}


def add_agreement(app, **fields) -> int:
    """Commit an agreement (active with a token unless ``fields`` say otherwise) and return its id."""
    with app.app_context():
        values = {"customer_ref": "CUST-HK-7", "status": "active", "activated_at": ACTIVATED, **fields}
        agreement = make_agreement(db.session, **values)
        if agreement.status == "active":
            agreement.set_access_token(
                f"token-of-{agreement.customer_ref}-wxyz", ACTIVATED + timedelta(days=30)
            )
        db.session.commit()
        return agreement.id


def stored(app, agreement_id: int) -> tuple[Agreement, int, int]:
    """Return the agreement as stored, how many timeline events it has and how many audit rows exist."""
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        events = db.session.scalar(
            select(func.count(Event.id)).where(
                Event.object_type == "agreement", Event.object_id == str(agreement_id)
            )
        )
        audits = db.session.scalar(select(func.count(AuditLog.seq)))
        db.session.expunge_all()
        return agreement, events, audits


@pytest.fixture
def active(app) -> int:
    return add_agreement(app)


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_viewer_and_finance_may_neither_open_nor_send_the_revoke_form(client, login_as, post, active, role):
    login_as(role)
    assert client.get(f"/agreements/{active}/revoke").status_code == 403
    answer = post(f"/agreements/{active}/revoke", {"reason": "asked", "confirmed": "yes"}, headers=HTMX)
    assert answer.status_code == 403


@pytest.mark.parametrize("role", ["viewer", "finance", "admin"])
def test_the_agreement_page_offers_no_revoke_to_roles_that_may_not(client, login_as, active, role):
    login_as(role)
    page = client.get(f"/agreements/{active}").get_data(as_text=True)
    assert 'id="revoke-action"' not in page and f"/agreements/{active}/revoke" not in page


@pytest.mark.parametrize("role", ["support", "manager"])
def test_support_and_manager_are_offered_the_revoke_of_an_active_agreement(client, login_as, active, role):
    login_as(role)
    page = client.get(f"/agreements/{active}").get_data(as_text=True)
    assert re.search(rf'<a class="button" id="revoke-action" href="/agreements/{active}/revoke">', page)
    form = client.get(f"/agreements/{active}/revoke")
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert 'id="revoke-form"' in body and 'name="reason"' in body
    assert text_of(body, "agreement-summary").startswith(
        "Customer ref CUST-HK-7 Wallet AlipayHK Status active"
    )


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("pending", "the customer has not authorised it yet"),
        ("expired", "it has expired"),
        ("revoked", "it was revoked"),
        ("cancelled_by_customer", "the customer cancelled it in their wallet"),
        ("failed", "its authorisation failed, so it never became active"),
    ],
)
def test_where_no_revoke_is_possible_everybody_reads_why(app, client, login_as, status, why):
    agreement_id = add_agreement(app, status=status)
    login_as("viewer")
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert text_of(page, "no-revoke") == why and 'id="revoke-action"' not in page
    login_as("support")
    form = client.get(f"/agreements/{agreement_id}/revoke").get_data(as_text=True)
    assert text_of(form, "revoke-refused") == f"It cannot be revoked: {why}."
    assert 'name="reason"' not in form


# --- the form -------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_a_revoke_without_a_reason_is_refused_beside_the_field_and_nothing_is_stored(
    app, client, login_as, post, active, htmx
):
    login_as("support")
    before = stored(app, active)
    answer = post(f"/agreements/{active}/revoke", {"reason": "   "}, headers=HTMX if htmx else {})
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert text_of(body, "error-reason") == "Say why the agreement is revoked."
    assert 'aria-invalid="true"' in body and 'id="revoke-errors"' in body
    assert ("<html" in body) is not htmx
    assert stored(app, active)[1:] == before[1:]
    assert stored(app, active)[0].revoke_requested_at is None


def test_a_reason_first_shows_what_the_revoke_will_do_and_nothing_is_sent(
    app, client, login_as, post, active
):
    login_as("support")
    before = stored(app, active)
    answer = post(f"/agreements/{active}/revoke", {"reason": "Customer asked by phone"}, headers=HTMX)
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="revoke-area"')
    assert text_of(body, "revoke-summary") == (
        "Revoke the AlipayHK Auto Debit agreement of CUST-HK-7 at Antom: its token stops working at once."
    )
    assert '<input type="hidden" name="reason" value="Customer asked by phone">' in body
    assert 'name="confirmed" value="yes"' in body and 'name="confirmed" value="change"' in body
    after = stored(app, active)
    assert after[1:] == before[1:] and after[0].revoke_requested_at is None and after[0].status == "active"


def test_change_goes_back_to_the_form_with_the_reason_kept(client, login_as, post, active):
    login_as("support")
    answer = post(
        f"/agreements/{active}/revoke", {"reason": "Asked by phone", "confirmed": "change"}, headers=HTMX
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="revoke-confirm"' not in body
    assert re.search(r'<input[^>]*id="reason"[^>]*value="Asked by phone"', body)


def test_a_confirmed_revoke_of_an_agreement_revoked_meanwhile_is_refused_and_stores_nothing(
    app, client, login_as, post
):
    agreement_id = add_agreement(app, status="revoked", revoke_requested_at=ACTIVATED)
    login_as("support")
    before = stored(app, agreement_id)
    answer = post(f"/agreements/{agreement_id}/revoke", {"reason": "again", "confirmed": "yes"}, headers=HTMX)
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert text_of(body, "revoke-refused") == "It cannot be revoked: it was revoked."
    assert 'class="notice error-summary"' in body
    assert stored(app, agreement_id)[1:] == before[1:]


def test_a_revoke_asked_before_and_refused_is_said_on_the_form(app, client, login_as):
    agreement_id = add_agreement(app, revoke_requested_at=ACTIVATED, result_code="INVALID_SIGNATURE")
    with app.app_context():
        record_event(db.session, "agreement", agreement_id, "revoke_requested", {"reason": "asked"})
        record_event(
            db.session, "agreement", agreement_id, "revoke_failed", {"result_code": "INVALID_SIGNATURE"}
        )
        db.session.commit()
    login_as("support")
    body = client.get(f"/agreements/{agreement_id}/revoke").get_data(as_text=True)
    assert text_of(body, "revoke-asked-before") == (
        "A revoke was asked on 2026-03-02 14:30 HKT and Antom refused it (INVALID_SIGNATURE). "
        "Revoking again sends it again."
    )
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert text_of(page, "revoke-result") == (
        "refused: the agreement is still active. Antom answered INVALID_SIGNATURE"
    )


def test_the_customer_s_unbinding_shows_on_its_own_side_with_its_time_and_reason(app, client, login_as):
    agreement_id = add_agreement(
        app,
        status="cancelled_by_customer",
        cancelled_at=ACTIVATED + timedelta(days=2),
        cancel_reason="USER_UNBIND",
    )
    login_as("viewer")
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert text_of(page, "wallet-cancelled") == "2026-03-04 14:30:00"
    assert text_of(page, "wallet-cancel-reason") == "USER_UNBIND"
    assert text_of(page, "agreement-revoke") == "Nobody here has asked to revoke it."
    assert text_of(page, "no-revoke") == "the customer cancelled it in their wallet"


# --- through the simulator --------------------------------------------------------------------------


def revoke_over_http(sandboxed, agreement_id: int, reason: str, role: str = "support"):
    """Open the revoke form as staff of ``role``, send the reason, confirm; return the desk and the answer."""
    desk = Desk(sandboxed, role, "Desk")
    url = f"/agreements/{agreement_id}/revoke"
    assert desk.get(url).status_code == 200
    first = desk.post(url, {"reason": reason}, headers=HTMX)
    assert first.status_code == 200 and 'id="revoke-confirm"' in first.text
    return desk, desk.post(url, {"reason": reason, "confirmed": "yes"}, headers=HTMX)


def test_a_confirmed_revoke_ends_the_agreement_and_the_page_says_who_when_and_why(sandboxed):
    agreement = authorised(sandboxed)

    desk, done = revoke_over_http(sandboxed, agreement.id, "Customer asked by phone")

    assert done.status_code == 200 and done.headers["HX-Redirect"] == f"/agreements/{agreement.id}"
    db.session.rollback()
    revoked = db.session.get(Agreement, agreement.id)
    assert (revoked.status, revoked.revoke_reason) == ("revoked", "Customer asked by phone")
    [audit] = db.session.scalars(select(AuditLog).where(AuditLog.action == "agreement.revoke_requested"))
    assert audit.actor_id == revoked.revoked_by_id and audit.object_id == str(agreement.id)
    page = desk.get(f"/agreements/{agreement.id}").text
    assert "The agreement is revoked: it can no longer be charged." in page  # the flash
    assert (
        text_of(page, "revoke-by") == "Desk" and text_of(page, "revoke-reason") == "Customer asked by phone"
    )
    assert text_of(page, "revoke-result").startswith("revoked on ")
    assert text_of(page, "no-revoke") == "it was revoked"


def test_a_revoke_antom_refuses_says_so_and_leaves_the_agreement_active(sandboxed, monkeypatch):
    agreement = authorised(sandboxed)
    sign_with_a_stranger_key(sandboxed, monkeypatch)

    desk, done = revoke_over_http(sandboxed, agreement.id, "Customer asked by phone", role="manager")

    assert done.headers["HX-Redirect"] == f"/agreements/{agreement.id}"
    page = desk.get(f"/agreements/{agreement.id}").text
    assert "Antom refused the revoke, so the agreement is still active: INVALID_SIGNATURE" in page
    assert text_of(page, "agreement-status") == "active"
    assert text_of(page, "revoke-result") == (
        "refused: the agreement is still active. Antom answered INVALID_SIGNATURE"
    )
    assert 'id="revoke-action"' in page  # it may be asked again


# --- charging -------------------------------------------------------------------------------------

CHARGE = {
    "amount": "100.01",
    "currency": "HKD",
    "description": "Monthly plan, June",
    "request_id": "pay-form-1",
}


def payments_of(app, agreement_id: int) -> list[Payment]:
    with app.app_context():
        found = list(db.session.scalars(select(Payment).where(Payment.agreement_id == agreement_id)))
        db.session.expunge_all()
        return found


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_viewer_and_finance_may_neither_open_nor_send_the_charge_form(client, login_as, post, active, role):
    login_as(role)
    assert client.get(f"/agreements/{active}/charge").status_code == 403
    answer = post(f"/agreements/{active}/charge", {**CHARGE, "confirmed": "yes"}, headers=HTMX)
    assert answer.status_code == 403
    page = client.get(f"/agreements/{active}").get_data(as_text=True)
    assert 'id="charge-action"' not in page and f"/agreements/{active}/charge" not in page


@pytest.mark.parametrize("role", ["support", "manager"])
def test_support_and_manager_open_the_charge_form_with_its_request_id(client, login_as, active, role):
    login_as(role)
    page = client.get(f"/agreements/{active}").get_data(as_text=True)
    assert re.search(
        rf'<a class="button primary" id="charge-action" href="/agreements/{active}/charge">', page
    )
    body = client.get(f"/agreements/{active}/charge").get_data(as_text=True)
    request_id = re.search(r'<input id="request_id" name="request_id" type="hidden" value="([^"]+)">', body)
    assert request_id and request_id.group(1).startswith("pay-")
    assert '<option selected value="HKD">HKD</option>' in body
    for field in ("amount", "description", "merchant_reference"):
        assert f'name="{field}"' in body
    again = client.get(f"/agreements/{active}/charge").get_data(as_text=True)
    assert request_id.group(1) not in again  # each form its own charge


def test_an_agreement_staff_asked_to_revoke_cannot_be_charged_and_everybody_reads_why(app, client, login_as):
    agreement_id = add_agreement(app, revoke_requested_at=ACTIVATED)
    login_as("viewer")
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert text_of(page, "no-charge") == "staff asked to revoke it"
    login_as("support")
    form = client.get(f"/agreements/{agreement_id}/charge").get_data(as_text=True)
    assert text_of(form, "charge-refused") == "It cannot be charged: staff asked to revoke it."
    assert 'name="amount"' not in form


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"amount": "0"}, "amount", "Enter an amount above zero."),
        ({"amount": "-5.00"}, "amount", "Enter an amount above zero."),
        ({"amount": "100.001"}, "amount", "HKD allows at most 2 decimal places"),
        ({"amount": "1500.5", "currency": "JPY"}, "amount", "JPY allows at most 0 decimal places"),
        ({"amount": "12,x"}, "amount", "'12,x' is not an amount"),
        ({"amount": ""}, "amount", "Enter the amount to charge."),
        ({"amount": "10000000000000"}, "amount", "Enter less than 10,000,000,000,000."),
        ({"currency": "XYZ"}, "currency", "Choose a currency from the list."),
        ({"description": "  "}, "description", "Say what the customer is charged for."),
        (
            {"merchant_reference": "ORD 7"},
            "merchant_reference",
            "Letters, digits and punctuation only, no spaces.",
        ),
    ],
)
def test_bad_charge_input_is_refused_beside_its_field_and_nothing_is_stored(
    app, client, login_as, post, active, change, field, message
):
    login_as("support")
    answer = post(f"/agreements/{active}/charge", {**CHARGE, **change, "confirmed": "yes"}, headers=HTMX)
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert text_of(body, f"error-{field}") == message
    assert body.lstrip().startswith('<div id="charge-area"') and 'id="charge-errors"' in body
    assert payments_of(app, active) == []


def test_an_unknown_currency_leaves_the_amount_unread_rather_than_blamed(client, login_as, post, active):
    login_as("support")
    body = post(f"/agreements/{active}/charge", {**CHARGE, "currency": "XYZ"}, headers=HTMX).get_data(
        as_text=True
    )
    assert 'id="error-currency"' in body and 'id="error-amount"' not in body


def test_a_valid_charge_first_shows_exactly_what_will_be_taken_and_nothing_moves(
    app, client, login_as, post, active
):
    login_as("support")
    data = {**CHARGE, "merchant_reference": "ORD-2026-06-7"}
    answer = post(f"/agreements/{active}/charge", data, headers=HTMX)
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert text_of(body, "charge-summary") == (
        "Charge HK$100.01 to the AlipayHK wallet of CUST-HK-7 through its Auto Debit agreement at Antom."
    )
    assert text_of(body, "charge-confirm-button") == "Charge HK$100.01"
    assert 'name="request_id" type="hidden" value="pay-form-1"' in body
    for name in ("amount", "currency", "description", "merchant_reference"):
        assert f'<input type="hidden" name="{name}" value="{data[name]}">' in body
    assert payments_of(app, active) == []

    back = post(f"/agreements/{active}/charge", {**data, "confirmed": "change"}, headers=HTMX)
    assert back.status_code == 200 and 'id="charge-confirm"' not in back.get_data(as_text=True)
    assert 'value="ORD-2026-06-7"' in back.get_data(as_text=True)
    assert payments_of(app, active) == []


def test_a_resubmitted_charge_form_answers_with_its_payment_and_charges_nothing_again(
    app, client, login_as, post, active
):
    with app.app_context():
        made = make_payment(db.session, request_id="pay-form-1", agreement_id=active, status="succeeded").id
        db.session.commit()
    login_as("support")

    answer = post(f"/agreements/{active}/charge", {**CHARGE, "confirmed": "yes"}, headers=HTMX)

    assert answer.headers["HX-Redirect"] == f"/payments/{made}"
    page = client.get(f"/payments/{made}").get_data(as_text=True)
    assert "This form was sent already; nothing was charged again." in page
    assert [payment.id for payment in payments_of(app, active)] == [made]


def test_a_charge_form_of_another_agreement_is_refused(app, client, login_as, post, active):
    other = add_agreement(app, customer_ref="CUST-HK-8")
    with app.app_context():
        make_payment(db.session, request_id="pay-form-1", agreement_id=other)
        db.session.commit()
    login_as("support")
    answer = post(f"/agreements/{active}/charge", {**CHARGE, "confirmed": "yes"}, headers=HTMX)
    assert answer.status_code == 409
    assert payments_of(app, active) == []


def charge_over_http(sandboxed, agreement_id: int, amount: str, **extra: str):
    """Open the charge form as support, send it and confirm; return the desk, the data and the answer."""
    desk = Desk(sandboxed, "support", "Desk")
    url = f"/agreements/{agreement_id}/charge"
    data = {
        "request_id": desk.request_id(url),
        "amount": amount,
        "currency": "HKD",
        "description": "Monthly plan, June",
        **extra,
    }
    first = desk.post(url, data, headers=HTMX)
    assert first.status_code == 200 and 'id="charge-confirm"' in first.text
    data["confirmed"] = "yes"
    return desk, data, desk.post(url, data, headers=HTMX)


def pay_calls(payment_id: int) -> int:
    db.session.rollback()
    events = db.session.scalars(
        select(Event).where(
            Event.object_type == "payment", Event.object_id == str(payment_id), Event.kind == "provider_call"
        )
    )
    return sum(1 for event in events if event.summary["operation"] == "pay")


def test_a_confirmed_charge_debits_the_wallet_once_however_often_the_form_is_sent(sandboxed):
    agreement = authorised(sandboxed)

    desk, data, done = charge_over_http(sandboxed, agreement.id, "100.01", merchant_reference="ORD-2026-06-7")

    db.session.rollback()
    [payment] = db.session.scalars(select(Payment).where(Payment.agreement_id == agreement.id)).all()
    assert done.headers["HX-Redirect"] == f"/payments/{payment.id}"
    assert (payment.request_id, payment.status) == (data["request_id"], "succeeded")
    assert (payment.amount_minor, payment.merchant_reference) == (10001, "ORD-2026-06-7")
    [audit] = db.session.scalars(select(AuditLog).where(AuditLog.action == "payment.charge_requested"))
    assert audit.object_id == str(payment.id) and audit.after["merchant_reference"] == "ORD-2026-06-7"
    page = desk.get(f"/payments/{payment.id}").text
    assert "Charged HK$100.01 to the customer&#39;s AlipayHK wallet." in page
    assert text_of(page, "payment-merchant-reference") == "ORD-2026-06-7"

    again = desk.post(f"/agreements/{agreement.id}/charge", data, headers=HTMX)

    assert again.headers["HX-Redirect"] == f"/payments/{payment.id}"
    assert db.session.scalar(select(func.count(Payment.id))) == 1
    assert pay_calls(payment.id) == 1
    page = desk.get(f"/payments/{payment.id}").text
    assert "This form was sent already; nothing was charged again." in page


def test_a_refused_charge_says_antom_s_code_and_what_staff_do_next(sandboxed):
    agreement = authorised(sandboxed)

    desk, _, done = charge_over_http(sandboxed, agreement.id, "100.11")  # F: balance not enough

    page = desk.get(done.headers["HX-Redirect"]).text
    expected = guidance("antom", "USER_BALANCE_NOT_ENOUGH", "payment")
    flash = text_of(page, "flash")
    assert flash.startswith(
        "Antom refused the charge of HK$100.11; nothing was taken: USER_BALANCE_NOT_ENOUGH"
    )
    assert flash.endswith(str(expected.next_step))
    assert text_of(page, "payment-status") == "failed"


def test_a_charge_antom_has_not_decided_says_so_and_its_page_follows_it(sandboxed):
    agreement = authorised(sandboxed)

    desk, _, done = charge_over_http(sandboxed, agreement.id, "100.02")  # U: in process

    page = desk.get(done.headers["HX-Redirect"]).text
    assert (
        "The charge of HK$100.02 is processing at Antom; this page shows its result when it arrives." in page
    )
    assert text_of(page, "payment-status") == "processing"
    assert 'data-live-topic="payment:' in page  # the payment page updates itself when the answer comes
