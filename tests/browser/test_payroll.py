"""Finance pays the month's payroll in a real browser, against the served app and its HK ACH simulator:
the demo file's mistakes are shown, a corrected file fixes them, a second person approves, and the
batch page follows the bank live to the end."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_money_journeys import VISIBLE_WITHIN_MS
from tests.browser.test_money_journeys import staff

pytestmark = [pytest.mark.browser, pytest.mark.live]


def downloaded(page, link_id: str, folder: Path) -> Path:
    """Click a download link and save the file under the name the server gave it."""
    with page.expect_download() as download_info:
        page.locator(f"#{link_id}").click()
    saved = folder / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    return saved


@pytest.fixture
def bank(sandboxed, monkeypatch):
    """The sandboxed app without the bank's rate limits (its clock stands still) and a fresh HK ACH client."""
    monkeypatch.setitem(sandboxed.app.config, "SANDBOX_HKACH_RATE_LIMITS", False)
    monkeypatch.delitem(sandboxed.app.extensions, "hkach_client", raising=False)
    return sandboxed


def test_finance_fixes_the_demo_payroll_a_manager_approves_and_the_batch_runs_live_to_its_end(
    bank, browser, page, tmp_path
):
    sandboxed = bank
    sign_in(page, sandboxed.url, staff("finance", "Fion"))
    manager = browser.new_context(locale="en-HK", timezone_id="Asia/Hong_Kong").new_page()
    sign_in(manager, sandboxed.url, staff("manager", "Mei"))

    page.get_by_role("link", name="Payroll").click()
    page.get_by_role("link", name="Upload a payroll…").click()
    demo, corrected = (
        downloaded(page, "demo-link", tmp_path),
        downloaded(page, "demo-corrected-link", tmp_path),
    )
    page.get_by_label("Payroll file (CSV)").set_input_files(demo)
    page.get_by_role("button", name="Upload and check").click()

    page.wait_for_url(re.compile(r"/ach/batches/\d+$"))
    batch_url = page.url
    expect(page.locator("#batch-status")).to_have_text("draft")
    expect(page.locator("#batch-file")).to_contain_text("payroll-demo.csv")
    expect(page.locator("#batch-count")).to_have_text("500")
    expect(page.locator("#batch-errors")).not_to_have_text("0")
    expect(page.locator("#problems")).to_be_visible()
    expect(page.locator("#submit-blocked")).to_be_visible()

    page.get_by_role("link", name="Upload a corrected file…").click()
    page.get_by_label("Payroll file (CSV)").set_input_files(corrected)
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(batch_url)
    expect(page.locator("#batch-errors")).to_have_text("0")
    expect(page.locator("#batch-file")).to_contain_text("payroll-demo-corrected.csv")

    expect(page.locator("#batch-warnings")).to_contain_text("1")  # the name longer than 35 characters
    page.get_by_label("I have read the warnings").check()
    page.get_by_role("button", name="Submit for approval…").click()
    expect(page.locator(".confirm-step")).to_be_focused()
    page.get_by_role("button", name="Submit for approval", exact=True).click()
    page.wait_for_url(batch_url)
    expect(page.locator("#batch-status")).to_have_text("awaiting approval")
    page.evaluate("window.notReloaded = true")

    manager.goto(f"{sandboxed.url}/approvals/")
    card = manager.locator("article.approval")
    expect(card).to_contain_text("500")
    card.get_by_label("Comment").fill("Checked against the HR list")
    card.get_by_role("button", name="Approve…").click()
    card.get_by_role("button", name="Approve and send").click()
    expect(manager.locator("#approvals-empty")).to_be_visible()

    expect(page.locator("#batch-status")).to_have_text("approved", timeout=VISIBLE_WITHIN_MS)
    expect(page.locator("#batch-approver")).to_contain_text("Mei")
    sandboxed.settle(scheduled=True)  # the submit job, the bank's course, the poll job

    expect(page.locator("#batch-status")).to_have_text("completed with failures", timeout=VISIBLE_WITHIN_MS)
    progress = page.locator("#batch-progress-bar")
    expect(progress).to_have_attribute("value", "500")
    expect(page.locator("#batch-progress-label")).to_have_text("500 of 500 payees final")
    assert page.evaluate("window.notReloaded") is True

    page.get_by_role("link", name="rejected", exact=True).click()
    expect(page.locator("#items tbody tr").first).to_contain_text("What it means")

    with open(downloaded(page, "result-csv", tmp_path), encoding="utf-8-sig") as result:
        rows = list(csv.reader(result))
    assert len(rows) == 501
    manager.context.close()
