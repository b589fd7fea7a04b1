"""A manager reads the report over the demo's history in a real browser: every section loads, every
chart is an image with a title and a table beside it, an error code opens exactly the payments it
counts, and the figures move when a payment arrives."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.demo import Demo
from dashboard.money import Money
from dashboard.payments import service
from dashboard.reports.sections import SECTIONS
from tests.browser.conftest import sign_in
from tests.browser.test_money_journeys import VISIBLE_WITHIN_MS
from tests.browser.test_money_journeys import staff

pytestmark = [pytest.mark.browser, pytest.mark.live]

#: Every chart is an SVG image named by its title and described by its largest value.
CHARTS_WITHOUT_TEXT = """() => Array.from(document.querySelectorAll("figure.chart")).filter((figure) => {
  const svg = figure.querySelector("svg[role=img]");
  if (!svg) { return true; }
  const [titleId, descId] = svg.getAttribute("aria-labelledby").split(" ");
  const title = document.getElementById(titleId), desc = document.getElementById(descId);
  const section = figure.closest("section");
  return !title || !title.textContent.trim() || !desc || !desc.textContent.trim()
    || !section.querySelector("table caption");
}).map((figure) => figure.id)"""


def test_a_manager_reads_the_demo_report_and_opens_the_payments_behind_an_error_code(
    sandboxed, page, tmp_path
):
    Demo(sandboxed.app, seed=7).seed_history(days=3, report=lambda _: None)
    sign_in(page, sandboxed.url, staff("manager", "Mei"))

    page.get_by_role("link", name="Reports").click()
    page.get_by_label("Days").select_option("7d")
    page.get_by_role("button", name="Filter").click()
    for section in SECTIONS:
        expect(page.locator(f"#report-{section.name}.live-region")).to_be_visible()
    assert page.locator("figure.chart").count() >= len(SECTIONS)
    assert page.evaluate(CHARTS_WITHOUT_TEXT) == []
    page.screenshot(path=str(tmp_path / "reports.png"), full_page=True)
    assert (tmp_path / "reports.png").stat().st_size > 10_000

    first_code = page.locator("#report-errors tbody tr").first
    failed = int(first_code.locator("td").nth(1).inner_text())
    first_code.locator("a").click()
    page.wait_for_url(re.compile(r"/payments/?\?.*code="))
    assert re.search(r"day_from=\d{4}-\d\d-\d\d&day_to=\d{4}-\d\d-\d\d", page.url)
    expect(page.locator("#payments-table tbody tr")).to_have_count(failed)

    page.go_back()
    created = page.locator("#report-payments")
    before = created.inner_text()
    service.create_alipayhk_payment(Money(12345, "HKD"), "Report test order")
    expect(created).not_to_have_text(before, timeout=VISIBLE_WITHIN_MS + 5000)
