"""The payments list's filters as read from the URL: amounts by the currency's exponent, days, wallets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from dashboard.listing import valid_filters
from dashboard.payments.forms import PaymentFilterForm
from dashboard.payments.queries import PaymentFilter


def form(**args: str) -> PaymentFilterForm:
    return PaymentFilterForm(MultiDict(args))


def errors(**args: str) -> dict[str, list[str]]:
    filled = form(**args)
    filled.validate()
    return filled.errors


def test_every_filter_is_read_from_the_url(app_ctx):
    filled = form(
        q=" PAY-1 ",
        provider="antom",
        status="succeeded",
        code=" USER_BALANCE_NOT_ENOUGH ",
        method="alipay_hk",
        currency="HKD",
        amount_min="1,000",
        amount_max="1,234.50",
        day_from="2026-03-01",
        day_to="2026-03-02",
        has_refunds="y",
    )
    assert valid_filters(filled, PaymentFilter) == PaymentFilter(
        q="PAY-1",
        provider="antom",
        status="succeeded",
        code="USER_BALANCE_NOT_ENOUGH",
        method="alipay_hk",
        currency="HKD",
        amount_min=Decimal("1000"),
        amount_max=Decimal("1234.50"),
        day_from=date(2026, 3, 1),
        day_to=date(2026, 3, 2),
        has_refunds=True,
    )
    assert valid_filters(form(), PaymentFilter) == PaymentFilter()


@pytest.mark.parametrize(
    ("currency", "amount", "message"),
    [
        ("HKD", "12.345", "HKD amounts have at most 2 decimals."),
        ("HKD", "12.500", "HKD amounts have at most 2 decimals."),  # rejected, never rounded
        ("JPY", "1200.5", "JPY amounts have no decimals."),
        ("KWD", "1.2345", "KWD amounts have at most 3 decimals."),
    ],
)
def test_an_amount_with_more_decimals_than_its_currency_has_is_refused_beside_the_field(
    app_ctx, currency, amount, message
):
    assert errors(currency=currency, amount_min=amount) == {"amount_min": [message]}
    assert errors(currency=currency, amount_max=amount) == {"amount_max": [message]}


@pytest.mark.parametrize(("currency", "amount"), [("HKD", "12.34"), ("JPY", "1200"), ("KWD", "1.234")])
def test_an_amount_within_its_currency_s_decimals_is_taken(app_ctx, currency, amount):
    assert errors(currency=currency, amount_min=amount, amount_max=amount) == {}


def test_an_amount_range_needs_a_currency(app_ctx):
    assert errors(amount_min="10") == {
        "amount_min": ["Choose a currency too: amounts in different currencies do not compare."]
    }


@pytest.mark.parametrize("text", ["-5", "1e3", "NaN", "12,34.5.6", "HK$12", "12345678901234"])
def test_an_amount_must_be_plain_digits(app_ctx, text):
    assert errors(currency="HKD", amount_min=text) == {
        "amount_min": ["Enter an amount in digits, such as 1234.50."]
    }


def test_an_amount_is_above_zero_and_the_range_is_the_right_way_round(app_ctx):
    assert errors(currency="HKD", amount_max="0") == {
        "amount_max": ["Payments are above zero: leave it empty for no limit."]
    }
    assert errors(currency="HKD", amount_min="20", amount_max="10") == {
        "amount_max": ["Must not be below “Amount from”."]
    }


def test_the_created_days_are_the_right_way_round(app_ctx):
    assert errors(day_from="2026-03-02", day_to="2026-03-01") == {
        "day_to": ["Must not be before “Created from”."]
    }
    assert errors(day_from="2026-03-02", day_to="2026-03-02") == {}
    assert list(errors(day_from="yesterday")) == ["day_from"]


def test_the_refunds_filter_is_yes_or_any(app_ctx):
    assert valid_filters(form(has_refunds="y"), PaymentFilter) == PaymentFilter(has_refunds=True)
    assert valid_filters(form(has_refunds=""), PaymentFilter) == PaymentFilter()
    assert list(errors(has_refunds="maybe")) == ["has_refunds"]


def test_a_wallet_code_is_letters_digits_and_underscores(app_ctx):
    assert errors(method="GCASH") == {}
    assert errors(method="ALIPAY HK") == {"method": ["Letters, digits and _ only, such as ALIPAY_HK."]}


def test_typed_amounts_come_back_as_typed_and_the_day_range_names_the_zone(app_ctx):
    filled = form(currency="HKD", amount_min="1,234.5")
    assert 'value="1,234.5"' in str(filled.amount_min())
    assert filled.day_to.description == "Days in HKT, both included."
