"""Form pieces every domain shares: an amount typed in major units, the confirmation step, and the
money-moving form.

A form that moves money has a confirmation step and carries its request id from its first render
(DESIGN §9 "The htmx form contract"): the first submit shows what will happen, the second does
it, and a resubmission — a double click, a retry, the back button — is the same request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import abort
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute
from wtforms import DateField
from wtforms import Field
from wtforms import HiddenField
from wtforms import StringField
from wtforms.validators import StopValidation
from wtforms.validators import ValidationError

from dashboard.auth import second_factor
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import at_most
from dashboard.money import InvalidAmount
from dashboard.money import Money
from dashboard.money import TooPrecise
from dashboard.money import UnknownCurrency
from dashboard.money import exponent


class MoneyField(StringField):
    """An amount typed in major units (``120.50``) of the currency the form sets on it.

    The form sets ``field.currency`` before validating; ``field.money`` is the parsed
    :class:`Money` once it validated. More decimals than the currency allows, zero, negative and
    absurdly large amounts are refused beside the field; nothing is ever rounded. Without a
    currency (a form whose currency field was refused says so there) the amount is left unread.
    """

    currency: str | None = None
    money: Money | None = None
    #: Whole digits an amount may have: every currency's minor units of it fit a BIGINT.
    MAX_WHOLE_DIGITS = 13

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form: Any) -> None:
        self.money = None
        if not self.data:
            return
        if self.currency is None:
            raise StopValidation()
        try:
            amount = Money.parse(self.data, self.currency)
        except TooPrecise as exc:
            raise ValidationError(
                _(
                    "%(currency)s allows at most %(places)s decimal places",
                    currency=exc.currency,
                    places=exc.places,
                )
            ) from None
        except InvalidAmount:
            raise ValidationError(_("%(text)s is not an amount", text=repr(self.data))) from None
        except UnknownCurrency:
            raise ValidationError(_("unknown currency %(currency)s", currency=repr(self.currency))) from None
        if amount.minor <= 0:
            raise ValidationError(_("Enter an amount above zero."))
        if amount.decimal >= 10**self.MAX_WHOLE_DIGITS:
            limit = f"{10**self.MAX_WHOLE_DIGITS:,}"
            raise ValidationError(_("Enter less than %(limit)s.", limit=limit))
        self.money = amount

    def show(self, amount: Money) -> None:
        """Fill the field with ``amount`` in major units (a default the user may change)."""
        self.currency = amount.currency
        self.data = f"{amount.decimal:.{exponent(amount.currency)}f}"


#: The days a day field accepts: none of our records can fall outside them, and the far ends of the
#: calendar (year 1, year 9999) cannot even be turned into a time in another zone.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


class DayField(DateField):
    """A calendar day (``YYYY-MM-DD``) from :data:`FIRST_DAY` to :data:`LAST_DAY`."""

    def pre_validate(self, form: Any) -> None:
        """Refuse a well-formed day outside the years we keep."""
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            raise ValidationError(
                _("Enter a day from %(first)s to %(last)s.", first=FIRST_DAY.year, last=LAST_DAY.year)
            )


#: What the request ids the forms make are written with (a prefix, a dash and hex digits).
REQUEST_ID_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")


def request_id_present(form: Any, field: Field) -> None:
    """Refuse a money-moving form without the request id its first render carried, or with one it
    could not have carried (it is stored and shown on the payment's page)."""
    if not field.data or not REQUEST_ID_CHARACTERS.fullmatch(field.data):
        raise ValidationError(_("This form lost its request id: open it again."))


class SteppedUpForm(FlaskForm):
    """A form that asks for a fresh authenticator code when the user has a second factor and last
    gave a code more than ``STEP_UP_MINUTES`` ago (step-up): nothing is done without it."""

    #: Whether submitting asks for a fresh code; a form that moves no money (discarding a draft) says no.
    STEPS_UP = True

    #: The fresh authenticator code asked for when a step-up is due.
    step_up_code = StringField(
        _l("Authenticator code"),
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
    )

    @property
    def asks_step_up(self) -> bool:
        """Return True when confirming this form needs a fresh authenticator code now."""
        return self.STEPS_UP and second_factor.step_up_due()

    def stepped_up(self) -> bool:
        """Check the fresh code when one is due; False (the error beside the code) when it did not pass.

        :raises AccountLocked: that wrong code locked the account
        """
        if not self.asks_step_up:
            return True
        try:
            second_factor.step_up(self.step_up_code.data or "")
        except second_factor.CodeRejected as rejected:
            self.step_up_code.errors.append(rejected.message)
            return False
        return True


class ConfirmedForm(SteppedUpForm):
    """A form with a confirmation step: the first submit shows what will happen, ``yes`` does it.

    Its confirmation step also asks for a fresh code when a step-up is due (:class:`SteppedUpForm`).
    """

    #: Sent by the confirmation step's buttons only (never as a hidden input): ``yes`` does it,
    #: ``change`` goes back to editing; absent on the first submit, which shows the confirmation.
    confirmed = HiddenField()

    @property
    def is_confirmed(self) -> bool:
        """Return True when the user confirmed on the confirmation step."""
        return self.confirmed.data == "yes"

    @property
    def wants_change(self) -> bool:
        """Return True when the user went back from the confirmation step to change the form."""
        return self.confirmed.data == "change"


def confirm_first(
    form: ConfirmedForm,
    show: Callable[[bool], ResponseReturnValue],
    act: Callable[[], ResponseReturnValue],
    check: Callable[[], object] = lambda: None,
) -> ResponseReturnValue:
    """Walk a POSTed form through its confirmation step (DESIGN §9) and return the answer.

    The fields again on "change", on invalid input, or when ``check`` (run on valid input: the rules
    of the object acted on) adds errors to them; the confirmation on a first valid submit, and again
    (422) when a step-up code is due and missing or wrong; ``act`` once the user confirmed.

    :param show: answer with the form's page; its argument says whether to show the confirmation
    """
    if form.validate_on_submit():
        check()
    if form.wants_change or form.errors:
        return show(False)
    if not form.is_confirmed or not form.stepped_up():
        return show(True)
    return act()


def refusal_beside(field: Field, refusal: str | None, cannot: str) -> Callable[[], None]:
    """Return a ``check`` for :func:`confirm_first` that puts why the object refuses the action beside
    ``field`` ("It cannot be cancelled: …"); nothing when ``refusal`` is None.

    :param cannot: the start of the message, translated, e.g. ``_("It cannot be cancelled")``
    """

    def check() -> None:
        if refusal is not None:
            field.errors.append(_("%(cannot)s: %(refusal)s.", cannot=cannot, refusal=refusal))

    return check


class MoneyMovingForm(ConfirmedForm):
    """A form that moves money: confirmed first, and carrying its request id from its first render."""

    #: Made once when the form is first shown; every resubmission carries the same one.
    request_id = HiddenField(validators=[request_id_present, at_most(64)])


def earlier_submit(
    request_key: InstrumentedAttribute, request_id: str | None, owner: InstrumentedAttribute, owner_id: int
) -> Any:
    """Return the row an earlier submit of this same form made, or None.

    Looked up before anything else, so a resubmission answers with what the first submit did and
    sends nothing again. A request id that made a row of another object answers 409: that form was
    opened from the other object's page.

    :param request_key: the column holding the form's request id (``Refund.request_id``)
    :param owner: the column naming the object the form acts on (``Refund.payment_id``)
    :param owner_id: that object's id, from the URL
    """
    if not request_id:
        return None
    found = db.session.scalars(select(request_key.class_).where(request_key == request_id).limit(1)).first()
    if found is not None and getattr(found, owner.key) != owner_id:
        noun = owner.key.removesuffix("_id")
        abort(409, f"This form belongs to another {noun}: open it again from the {noun}.")
    return found
