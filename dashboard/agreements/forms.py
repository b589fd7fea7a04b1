"""Filters for the agreements list; the revoke form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SearchField
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from dashboard.agreements.states import AgreementStatus
from dashboard.forms import ConfirmedForm
from dashboard.listing import choices
from dashboard.listing import strip_text


class AgreementFilterForm(FlaskForm):
    """Search by customer reference or authState and filter by status (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(
        "Search by customer ref",
        validators=[Optional(), Length(max=64)],
        filters=[strip_text],
        description="Customer ref (whole, or how it starts) or an exact authState.",
    )
    status = SelectField("Status", choices=choices(AgreementStatus, "Any status"), default="")


class RevokeForm(ConfirmedForm):
    """Why staff revoke the agreement (kept on it, shown on its page, written in the audit log)."""

    reason = StringField(
        "Reason",
        validators=[DataRequired("Say why the agreement is revoked."), Length(max=256)],
        filters=[strip_text],
        description="For example: the customer asked by phone to stop automatic payments.",
    )
