"""Filters for the agreements list; the revoke and charge forms."""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms import SearchField
from wtforms import SelectField
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import Regexp
from wtforms.validators import ValidationError

from dashboard.agreements.queries import AGREEMENT_IDS
from dashboard.agreements.queries import DATED
from dashboard.agreements.queries import MAX_EXPIRING_DAYS
from dashboard.agreements.states import AgreementStatus
from dashboard.forms import ConfirmedForm
from dashboard.forms import DayField
from dashboard.forms import MoneyField
from dashboard.forms import MoneyMovingForm
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import choices
from dashboard.listing import id_validators
from dashboard.listing import strip_text
from dashboard.money import EXPONENTS
from dashboard.providers.methods import AUTO_DEBIT_WALLETS
from dashboard.providers.methods import method_label
from dashboard.statuses import status_label
from dashboard.templating import zone_label


class AgreementFilterForm(FlaskForm):
    """Search by customer reference or authState; filter by wallet, status and how soon it runs out.

    GET, no CSRF: every filter lives in the URL, so a list can be shared and the back button restores it.
    """

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search by customer ref"),
        validators=id_validators(*(kind.column for kind in AGREEMENT_IDS)),
        filters=[strip_text],
        description=_l(
            "Agreement number (12 or #12), customer ref (whole, or how it starts) or an exact authState."
        ),
    )
    wallet = SelectField(
        _l("Wallet"), choices=choices(AUTO_DEBIT_WALLETS, _l("Any wallet"), method_label), default=""
    )
    status = SelectField(_l("Status"), choices=choices(AgreementStatus, _l("Any status")), default="")
    expiring = IntegerField(
        _l("Expiring within (days)"),
        validators=[Optional()],
        render_kw={"min": 1, "max": MAX_EXPIRING_DAYS, "inputmode": "numeric"},
        description=_l("Active ones that run out by then."),
    )

    dated = SelectField(
        _l("Days of"),
        choices=[
            SelectChoice("", _l("Made")),
            SelectChoice("revoked", _l("Revoked by us")),
            SelectChoice("cancelled", _l("Cancelled in the wallet")),
        ],
        default="",
    )
    day_from = DayField(_l("From"), validators=[Optional()])
    day_to = DayField(_l("To"), validators=[Optional()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.day_to.description = _(
            "Days in %(zone)s, both included.", zone=zone_label(current_app.config["DISPLAY_TIMEZONE"])
        )

    def validate_day_to(self, field: DayField) -> None:
        if field.data and self.day_from.data and field.data < self.day_from.data:
            raise ValidationError(_("Must not be before “From”."))

    def validate_dated(self, field: SelectField) -> None:
        if field.data in DATED and self.status.data not in ("", DATED[field.data][1]):
            raise ValidationError(
                _("Only %(status)s agreements have these days.", status=status_label(DATED[field.data][1]))
            )
        if field.data in DATED and self.expiring.data is not None:
            raise ValidationError(_("Only active agreements run out: list them by the days they were made."))

    def validate_expiring(self, field: IntegerField) -> None:
        if field.data is None:
            return  # empty, or not a whole number (which its own message says)
        if not 1 <= field.data <= MAX_EXPIRING_DAYS:
            raise ValidationError(_("Enter a number of days from 1 to %(max)s.", max=MAX_EXPIRING_DAYS))
        if self.status.data not in ("", AgreementStatus.ACTIVE):
            raise ValidationError(_("Only active agreements run out: choose any status or active."))


class RevokeForm(ConfirmedForm):
    """Why staff revoke the agreement (kept on it, shown on its page, written in the audit log)."""

    reason = StringField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Say why the agreement is revoked.")),
            Length(max=256, message=_l("Field cannot be longer than %(max)d characters.")),
        ],
        filters=[strip_text],
        description=_l("For example: the customer asked by phone to stop automatic payments."),
    )


class ChargeForm(MoneyMovingForm):
    """What to charge an active agreement: an amount in a currency, what it is for, the merchant's reference.

    The view offers the contract's settlement currency first.
    """

    amount = MoneyField(_l("Amount"), validators=[DataRequired(_l("Enter the amount to charge."))])
    currency = SelectField(
        _l("Currency"),
        choices=[SelectChoice(code, code) for code in sorted(EXPONENTS)],
        validate_choice=False,
        description=_l("The customer's wallet is debited in this currency."),
    )
    description = StringField(
        _l("Order description"),
        validators=[
            DataRequired(_l("Say what the customer is charged for.")),
            Length(max=256, message=_l("Field cannot be longer than %(max)d characters.")),
        ],
        filters=[strip_text],
        description=_l("Shown to the customer in their wallet, e.g. Monthly plan, June 2026."),
    )
    merchant_reference = StringField(
        _l("Merchant reference"),
        validators=[
            Optional(),
            Length(max=64, message=_l("Field cannot be longer than %(max)d characters.")),
            Regexp(r"^[\x21-\x7e]+$", message=_l("Letters, digits and punctuation only, no spaces.")),
        ],
        filters=[strip_text],
        description=_l("Your order number for this charge, if any; without one, the payment id is sent."),
    )

    def validate(self, extra_validators=None) -> bool:
        """Read the amount in the chosen currency (left unread when the currency is unknown)."""
        self.amount.currency = self.currency.data if self.currency.data in EXPONENTS else None
        return super().validate(extra_validators)

    def validate_currency(self, field: SelectField) -> None:
        if field.data not in EXPONENTS:
            raise ValidationError(_("Choose a currency from the list."))
