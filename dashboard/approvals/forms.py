"""A manager's decision on a request that waits for approval."""

from __future__ import annotations

from wtforms import HiddenField
from wtforms import TextAreaField
from wtforms.validators import AnyOf
from wtforms.validators import DataRequired
from wtforms.validators import ValidationError

from dashboard.forms import ConfirmedForm
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import at_most
from dashboard.listing import strip_text

APPROVE, REJECT = "approve", "reject"


class DecisionForm(ConfirmedForm):
    """Approve or reject, with a comment (required to reject: the requester reads why)."""

    #: Sent by the button pressed ("approve" or "reject"); carried through the confirmation step.
    decision = HiddenField(
        validators=[
            DataRequired(_l("Choose approve or reject.")),
            AnyOf((APPROVE, REJECT), message=_l("Choose approve or reject.")),
        ]
    )
    comment = TextAreaField(_l("Comment"), validators=[at_most(1000)], filters=[strip_text])

    @property
    def approves(self) -> bool:
        """Return True when the manager approves."""
        return self.decision.data == APPROVE

    def validate_comment(self, field: TextAreaField) -> None:
        if self.decision.data == REJECT and not field.data:
            raise ValidationError(_l("Say why it is rejected: the requester reads it."))
