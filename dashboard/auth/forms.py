"""Login and password forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length

from dashboard.auth.passwords import LENGTH_RULE
from dashboard.i18n import LANGUAGES


class EmptyForm(FlaskForm):
    """A form with nothing but its CSRF token, for POST-only buttons."""


class LanguageForm(FlaskForm):
    """The language to read the pages in, and the page to come back to."""

    language = SelectField(
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()], validators=[DataRequired()]
    )
    next = HiddenField()


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(
        "E-mail",
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    #: Where to go after signing in (checked again on the way out: local paths only).
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    """Current password, then the new one twice."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=256)],
        description=LENGTH_RULE,
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", message="The two new passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class CodeForm(FlaskForm):
    """The code an authenticator app shows (at sign-in, a recovery code is accepted too)."""

    code = StringField(
        "Authenticator code",
        validators=[Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"},
    )


class SignInCodeForm(CodeForm):
    """The sign-in's second step: the app's code, or one of the recovery codes."""

    code = StringField(
        "Authenticator code",
        validators=[Length(max=32)],
        description="No phone at hand? Enter one of your recovery codes instead (each works once).",
        render_kw={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"},
    )
