"""Form pieces every domain shares: an amount typed in major units, and the money-moving form.

A form that moves money has a confirmation step and carries its request id from its first render
(DESIGN §9 "The htmx form contract"): the first submit shows what will happen, the second does
it, and a resubmission — a double click, a retry, the back button — is the same request.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field
from wtforms import HiddenField
from wtforms import StringField
from wtforms.validators import Length
from wtforms.validators import ValidationError

from dashboard.money import InvalidAmount
from dashboard.money import Money
from dashboard.money import UnknownCurrency
from dashboard.money import exponent


class MoneyField(StringField):
    """An amount typed in major units (``120.50``) of the currency the form sets on it.

    The form sets ``field.currency`` before validating; ``field.money`` is the parsed
    :class:`Money` once it validated. More decimals than the currency allows, zero and negative
    amounts are refused beside the field; nothing is ever rounded.
    """

    currency: str | None = None
    money: Money | None = None

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form: Any) -> None:
        self.money = None
        if not self.data:
            return
        try:
            amount = Money.parse(self.data, self.currency or "")
        except (InvalidAmount, UnknownCurrency) as exc:
            raise ValidationError(str(exc)) from None
        if amount.minor <= 0:
            raise ValidationError("Enter an amount above zero.")
        self.money = amount

    def show(self, amount: Money) -> None:
        """Fill the field with ``amount`` in major units (a default the user may change)."""
        self.currency = amount.currency
        self.data = f"{amount.decimal:.{exponent(amount.currency)}f}"


def request_id_present(form: Any, field: Field) -> None:
    """Refuse a money-moving form without the request id its first render carried."""
    if not field.data:
        raise ValidationError("This form lost its request id: open it again.")


class ConfirmedForm(FlaskForm):
    """A form with a confirmation step: the first submit shows what will happen, ``yes`` does it."""

    #: Sent by the confirmation step's buttons only (never as a hidden input): ``yes`` does it,
    #: ``change`` goes back to editing; absent on the first submit, which shows the confirmation.
    confirmed = HiddenField()

    @property
    def is_confirmed(self) -> bool:
        """Return True when the user confirmed on the confirmation step."""
        return self.confirmed.data == "yes"

    @property
    def wants_change(self) -> bool:
        """Return True when the user went back from the confirmation step to change the form."""
        return self.confirmed.data == "change"


class MoneyMovingForm(ConfirmedForm):
    """A form that moves money: confirmed first, and carrying its request id from its first render."""

    #: Made once when the form is first shown; every resubmission carries the same one.
    request_id = HiddenField(validators=[request_id_present, Length(max=64)])
