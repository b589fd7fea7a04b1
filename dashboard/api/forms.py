"""The admin's form for a new API key."""

from __future__ import annotations

from wtforms import DateField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from dashboard.api.models import SCOPES
from dashboard.forms import SteppedUpForm
from dashboard.listing import strip_text

#: What each scope lets a key do, as the form explains it.
SCOPE_LABELS = {
    "agreements:write": "agreements:write: start and revoke Auto Debit agreements",
    "charges:write": "charges:write: charge active agreements",
    "payments:write": "payments:write: start AlipayHK payments",
    "refunds:write": "refunds:write: refund payments (large refunds wait for a manager)",
    "read": "read: read agreements, payments, refunds and the status feed",
}


class ApiKeyForm(SteppedUpForm):
    """A new key: what uses it, what it may do, until when."""

    name = StringField(
        "Name",
        validators=[DataRequired("Name the key after what uses it."), Length(max=80)],
        filters=[strip_text],
        description="What uses the key, e.g. Web shop or Billing.",
    )
    scopes = SelectMultipleField(
        "Scopes",
        choices=[SelectChoice(scope, SCOPE_LABELS[scope]) for scope in SCOPES],
        validators=[DataRequired("Choose at least one scope.")],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )
    expires_on = DateField(
        "Expires on (optional)",
        validators=[Optional()],
        description="The key stops working at the start of this day, Hong Kong time. Empty: never.",
    )
