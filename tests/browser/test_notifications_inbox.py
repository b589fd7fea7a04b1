"""The inbox in chromium: filter without a reload, open a notification, reprocess it after confirming."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard.extensions import db
from dashboard.notifications.models import Notification
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

NOON_HKT = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)
TOKEN = "20260105ACCESSTOKEN7f3a9c2e1b"


def store(app, minutes: int, **fields) -> int:
    body = fields.pop("body")
    with app.app_context():
        row = Notification(
            headers={"Content-Type": "application/json"},
            body=json.dumps(body).encode(),
            received_at=NOON_HKT + timedelta(minutes=minutes),
            **fields,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


@pytest.fixture
def inbox(app, live_server) -> dict[str, int]:
    return {
        "payment": store(
            app,
            0,
            provider="antom",
            kind="PAYMENT_RESULT",
            reference="2026010519401080",
            dedup_key="PAYMENT_RESULT:2026010519401080:S",
            verdict="valid",
            outcome="applied",
            object_type="payment",
            object_id="7",
            attempts=1,
            body={"notifyType": "PAYMENT_RESULT", "paymentId": "2026010519401080"},
        ),
        "failed": store(
            app,
            1,
            provider="worldpay",
            kind="authorized",
            reference="ord-2026-000123",
            dedup_key="evt-browser-1",
            verdict="valid",
            outcome="failed",
            processing_error="OperationalError: database is locked",
            attempts=2,
            body={"eventId": "evt-browser-1", "eventDetails": {"type": "authorized"}},
        ),
        "forged": store(
            app,
            2,
            provider="antom",
            kind="TOKEN_CANCELED",
            verdict="invalid",
            outcome="rejected",
            body={"authorizationNotifyType": "TOKEN_CANCELED", "accessToken": TOKEN},
        ),
    }


def test_filter_the_inbox_and_open_a_notification(live_server, inbox, create_user, page, tmp_path: Path):
    sign_in(page, live_server, create_user("viewer").email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications").click()
    page.wait_for_url(f"{live_server}/notifications/")
    rows = page.locator("#notifications tbody tr")
    assert rows.count() == 3

    page.get_by_label("Outcome").select_option("rejected")  # htmx swaps #results, no reload
    page.wait_for_url("**/notifications/?*outcome=rejected*")
    assert rows.count() == 1
    assert "rejected" in rows.first.inner_text()

    page.get_by_label("Outcome").select_option("")
    page.get_by_label("Search by id").fill("ord-2026")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/notifications/?q=ord-2026*")
    assert rows.count() == 1
    assert "OperationalError: database is locked" in rows.first.inner_text()
    page.screenshot(path=str(tmp_path / "inbox-search.png"), full_page=True)

    page.goto(f"{live_server}/notifications/")
    page.get_by_role("link", name=f"#{inbox['forged']}", exact=True).click()
    page.wait_for_url(f"{live_server}/notifications/{inbox['forged']}")
    assert page.get_by_role("heading", level=1).inner_text().startswith(f"Notification #{inbox['forged']}")
    body = page.locator("#body pre").inner_text()
    assert TOKEN not in body and "********2e1b" in body
    assert page.locator("#actions").count() == 0  # a viewer only reads
    page.screenshot(path=str(tmp_path / "inbox-detail.png"), full_page=True)


def test_an_admin_reprocesses_after_confirming(live_server, inbox, create_user, page, run_jobs):
    sign_in(page, live_server, create_user("admin").email)
    page.goto(f"{live_server}/notifications/{inbox['failed']}")
    confirm = page.get_by_role("button", name=f"Yes, reprocess #{inbox['failed']}")
    assert not confirm.is_visible()  # the first click only opens the confirmation

    page.get_by_text("Reprocess…").click()
    confirm.click()

    queued = f"Notification {inbox['failed']} is queued to be applied again."
    expect(page.locator("#flash")).to_contain_text(queued)
    expect(page.locator("#facts")).to_contain_text("pending")
    assert run_jobs() == 1  # the queued apply runs (and leaves the queue empty for other tests)
