"""Ids, days and cursors far outside what is stored, and NUL characters, answer 404 or a message,
never a server error."""

from __future__ import annotations

import pytest

BEYOND_BIGINT = 2**63

# Every page addressed by a row id.
ID_PAGES = ["/payments/{}", "/agreements/{}", "/notifications/{}", "/users/{}", "/ach/batches/{}"]


@pytest.mark.parametrize("page", ID_PAGES)
@pytest.mark.parametrize("row_id", [BEYOND_BIGINT, 2**64, 10**30])
def test_an_id_beyond_what_a_database_stores_is_not_found(client, login_as, page, row_id):
    login_as("admin")
    assert client.get(page.format(row_id)).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/payments/?day_from=0001-01-01",
        "/payments/?day_to=9999-12-31",
        "/agreements/?day_from=0001-01-01",
        "/notifications/?day_from=9999-12-31",
        "/audit/?day_from=0001-01-01",
        "/ach/batches/?value_from=9999-12-31",
    ],
)
def test_a_day_at_the_ends_of_the_calendar_is_refused_with_a_message(client, login_as, url):
    login_as("admin")
    page = client.get(url)
    assert page.status_code in (200, 422)
    assert "Enter a day from 2000 to 2099." in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/reports/payments?range=custom&day_from=0001-01-01&day_to=0001-01-02",
        "/reports/payments?range=custom&day_from=9999-12-30&day_to=9999-12-31",
        "/payments/export.csv?day_from=0001-01-01",
    ],
)
def test_a_report_or_export_of_days_at_the_ends_of_the_calendar_is_refused(client, login_as, url):
    login_as("admin")
    assert client.get(url).status_code == 422


@pytest.mark.parametrize(
    "url",
    [
        "/payments/?before=9999999999999999999.5",
        f"/payments/?before={BEYOND_BIGINT}.{BEYOND_BIGINT}",
        "/notifications/?before=9999999999999999999.5",
        "/audit/?before=9999999999999999999",
        "/agreements/?before=9999999999999999999.5",
        "/ach/batches/?before=9999999999999999999.5",
        "/live?after=99999999999999999999",
    ],
)
def test_a_cursor_out_of_range_never_breaks_a_list(client, login_as, url):
    login_as("admin")
    assert client.get(url).status_code < 500


def test_a_page_refuses_a_nul_in_what_it_is_sent_with_a_clear_answer(client, login_as, post):
    login_as("admin")
    for url in ("/payments/?q=pay%00-1", "/notifications/?q=a%00b", "/audit/?action=auth%00"):
        answer = client.get(url)
        assert answer.status_code == 400, url
        assert "NUL character" in answer.get_data(as_text=True)
    client.get("/logout")
    signed_in = post("/login", {"email": "someone\x00@staff.example", "password": "whatever it is"})
    assert signed_in.status_code == 400
