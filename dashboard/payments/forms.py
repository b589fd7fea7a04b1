"""The payments list's filters (its CSV export takes the same URL); the refund and cancel forms."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import SearchField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import Regexp

from dashboard.forms import DayField
from dashboard.forms import MoneyField
from dashboard.forms import MoneyMovingForm
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.i18n import ngettext
from dashboard.listing import choices
from dashboard.listing import id_validators
from dashboard.listing import strip_text
from dashboard.money import EXPONENTS
from dashboard.payments.models import PROVIDERS
from dashboard.payments.queries import NO_CODE
from dashboard.payments.queries import PAYMENT_IDS
from dashboard.payments.reasons import reason_label
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
            raise ValueError(_("Enter an amount in digits, such as 1234.50."))
        self.data = Decimal(text)

    def _value(self) -> str:
        # What was typed comes back as typed (with its commas), not as the Decimal read from it.
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


#: The refund reason that needs a note (``REFUND_REASONS``), compared without case.
OTHER_REASON = "other"
#: What a refund whose reason is "Other" without a note is told.
NOTE_MISSING = _l('Say why: "Other" needs a note.')


def note_missing(reason: str | None, note: str | None) -> bool:
    """Return True when a refund's reason is "Other" and it has no note saying why."""
    return (reason or "").lower() == OTHER_REASON and not note


class PaymentFilterForm(FlaskForm):
    """Search by any id; filter by provider, status, result code, wallet, currency and amount, created
    days, refunds.

    GET, no CSRF: every filter lives in the URL, so a list can be shared and the back button restores it.
    """

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search by id"),
        validators=id_validators(*(kind.column for kind in PAYMENT_IDS)),
        filters=[strip_text],
        description=_l(
            "Payment number (437 or #437); our id, provider id, refund id or customer ref: "
            "whole, or how it starts."
        ),
    )
    provider = SelectField(
        _l("Provider"), choices=choices(PROVIDERS, _l("Any provider"), str.capitalize), default=""
    )
    status = SelectField(_l("Status"), choices=choices(PaymentStatus, _l("Any status")), default="")
    code = StringField(
        _l("Result code"),
        validators=[
            Optional(),
            Length(max=64, message=_l("Field cannot be longer than %(max)d characters.")),
        ],
        filters=[strip_text],
        description=_l(
            "The provider's code, whole, as a payment shows it: USER_BALANCE_NOT_ENOUGH; %(none)s for none.",
            none=NO_CODE,
        ),
    )
    method = StringField(
        _l("Wallet / method"),
        validators=[
            Optional(),
            Length(max=32, message=_l("Field cannot be longer than %(max)d characters.")),
            Regexp(r"^[A-Za-z0-9_]+$", message=_l("Letters, digits and _ only, such as ALIPAY_HK.")),
        ],
        filters=[strip_text],
        description=_l("A whole code, any case: GCASH."),
    )
    currency = SelectField(
        _l("Currency"), choices=choices(sorted(EXPONENTS), _l("Any currency"), str), default=""
    )
    amount_min = AmountField(_l("Amount from"))
    amount_max = AmountField(
        _l("Amount to"),
        description=_l("Both included, e.g. 1234.50."),
    )
    day_from = DayField(_l("Created from"), validators=[Optional()])
    day_to = DayField(_l("Created to"), validators=[Optional()])
    has_refunds = SelectField(
        _l("Refunds"),
        choices=[SelectChoice("", _l("Any")), SelectChoice("y", _l("Has refunds"))],
        coerce=_yes_or_any,
        default="",
        description=_l("Money refunded."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        zone = zone_label(current_app.config["DISPLAY_TIMEZONE"])
        self.day_to.description = _("Days in %(zone)s, both included.", zone=zone)

    def _check_amount(self, field: AmountField) -> None:
        """An amount needs a currency, fits its decimals and is above zero."""
        if field.data is None:
            return
        currency = self.currency.data
        if not currency:
            raise ValidationError(_("Choose a currency too: amounts in different currencies do not compare."))
        if currency not in EXPONENTS:
            return  # the currency's own error says what is wrong
        places = EXPONENTS[currency]
        if -field.data.as_tuple().exponent > places:  # type: ignore[operator]
            if places == 0:
                raise ValidationError(_("%(currency)s amounts have no decimals.", currency=currency))
            raise ValidationError(
                ngettext(
                    "%(currency)s amounts have at most %(num)d decimal.",
                    "%(currency)s amounts have at most %(num)d decimals.",
                    places,
                    currency=currency,
                )
            )
        if field.data <= 0:
            raise ValidationError(_("Payments are above zero: leave it empty for no limit."))

    def validate_amount_min(self, field: AmountField) -> None:
        self._check_amount(field)

    def validate_amount_max(self, field: AmountField) -> None:
        self._check_amount(field)
        low = self.amount_min.data
        if low is not None and not self.amount_min.errors and field.data is not None and field.data < low:
            raise ValidationError(_("Must not be below “Amount from”."))

    def validate_day_to(self, field: DayField) -> None:
        if field.data and self.day_from.data and field.data < self.day_from.data:
            raise ValidationError(_("Must not be before “Created from”."))


class RefundForm(MoneyMovingForm):
    """How much to refund and why; the view sets the currency, the reasons and what is refundable."""

    amount = MoneyField(_l("Amount to refund"), validators=[DataRequired(_l("Enter the amount to refund."))])
    #: The payment's currency as the form was shown; refunds are only ever in it.
    currency = HiddenField()
    reason = SelectField(_l("Reason"), validators=[DataRequired(_l("Choose why the customer is refunded."))])
    #: No Optional(): it would stop the chain before validate_note asks for a note on "Other".
    note = TextAreaField(
        _l("Note"),
        validators=[Length(max=1000, message=_l("Field cannot be longer than %(max)d characters."))],
        filters=[strip_text],
        description=_l('Shown to the approving manager; required when the reason is "Other".'),
    )
    #: Asked only while another refund of the payment is in flight (a second tab, a colleague).
    also_in_flight = BooleanField(_l("Refund this as well as the refund already in flight"))

    def set_up(self, currency: str, reasons: tuple[str, ...]) -> None:
        """Tie the form to the payment's currency and the configured reasons."""
        self.amount.currency = currency
        self.amount.label.text = _("Amount to refund (%(currency)s)", currency=currency)
        self.reason.choices = [
            ("", _("Choose a reason")),
            *((reason, reason_label(reason)) for reason in reasons),
        ]
        if not self.currency.data:
            self.currency.data = currency

    def validate_currency(self, field: HiddenField) -> None:
        if field.data != self.amount.currency:
            raise ValidationError(
                _("Refunds are in the payment's currency, %(currency)s.", currency=self.amount.currency)
            )

    def validate_note(self, field: TextAreaField) -> None:
        if note_missing(self.reason.data, field.data):
            raise ValidationError(str(NOTE_MISSING))


class CancelForm(MoneyMovingForm):
    """Why the whole payment is cancelled."""

    reason = StringField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Say why the payment is cancelled.")),
            Length(max=256, message=_l("Field cannot be longer than %(max)d characters.")),
        ],
        filters=[strip_text],
    )
