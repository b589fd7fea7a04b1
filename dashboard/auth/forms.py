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

from dashboard.auth.passwords import LENGTH_RULE
from dashboard.i18n import LANGUAGES
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import at_most


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
        _l("E-mail"),
        validators=[DataRequired(_l("Enter your e-mail.")), at_most(254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), at_most(256)],
        render_kw={"autocomplete": "current-password"},
    )
    #: Where to go after signing in (checked again on the way out: local paths only).
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    """Current password, then the new one twice."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a new password.")), at_most(256)],
        description=LENGTH_RULE,
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(_l("Enter the new password again.")),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class CodeForm(FlaskForm):
    """The code an authenticator app shows (at sign-in, a recovery code is accepted too)."""

    code = StringField(
        _l("Authenticator code"),
        validators=[at_most(32)],
        render_kw={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"},
    )


class SignInCodeForm(CodeForm):
    """The sign-in's second step: the app's code, or one of the recovery codes."""

    code = StringField(
        _l("Authenticator code"),
        validators=[at_most(32)],
        description=_l("No phone at hand? Enter one of your recovery codes instead (each works once)."),
        render_kw={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"},
    )
