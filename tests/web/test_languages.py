"""Choosing the language: from the browser at first, then the user's own choice on every device."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import render_template_string

from dashboard.i18n import gettext
from dashboard.i18n import lazy_gettext
from dashboard.money import Money
from dashboard.payments.reasons import reason_label
from tests.web.conftest import sign_in

CHINESE = {"Accept-Language": "zh-HK,zh;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_the_browser_language_is_the_default(client, login_as) -> None:
    login_as("support")
    chinese = client.get("/payments/", headers=CHINESE)
    assert html_lang(chinese) == "zh-Hant-HK"
    assert ">付款<" in chinese.get_data(as_text=True)
    english = client.get("/payments/", headers=ENGLISH)
    assert html_lang(english) == "en"
    assert ">Payments<" in english.get_data(as_text=True)
    assert html_lang(client.get("/payments/")) == "en"


def test_a_user_s_choice_is_kept_on_their_account_and_wins_over_the_browser(
    client, other_client, login_as, post, reload_user
) -> None:
    user = login_as("support")
    choice = {"language": "zh_Hant_HK", "next": "/payments/?status=failed"}
    answer = post("/language", choice, headers=ENGLISH)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/payments/?status=failed"
    assert reload_user(user.id).language == "zh_Hant_HK"
    assert html_lang(client.get("/payments/", headers=ENGLISH)) == "zh-Hant-HK"
    # Another device of the same user reads the account, not its own session.
    sign_in(other_client, reload_user(user.id))
    assert html_lang(other_client.get("/payments/", headers=ENGLISH)) == "zh-Hant-HK"
    post("/language", {"language": "en"}, headers=CHINESE)
    assert reload_user(user.id).language == "en"
    assert html_lang(client.get("/payments/", headers=CHINESE)) == "en"


def test_a_visitor_can_choose_before_signing_in(client, post) -> None:
    assert html_lang(client.get("/login", headers=ENGLISH)) == "en"
    post("/language", {"language": "zh_Hant_HK", "next": "/login"})
    assert html_lang(client.get("/login", headers=ENGLISH)) == "zh-Hant-HK"


def test_an_unknown_language_or_a_foreign_next_changes_nothing(client, login_as, post, reload_user) -> None:
    user = login_as("support")
    answer = post("/language", {"language": "fr", "next": "https://evil.example/"})
    assert answer.headers["Location"] == "/"
    assert reload_user(user.id).language is None


def test_the_switch_offers_the_other_language_by_its_own_name(client, login_as) -> None:
    login_as("viewer")
    english = client.get("/", headers=ENGLISH).get_data(as_text=True)
    assert 'lang="zh-Hant-HK">繁體中文</button>' in english
    chinese = client.get("/", headers=CHINESE).get_data(as_text=True)
    assert 'lang="en">English</button>' in chinese


def test_money_is_written_as_each_language_writes_it(app) -> None:
    amounts = "{{ amount|money }} {{ minus|money }} {{ 5|money('JPY') }}"
    values = {"amount": Money(123450, "HKD"), "minus": Money(-5, "USD")}
    for headers, yen in ((ENGLISH, "JP¥5"), (CHINESE, "¥5")):
        with app.app_context(), app.test_request_context("/", headers=headers):
            assert render_template_string(amounts, **values) == f"HK$1,234.50 -US$0.05 {yen}"


def test_templates_escape_the_values_put_into_a_translated_string(app) -> None:
    source = (
        "{{ _('Payments') }}|{{ _('%(who)s refunded', who=name) }}|"
        "{% trans %}100% done{% endtrans %}|{{ ngettext('%(num)d payment', '%(num)d payments', 3) }}"
    )
    with app.app_context(), app.test_request_context("/", headers=CHINESE):
        shown = render_template_string(source, name="<script>")
    assert shown == "付款|&lt;script&gt; refunded|100% done|3 payments"


def test_outside_a_request_strings_read_in_english(app) -> None:
    with app.app_context():
        assert gettext("Payments") == "Payments"
        assert str(lazy_gettext("Payments")) == "Payments"
    with app.app_context(), app.test_request_context("/", headers=CHINESE):
        assert str(lazy_gettext("Payments")) == "付款"


def test_values_filled_into_a_lazily_translated_string_are_escaped(app) -> None:
    refused = lazy_gettext("the refund %(refund)s is in flight", refund="<meta http-equiv=refresh>")
    source = "{{ refused }}|{{ _('No refund now: %(note)s', note=refused) }}"
    for headers in (ENGLISH, CHINESE):
        with app.app_context(), app.test_request_context("/", headers=headers):
            shown = render_template_string(source, refused=refused)
        assert "<meta" not in shown and "&lt;meta http-equiv=refresh&gt;" in shown


def test_an_idle_session_switches_the_page_s_language_but_not_the_account_s(
    client, login_as, post, reload_user, fake_clock
) -> None:
    user = login_as("support")
    fake_clock.advance(timedelta(hours=10))
    post("/language", {"language": "zh_Hant_HK"})
    assert reload_user(user.id).language is None


def test_the_switch_comes_back_to_the_page_it_was_pressed_on_with_its_filters(client, login_as, post) -> None:
    login_as("support")
    page = "http://localhost/payments/?status=failed&q=%23437"
    answer = post("/language", {"language": "zh_Hant_HK", "next": "/payments/"}, headers={"Referer": page})
    assert answer.headers["Location"] == "/payments/?status=failed&q=%23437"
    # A confirmation drawn in answer to a POST cannot be read again: the hidden address is used.
    confirming = "http://localhost/admin/users/2/disable"
    answer = post("/language", {"language": "en", "next": "/admin/users/2"}, headers={"Referer": confirming})
    assert answer.headers["Location"] == "/admin/users/2"
    foreign = post("/language", {"language": "en"}, headers={"Referer": "https://evil.example/payments/"})
    assert foreign.headers["Location"] == "/"


def test_default_refund_reasons_read_in_the_reader_s_language_and_a_merchant_s_own_as_written(app) -> None:
    with app.app_context(), app.test_request_context("/", headers=CHINESE):
        assert str(reason_label("Product not delivered")) == "貨品未送達"
        assert reason_label("Parcel lost by courier") == "Parcel lost by courier"
