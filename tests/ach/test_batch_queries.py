"""The batches list (keyset pages, filters, search by reference, employee, name or account), a batch's
items (problem rows first while a draft), its totals per bank and problems, and its CSV files."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from dashboard.ach import service
from dashboard.ach.export import error_rows
from dashboard.ach.export import result_rows
from dashboard.ach.models import AchBatch
from dashboard.ach.queries import BatchFilter
from dashboard.ach.queries import bank_totals
from dashboard.ach.queries import batch_page
from dashboard.ach.queries import items_page
from dashboard.ach.queries import iter_problem_items
from dashboard.ach.queries import problems_of
from dashboard.extensions import db
from dashboard.listing import PAGE_SIZE
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import upload
from tests.unit.test_list_plans import plans_of

LONG_NAME = "CHAN TAI MAN WITH A NAME LONGER THAN 35"


@pytest.fixture
def finance(app_ctx, create_user, fake_clock):
    return create_user("finance")


def stored(rows, finance, fake_clock, **options) -> int:
    fake_clock.advance(seconds=1)  # batches listed newest first by their upload time
    return upload(rows, finance.id, **options).batch_id


def listed(filters: BatchFilter, cursor=None, ids_by_prefix=True) -> list[int]:
    return [row.id for row in batch_page(db.session, filters, cursor, ids_by_prefix=ids_by_prefix).rows]


def test_the_list_is_newest_first_filtered_and_found_by_any_of_its_ids(finance, fake_clock, create_user):
    other = create_user("finance")
    first = stored([payee(1), payee(2, payee_name="WONG SIU MING")], finance, fake_clock)
    second = stored([payee(3, account_number="987654325")], other, fake_clock)
    third = stored([payee(4)], finance, fake_clock, value_date=date(2026, 1, 7))
    service.discard(third, finance.id)
    reference = db.session.get(AchBatch, second).reference

    assert listed(BatchFilter()) == [third, second, first]
    assert listed(BatchFilter(status="draft")) == [second, first]
    assert listed(BatchFilter(uploaded_by_id=other.id)) == [second]
    assert listed(BatchFilter(value_from=date(2026, 1, 6))) == [third]
    assert listed(BatchFilter(value_to=date(2026, 1, 5))) == [second, first]
    assert listed(BatchFilter(q=reference)) == [second]
    assert listed(BatchFilter(q="E00002")) == [first]  # an employee id
    assert listed(BatchFilter(q="WONG")) == [first]  # how a payee name starts
    assert listed(BatchFilter(q="987654325")) == [second]  # an account number
    assert listed(BatchFilter(q="NOBODY")) == []
    assert listed(BatchFilter(q="E0000", status="discarded")) == [third]
    # Those who see employee ids and account numbers masked find them only whole.
    assert listed(BatchFilter(q="E0000"), ids_by_prefix=False) == []
    assert listed(BatchFilter(q="9876543"), ids_by_prefix=False) == []
    assert listed(BatchFilter(q="E00002"), ids_by_prefix=False) == [first]
    assert listed(BatchFilter(q="987654325"), ids_by_prefix=False) == [second]
    assert listed(BatchFilter(q="WONG"), ids_by_prefix=False) == [first]


def test_account_numbers_are_found_as_typed_and_payee_names_in_any_case(finance, fake_clock):
    first = stored([payee(1, payee_name="Wong Siu Ming")], finance, fake_clock)
    second = stored([payee(2, account_number="987-654 325")], finance, fake_clock)

    for q in ("987 654 325", "9876-54325", "987654325"):
        assert listed(BatchFilter(q=q), ids_by_prefix=False) == [second], q
    assert listed(BatchFilter(q="987-65")) == [second]
    assert listed(BatchFilter(q="987-65"), ids_by_prefix=False) == []
    for q in ("wong siu", "WONG SIU MING", "Wong"):
        assert listed(BatchFilter(q=q), ids_by_prefix=False) == [first], q
    assert listed(BatchFilter(q="-")) == []


@pytest.mark.parametrize(
    ("q", "index"),
    [("wong siu", "ix_ach_items_payee_name_upper"), ("987 654-3", "ix_ach_items_account_number")],
)
def test_a_search_by_payee_name_or_account_reads_their_indexes(finance, fake_clock, q, index):
    stored([payee(n) for n in range(1, 30)], finance, fake_clock)

    plans = plans_of(lambda: listed(BatchFilter(q=q)))

    assert plans[0].uses(index) and not plans[0].scans_a_table, plans[0]


def test_the_list_pages_with_a_cursor(finance, fake_clock):
    ids = [stored([payee(n)], finance, fake_clock) for n in range(1, PAGE_SIZE + 3)]

    page = batch_page(db.session, BatchFilter(), None, ids_by_prefix=True)

    assert [row.id for row in page.rows] == ids[::-1][:PAGE_SIZE]
    assert listed(BatchFilter(), page.next_cursor) == ids[::-1][PAGE_SIZE:]


def test_a_draft_lists_rows_with_errors_then_warnings_then_the_rest_page_by_page(finance, fake_clock):
    rows = [payee(n) for n in range(1, 9)]
    rows[5] = payee(6, bank_code="999")  # row 7: an error
    rows[1] = payee(2, payee_name=LONG_NAME)  # row 3: a warning
    rows[6] = payee(7, bank_code="999", payee_name=LONG_NAME)  # row 8: both
    batch_id = stored(rows, finance, fake_clock)

    order, cursor = [], None
    while True:
        page = items_page(db.session, batch_id, cursor=cursor, size=3)
        order += [row.row_number for row in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert order == [7, 8, 3, 2, 4, 5, 6, 9]
    invalid = items_page(db.session, batch_id, status="invalid").rows
    assert [row.row_number for row in invalid] == [7, 8]


def test_a_draft_reads_its_problem_rows_from_indexes_of_those_rows_alone_and_the_rest_in_row_order(
    finance, fake_clock
):
    rows = [payee(n) for n in range(1, 5)]
    rows[0] = payee(1, bank_code="999")
    rows[1] = payee(2, payee_name=LONG_NAME)
    batch_id = stored(rows, finance, fake_clock)

    preview = plans_of(lambda: items_page(db.session, batch_id, size=10))[1:]
    problems = plans_of(lambda: list(iter_problem_items(db.session, batch_id)))

    errors, warnings, rest = preview
    for plan in (errors, problems[0]):
        assert plan.uses("ix_ach_items_batch_id_row_number_has_error"), plan
    for plan in (warnings, problems[1]):
        assert plan.uses("ix_ach_items_batch_id_row_number_has_warning"), plan
    assert not rest.uses("_has_"), rest  # the unique (batch_id, row_number), named by the database
    for plan in (*preview, *problems):
        assert not plan.scans_a_table and not plan.sorts, plan


def test_totals_per_bank_and_problems_count_only_what_the_preview_shows(finance, fake_clock):
    rows = [payee(1), payee(2, bank_code="024", account_number="123456789"), payee(3, bank_code="999")]
    batch_id = stored(rows, finance, fake_clock)

    totals = bank_totals(db.session, batch_id)
    problems = problems_of(db.session, batch_id, limit=10)

    assert [(t.bank_code, t.count, t.total_minor) for t in totals] == [("004", 1, 100150), ("024", 1, 100250)]
    assert totals[0].bank_name.startswith("The Hongkong and Shanghai Banking")
    assert [(p.row, p.column, p.severity, p.code) for p in problems] == [
        (4, "bank_code", "error", "bank_unknown")
    ]
    assert problems_of(db.session, batch_id, limit=0) == []


def test_the_error_report_and_the_result_file_never_start_a_formula(finance, fake_clock):
    rows = [payee(1, payee_name="=HYPERLINK(x)", reference="@SUM(1)"), payee(2, bank_code="+99")]
    batch_id = stored(rows, finance, fake_clock)

    errors = list(csv.reader(io.StringIO("".join(error_rows(db.session, batch_id)).lstrip("\ufeff"))))
    result = list(csv.reader(io.StringIO("".join(result_rows(db.session, batch_id)).lstrip("\ufeff"))))

    assert errors[0] == ["Row", "Column", "Severity", "Code", "Message", "Cell"]
    cells = {(line[0], line[1]): line[5] for line in errors[1:]}
    assert cells[("3", "bank_code")] == "'+99"
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in errors + result for cell in line)
    assert result[1][2] == "'=HYPERLINK(x)" and result[1][10] == "'@SUM(1)"
    assert (result[1][8], result[1][9], result[1][11]) == ("1001.50", "HKD", "valid")
