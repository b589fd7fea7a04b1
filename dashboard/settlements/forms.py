"""Settlement forms: the list's filters, the report upload and a difference's note."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from wtforms import SelectField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from dashboard.forms import DayField
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import choices
from dashboard.listing import strip_text
from dashboard.settlements.models import BatchState
from dashboard.settlements.service import reporting_providers


def _reporting_providers() -> list[tuple[str, str]]:
    return [(entry.code, entry.label) for entry in reporting_providers()]


class BatchFilterForm(FlaskForm):
    """Filter settlement batches by state, provider and day (GET, no CSRF: the filters live in the URL)."""

    class Meta:
        csrf = False

    state = SelectField(_l("State"), choices=choices(BatchState, _l("Any state")), default="")
    provider = SelectField(_l("Provider"), default="")
    day = DayField(
        _l("Day"),
        validators=[Optional()],
        description=_l("A batch's settlement day, or the transactions' day."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider.choices = [("", _l("Any provider")), *_reporting_providers()]


class ImportForm(FlaskForm):
    """Upload one settlement report file as the provider named it."""

    provider = SelectField(_l("Provider"), validators=[DataRequired(_l("Choose the provider."))])
    file = FileField(
        _l("Report file (CSV)"),
        validators=[FileRequired(_l("Choose the report file."))],
        description=_l("Keep the name the provider gave it: the name says which report it is."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider.choices = _reporting_providers()


class NoteForm(FlaskForm):
    """Explain a difference: what was found and what was done about it."""

    note = TextAreaField(
        _l("Note that resolves it"),
        validators=[
            DataRequired(_l("Say what explains the difference.")),
            Length(max=1000, message=_l("Field cannot be longer than %(max)d characters.")),
        ],
        filters=[strip_text],
        description=_l("What explains it and what was done."),
    )
