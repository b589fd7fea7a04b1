"""Filters for the audit log."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Optional

from dashboard.audit.models import AuditLog
from dashboard.forms import DayField
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import id_validators


class AuditFilterForm(FlaskForm):
    """Filter by action prefix, actor, object and day range (GET, no CSRF)."""

    class Meta:
        csrf = False

    action = StringField(_l("Action starts with"), validators=id_validators(AuditLog.action))
    actor = StringField(_l("Actor e-mail"), validators=id_validators(AuditLog.actor_label))
    object_type = StringField(_l("Object type"), validators=id_validators(AuditLog.object_type))
    object_id = StringField(_l("Object id"), validators=id_validators(AuditLog.object_id))
    day_from = DayField(_l("From (HK date)"), validators=[Optional()])
    day_to = DayField(_l("To (HK date)"), validators=[Optional()])
