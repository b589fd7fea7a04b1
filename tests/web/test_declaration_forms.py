"""The customs declaration form and the payment page's declarations, as finance staff use them:
roles, bad input, the confirmation step, one declaration per form, Antom's refusals with guidance."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from dashboard.agreements import service as agreements
from dashboard.declarations.models import Declaration
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service
from dashboard.payments.models import Payment
from tests.sandbox import helpers
from tests.web.test_money_forms import HTMX
from tests.web.test_money_forms import Desk
from tests.web.test_money_forms import text
from tests.web.test_money_forms import words


@pytest.fixture
def desk(sandboxed) -> Callable[..., Desk]:
    return lambda role, name="Fay": Desk(sandboxed, role, name)


def paid_by(sandboxed, wallet: str, minor: int = 40001) -> Payment:
    agreement = agreements.start_consult(wallet, f"cust-{wallet.lower()}")
    assert helpers.answer_consent(agreement.auth_url).status_code == 303
    sandboxed.settle()
    return service.charge_agreement(agreement.id, Money(minor, "HKD"), "Milk powder")


@pytest.fixture
def paid(sandboxed) -> Payment:
    """An Auto Debit of HK$400.01 by a customer paying with Alipay from the mainland."""
    return paid_by(sandboxed, "ALIPAY_CN")


def declarations_of(payment_id: int) -> list[Declaration]:
    db.session.rollback()
    statement = select(Declaration).where(Declaration.payment_id == payment_id).order_by(Declaration.id)
    return list(db.session.scalars(statement))


def declaration_form(desk: Desk, payment_id: int, **fields: str) -> dict[str, str]:
    values = {
        "request_id": desk.request_id(f"/payments/{payment_id}/declare"),
        "customs_code": "zongshu",
        "merchant_customs_code": "4403960ABC",
        "merchant_customs_name": "Harbour Goods Ltd",
        "amount": "400.01",
    }
    return {**values, **fields}


@pytest.mark.parametrize("role", ["viewer", "support", "admin"])
def test_only_finance_and_managers_declare(sandboxed, desk, paid, role):
    outsider = desk(role)
    form = {"request_id": "dc-x", "customs_code": "ZONGSHU", "amount": "1.00", "confirmed": "yes"}

    assert outsider.get(f"/payments/{paid.id}/declare").status_code == 403
    assert outsider.post(f"/payments/{paid.id}/declare", form).status_code == 403
    assert outsider.post(f"/payments/{paid.id}/declarations/refresh", {}).status_code == 403
    assert 'id="declare-action"' not in text(outsider.get(f"/payments/{paid.id}"))
    assert declarations_of(paid.id) == []


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_finance_and_managers_see_the_declare_action_on_a_paid_payment(sandboxed, desk, paid, role):
    page = text(desk(role).get(f"/payments/{paid.id}"))
    assert f'href="/payments/{paid.id}/declare"' in page and "Not declared to customs." in page


def test_the_form_offers_the_documented_customs_and_the_payment_amount(sandboxed, desk, paid):
    page = text(desk("finance").get(f"/payments/{paid.id}/declare"))

    assert 'value="400.01"' in page and "Declared amount (HKD)" in page
    assert '<option value="ZONGSHU">' in page and '<option value="SHANGHAI_CBT">' in page
    assert 'list="customs-codes"' in page


def test_the_form_offers_the_merchants_registration_as_last_declared(sandboxed, desk, paid):
    finance = desk("finance")
    form = declaration_form(finance, paid.id, merchant_customs_code="4403960XYZ", amount="1.00")
    finance.post(f"/payments/{paid.id}/declare", {**form, "confirmed": "yes"})

    page = text(finance.get(f"/payments/{paid.id}/declare"))
    assert 'value="4403960XYZ"' in page and 'value="Harbour Goods Ltd"' in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"customs_code": ""}, "customs_code", "Enter the customs authority's code."),
        ({"customs_code": "Z" * 129}, "customs_code", "Field cannot be longer than 128 characters."),
        ({"merchant_customs_code": ""}, "merchant_customs_code", "Enter the merchant's customs registration"),
        ({"merchant_customs_code": "4" * 21}, "merchant_customs_code", "longer than 20 characters"),
        ({"merchant_customs_name": " "}, "merchant_customs_name", "Enter the merchant's name"),
        ({"amount": "400.015"}, "amount", "HKD allows at most 2 decimal places"),
        ({"amount": "0"}, "amount", "Enter an amount above zero."),
        ({"amount": "400.02"}, "amount", "The declared amount cannot be more than the payment's."),
        ({"request_id": ""}, "request_id", "This form lost its request id"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_declared(
    sandboxed, desk, paid, changes, field, message
):
    finance = desk("finance")
    form = {**declaration_form(finance, paid.id), **changes}

    answer = finance.post(f"/payments/{paid.id}/declare", {**form, "confirmed": "yes"}, headers=HTMX)

    assert answer.status_code == 422
    page = text(answer)
    assert message in page and 'class="error-summary"' in page
    assert f'id="error-{field}"' in page or field == "request_id"
    assert declarations_of(paid.id) == []


def test_a_declaration_is_confirmed_then_sent_once_and_shown_on_the_payment(sandboxed, desk, paid):
    finance = desk("finance")
    form = declaration_form(finance, paid.id, amount="350.00")

    confirm = finance.post(f"/payments/{paid.id}/declare", form, headers=HTMX)
    assert confirm.status_code == 200
    assert "Declare HK$350.00 of the payment of HK$400.01 to customs ZONGSHU through Antom." in words(confirm)
    assert declarations_of(paid.id) == []  # nothing is sent before the confirmation

    done = finance.post(f"/payments/{paid.id}/declare", {**form, "confirmed": "yes"}, headers=HTMX)
    assert done.headers["HX-Redirect"] == f"/payments/{paid.id}#declarations"
    [declared] = declarations_of(paid.id)
    assert (declared.status, declared.amount, declared.customs_code) == (
        "submitted",
        Money(35000, "HKD"),
        "ZONGSHU",
    )
    assert declared.request_id == form["request_id"] and declared.requested_by_id == finance.user.id
    page = words(finance.get(f"/payments/{paid.id}"))
    assert "Antom accepted the declaration of HK$350.00 to ZONGSHU" in page
    assert "Ask for customs' answer" in page

    again = finance.post(f"/payments/{paid.id}/declare", {**form, "confirmed": "yes"}, headers=HTMX)
    assert again.headers["HX-Redirect"] == f"/payments/{paid.id}#declarations"
    assert len(declarations_of(paid.id)) == 1
    assert "This form was sent already; nothing was sent again." in words(finance.get(f"/payments/{paid.id}"))


def test_asking_for_customs_answer_shows_it_on_the_payment(sandboxed, desk, paid):
    finance = desk("finance")
    finance.post(f"/payments/{paid.id}/declare", {**declaration_form(finance, paid.id), "confirmed": "yes"})
    sandboxed.app.extensions["huey"].flush()  # staff ask before the job does

    asked = finance.post(f"/payments/{paid.id}/declarations/refresh", {})
    page = words(asked)
    assert "Asked the provider: every declaration has its answer." in page
    [declared] = declarations_of(paid.id)
    assert declared.status == "declared"
    assert f'id="declaration-{declared.id}-status">declared<' in text(asked)


def test_antoms_refusal_shows_its_code_message_and_next_step(sandboxed, desk):
    hong_kong = paid_by(sandboxed, "ALIPAY_HK")
    finance = desk("finance")

    answer = finance.post(
        f"/payments/{hong_kong.id}/declare", {**declaration_form(finance, hong_kong.id), "confirmed": "yes"}
    )

    [refused] = declarations_of(hong_kong.id)
    assert (refused.status, refused.result_code) == ("refused", "PAYMENT_METHOD_NOT_SUPPORTED")
    page = words(answer)  # the payment's page, after the form
    assert "Antom refused the declaration: PAYMENT_METHOD_NOT_SUPPORTED" in page
    assert "Nothing can be declared for this payment." in page  # the next step, from the guidance
    assert f'id="declaration-{refused.id}-guidance"' in text(finance.get(f"/payments/{hong_kong.id}"))


def test_a_payment_that_is_not_paid_says_why_instead_of_a_form(sandboxed, desk):
    failed = paid_by(sandboxed, "ALIPAY_CN", 10036)  # Antom refuses the charge
    finance = desk("finance")

    assert 'id="declare-action"' not in text(finance.get(f"/payments/{failed.id}"))
    page = words(finance.get(f"/payments/{failed.id}/declare"))
    assert "It cannot be declared: only a paid payment can be declared, and this one is failed." in page
    form = {
        "request_id": "dc-late",
        "customs_code": "ZONGSHU",
        "merchant_customs_code": "1",
        "merchant_customs_name": "M",
        "amount": "1.00",
        "confirmed": "yes",
    }
    refused = finance.post(f"/payments/{failed.id}/declare", form, headers=HTMX)
    assert refused.status_code == 422 and declarations_of(failed.id) == []
