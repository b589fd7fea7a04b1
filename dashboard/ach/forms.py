"""The payroll upload form, the batch page's submit and discard forms, and the batches list's filters."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from sqlalchemy import select
from wtforms import BooleanField
from wtforms import DateField
from wtforms import HiddenField
from wtforms import SearchField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import Regexp
from wtforms.validators import ValidationError

from dashboard import clock
from dashboard.ach.payroll_file import ENCODINGS
from dashboard.ach.queries import SEARCHED_COLUMNS
from dashboard.ach.rules import Severity
from dashboard.ach.rules import first_value_date
from dashboard.ach.rules import value_date_problems
from dashboard.ach.states import BatchStatus
from dashboard.extensions import db
from dashboard.forms import ConfirmedForm
from dashboard.forms import DayField
from dashboard.listing import choices
from dashboard.listing import id_validators
from dashboard.listing import strip_text
from dashboard.providers.hkach.settings import SANDBOX_DEBTOR_ACCOUNT
from dashboard.templating import zone_label
from dashboard.users.models import Role
from dashboard.users.models import User


def default_debtor_account() -> str:
    """Return the account salaries are paid from: ``HKACH_DEBTOR_ACCOUNT``, or the simulator's."""
    config = current_app.config
    return config.get("HKACH_DEBTOR_ACCOUNT") or (SANDBOX_DEBTOR_ACCOUNT if config.get("SANDBOX") else "")


class UploadForm(FlaskForm):
    """A payroll file, the day it is paid, the account it is paid from, and how to read it.

    The same form uploads a new batch and a corrected file for a batch; the reason for uploading a
    file again is asked only once the service found the same file in an earlier batch.
    """

    file = FileField("Payroll file (CSV)", validators=[FileRequired("Choose the payroll CSV file.")])
    value_date = DateField(
        "Value date",
        validators=[DataRequired("Enter the day the employees are paid (YYYY-MM-DD).")],
        description="The day employees are paid: Monday to Saturday, not a Hong Kong public holiday.",
    )
    debtor_account = StringField(
        "Pay from account",
        validators=[
            DataRequired("Enter the account the salaries are paid from."),
            Regexp(
                r"^[\d -]+$", message="Enter the account number in digits (spaces and hyphens are ignored)."
            ),
        ],
        filters=[strip_text],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
        description="Our account at the bank.",
    )
    encoding = SelectField(
        "Encoding",
        choices=[
            SelectChoice("", "Detected automatically"),
            *(SelectChoice(*encoding) for encoding in ENCODINGS),
        ],
        default="",
        description="Leave it detected unless the preview shows names with wrong characters.",
    )
    duplicate_reason = TextAreaField(
        "Reason to pay the same file again",
        validators=[Optional(), Length(max=500)],
        filters=[strip_text],
        description="Kept with the batch and in the audit log.",
    )

    def validate_value_date(self, field: DateField) -> None:
        errors = [p for p in value_date_problems(field.data, clock.now()) if p.severity is Severity.ERROR]
        if errors:
            raise ValidationError(errors[0].message)

    def fill_defaults(self, now: datetime, value_date: date | None = None, debtor_account: str | None = None):
        """Fill the value date and the account when the form is first shown."""
        self.value_date.data = value_date or first_value_date(now)
        self.debtor_account.data = debtor_account or default_debtor_account()


class SubmitForm(ConfirmedForm):
    """Submit a checked batch for a manager's approval, its warnings acknowledged."""

    acknowledge = BooleanField("I have read the warnings and these rows are to be paid as they are")
    #: The file the page showed (its SHA-256): a file uploaded since is not submitted unseen.
    sha256 = HiddenField()


class DiscardForm(ConfirmedForm):
    """Discard a batch that was never sent (confirmed first); it moves no money, so no step-up."""

    STEPS_UP = False


def _user_id(value: object) -> int | None:
    """Read the uploader filter: a user id, or None for anyone."""
    return None if value in ("", None) else int(value)  # type: ignore[arg-type]


class BatchFilterForm(FlaskForm):
    """Search by batch reference, employee id, payee name or account number; filter by status and value date.

    GET, no CSRF: every filter lives in the URL, so a list can be shared and the back button restores it.
    """

    class Meta:
        csrf = False

    q = SearchField(
        "Search",
        validators=id_validators(*SEARCHED_COLUMNS),
        filters=[strip_text],
        description="A batch number (#3); a batch reference or payee name (any case), whole or how it"
        " starts; an employee id or account number, whole (or how it starts, for finance and managers).",
    )
    status = SelectField("Status", choices=choices(BatchStatus, "Any status"), default="")
    uploaded_by_id = SelectField("Uploaded by", coerce=_user_id, default="")
    value_from = DayField("Value date from", validators=[Optional()])
    value_to = DayField("Value date to", validators=[Optional()], description="Both days included.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.value_to.description = (
            f"Both days included ({zone_label(current_app.config['DISPLAY_TIMEZONE'])})."
        )
        uploaders = db.session.execute(
            select(User.id, User.name).where(User.role == Role.FINANCE).order_by(User.name, User.id)
        )
        self.uploaded_by_id.choices = [
            SelectChoice("", "Anyone"),
            *(SelectChoice(str(user_id), name) for user_id, name in uploaders),
        ]

    def validate_value_to(self, field: DateField) -> None:
        if field.data and self.value_from.data and field.data < self.value_from.data:
            raise ValidationError("Must not be before “Value date from”.")


def acknowledgement_missing(form: SubmitForm, warning_count: int) -> None:
    """Put the missing acknowledgement beside its box when the batch has warnings."""
    if warning_count and not form.acknowledge.data:
        plural = "s" if warning_count != 1 else ""
        form.acknowledge.errors.append(f"Tick this to confirm you read the {warning_count} warning{plural}.")
