"""Filters for the notifications inbox."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SearchField
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from dashboard.forms import DayField
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import id_validators
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Verdict
from dashboard.notifications.queries import NOTIFICATION_IDS
from dashboard.providers.base import UNPARSEABLE
from dashboard.providers.registry import NOTIFYING

#: How each outcome reads in the inbox ("applied" is what staff call processed).
OUTCOME_LABELS = {
    InboxOutcome.PENDING: _l("pending"),
    InboxOutcome.APPLIED: _l("processed"),
    InboxOutcome.DUPLICATE: _l("duplicate"),
    InboxOutcome.LATE: _l("late"),
    InboxOutcome.UNMATCHED: _l("unmatched"),
    InboxOutcome.FAILED: _l("failed"),
    InboxOutcome.REJECTED: _l("rejected"),
}
#: How each signature verdict reads (the raw value stays in URLs and filters).
VERDICT_LABELS = {
    Verdict.VALID: _l("valid"),
    Verdict.INVALID: _l("invalid"),
    Verdict.MISSING: _l("missing"),
    "unchecked": _l("unchecked"),
}

ANY = SelectChoice("", _l("Any"))
PROVIDER_CHOICES = [ANY, *(SelectChoice(entry.code, entry.label) for entry in NOTIFYING.values())]
KIND_CHOICES = [
    ANY,
    *(
        SelectChoice(kind, f"{kind} ({entry.label})")
        for entry in NOTIFYING.values()
        for kind in entry.webhook.notification_kinds
    ),
    SelectChoice(UNPARSEABLE, _l("unparseable body")),
]
VERDICT_CHOICES = [ANY, *(SelectChoice(verdict.value, VERDICT_LABELS[verdict]) for verdict in Verdict)]
OUTCOME_CHOICES = [ANY, *(SelectChoice(outcome.value, label) for outcome, label in OUTCOME_LABELS.items())]


class NotificationFilterForm(FlaskForm):
    """Filter by provider, kind, verdict, outcome and day range; search by any id (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search by id"),
        validators=id_validators(*(kind.column for kind in NOTIFICATION_IDS)),
        description=_l("Reference, event id, dedup key, payment or agreement id, or #notification."),
    )
    provider = SelectField(_l("Provider"), choices=PROVIDER_CHOICES, validators=[Optional()])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, validators=[Optional()])
    verdict = SelectField(_l("Verdict"), choices=VERDICT_CHOICES, validators=[Optional()])
    outcome = SelectField(_l("Outcome"), choices=OUTCOME_CHOICES, validators=[Optional()])
    day_from = DayField(_l("From (HK date)"), validators=[Optional()])
    day_to = DayField(_l("To (HK date)"), validators=[Optional()])
