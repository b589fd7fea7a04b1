"""The customer stand-in page, driven in a real browser (Playwright on Debian's chromium)."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from dashboard.providers.antom import ApplyTokenRequest
from dashboard.providers.base import CallOutcome
from tests.sandbox import helpers

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_customer_approves_in_the_browser_and_the_agreement_is_charged(
    sandbox, antom, run_due, page, tmp_path
):
    consulted = helpers.consult(antom, sandbox.url, state="st-browser-1")

    page.goto(consulted.normal_url)
    assert page.get_by_role("heading", name="Allow automatic payments?").is_visible()
    page.screenshot(path=str(tmp_path / "stand-in-page.png"), full_page=True)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/merchant/authorized?**")

    query = parse_qs(urlsplit(page.url).query)
    assert query["authState"] == ["st-browser-1"] and query["from"] == ["sandbox"]
    token = antom.apply_token(ApplyTokenRequest.for_auth_code(helpers.WALLET, query["authCode"][0]))
    assert token.outcome is CallOutcome.SUCCEEDED
    assert helpers.pay(antom, token.access_token, 10001).outcome is CallOutcome.SUCCEEDED
    run_due()
    assert sandbox.receiver.kinds() == ["AUTHCODE_CREATED", "PAYMENT_RESULT"]
    assert (tmp_path / "stand-in-page.png").stat().st_size > 0


def test_customer_declines_in_the_browser(sandbox, antom, page):
    consulted = helpers.consult(antom, sandbox.url)

    page.goto(consulted.normal_url)
    page.get_by_role("button", name="Decline").click()

    declined = page.get_by_role("heading", name="You declined")
    declined.wait_for()  # the answer page loads after the click; a busy machine may take a while
    assert declined.is_visible()
    page.goto(consulted.normal_url)
    assert page.get_by_text("already used").is_visible()
