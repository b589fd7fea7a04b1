"""Every page every role can open, parsed as HTML: no attribute may carry Python's None as text."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from flask import Flask

from dashboard.checkout.views import OUTCOMES
from dashboard.extensions import db
from tests.factories import make_agreement
from tests.factories import make_cancel
from tests.factories import make_notification
from tests.factories import make_payment
from tests.factories import make_refund
from tests.web.conftest import sign_in

ROLES = ["viewer", "support", "finance", "manager", "admin"]

#: GET endpoints that are not pages of ours, and why they are left out.
NOT_PAGES = {
    "static": "files served as they are, not rendered",
    "home.healthz": "JSON for load balancers",
    "events.live": "JSON for the live poller",
}
#: Blueprints left out whole, and why.
NOT_PAGE_BLUEPRINTS = {
    "sandbox": "the provider simulators' own pages, mounted only with SANDBOX=1",
    "webhooks": "provider callbacks, POST only",
}


class AttributeCollector(HTMLParser):
    """Collect ``(tag, attribute)`` for every attribute whose value is the text ``None``."""

    def __init__(self) -> None:
        super().__init__()
        self.none_valued: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.none_valued.extend((tag, name) for name, value in attrs if value == "None")


def none_valued_attributes(html: str) -> list[tuple[str, str]]:
    parser = AttributeCollector()
    parser.feed(html)
    parser.close()
    return parser.none_valued


@pytest.fixture
def rows(app: Flask, db_session: None, create_user) -> dict[str, list[object]]:
    """Make one real row for every kind of path argument; return the values to fill them with."""
    user = create_user("finance")
    with app.app_context():
        agreement = make_agreement(db.session, status="active")
        payment = make_payment(db.session, agreement_id=agreement.id, status="succeeded")
        make_refund(db.session, payment)
        make_cancel(db.session, payment)
        notification = make_notification(db.session, object_type="payment", object_id=str(payment.id))
        db.session.commit()
        return {
            "user_id": [user.id],
            "payment_id": [payment.id],
            "agreement_id": [agreement.id],
            "notification_id": [notification.id],
            "outcome": list(OUTCOMES),
        }


def page_urls(app: Flask, rows: dict[str, list[object]]) -> list[str]:
    """Build the URL of every GET page, once for each value its path arguments can take."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
            continue
        if rule.endpoint.split(".")[0] in NOT_PAGE_BLUEPRINTS:
            continue
        [argument] = rule.arguments or [None]
        for value in rows[argument] if argument else [None]:
            urls.append(adapter.build(rule.endpoint, {argument: value} if argument else {}))
    return urls


@pytest.mark.parametrize("role", [None, *ROLES], ids=["anonymous", *ROLES])
def test_no_page_renders_an_attribute_valued_none(app, create_user, rows, role):
    caller = create_user(role) if role else None
    found = []
    for url in page_urls(app, rows):
        for headers in ({}, {"HX-Request": "true"}):
            browser = app.test_client()
            if caller:
                sign_in(browser, caller)
            response = browser.get(url, headers=headers, follow_redirects=True)
            assert response.mimetype == "text/html", url
            found.extend(
                f"{url} {headers}: <{tag} {name}=None>"
                for tag, name in none_valued_attributes(response.get_data(as_text=True))
            )
    assert not found, "\n".join(found)


def test_the_walk_covers_every_page_with_arguments(app, rows):
    urls = page_urls(app, rows)
    assert f"/admin/users/{rows['user_id'][0]}" in urls
    assert f"/notifications/{rows['notification_id'][0]}" in urls
    assert "/checkout/success" in urls
    assert "/account/password" in urls
