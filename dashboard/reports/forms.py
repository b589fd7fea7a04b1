"""The report's filters: its days (a range or custom days), a provider and a currency."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from dashboard import clock
from dashboard.forms import DayField
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import choices
from dashboard.money import EXPONENTS
from dashboard.payments.models import PROVIDERS
from dashboard.providers.registry import label as provider_label
from dashboard.reports.ranges import RANGE_LABELS
from dashboard.reports.ranges import RangeError
from dashboard.reports.ranges import RangeKey
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.ranges import report_range
from dashboard.templating import zone_label


class ReportFilterForm(FlaskForm):
    """Choose the days, provider and currency of the report.

    GET, no CSRF: the filters live in the URL, so a report can be shared and bookmarked.
    """

    class Meta:
        csrf = False

    range = SelectField(
        _l("Days"),
        choices=[SelectChoice(key.value, label) for key, label in RANGE_LABELS.items()],
        default=RangeKey.LAST_7_DAYS.value,
    )
    day_from = DayField(_l("First day"), validators=[Optional()])
    day_to = DayField(_l("Last day"), validators=[Optional()])
    provider = SelectField(
        _l("Provider"), choices=choices(PROVIDERS, _l("Every provider"), provider_label), default=""
    )
    currency = SelectField(
        _l("Currency"), choices=choices(sorted(EXPONENTS), _l("Every currency"), str), default=""
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        zone = zone_label(current_app.config["DISPLAY_TIMEZONE"])
        self.day_to.description = _("For custom days: days in %(zone)s, both included.", zone=zone)

    def validate(self, extra_validators=None) -> bool:
        """Check the fields, then that the days make a range (empty day fields skip their own checks)."""
        if not super().validate(extra_validators):
            return False
        try:
            self._range()
        except RangeError as error:
            self.day_to.errors = [*self.day_to.errors, str(error)]
            return False
        return True

    def _range(self):
        zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
        today: date = clock.now().astimezone(zone).date()
        return report_range(RangeKey(self.range.data), today, zone, self.day_from.data, self.day_to.data)

    def filters(self) -> ReportFilters | None:
        """Return the filters the form asks for, or None when it has errors (the report then shows none)."""
        if not self.validate():
            return None
        return ReportFilters(self._range(), self.provider.data or None, self.currency.data or None)
