"""The customs declaration form."""

from __future__ import annotations

from collections.abc import Mapping

from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from dashboard.declarations.service import MAX_CUSTOMS_CODE
from dashboard.declarations.service import MAX_MERCHANT_CODE
from dashboard.declarations.service import MAX_MERCHANT_NAME
from dashboard.forms import MoneyField
from dashboard.forms import MoneyMovingForm
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import strip_text


def _upper(value: str | None) -> str | None:
    return value.upper() if isinstance(value, str) else value


class DeclarationForm(MoneyMovingForm):
    """Where to declare the payment, as whom, and how much; the view sets the currency."""

    customs_code = StringField(
        _l("Customs authority code"),
        validators=[
            DataRequired(_l("Enter the customs authority's code.")),
            Length(max=MAX_CUSTOMS_CODE, message=_l("Field cannot be longer than %(max)d characters.")),
        ],
        filters=[strip_text, _upper],
        render_kw={"list": "customs-codes", "autocomplete": "off", "spellcheck": "false"},
    )
    merchant_customs_code = StringField(
        _l("Merchant's customs registration code"),
        validators=[
            DataRequired(_l("Enter the merchant's customs registration code.")),
            Length(max=MAX_MERCHANT_CODE, message=_l("Field cannot be longer than %(max)d characters.")),
        ],
        filters=[strip_text],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    merchant_customs_name = StringField(
        _l("Merchant's name at customs"),
        validators=[
            DataRequired(_l("Enter the merchant's name as registered at customs.")),
            Length(max=MAX_MERCHANT_NAME, message=_l("Field cannot be longer than %(max)d characters.")),
        ],
        filters=[strip_text],
    )
    amount = MoneyField(_l("Declared amount"), validators=[DataRequired(_l("Enter the amount to declare."))])

    def set_up(self, currency: str, authorities: Mapping[str, str]) -> None:
        """Tie the amount to the payment's currency and describe the known customs codes."""
        self.amount.currency = currency
        self.amount.label.text = _("Declared amount (%(currency)s)", currency=currency)
        self.amount.description = _("At most the payment's amount.")
        self.customs_code.description = _("For example %(codes)s.", codes=", ".join(authorities))
