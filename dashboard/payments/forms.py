"""Filters for the payments list (and its CSV export, which takes the same URL)."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms import SearchField
from wtforms import SelectField
from wtforms import StringField
from wtforms import ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import Regexp

from dashboard.listing import choices
from dashboard.listing import strip_text
from dashboard.money import EXPONENTS
from dashboard.payments.models import PROVIDERS
from dashboard.payments.states import PaymentStatus
from dashboard.templating import zone_label

#: An amount as staff type it in major units: digits, thousands commas, a decimal point. Thirteen
#: whole digits keep every currency's minor units inside a BIGINT.
_AMOUNT = re.compile(r"\d{1,13}(\.\d{1,20})?")


def _yes_or_any(value: object) -> bool:
    """Read the refunds filter: ``y`` keeps refunded payments, empty keeps all, anything else is refused."""
    if value in ("", None, False):
        return False
    if value in ("y", True):
        return True
    raise ValueError(f"unknown choice {value!r}")


class AmountField(StringField):
    """An amount in major units (``1,234.50``); ``data`` is its exact Decimal, or None when empty.

    Whether the decimals fit is the form's question: it depends on the currency chosen beside it.
    """

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        text = (valuelist[0] if valuelist else "").strip().replace(",", "")
        if not text:
            return
        if not _AMOUNT.fullmatch(text):
            raise ValueError("Enter an amount in digits, such as 1234.50.")
        self.data = Decimal(text)

    def _value(self) -> str:
        # What was typed comes back as typed (with its commas), not as the Decimal read from it.
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class PaymentFilterForm(FlaskForm):
    """Search by any id; filter by provider, status, wallet, currency and amount, created days, refunds.

    GET, no CSRF: every filter lives in the URL, so a list can be shared and the back button restores it.
    """

    class Meta:
        csrf = False

    q = SearchField(
        "Search by id",
        validators=[Optional(), Length(max=128)],
        filters=[strip_text],
        description="Our id, provider id, refund id or customer ref: whole, or how it starts.",
    )
    provider = SelectField("Provider", choices=choices(PROVIDERS, "Any provider", str.capitalize), default="")
    status = SelectField("Status", choices=choices(PaymentStatus, "Any status"), default="")
    method = StringField(
        "Wallet / method",
        validators=[
            Optional(),
            Length(max=32),
            Regexp(r"^[A-Za-z0-9_]+$", message="Letters, digits and _ only, such as ALIPAY_HK."),
        ],
        filters=[strip_text],
        description="A whole code, any case: GCASH.",
    )
    currency = SelectField("Currency", choices=choices(sorted(EXPONENTS), "Any currency", str), default="")
    amount_min = AmountField("Amount from")
    amount_max = AmountField(
        "Amount to",
        description="Both included, e.g. 1234.50.",
    )
    day_from = DateField("Created from", validators=[Optional()])
    day_to = DateField("Created to", validators=[Optional()])
    has_refunds = SelectField(
        "Refunds",
        choices=[SelectChoice("", "Any"), SelectChoice("y", "Has refunds")],
        coerce=_yes_or_any,
        default="",
        description="Money refunded.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        zone = zone_label(current_app.config["DISPLAY_TIMEZONE"])
        self.day_to.description = f"Days in {zone}, both included."

    def _check_amount(self, field: AmountField) -> None:
        """An amount needs a currency, fits its decimals and is above zero."""
        if field.data is None:
            return
        currency = self.currency.data
        if not currency:
            raise ValidationError("Choose a currency too: amounts in different currencies do not compare.")
        if currency not in EXPONENTS:
            return  # the currency's own error says what is wrong
        places = EXPONENTS[currency]
        if -field.data.as_tuple().exponent > places:  # type: ignore[operator]
            allowed = "no decimals" if places == 0 else f"at most {places} decimal{'s' if places > 1 else ''}"
            raise ValidationError(f"{currency} amounts have {allowed}.")
        if field.data <= 0:
            raise ValidationError("Payments are above zero: leave it empty for no limit.")

    def validate_amount_min(self, field: AmountField) -> None:
        self._check_amount(field)

    def validate_amount_max(self, field: AmountField) -> None:
        self._check_amount(field)
        low = self.amount_min.data
        if low is not None and not self.amount_min.errors and field.data is not None and field.data < low:
            raise ValidationError("Must not be below “Amount from”.")

    def validate_day_to(self, field: DateField) -> None:
        if field.data and self.day_from.data and field.data < self.day_from.data:
            raise ValidationError("Must not be before “Created from”.")
