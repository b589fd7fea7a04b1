"""Money: integer minor units, exact parsing, no float path, formatting per currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency

from dashboard.money import InvalidAmount
from dashboard.money import Money
from dashboard.money import UnknownCurrency
from dashboard.money import exponent
from dashboard.money import format_money


@pytest.mark.parametrize(
    ("text", "currency", "minor", "shown"),
    [
        ("1200", "JPY", 1200, "1200 JPY"),
        ("12.50", "USD", 1250, "12.50 USD"),
        ("1.234", "KWD", 1234, "1.234 KWD"),
        ("1,234.5", "HKD", 123450, "1234.50 HKD"),
        ("0.01", "HKD", 1, "0.01 HKD"),
    ],
)
def test_parse_round_trips_through_minor_units(text, currency, minor, shown):
    money = Money.parse(text, currency)
    assert money == Money(minor, currency)
    assert str(money) == shown
    assert Money.parse(str(money.decimal), currency) == money


def test_decimal_is_exact_major_units():
    assert Money(123450, "HKD").decimal == Decimal("1234.50")
    assert Money(1234, "KWD").decimal == Decimal("1.234")
    assert Money(1200, "JPY").decimal == Decimal("1200")


@pytest.mark.parametrize(("text", "currency"), [("0.001", "USD"), ("1.5", "JPY"), ("1.0001", "KWD")])
def test_parse_rejects_more_decimals_than_the_currency_has(text, currency):
    with pytest.raises(InvalidAmount, match="decimal places"):
        Money.parse(text, currency)


@pytest.mark.parametrize("text", ["abc", "", "NaN", "Infinity", "1.2.3"])
def test_parse_rejects_text_that_is_not_an_amount(text):
    with pytest.raises(InvalidAmount):
        Money.parse(text, "HKD")


def test_parse_refuses_a_float():
    with pytest.raises(TypeError):
        Money.parse(12.5, "HKD")  # type: ignore[arg-type]


@pytest.mark.parametrize("minor", [12.5, 12.0, Decimal("12"), "12", True])
def test_money_refuses_anything_but_int_minor_units(minor):
    with pytest.raises(TypeError):
        Money(minor, "HKD")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["XXX", "hkd", "", "BTC"])
def test_unknown_currency_raises_instead_of_defaulting(code):
    with pytest.raises(UnknownCurrency):
        Money(100, code)
    with pytest.raises(UnknownCurrency):
        Money.parse("1", code)


def test_same_currency_arithmetic_and_comparison():
    a, b = Money(1000, "HKD"), Money(250, "HKD")
    assert a + b == Money(1250, "HKD")
    assert a - b == Money(750, "HKD")
    assert -b == Money(-250, "HKD")
    assert b < a and b <= a and a > b and a >= b


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_cross_currency_arithmetic_is_refused(operation):
    with pytest.raises(TypeError, match=r"HKD.*USD"):
        operation(Money(100, "HKD"), Money(100, "USD"))


def test_adding_a_plain_number_is_refused():
    with pytest.raises(TypeError):
        Money(100, "HKD") + 1
    with pytest.raises(TypeError):
        Money(100, "HKD") + 0.5


def test_sum_of_amounts_in_one_currency():
    amounts = [Money(100, "HKD"), Money(250, "HKD"), Money(-50, "HKD")]
    assert sum(amounts) == Money(300, "HKD")


def test_sum_across_currencies_is_refused():
    with pytest.raises(TypeError):
        sum([Money(100, "HKD"), Money(100, "USD")])


@pytest.mark.parametrize(
    ("money", "shown"),
    [
        (Money(123450, "HKD"), "HK$1,234.50"),
        (Money(1200, "JPY"), "JP¥1,200"),
        (Money(1234, "KWD"), "KWD1.234"),
        (Money(5, "USD"), "US$0.05"),
        (Money(-123450, "HKD"), "-HK$1,234.50"),
    ],
)
def test_money_filter_uses_each_currency_own_decimals(money, shown):
    assert format_money(money).replace("\xa0", "") == shown


def test_money_filter_shows_a_dash_for_no_amount():
    assert format_money(None) == "—"


@pytest.mark.parametrize("locale", ["en_HK", "zh_Hant_HK", "de_DE"])
@pytest.mark.parametrize("currency", ["HKD", "USD", "CNY", "JPY", "KRW", "KWD", "CLF", "EUR"])
@pytest.mark.parametrize("minor", [0, 1, -1, 99, 100_000, -1_234_567, 123_456_789_012])
def test_money_reads_as_babel_formats_it(locale, currency, minor):
    money = Money(minor, currency)
    places = exponent(currency)
    pattern = "¤#,##0" + ("." + "0" * places if places else "")
    babel = format_currency(money.decimal, currency, format=pattern, locale=locale, currency_digits=False)
    assert format_money(money, locale=locale) == babel
    assert format_money(minor, currency, locale=locale) == babel


def test_money_filter_refuses_a_float_or_an_unknown_currency():
    with pytest.raises(TypeError):
        format_money(12.5, "HKD")
    with pytest.raises(UnknownCurrency):
        format_money(100, "XXX")
