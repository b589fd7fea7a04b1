"""Times show in the configured zone and say which: a deployment outside Hong Kong never reads HKT."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import select

from dashboard import clock
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.notifications.models import Notification
from dashboard.reports.models import DailyTotal
from dashboard.reports.models import move_in_rollup
from dashboard.users import service as users
from tests.conftest import TEST_PASSWORD
from tests.factories import make_agreement
from tests.factories import make_payment
from tests.web.conftest import sign_in

#: 11:30 UTC in July: 12:30 BST in London, 19:30 in Hong Kong.
SUMMER = datetime(2026, 7, 1, 11, 30, tzinfo=UTC)
#: 23:30 UTC on 5 January: still the 5th in London (GMT), already 07:30 on the 6th in Hong Kong.
WINTER_NIGHT = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)


@pytest.fixture
def london(make_app) -> Flask:
    """An app whose times are shown in Europe/London."""
    return make_app(DISPLAY_TIMEZONE="Europe/London")


@pytest.fixture
def pages(london: Flask, fake_clock: clock.FakeClock) -> dict[str, str]:
    """Every page that shows times, as an admin of the London app sees it, by name."""
    fake_clock.set(SUMMER)
    with london.test_request_context():
        admin = users.create_user(
            "admin@staff.example", "Ada Admin", "admin", TEST_PASSWORD, must_change_password=False
        )
        admin.last_login_at = SUMMER
        agreement = make_agreement(db.session, created_at=WINTER_NIGHT)
        payment = make_payment(db.session, created_at=SUMMER, paid_at=SUMMER, agreement_id=agreement.id)
        record_event(db.session, "payment", payment.id, "created", {"status": "pending"})
        notification = Notification(
            provider="antom",
            kind="PAYMENT_RESULT",
            body=json.dumps({"paymentId": "2026"}).encode(),
            headers={"Content-Type": "application/json"},
            verdict="valid",
            received_at=SUMMER,
            processed_at=SUMMER,
        )
        db.session.add(notification)
        db.session.commit()
        urls = {
            "home": "/",
            "payments": "/payments/",
            "payment": f"/payments/{payment.id}",
            "agreements": "/agreements/",
            "agreement": f"/agreements/{agreement.id}",
            "inbox": "/notifications/",
            "notification": f"/notifications/{notification.id}",
            "audit": "/audit/",
            "users": "/admin/users/",
            "user": f"/admin/users/{admin.id}",
        }
    client = london.test_client()
    sign_in(client, admin)
    shown = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, url
        shown[name] = response.get_data(as_text=True)
    return shown


def test_no_page_says_hkt_when_the_display_zone_is_elsewhere(pages):
    assert [name for name, page in pages.items() if "HKT" in page or "Hong Kong time" in page] == []


def test_times_are_shown_in_the_display_zone_with_its_abbreviation(pages):
    for name in ("payments", "payment", "inbox", "audit"):
        assert "2026-07-01 12:30:00" in pages[name], name
    assert "2026-01-05 23:30:00" in pages["agreements"]
    assert "<dt>Received</dt><dd>2026-07-01 12:30:00 BST</dd>" in pages["notification"]
    assert "<dt>Last sign-in</dt><dd>2026-07-01 12:30:00 BST</dd>" in pages["home"]
    assert "<dt>Created</dt><dd>2026-07-01 12:30:00 BST</dd>" in pages["user"]


def test_headings_name_the_display_zone(pages):
    assert "When (GMT/BST)" in pages["audit"]
    assert "Received (GMT/BST)" in pages["inbox"]
    assert "(times in GMT/BST)" in pages["payments"]
    assert "Times are in GMT/BST." in pages["payment"]
    assert "Last sign-in (GMT/BST)" in pages["users"]


def test_rollups_count_days_in_the_display_zone(london):
    with london.test_request_context():
        payment = make_payment(db.session, created_at=WINTER_NIGHT)
        move_in_rollup(db.session, payment, None, "pending")
        days = db.session.scalars(select(DailyTotal.day)).all()
        db.session.rollback()
    assert [str(day) for day in days] == ["2026-01-05"]  # the 6th in Hong Kong
