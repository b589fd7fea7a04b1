"""A list filter's select renders its fixed options once, yet reads exactly as WTForms' own select."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from dashboard.forms import StaticSelectField
from dashboard.listing import choices

STATUSES = choices(["pending", "charged_back", 'a<b & "c"'], "Any status")
REFUNDS = [SelectChoice("", "Any"), SelectChoice("y", "Has refunds")]


def _yes(value: object) -> bool:
    return value in ("y", True)


class StaticForm(Form):
    status = StaticSelectField("Status", choices=STATUSES, default="")
    refunds = StaticSelectField("Refunds", choices=REFUNDS, coerce=_yes, default="")


class PlainForm(Form):
    status = SelectField("Status", choices=STATUSES, default="")
    refunds = SelectField("Refunds", choices=REFUNDS, coerce=_yes, default="")


@pytest.mark.parametrize("status", ["", "pending", "charged_back", 'a<b & "c"', "unknown"])
@pytest.mark.parametrize("refunds", ["", "y"])
@pytest.mark.parametrize("attributes", [{}, {"aria-invalid": "true", "aria-describedby": "error-status"}])
def test_filter_select_reads_as_wtforms_renders_it(status, refunds, attributes):
    args = MultiDict({"status": status, "refunds": refunds})
    static, plain = StaticForm(args), PlainForm(args)
    for _ in range(2):  # the second render comes from the cache
        assert static.status(**attributes) == plain.status(**attributes)
        assert static.refunds(**attributes) == plain.refunds(**attributes)


def test_only_the_chosen_option_is_selected():
    html = StaticForm(MultiDict({"status": "charged_back"})).status()
    assert html.count("selected") == 1
    assert '<option selected value="charged_back">charged back</option>' in html
    assert 'value="">Any status</option>' in html


def test_static_select_refuses_choices_it_cannot_render_once():
    class Grouped(Form):
        status = StaticSelectField("Status", choices=[SelectChoice("a", "A", optgroup="Group")])

    with pytest.raises(ValueError, match="plain choices"):
        Grouped()
