"""Filters the pages share: status tones for every machine's statuses, provider labels, row links."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask import render_template_string
from flask import url_for
from flask_babel import lazy_gettext
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup
from markupsafe import escape

from dashboard.agreements.states import AgreementStatus
from dashboard.machine import MACHINES
from dashboard.notifications.models import InboxOutcome
from dashboard.payments.states import PaymentStatus
from dashboard.providers.registry import label
from dashboard.statuses import STATUS_LABELS
from dashboard.templating import STATUS_TONES
from dashboard.templating import html_text
from dashboard.templating import id_url
from dashboard.templating import link
from dashboard.templating import local_time
from dashboard.templating import status_badge
from dashboard.templating import status_tone


def test_every_status_of_every_machine_has_a_tone():
    statuses = {status.value for machine in MACHINES.values() for status in machine.statuses}
    assert {"payment", "refund", "cancel", "agreement"} <= set(MACHINES)
    assert sorted(statuses - set(STATUS_TONES)) == []


def test_every_status_of_every_machine_and_every_inbox_outcome_has_a_label():
    statuses = {status.value for machine in MACHINES.values() for status in machine.statuses}
    assert sorted((statuses | {outcome.value for outcome in InboxOutcome}) - set(STATUS_LABELS)) == []


@pytest.mark.parametrize(
    ("status", "tone"),
    [
        (PaymentStatus.SUCCEEDED, "ok"),
        (PaymentStatus.PROCESSING, "warn"),
        (PaymentStatus.CHARGED_BACK, "err"),
        (PaymentStatus.EXPIRED, "muted"),
        (PaymentStatus.CANCELLED, "muted"),
        (AgreementStatus.REVOKED, "muted"),
        (AgreementStatus.ACTIVE, "ok"),
    ],
)
def test_final_statuses_without_money_read_muted_and_the_rest_by_how_they_went(status, tone):
    assert status_tone(status) == tone


def test_a_badge_reads_its_status_in_words_tinted_by_its_tone():
    assert status_badge(PaymentStatus.CHARGED_BACK) == '<span class="badge badge-err">charged back</span>'
    assert status_badge("awaiting_approval", id="refund-status") == (
        '<span class="badge badge-warn" id="refund-status">awaiting approval</span>'
    )
    assert status_badge("<b>") == '<span class="badge badge-muted">&lt;b&gt;</span>'


def test_a_badge_reads_in_the_language_of_each_request(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh-HK"}):
        chinese = status_badge(PaymentStatus.SUCCEEDED)
        assert status_badge(PaymentStatus.SUCCEEDED) == chinese != status_badge(PaymentStatus.FAILED)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert status_badge(PaymentStatus.SUCCEEDED) == '<span class="badge badge-ok">succeeded</span>'
    assert "succeeded" not in chinese


@pytest.mark.parametrize("zone", ["Asia/Hong_Kong", "Europe/London", "America/St_Johns"])
@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%H:%M"])
@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 30, 5, 120, tzinfo=UTC),
    ],
)
def test_local_times_read_as_strftime_writes_them(moment, fmt, zone):
    shown = moment.astimezone(ZoneInfo(zone))
    assert local_time(moment, fmt, zone=ZoneInfo(zone)) == shown.strftime(fmt)
    assert local_time(moment, fmt, with_zone=True, zone=ZoneInfo(zone)) == shown.strftime(f"{fmt} %Z")


def test_providers_read_by_their_labels():
    assert (label("antom"), label("worldpay"), label("elsewhere")) == ("Antom", "Worldpay", "elsewhere")


@pytest.mark.parametrize("script_root", ["", "/office"])
def test_row_links_are_the_urls_flask_builds(app, script_root):
    with app.test_request_context("/payments/", base_url=f"http://localhost{script_root}/"):
        for payment_id in (1, 42, 2**63 - 1):
            assert id_url(payment_id, "payments.detail", "payment_id") == url_for(
                "payments.detail", payment_id=payment_id
            )
        assert id_url(7, "notifications.detail", "notification_id") == f"{script_root}/notifications/7"


def test_row_links_refuse_a_route_that_does_not_end_in_its_id(app):
    with app.test_request_context("/"), pytest.raises(ValueError, match="does not end"):
        id_url(1, "payments.refund", "payment_id")


def test_a_link_escapes_its_address_and_its_words():
    shown = link('/audit/?actor="x"&y=<1>', "<b>payment</b> & 12")
    assert shown == (
        '<a href="/audit/?actor=&#34;x&#34;&amp;y=&lt;1&gt;">&lt;b&gt;payment&lt;/b&gt; &amp; 12</a>'
    )
    assert isinstance(shown, Markup)  # a template shows it as it is
    assert link("/payments/7", Markup("<code>PAY-7</code>")) == '<a href="/payments/7"><code>PAY-7</code></a>'


def test_templates_read_globals_added_later_and_keep_their_own_apart(app):
    environment = app.jinja_env
    page = environment.from_string("{{ late_word|default('none') }}")
    own = environment.from_string("{{ own_word }}", globals={"own_word": "mine"})
    environment.globals["late_word"] = "later"
    try:
        assert page.render() == "later"
        assert own.render() == "mine"
        assert environment.from_string("{{ own_word|default('none') }}").render() == "none"
    finally:
        del environment.globals["late_word"]


@given(st.text())
def test_page_text_is_escaped_as_markupsafe_escapes_it(text):
    assert html_text(text) == str(escape(text))


@pytest.mark.parametrize(
    "value", [12, None, 1.5, Markup("<i>safe</i>"), lazy_gettext("Payments & <refunds>"), ["<a>", "'b'"]]
)
def test_values_of_every_kind_are_escaped_as_markupsafe_escapes_them(app, value):
    with app.test_request_context():
        assert html_text(value) == str(escape(value))


def test_a_page_writes_text_escaped_and_markup_as_it_is(app):
    with app.test_request_context():
        page = render_template_string(
            "{{ text }}|{{ safe }}|{{ number }}|{{ missing }}|"
            "{% set kept %}<b>{{ text }}</b>{% endset %}{{ kept }}",
            text="<a href='x'>&\"",
            safe=Markup("<i>ok</i>"),
            number=12,
        )
    assert page == (
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;|<i>ok</i>|12||<b>&lt;a href=&#39;x&#39;&gt;&amp;&#34;</b>"
    )
