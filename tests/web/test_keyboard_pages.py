"""What keyboard and screen-reader users meet on every page: the shortcut list, the link past a list's
rows to its pager, copy buttons beside ids, and a named scrollable body."""

from __future__ import annotations

import re

import pytest

from dashboard.extensions import db
from tests.factories import make_cancel
from tests.factories import make_notification
from tests.factories import make_payment
from tests.factories import make_refund

LISTS = ["/payments/", "/agreements/", "/ach/batches/", "/settlements/", "/notifications/", "/audit/"]


@pytest.mark.parametrize("url", LISTS)
def test_every_list_links_past_its_rows_to_its_pager(client, login_as, url):
    login_as("admin")
    page = client.get(url).get_data(as_text=True)
    skip = page.index('<a class="skip-to-pager" href="#pager">Skip to pages</a>')
    assert skip < page.index("<table") < page.index('id="pager"')
    assert re.search(r'<(nav|p) class="pager[^"]*" id="pager" tabindex="-1"', page)


def test_the_shortcut_list_offers_the_main_pages_from_the_navigation(client, login_as):
    login_as("viewer")
    page = client.get("/").get_data(as_text=True)
    nav = re.search(r'<nav id="main-nav" aria-label="Main">(.*?)</nav>', page, re.S).group(1)
    assert re.findall(r'data-go-key="(\w)"[^>]*>(\w+)', nav) == [
        ("p", "Payments"),
        ("a", "Agreements"),
        ("n", "Notifications"),
    ]
    dialog = re.search(
        r'<dialog id="shortcuts"[^>]*aria-labelledby="shortcuts-title">(.*?)</dialog>', page, re.S
    )
    assert dialog, "no shortcut list"
    assert re.findall(r"<kbd>g</kbd> then <kbd>(\w)</kbd></dt><dd>Open (\w+)", dialog.group(1)) == [
        ("p", "Payments"),
        ("a", "Agreements"),
        ("n", "Notifications"),
    ]
    assert '<button type="button" class="link" id="shortcuts-open"' in page
    assert '<p id="copy-status" class="visually-hidden" role="status" aria-live="polite"></p>' in page


def test_signed_out_pages_have_no_shortcut_list(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'id="shortcuts"' not in page and 'id="shortcuts-open"' not in page


def test_a_payment_page_offers_to_copy_each_of_its_ids(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        payment = make_payment(db.session, provider_payment_id="2026030219ANTOM")
        refund = make_refund(db.session, payment, provider_refund_id="2026030219REFUND")
        cancel = make_cancel(db.session, payment)
        db.session.commit()
        url = f"/payments/{payment.id}"
        expected = [
            (payment.request_id, "payment id"),
            ("2026030219ANTOM", "provider payment id"),
            (refund.request_id, "refund id"),
            ("2026030219REFUND", "provider refund id"),
            (cancel.request_id, "cancel id"),
        ]
    page = client.get(url).get_data(as_text=True)
    button = (
        r'<button type="button" class="copy-button" data-copy="\1" aria-label="Copy ([^"]+)">Copy</button>'
    )
    buttons = re.findall(r"<code>([^<]+)</code> " + button, page)
    assert buttons == expected


def test_a_notifications_raw_body_is_a_named_region_reached_by_keyboard(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        notification = make_notification(db.session, reference="REF-9")
        db.session.commit()
        url = f"/notifications/{notification.id}"
    page = client.get(url).get_data(as_text=True)
    assert '<pre class="raw" tabindex="0" role="region" aria-label="Raw body as received">' in page
    assert 'data-copy="REF-9" aria-label="Copy reference"' in page
