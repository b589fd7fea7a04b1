"""The payments list's filters; the refund and cancel forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import SearchField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import ValidationError

from dashboard.forms import MoneyField
from dashboard.forms import MoneyMovingForm
from dashboard.listing import choices
from dashboard.listing import strip_text
from dashboard.payments.models import PROVIDERS
from dashboard.payments.states import PaymentStatus

#: The refund reason that needs a note (``REFUND_REASONS``), compared without case.
OTHER_REASON = "other"


class PaymentFilterForm(FlaskForm):
    """Search by any id and filter by provider and status (GET, no CSRF)."""

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


class RefundForm(MoneyMovingForm):
    """How much to refund and why; the view sets the currency, the reasons and what is refundable."""

    amount = MoneyField("Amount to refund", validators=[DataRequired("Enter the amount to refund.")])
    #: The payment's currency as the form was shown; refunds are only ever in it.
    currency = HiddenField()
    reason = SelectField("Reason", validators=[DataRequired("Choose why the customer is refunded.")])
    #: No Optional(): it would stop the chain before validate_note asks for a note on "Other".
    note = TextAreaField(
        "Note",
        validators=[Length(max=1000)],
        filters=[strip_text],
        description='Shown to the approving manager; required when the reason is "Other".',
    )
    #: Asked only while another refund of the payment is in flight (a second tab, a colleague).
    also_in_flight = BooleanField("Refund this as well as the refund already in flight")

    def set_up(self, currency: str, reasons: tuple[str, ...]) -> None:
        """Tie the form to the payment's currency and the configured reasons."""
        self.amount.currency = currency
        self.amount.label.text = f"Amount to refund ({currency})"
        self.reason.choices = [("", "Choose a reason"), *((reason, reason) for reason in reasons)]
        if not self.currency.data:
            self.currency.data = currency

    def validate_currency(self, field: HiddenField) -> None:
        if field.data != self.amount.currency:
            raise ValidationError(f"Refunds are in the payment's currency, {self.amount.currency}.")

    def validate_note(self, field: TextAreaField) -> None:
        if (self.reason.data or "").lower() == OTHER_REASON and not field.data:
            raise ValidationError('Say why: "Other" needs a note.')


class CancelForm(MoneyMovingForm):
    """Why the whole payment is cancelled."""

    reason = StringField(
        "Reason",
        validators=[DataRequired("Say why the payment is cancelled."), Length(max=256)],
        filters=[strip_text],
    )
