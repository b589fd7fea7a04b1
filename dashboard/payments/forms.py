"""Filters for the payments list."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SearchField
from wtforms import SelectField
from wtforms.validators import Length
from wtforms.validators import Optional

from dashboard.listing import choices
from dashboard.listing import strip_text
from dashboard.payments.models import PROVIDERS
from dashboard.payments.states import PaymentStatus


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
