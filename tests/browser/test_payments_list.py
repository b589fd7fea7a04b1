"""The payments list in chromium: two filters without a reload, the back button, the CSV download."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard.extensions import db
from tests.browser.conftest import sign_in
from tests.factories import make_payment

pytestmark = [pytest.mark.browser, pytest.mark.live]

# 14:30 on 2 March in Hong Kong.
PAID = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


@pytest.fixture
def payments(app, live_server) -> None:
    rows = [
        ("PAY-HKD-REFUNDED", "HKD", 123450, 20000),
        ("PAY-HKD-PLAIN", "HKD", 5000, 0),
        ("PAY-JPY-REFUNDED", "JPY", 1200, 200),
        ("PAY-JPY-PLAIN", "JPY", 3400, 0),
    ]
    with app.app_context():
        for minutes, (request_id, currency, amount, refunded) in enumerate(rows):
            make_payment(
                db.session,
                request_id=request_id,
                currency=currency,
                amount_minor=amount,
                refunded_minor=refunded,
                status="succeeded",
                payment_method="ALIPAY_HK",
                created_at=PAID - timedelta(minutes=minutes),
            )
        db.session.commit()


def shown_ids(page) -> list[str]:
    return page.locator("#payments-table tbody th[scope=row] code").all_inner_texts()


def test_two_filters_the_back_button_and_the_csv_download(
    live_server, payments, create_user, page, tmp_path: Path
) -> None:
    sign_in(page, live_server, create_user("viewer").email)
    page.goto(f"{live_server}/payments/")
    expect(page.locator("#payments-table tbody tr")).to_have_count(4)

    page.get_by_label("Currency").select_option("HKD")
    expect(page.locator("#payments-table tbody tr")).to_have_count(2)
    page.get_by_label("Refunds").select_option("Has refunds")
    expect(page.locator("#payments-table tbody tr")).to_have_count(1)
    assert shown_ids(page) == ["PAY-HKD-REFUNDED"]
    assert "has_refunds=y" in page.url and "currency=HKD" in page.url
    page.screenshot(path=str(tmp_path / "payments-filtered.png"), full_page=True)

    # A filter change replaces the address (a select walked with the arrow keys adds no history
    # entry per step): back leaves the list, forward comes back to it as it was filtered.
    page.go_back()
    expect(page).to_have_url(f"{live_server}/")
    page.go_forward()
    expect(page.locator("#payments-table tbody tr")).to_have_count(1)
    expect(page.get_by_label("Currency")).to_have_value("HKD")
    expect(page.get_by_label("Refunds")).to_have_value("y")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    name = download.suggested_filename
    assert name.startswith("payments-") and name.endswith(".csv")
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["Our id"] == "PAY-HKD-REFUNDED"
    assert (row["Amount"], row["Currency"], row["Refunded"]) == ("1234.50", "HKD", "200.00")
    assert row["Created (Asia/Hong_Kong)"] == "2026-03-02T14:30:00+08:00"


def test_an_amount_with_too_many_decimals_is_explained_beside_it_without_a_reload(
    live_server, payments, create_user, page, tmp_path: Path
) -> None:
    sign_in(page, live_server, create_user("viewer").email)
    page.goto(f"{live_server}/payments/")
    page.get_by_label("Currency").select_option("JPY")
    expect(page.locator("#payments-table tbody tr")).to_have_count(2)
    page.get_by_label("Amount from").fill("12.5")
    page.get_by_label("Amount from").press("Tab")
    expect(page.locator("#error-amount_min")).to_have_text("JPY amounts have no decimals.")
    expect(page.locator("#payment-filters-errors")).to_contain_text("so nothing is listed")
    expect(page.get_by_role("link", name="Export CSV")).to_have_count(0)
    expect(page.locator("#payments-table tbody tr td[colspan]")).to_have_count(1)  # "No payments match."
    page.screenshot(path=str(tmp_path / "payments-invalid-amount.png"), full_page=True)

    page.get_by_label("Amount from").fill("2000")
    page.get_by_label("Amount from").press("Enter")
    expect(page.locator("#error-amount_min")).to_have_count(0)
    expect(page.locator("#payments-table tbody tr")).to_have_count(1)
    assert shown_ids(page) == ["PAY-JPY-PLAIN"]
