"""Settlement forms: the list's filters, the report upload and a difference's note."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from wtforms import SelectField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from dashboard.listing import choices
from dashboard.listing import strip_text
from dashboard.settlements.models import BatchState
from dashboard.settlements.service import reporting_providers


def _reporting_providers() -> list[tuple[str, str]]:
    return [(entry.code, entry.label) for entry in reporting_providers()]


class BatchFilterForm(FlaskForm):
    """Filter settlement batches by state and provider (GET, no CSRF: the filters live in the URL)."""

    class Meta:
        csrf = False

    state = SelectField("State", choices=choices(BatchState, "Any state"), default="")
    provider = SelectField("Provider", default="")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider.choices = [("", "Any provider"), *_reporting_providers()]


class ImportForm(FlaskForm):
    """Upload one settlement report file as the provider named it."""

    provider = SelectField("Provider", validators=[DataRequired("Choose the provider.")])
    file = FileField(
        "Report file (CSV)",
        validators=[FileRequired("Choose the report file.")],
        description="Keep the name the provider gave it: the name says which report it is.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider.choices = _reporting_providers()


class NoteForm(FlaskForm):
    """Explain a difference: what was found and what was done about it."""

    note = TextAreaField(
        "Note that resolves it",
        validators=[DataRequired("Say what explains the difference."), Length(max=1000)],
        filters=[strip_text],
        description="What explains it and what was done.",
    )
