"""Forms for staff administration."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Regexp

from dashboard.auth.passwords import LENGTH_RULE
from dashboard.forms import ConfirmedForm
from dashboard.forms import SteppedUpForm
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import at_most
from dashboard.users.models import ROLE_LABELS
from dashboard.users.models import Role

#: Something@something.tld; deliverability is the admin's business.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

ROLE_CHOICES = [SelectChoice(role.value, ROLE_LABELS[role]) for role in Role]


class UserCreateForm(FlaskForm):
    """A new staff account with a temporary password."""

    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Enter an e-mail.")),
            at_most(254),
            Regexp(EMAIL_PATTERN, message=_l("Enter an e-mail.")),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), at_most(120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired(_l("Choose a role."))])
    password = PasswordField(
        _l("Temporary password"),
        validators=[DataRequired(_l("Enter a temporary password.")), at_most(256)],
        description=_l("%(rule)s The user must change it at first login.", rule=LENGTH_RULE),
        render_kw={"autocomplete": "new-password"},
    )


class RoleForm(FlaskForm):
    """Another role for an existing user."""

    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired(_l("Choose a role."))])


class ResetPasswordForm(FlaskForm):
    """A temporary password set by an admin."""

    password = PasswordField(
        _l("New temporary password"),
        validators=[DataRequired(_l("Enter a temporary password.")), at_most(256)],
        description=_l("%(rule)s Their open sessions end.", rule=LENGTH_RULE),
        render_kw={"autocomplete": "new-password"},
    )


class FreshCodeForm(SteppedUpForm):
    """A fresh authenticator code, asked before accounts are changed (step-up)."""


class DisableForm(ConfirmedForm):
    """Disabling an account: the first submit shows what it does, the confirmation does it."""

    #: The users pages ask for the fresh code before any change (:data:`FreshCodeForm`), not here.
    STEPS_UP = False
