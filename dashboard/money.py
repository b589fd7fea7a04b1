"""Money as integer minor units plus an ISO 4217 code; no float path anywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from decimal import InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_symbol
from babel.numbers import get_decimal_symbol
from babel.numbers import get_group_symbol
from babel.numbers import parse_pattern

from dashboard.i18n import format_locale

#: ISO 4217 minor-unit exponents for the currencies this back office may meet.
#: An unknown code raises; it never defaults to 2.
EXPONENTS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLF": 4, "CLP": 0, "CNY": 2,
    "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
    "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "LKR": 2, "MOP": 2, "MXN": 2, "MYR": 2,
    "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "SAR": 2, "SEK": 2,
    "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "USD": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip


class UnknownCurrency(ValueError):
    """The currency code is not in the exponent table."""


class InvalidAmount(ValueError):
    """The text is not an amount this currency can hold."""


class TooPrecise(InvalidAmount):
    """The amount has more decimal places than its currency's minor unit allows."""

    def __init__(self, currency: str, places: int):
        super().__init__(f"{currency} allows at most {places} decimal places")
        self.currency = currency
        self.places = places


def exponent(currency: str) -> int:
    """Return the minor-unit exponent of ``currency`` or raise :class:`UnknownCurrency`."""
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown currency {currency!r}") from None


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError("Money.minor must be an int of minor units")
        exponent(self.currency)

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise TypeError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: object) -> Money:
        other = self._same_currency(other)
        if other is NotImplemented:
            return NotImplemented
        return Money(self.minor + other.minor, self.currency)

    def __radd__(self, other: object) -> Money:
        # sum() starts from 0.
        if other == 0:
            return self
        return self.__add__(other)

    def __sub__(self, other: object) -> Money:
        other = self._same_currency(other)
        if other is NotImplemented:
            return NotImplemented
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: object) -> bool:
        other = self._same_currency(other)
        if other is NotImplemented:
            return NotImplemented
        return self.minor < other.minor

    def __le__(self, other: object) -> bool:
        other = self._same_currency(other)
        if other is NotImplemented:
            return NotImplemented
        return self.minor <= other.minor

    def __gt__(self, other: object) -> bool:
        other = self._same_currency(other)
        if other is NotImplemented:
            return NotImplemented
        return self.minor > other.minor

    def __ge__(self, other: object) -> bool:
        other = self._same_currency(other)
        if other is NotImplemented:
            return NotImplemented
        return self.minor >= other.minor

    @property
    def decimal(self) -> Decimal:
        """Return the major-unit value as an exact Decimal (for display and wire formats)."""
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse user text such as ``"12.50"``; reject excess precision, never round."""
        if not isinstance(text, str):
            raise TypeError("Money.parse takes text, never a float")
        cleaned = text.strip().replace(",", "")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise InvalidAmount(f"{text!r} is not an amount") from None
        if not value.is_finite():
            raise InvalidAmount(f"{text!r} is not an amount")
        places = exponent(currency)
        if value.as_tuple().exponent < -places:  # type: ignore[operator]
            raise TooPrecise(currency, places)
        return cls(int(value.scaleb(places)), currency)

    def __str__(self) -> str:
        return f"{self.decimal:.{exponent(self.currency)}f} {self.currency}"


@dataclass(frozen=True, slots=True)
class MoneyLayout:
    """How one currency's amounts read in one locale: ``¤#,##0`` plus the currency's own decimals."""

    places: int
    #: Text before and after the digits, for positive and for negative amounts.
    prefixes: tuple[str, str]
    suffixes: tuple[str, str]
    group: str
    decimal: str

    def format(self, minor: int) -> str:
        """Format ``minor`` units as Babel's ``format_currency`` does with this layout's pattern."""
        negative = minor < 0
        whole, fraction = divmod(-minor if negative else minor, 10**self.places)
        digits = f"{whole:,}"
        if self.group != ",":
            digits = digits.replace(",", self.group)
        if self.places:
            digits = f"{digits}{self.decimal}{fraction:0{self.places}d}"
        return f"{self.prefixes[negative]}{digits}{self.suffixes[negative]}"


def _affix(text: str, symbol: str) -> str:
    # As Babel renders a pattern's prefix or suffix: the symbol in, quotes around literal text out.
    return re.sub(r"'([^']*)'", lambda m: m.group(1) or "'", text.replace("¤", symbol))


@lru_cache(maxsize=512)
def money_layout(currency: str, locale: str) -> MoneyLayout:
    """Return how ``currency`` reads in ``locale``, parsed from CLDR once per pair (not once per amount)."""
    places = exponent(currency)
    pattern = parse_pattern("¤#,##0" + ("." + "0" * places if places else ""))
    symbol = get_currency_symbol(currency, locale)
    return MoneyLayout(
        places=places,
        prefixes=tuple(_affix(text, symbol) for text in pattern.prefix),
        suffixes=tuple(_affix(text, symbol) for text in pattern.suffix),
        group=get_group_symbol(locale),
        decimal=get_decimal_symbol(locale),
    )


def format_money(value: Money | int | None, currency: str | None = None, locale: str | None = None) -> str:
    """Format minor units with the currency's own decimals, e.g. ``HK$1,234.50`` or ``JP¥1,200``, as the
    reader's language writes them (Hong Kong English outside a request).

    Takes a :class:`Money`, or minor units plus ``currency``: ``{{ p.amount_minor|money(p.currency) }}``.
    """
    if value is None:
        return "—"
    locale = locale or format_locale()
    if isinstance(value, Money):
        return money_layout(value.currency, locale).format(value.minor)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("format_money takes Money or an int of minor units")
    return money_layout(currency, locale).format(value)
