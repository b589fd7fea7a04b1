"""A list's filter fields are rendered once per input and message, and read as the macro renders them."""

from __future__ import annotations

import pytest
from flask import render_template_string
from flask import request

from dashboard.agreements.forms import AgreementFilterForm
from dashboard.audit.forms import AuditFilterForm
from dashboard.notifications.forms import NotificationFilterForm
from dashboard.payments.forms import PaymentFilterForm
from dashboard.templating import kept_field

MACRO = '{% from "_macros/forms.html" import render_field %}{{ render_field(field) }}'

CASES = [
    (PaymentFilterForm, ""),
    (PaymentFilterForm, "status=succeeded&currency=HKD&amount_min=1,000.5"),
    (PaymentFilterForm, "currency=JPY&amount_min=1.5&day_from=2026-13-01"),  # two errors
    (PaymentFilterForm, "q=%3Cscript%3E&has_refunds=y&provider=nobody"),  # escaped, refused choice
    (AgreementFilterForm, "wallet=ALIPAY_HK&status=active&expiring=30"),
    (AgreementFilterForm, "status=revoked&expiring=0"),
    (NotificationFilterForm, "kind=REFUND_RESULT&verdict=valid&day_to=2026-05-01"),
    (AuditFilterForm, 'action=refund.&actor=a"b@x.example'),
]


@pytest.mark.parametrize(("form_class", "query"), CASES)
def test_filter_fields_read_as_the_macro_renders_them(app, form_class, query):
    for _ in range(2):  # the second time from what was kept
        with app.test_request_context(f"/?{query}"):
            form = form_class(request.args)
            form.validate()
            for field in form:
                assert kept_field(form, field) == render_template_string(MACRO, field=field)


def test_a_changed_message_is_shown_not_the_kept_markup(app):
    with app.test_request_context("/?currency=JPY&amount_min=1.5"):
        form = PaymentFilterForm(request.args)
        form.validate()
        refused = kept_field(form, form.amount_min)
        assert "JPY amounts have no decimals." in refused
        form.amount_min.errors = []
        assert "JPY amounts have no decimals." not in kept_field(form, form.amount_min)


def test_the_chosen_option_stays_chosen_whichever_was_kept_first(app):
    for currency in ("", "HKD", "JPY", "HKD"):
        with app.test_request_context(f"/?currency={currency}"):
            form = PaymentFilterForm(request.args)
            form.validate()
            html = kept_field(form, form.currency)
        assert html.count(" selected") == 1
        assert f'<option selected value="{currency}">' in html
