"""Every page, for every role that may open it, on a desk and on a phone: no axe-core violation of
WCAG 2.2 AA (any impact) and no sideways scrolling."""

from __future__ import annotations

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import expect

from dashboard import clock
from dashboard.ach.models import AchBatch
from dashboard.ach.rules import first_value_date
from dashboard.auth.access import roles_for
from dashboard.extensions import db
from dashboard.i18n import HTML_LANG
from dashboard.settlements.records import EntryKind
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import upload
from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD
from tests.factories import make_agreement
from tests.factories import make_notification
from tests.factories import make_payment
from tests.factories import make_refund
from tests.settlements.files import Day
from tests.settlements.files import settlement_with_differences
from tests.settlements.test_reconcile_day import import_day
from tests.settlements.test_reconcile_day import made as made_on_the_day
from tests.web.test_pages import NAVIGATION

pytestmark = [pytest.mark.browser, pytest.mark.live]

#: The languages every page is scanned in: each user's language is set on their account, and the
#: browser asks for it too (the signed-out sign-in page follows the browser).
LANGUAGES = ("en", "zh_Hant_HK")
BROWSER_LOCALES = {"en": "en-HK", "zh_Hant_HK": "zh-HK"}
#: A desk (1280 px) and a phone (390 px); 640 px is a 1280 px screen at 200 % zoom.
WIDTHS = {1280: 800, 640: 400, 390: 844}
#: Widths axe scans at; the others are checked for sideways scrolling only.
AXE_WIDTHS = (1280, 390)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


@pytest.fixture
def on_sqlite_only(app) -> None:
    """Skip, before any page is seeded, unless on SQLite: the pages' markup and styles are the same on
    every database, and the journeys run on both."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("every page is scanned once, in the SQLite run")


@pytest.fixture
def detail_pages(app, live_server, create_user) -> list[tuple[str, str]]:
    """Seed one of every object a detail page shows; return (endpoint, path) of its pages and forms."""
    uploader = create_user("finance")
    with app.test_request_context():
        payment = make_payment(
            db.session,
            status="succeeded",
            provider_payment_id="2026010512345678901234567890",
            payment_method="ALIPAY_HK",
            refunded_minor=1000,
        )
        make_refund(db.session, payment, status="succeeded")
        large = make_payment(db.session, amount_minor=10_000_000, status="succeeded")
        make_refund(db.session, large, amount_minor=800_000, status="awaiting_approval")  # in /approvals
        agreement = make_agreement(db.session, status="active", access_token_last4="wxyz")
        make_payment(db.session, agreement_id=agreement.id, status="succeeded")
        notification = make_notification(db.session, body=b'{"result": {"resultStatus": "S"}}')
        settlement = settlement_with_differences()
        paid = made_on_the_day(5000)
        day = import_day(Day().add(EntryKind.PAYMENT, paid.provider_payment_id, paid.request_id, 5001))["HKD"]
        db.session.commit()
        upload(
            [payee(1), payee(2), payee(3, account_number="12")],
            uploader.id,
            value_date=first_value_date(clock.now()),
        )
        batch_id = db.session.scalar(db.select(AchBatch.id))
        ids = (payment.id, agreement.id, notification.id, settlement.id, day.id, batch_id, uploader.id)
    payment_id, agreement_id, notification_id, settlement_id, day_id, batch_id, user_id = ids
    return [
        ("auth.password", "/account/password"),
        ("auth.two_factor", "/account/two-factor"),
        ("payments.detail", f"/payments/{payment_id}"),
        ("payments.refund_form", f"/payments/{payment_id}/refund"),
        ("payments.cancel_form", f"/payments/{payment_id}/cancel"),
        ("declarations.declare_form", f"/payments/{payment_id}/declare"),
        ("agreements.detail", f"/agreements/{agreement_id}"),
        ("agreements.revoke_form", f"/agreements/{agreement_id}/revoke"),
        ("agreements.charge_form", f"/agreements/{agreement_id}/charge"),
        ("notifications.detail", f"/notifications/{notification_id}"),
        ("ach.detail", f"/ach/batches/{batch_id}"),
        ("ach.new", "/ach/batches/new"),
        ("settlements.detail", f"/settlements/{settlement_id}"),
        ("settlements.detail", f"/settlements/{day_id}"),
        ("settlements.import_form", "/settlements/import"),
        ("users.detail", f"/admin/users/{user_id}"),
    ]


def scan(page, where: str, axe: bool) -> list[str]:
    """Measure the page's width and, with ``axe``, run axe on it; return what is wrong, one line each."""
    found = []
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    if width > viewport:
        found.append(f"{where}: scrolls sideways ({width} px in {viewport} px)")
    if not axe:
        return found
    if not page.evaluate("typeof axe !== 'undefined'"):  # once a page: the widths scan the same document
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    for violation in results["violations"]:
        for node in violation["nodes"]:
            found.append(f"{where}: {violation['id']} ({violation['impact']}) at {node['target']}")
    return found


def scan_at_every_width(page, url: str, where: str) -> list[str]:
    """Open ``url`` and scan it at every width, the narrowest with its menu open too."""
    page.goto(url)
    found = []
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        found += scan(page, f"{where} at {width} px", axe=width in AXE_WIDTHS)
    menu = page.locator(".menu-button:visible")
    if menu.count():
        menu.click()
        found += scan(page, f"{where} at {width} px, menu open", axe=True)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_passes_axe_and_fits_a_phone(
    on_sqlite_only, app, live_server, browser, create_user, detail_pages, language
):
    access = app.extensions["access_table"]
    found: list[str] = []
    scanned = 0
    # The scan's own script is injected, which the strict CSP would refuse: this context only bypasses it.
    context = browser.new_context(
        locale=BROWSER_LOCALES[language], timezone_id="Asia/Hong_Kong", bypass_csp=True
    )
    page = context.new_page()
    found += scan_at_every_width(page, f"{live_server}/login", f"[{language}] /login, signed out")
    for role in NAVIGATION:
        email = create_user(role, language=language).email
        page.goto(f"{live_server}/login")
        page.locator("#email").fill(email)
        page.locator("#password").fill(TEST_PASSWORD)
        page.locator("#login-form [type=submit]").click()
        page.wait_for_url(f"{live_server}/")
        expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
        navigation = page.locator("#topbar-menu nav a")
        paths = [navigation.nth(n).get_attribute("href") for n in range(navigation.count())]
        assert len(paths) == len(NAVIGATION[role])
        paths += [path for endpoint, path in detail_pages if role in roles_for(access[endpoint])]
        for path in paths:
            found += scan_at_every_width(page, f"{live_server}{path}", f"[{language}] {path} as {role}")
            scanned += 1
        context.clear_cookies()
    context.close()
    assert scanned > 60
    assert not found, f"{len(found)} problems:\n" + "\n".join(found)


def test_on_a_phone_the_menu_folds_the_navigation_and_reaches_sign_out(live_server, browser, create_user):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, live_server, create_user("viewer").email)
    menu = page.get_by_role("button", name="Menu")
    navigation = page.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(navigation).to_be_hidden()

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation.get_by_role("link")).to_have_text(NAVIGATION["viewer"])
    page.keyboard.press("Escape")
    expect(navigation).to_be_hidden()
    expect(menu).to_be_focused()

    menu.press("Enter")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server}/login")
    context.close()


def test_without_script_a_phone_shows_the_menu_open(live_server, browser, create_user):
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, create_user("viewer").email)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(NAVIGATION["viewer"])
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()
    context.close()
