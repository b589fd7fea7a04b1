"""The admin's form for a new API key."""

from __future__ import annotations

from wtforms import DateField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Optional

from dashboard.api.models import SCOPES
from dashboard.forms import SteppedUpForm
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import at_most
from dashboard.listing import strip_text

#: What each scope lets a key do, as the form explains it.
SCOPE_LABELS = {
    "agreements:write": _l("agreements:write: start and revoke Auto Debit agreements"),
    "charges:write": _l("charges:write: charge active agreements"),
    "payments:write": _l("payments:write: start AlipayHK payments"),
    "refunds:write": _l("refunds:write: refund payments (large refunds wait for a manager)"),
    "read": _l("read: read agreements, payments, refunds and the status feed"),
}


class ApiKeyForm(SteppedUpForm):
    """A new key: what uses it, what it may do, until when."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Name the key after what uses it.")), at_most(80)],
        filters=[strip_text],
        description=_l("What uses the key, e.g. Web shop or Billing."),
    )
    scopes = SelectMultipleField(
        _l("Scopes"),
        choices=[SelectChoice(scope, SCOPE_LABELS[scope]) for scope in SCOPES],
        validators=[DataRequired(_l("Choose at least one scope."))],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )
    expires_on = DateField(
        _l("Expires on (optional)"),
        validators=[Optional()],
        description=_l("The key stops working at the start of this day, Hong Kong time. Empty: never."),
    )
