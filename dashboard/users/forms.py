"""Forms for staff administration."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Regexp

from dashboard.auth.passwords import LENGTH_RULE
from dashboard.forms import ConfirmedForm
from dashboard.forms import SteppedUpForm
from dashboard.users.models import Role

#: Something@something.tld; deliverability is the admin's business.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

ROLE_CHOICES = [SelectChoice(role.value, role.value.capitalize()) for role in Role]


class UserCreateForm(FlaskForm):
    """A new staff account with a temporary password."""

    email = EmailField(
        "E-mail",
        validators=[DataRequired(), Length(max=254), Regexp(EMAIL_PATTERN, message="Enter an e-mail.")],
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    password = PasswordField(
        "Temporary password",
        validators=[DataRequired(), Length(max=256)],
        description=f"{LENGTH_RULE} The user must change it at first login.",
        render_kw={"autocomplete": "new-password"},
    )


class RoleForm(FlaskForm):
    """Another role for an existing user."""

    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])


class ResetPasswordForm(FlaskForm):
    """A temporary password set by an admin."""

    password = PasswordField(
        "New temporary password",
        validators=[DataRequired(), Length(max=256)],
        description=f"{LENGTH_RULE} Their open sessions end.",
        render_kw={"autocomplete": "new-password"},
    )


class FreshCodeForm(SteppedUpForm):
    """A fresh authenticator code, asked before accounts are changed (step-up)."""


class DisableForm(ConfirmedForm):
    """Disabling an account: the first submit shows what it does, the confirmation does it."""

    #: The users pages ask for the fresh code before any change (:data:`FreshCodeForm`), not here.
    STEPS_UP = False
