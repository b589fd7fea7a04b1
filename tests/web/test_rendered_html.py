"""Every page every role can open, parsed as HTML: attribute values, unique ids and live regions."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from flask import Flask

from dashboard.checkout.views import OUTCOMES
from dashboard.extensions import db
from dashboard.reports.sections import SECTIONS
from dashboard.users.models import User
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import upload
from tests.factories import make_agreement
from tests.factories import make_cancel
from tests.factories import make_declaration
from tests.factories import make_notification
from tests.factories import make_payment
from tests.factories import make_refund
from tests.settlements.files import settlement_with_differences
from tests.web.conftest import sign_in

ROLES = ["viewer", "support", "finance", "manager", "admin"]

#: GET endpoints that are not pages of ours, and why they are left out.
NOT_PAGES = {
    "static": "files served as they are, not rendered",
    "home.healthz": "JSON for load balancers",
    "events.live": "JSON for the live poller",
    "payments.export_csv": "a CSV download of the payments list",
    "ach.result_csv": "a CSV download of a payroll batch's results",
    "ach.errors_csv": "a CSV download of a payroll batch's problems",
    "ach.template_csv": "the payroll template (CSV)",
    "ach.demo_csv": "the demo payroll (CSV)",
    "reports.table_csv": "a CSV download of a report table",
    "settlements.differences_csv": "a CSV download of a settlement batch's differences",
}
#: Blueprints left out whole, and why.
NOT_PAGE_BLUEPRINTS = {
    "sandbox": "the provider simulators' own pages, mounted only with SANDBOX=1",
    "api": "the storefront API's JSON (tests/api checks it against its OpenAPI document)",
}


#: Elements without an end tag.
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
#: Roles that make an element a live region of their own.
LIVE_ROLES = frozenset({"alert", "log", "status"})


class PageChecker(HTMLParser):
    """Note attributes valued ``None``, ids used twice, live regions inside live regions and tables
    inside live regions."""

    def __init__(self) -> None:
        super().__init__()
        self.none_valued: list[str] = []
        self.ids: set[str] = set()
        self.repeated_ids: list[str] = []
        self.nested_live: list[str] = []
        self.live_tables: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, is a live region) of every unclosed element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.none_valued.extend(f"<{tag} {name}=None>" for name, value in attrs if value == "None")
        if "id" in values:
            if values["id"] in self.ids:
                self.repeated_ids.append(f"<{tag} id={values['id']!r}>")
            self.ids.add(values["id"])
        live = values.get("aria-live", "off") != "off" or values.get("role") in LIVE_ROLES
        inside_live = any(is_live for _, is_live in self._open)
        described = f"<{tag} id={values.get('id')!r}>"
        if live and inside_live:
            self.nested_live.append(described)
        if tag == "table" and (live or inside_live):
            self.live_tables.append(described)
        if tag not in VOID:
            self._open.append((tag, live))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth][0] == tag:
                del self._open[depth:]
                return


def check(html: str) -> PageChecker:
    checker = PageChecker()
    checker.feed(html)
    checker.close()
    return checker


@pytest.fixture
def rows(app: Flask, db_session: None, create_user, fake_clock) -> dict[str, list[object]]:
    """Make one real row for every kind of path argument; return the values to fill them with."""
    user = create_user("finance")
    with app.test_request_context():
        batch = upload([payee(1), payee(2, bank_code="999"), payee(3, payee_name="=HYPERLINK(1)")], user.id)
    with app.app_context():
        agreement = make_agreement(db.session, status="active")
        payment = make_payment(db.session, agreement_id=agreement.id, status="succeeded")
        refund = make_refund(db.session, payment)
        make_cancel(db.session, payment)
        make_declaration(db.session, payment)
        notification = make_notification(db.session, object_type="payment", object_id=str(payment.id))
        db.session.commit()
        settlement = settlement_with_differences()
        return {
            "user_id": [user.id],
            "payment_id": [payment.id],
            "refund_id": [refund.id],
            "agreement_id": [agreement.id],
            "notification_id": [notification.id],
            "outcome": list(OUTCOMES),
            "batch_id": [batch.batch_id],
            "settlement_id": [settlement.id],
            "name": [section.name for section in SECTIONS],
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


def rendered_pages(
    app: Flask, rows: dict[str, list[object]], caller: User | None
) -> Iterator[tuple[str, str]]:
    """Open every page as ``caller``, as a page and as an htmx fragment; yield (what, HTML)."""
    for url in page_urls(app, rows):
        for headers in ({}, {"HX-Request": "true"}):
            browser = app.test_client()
            if caller:
                sign_in(browser, caller)
            response = browser.get(url, headers=headers, follow_redirects=True)
            assert response.mimetype == "text/html", url
            yield f"{url} {headers}", response.get_data(as_text=True)


CALLERS = pytest.mark.parametrize("role", [None, *ROLES], ids=["anonymous", *ROLES])


@CALLERS
def test_no_page_renders_an_attribute_valued_none(app, create_user, rows, role):
    caller = create_user(role) if role else None
    found = [
        f"{what}: {element}"
        for what, html in rendered_pages(app, rows, caller)
        for element in check(html).none_valued
    ]
    assert not found, "\n".join(found)


@CALLERS
def test_no_page_uses_an_id_twice(app, create_user, rows, role):
    caller = create_user(role) if role else None
    found = [
        f"{what}: {element}"
        for what, html in rendered_pages(app, rows, caller)
        for element in check(html).repeated_ids
    ]
    assert not found, "\n".join(found)


@CALLERS
def test_no_live_region_holds_another_or_a_table(app, create_user, rows, role):
    caller = create_user(role) if role else None
    found = []
    for what, html in rendered_pages(app, rows, caller):
        checked = check(html)
        found += [f"{what}: live region inside a live region: {element}" for element in checked.nested_live]
        found += [
            f"{what}: table read out whole on every change: {element}" for element in checked.live_tables
        ]
    assert not found, "\n".join(found)


def test_an_htmx_error_brings_no_live_region_of_its_own_into_flash(client, login_as):
    login_as("viewer")
    response = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.headers["HX-Retarget"] == "#flash"
    flash = '<div id="flash" role="status" aria-live="polite">' + response.get_data(as_text=True) + "</div>"
    assert check(flash).nested_live == []


def test_the_walk_covers_every_page_with_arguments(app, rows):
    urls = page_urls(app, rows)
    assert f"/admin/users/{rows['user_id'][0]}" in urls
    assert f"/notifications/{rows['notification_id'][0]}" in urls
    assert "/checkout/success" in urls
    assert "/account/password" in urls
    assert "/account/two-factor" in urls and "/login/code" in urls
    assert f"/ach/batches/{rows['batch_id'][0]}/file" in urls
    assert "/reports/refunds" in urls
