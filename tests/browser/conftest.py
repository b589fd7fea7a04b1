"""What every browser journey starts with."""

from __future__ import annotations

from tests.conftest import TEST_PASSWORD


def sign_in(page, base_url: str, email: str) -> None:
    """Sign in through the real login page and wait for the overview."""
    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
