"""Every list, when empty, says what to do next: clear the filters that matched nothing, or what fills it."""

from __future__ import annotations

from html import unescape

import pytest
from flask import render_template

from tests.web.test_code_guidance_pages import text_of

#: (role, list, filter that matches nothing, name of its empty state, what an unfiltered empty list says)
LISTS = [
    ("viewer", "/payments/", "status=failed", "payments", "Payments appear here when customers pay"),
    (
        "viewer",
        "/agreements/",
        "status=active",
        "agreements",
        "Agreements appear here when a storefront asks",
    ),
    (
        "viewer",
        "/notifications/",
        "outcome=pending",
        "notifications",
        "Notifications appear here when a provider",
    ),
    ("viewer", "/audit/", "action=nothing.like.this", "audit", "Entries appear here as staff sign in"),
    (
        "finance",
        "/ach/batches/",
        "status=rejected",
        "batches",
        "Payroll batches appear here when finance uploads",
    ),
    ("viewer", "/settlements/", "day=2026-01-05", "settlements", "Settlement batches appear here when"),
]


@pytest.mark.parametrize(("role", "url", "query", "name", "fills"), LISTS)
def test_filters_that_match_nothing_say_so_and_link_to_the_list_without_them(
    client, login_as, role, url, query, name, fills
):
    login_as(role)
    page = client.get(f"{url}?{query}").get_data(as_text=True)
    said = text_of(page, f"{name}-empty")
    assert said.startswith("No ") and "match these filters. Clear the filters" in said
    assert f'<a href="{url}" id="{name}-clear-filters">Clear the filters</a>' in page


#: The audit log is never empty here: adding the signed-in user wrote its first entry.
@pytest.mark.parametrize(
    ("role", "url", "query", "name", "fills"), [row for row in LISTS if row[1] != "/audit/"]
)
def test_an_empty_list_says_what_fills_it(client, login_as, role, url, query, name, fills):
    login_as(role)
    page = client.get(url).get_data(as_text=True)
    assert fills in text_of(page, f"{name}-empty")
    assert f'id="{name}-clear-filters"' not in page
    assert "flask --app dashboard simulate" not in page  # not outside the sandbox


def test_filters_refused_ask_to_be_fixed_not_cleared(client, login_as):
    login_as("viewer")
    page = client.get("/payments/?day_from=not-a-day").get_data(as_text=True)
    assert text_of(page, "payments-empty") == "Nothing listed: fix the filters above."


def test_the_payroll_list_offers_the_upload_to_finance_only(client, login_as):
    login_as("viewer")
    assert "upload a payroll</a>" not in client.get("/ach/batches/").get_data(as_text=True)
    login_as("finance")
    assert "upload a payroll</a>" in client.get("/ach/batches/").get_data(as_text=True)


def test_the_sandbox_says_how_to_make_traffic(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "SANDBOX", True)
    login_as("viewer")
    page = client.get("/payments/").get_data(as_text=True)
    assert "flask --app dashboard simulate --minutes 5" in text_of(page, "payments-empty")


def test_no_keys_and_nothing_to_approve_say_what_comes_there(client, login_as):
    login_as("admin")
    assert "Make one (beside) for each storefront" in text_of(
        client.get("/admin/api-keys/").get_data(as_text=True), "keys-empty"
    )
    login_as("manager")
    said = text_of(client.get("/approvals/").get_data(as_text=True), "approvals-empty")
    assert said.startswith("Nothing waits for approval. Refunds above the approval limit")


def test_an_empty_staff_list_says_how_to_add_someone(app):
    # The list always holds the admin reading it; the table still says what to do without anyone.
    with app.test_request_context("/admin/users/"):
        html = unescape(render_template("users/_table.html", users=[]))
    assert "No staff accounts yet: add one with the form beside." in html
