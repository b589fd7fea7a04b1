"""Where customers land after a wallet page: their own plain page, no staff session, no staff chrome."""

from __future__ import annotations

import pytest

from dashboard.checkout.views import OUTCOMES
from dashboard.security import CONTENT_SECURITY_POLICY
from tests.web.conftest import COOKIE


def assert_customer_page(response) -> str:
    assert "Set-Cookie" not in response.headers
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    for staff_only in ("topbar", "Merchant back office", "Sign out", "data-live-url", "<nav", "<script"):
        assert staff_only not in page
    return page


@pytest.mark.parametrize(("outcome", "words"), OUTCOMES.items())
def test_a_customer_landing_page_sets_no_cookie_and_has_no_staff_chrome(client, outcome, words):
    response = client.get(f"/checkout/{outcome}")
    assert response.status_code == 200
    page = assert_customer_page(response)
    title, message = map(str, words)
    assert f"<title>{title}</title>" in page and f'<h1 id="result-heading">{title}</h1>' in page
    assert message in page
    assert client.get_cookie(COOKIE) is None


def test_a_signed_in_colleague_sees_the_customer_page_and_keeps_their_cookie(client, login_as):
    user = login_as("support")
    cookie = client.get_cookie(COOKIE).value
    response = client.get("/checkout/success")
    assert response.status_code == 200
    assert user.name not in assert_customer_page(response)
    assert client.get_cookie(COOKIE).value == cookie


def test_an_unknown_outcome_is_not_found_in_the_customer_layout(client):
    response = client.get("/checkout/refund-me")
    assert response.status_code == 404
    assert "Page not found" in assert_customer_page(response)
