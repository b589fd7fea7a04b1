"""Finance reconciles a day in a real browser: imports the Antom simulator's reports of a day with
differences, opens each difference's payment from its link, and resolves every one with a note."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.payments.refunds import refund_payment
from dashboard.providers.antom.settlement_reports import reports_client
from dashboard.settlements.records import ReportKind
from tests.agreements.test_agreement_service import authorised
from tests.browser.conftest import sign_in
from tests.browser.test_money_journeys import staff

pytestmark = [pytest.mark.browser, pytest.mark.live]

#: The fake clock's day in Hong Kong.
DAY = date(2026, 1, 5)


@pytest.fixture
def reports(sandboxed, fake_clock, monkeypatch, tmp_path):
    """A day of charges and a refund, its reports out with differences, saved as finance downloads them."""
    monkeypatch.setitem(sandboxed.sandbox.options, "SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES", DAY.isoformat())
    agreement = authorised(sandboxed)
    charged = [
        payments.charge_agreement(agreement.id, Money(minor, "HKD"), "Plan") for minor in (40001, 25001, 9001)
    ]
    sandboxed.settle()
    refund_payment(charged[0].id, Money(5001, "HKD"), "Customer request", "rf-browser-1")
    sandboxed.settle()
    fake_clock.advance(days=1)
    folder = reports_client(sandboxed.app)
    saved = {}
    for report in folder.list_day(DAY):
        path = tmp_path / report.name
        with folder.download(DAY, report.name) as stream:
            path.write_bytes(stream.read())
        saved[report.kind] = path
    return saved


def import_file(page, path) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settlements").click()
    page.get_by_role("link", name="Import a report…").click()
    page.get_by_label("Provider").select_option("antom")
    page.get_by_label("Report file (CSV)").set_input_files(path)
    page.get_by_role("button", name="Import").click()


def test_finance_imports_a_day_with_differences_and_resolves_each_from_its_link(sandboxed, page, reports):
    sign_in(page, sandboxed.url, staff("finance", "Fion"))

    import_file(page, reports[ReportKind.SETTLEMENT_DETAILS])
    page.wait_for_url(re.compile(r"/settlements/\d+$"))
    expect(page.locator("#batch-state")).to_have_text("waiting")
    import_file(page, reports[ReportKind.SETTLEMENT_SUMMARY])
    page.wait_for_url(re.compile(r"/settlements/\d+$"))
    batch_url = page.url
    expect(page.locator("#batch-state")).to_have_text("differences")
    differences = page.locator("tr.difference")
    expect(differences).to_have_count(6)

    # A difference with one of ours links to it; the payment page says which batch settled it.
    first_link = page.locator("tr.difference a").first
    first_link.click()
    page.wait_for_url(re.compile(r"/payments/\d+$"))
    expect(page.locator("#payment-settlement")).to_contain_text("2026-01-05")
    page.go_back()
    page.wait_for_url(batch_url)

    # An empty note is refused beside its field, and the error summary takes the focus.
    first_note = page.locator("tr.difference-note").first
    first_note.get_by_role("button", name="Resolve with this note").click()
    expect(first_note.locator(".error-summary")).to_be_focused()
    expect(first_note.locator(".error")).to_contain_text("Say what explains the difference.")

    for index in range(6):
        # Open differences are listed first: the first open one is resolved each time.
        note = page.locator("tr.difference-note").filter(
            has=page.get_by_role("button", name="Resolve with this note")
        )
        note.first.get_by_label("Note that resolves it").fill(
            f"Checked with Antom support, case {index + 1}."
        )
        note.first.get_by_role("button", name="Resolve with this note").click()
        expect(page.locator("tr.difference-note").filter(has_text=f"case {index + 1}.")).to_have_count(1)

    expect(page.locator("#batch-state")).to_have_text("resolved")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settlements").click()
    expect(page.locator("#settlements-table")).to_contain_text("resolved")
