"""Keyset cursors, index-friendly prefix ranges and list filters shared by the list pages."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from sqlalchemy import Row
from sqlalchemy import event
from sqlalchemy import false
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from dashboard.ach import queries as ach
from dashboard.agreements import queries as agreements
from dashboard.audit import queries as audit
from dashboard.audit.forms import AuditFilterForm
from dashboard.audit.models import AuditLog
from dashboard.audit.queries import AuditFilter
from dashboard.events.service import latest_event_id
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.listing import Cursor
from dashboard.listing import Found
from dashboard.listing import _strings_after
from dashboard.listing import choices
from dashboard.listing import filter_args
from dashboard.listing import find_ids
from dashboard.listing import listed_rows
from dashboard.listing import newest_first
from dashboard.listing import own_number
from dashboard.listing import searched_page
from dashboard.listing import spreadsheet_safe
from dashboard.listing import start_of_day
from dashboard.listing import strip_text
from dashboard.listing import valid_filters
from dashboard.listing import within_days
from dashboard.notifications import queries as notifications
from dashboard.payments import queries as payments
from dashboard.payments.models import Payment
from dashboard.payments.queries import PAYMENT_IDS
from tests.factories import make_payment


def test_a_cursor_survives_the_round_trip_through_a_url_to_the_microsecond():
    cursor = Cursor(datetime(2026, 3, 2, 6, 30, 1, 123456, tzinfo=UTC), 42)
    assert str(cursor) == "1772433001123456.42"
    assert Cursor.parse(str(cursor)) == cursor


@pytest.mark.parametrize(
    "text",
    [None, "", "42", "abc.1", "1.x", "-1.2", "1.-2", "1.2.3", "².1", "1.٣", "9" * 18 + ".1", "1." + "9" * 20],
)
def test_a_malformed_cursor_starts_the_list_at_the_top(text):
    assert Cursor.parse(text) is None


def test_an_untimed_cursor_is_the_bare_number_of_the_last_row():
    assert str(Cursor(None, 57)) == "57"
    assert Cursor.parse("57", timed=False) == Cursor(None, 57)


@pytest.mark.parametrize("text", [None, "", "-1", "+1", " 1", "1.2", "٣", "abc", str(2**63)])
def test_a_malformed_untimed_cursor_starts_the_list_at_the_top(text):
    assert Cursor.parse(text, timed=False) is None


def test_a_cursor_never_names_a_key_beyond_a_bigint():
    assert Cursor.parse(f"1.{2**63 - 1}") == Cursor(datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC), 2**63 - 1)
    assert Cursor.parse(f"1.{2**63}") is None


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [
        ("PAY-1", "PAY-2"),
        ("a", "b"),
        ("ab\U0010ffff", "ac"),  # the last code point has no successor: carry to the one before
        ("\U0010ffff", None),  # nothing sorts after it: no upper bound
        ("x\ud7ff", "x\ue000"),  # surrogates cannot be stored: skip them
    ],
)
def test_the_upper_bound_of_a_prefix_is_the_next_string_that_does_not_start_with_it(prefix, bound):
    assert _strings_after(prefix) == bound


def test_every_string_with_the_prefix_sorts_inside_the_range_and_no_other_does():
    prefix = "PAY-1"
    upper = _strings_after(prefix)
    for value in ["PAY-1", "PAY-1\U0010ffff", "PAY-10", "PAY-1~"]:
        assert prefix <= value < upper
    for value in ["PAY-0", "PAY-2", "PAY-", "PAY-2\x00", "PAY-0\U0010ffff"]:
        assert not prefix <= value < upper


def test_filters_come_from_a_valid_form_and_an_invalid_one_gives_none_so_nothing_is_listed(app_ctx):
    good = AuditFilterForm(MultiDict({"action": "auth.", "actor": "", "day_from": "2026-03-02"}))
    assert valid_filters(good, AuditFilter) == AuditFilter(action="auth.", day_from=date(2026, 3, 2))
    bad = AuditFilterForm(MultiDict({"action": "auth.", "day_from": "yesterday"}))
    assert valid_filters(bad, AuditFilter) is None
    assert bad.day_from.errors


def test_a_pasted_id_loses_its_blanks_and_choices_offer_no_filter_first():
    assert strip_text("  PAY-1 ") == "PAY-1"
    assert strip_text(None) is None
    assert [(c.value, c.label) for c in choices(["charged_back"], "Any status")] == [
        ("", "Any status"),
        ("charged_back", "charged back"),
    ]
    assert [c.label for c in choices(["antom"], "Any provider", str.capitalize)] == ["Any provider", "Antom"]


def test_links_keep_the_filters_but_not_the_page_cursor_or_empty_values():
    args = MultiDict({"q": "PAY", "status": "", "before": "1.2", "provider": "antom"})
    assert filter_args(args) == {"q": "PAY", "provider": "antom"}


def test_a_day_range_runs_from_the_start_of_the_first_day_to_the_start_of_the_day_after_the_last():
    assert start_of_day(date(2026, 1, 5), "Asia/Hong_Kong") == datetime(2026, 1, 4, 16, 0, tzinfo=UTC)
    column = AuditLog.created_at
    lower, upper = within_days(column, date(2026, 1, 5), date(2026, 1, 6), "Asia/Hong_Kong")
    assert lower.right.value == datetime(2026, 1, 4, 16, 0, tzinfo=UTC)
    assert upper.right.value == datetime(2026, 1, 6, 16, 0, tzinfo=UTC)
    assert within_days(column, None, None, "Asia/Hong_Kong") == []


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"], ids=repr)
def test_a_cell_that_starts_like_a_formula_is_shown_as_text(lead):
    assert spreadsheet_safe(f"{lead}1+1") == f"'{lead}1+1"


@pytest.mark.parametrize("value", ["", "PAY-1", "a=b", "1234.50", "'quoted", " =spaced"])
def test_other_cells_are_left_as_they_are(value):
    assert spreadsheet_safe(value) == value


@pytest.mark.parametrize(
    ("q", "number"),
    [
        ("437", 437),
        ("#437", 437),
        ("#", None),
        ("##437", None),
        ("4 37", None),
        ("-4", None),
        ("٤٣٧", None),  # digits of another script
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),  # beyond a BIGINT key
        ("PAY-437", None),
    ],
)
def test_a_search_names_a_row_by_its_number_with_or_without_a_hash(q, number):
    assert own_number(q) == number


def test_a_search_finds_ids_whole_by_a_start_and_by_a_start_nothing_sorts_after(app, live_db):
    last = "\U0010ffff"  # no string sorts after a run of it: the range has no upper bound
    with app.app_context():
        ids = {
            request_id: make_payment(db.session, request_id=request_id).id
            for request_id in ("PAY-7", "PAY-70", "PAY-8", last, f"{last}x")
        }
        db.session.commit()

        def found(q: str) -> list[int]:
            return find_ids(db.session, q, PAYMENT_IDS).ids

        assert found("PAY-7") == sorted([ids["PAY-7"], ids["PAY-70"]])
        assert found("PAY-70") == [ids["PAY-70"]]
        assert found("PAY-9") == []
        assert found(last) == sorted([ids[last], ids[f"{last}x"]])


def test_a_page_reads_its_rows_columns_by_name_and_the_next_page_starts_after_its_last_row(app_ctx):
    payments = [make_payment(db.session, request_id=f"PAY-{number}") for number in range(3)]
    db.session.commit()
    statement = select(Payment.id, Payment.created_at, Payment.request_id, Payment.status)

    first, cursor = newest_first(db.session, statement, Payment, None, size=2)
    rest, end = newest_first(db.session, statement, Payment, cursor, size=2)

    newest = sorted(payments, key=lambda payment: (payment.created_at, payment.id), reverse=True)
    assert [(row.id, row.request_id, row.status) for row in first + rest] == [
        (payment.id, payment.request_id, payment.status) for payment in newest
    ]
    assert cursor == Cursor(first[-1].created_at, first[-1].id)
    assert end is None
    # Named tuples, not SQLAlchemy rows: a template reads their columns five times as fast.
    assert first[0]._fields == ("id", "created_at", "request_id", "status")
    assert not isinstance(first[0], Row)


def test_a_live_page_reads_the_newest_event_id_with_its_rows_and_apart_only_without_rows(app_ctx):
    payment = make_payment(db.session, request_id="PAY-LIVE")
    record_event(db.session, "payment", payment.id, "created", {"status": payment.status})
    db.session.commit()
    newest = latest_event_id(db.session)
    assert newest > 0
    statement = select(Payment.id, Payment.created_at, Payment.request_id)
    read = []
    engine = db.engine

    def count(*_args):
        read.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        pages, reads = {}, {}
        for name, args in {
            "rows": (statement, None),
            "no rows": (statement.where(false()), None),
            "a search that found nothing": (statement, Found([])),
        }.items():
            read.clear()
            pages[name] = searched_page(db.session, args[0], Payment, None, args[1])
            reads[name] = len(read)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert {name: page.live_from for name, page in pages.items()} == dict.fromkeys(pages, newest)
    assert [row.request_id for row in pages["rows"].rows] == ["PAY-LIVE"]
    assert reads == {"rows": 1, "no rows": 2, "a search that found nothing": 1}


@pytest.mark.parametrize(
    "columns",
    [
        payments.LISTED_COLUMNS,
        agreements.LISTED_COLUMNS,
        notifications.LISTED_COLUMNS,
        audit.LISTED_COLUMNS,
        ach.LISTED_COLUMNS,
    ],
    ids=["payments", "agreements", "notifications", "audit", "ach"],
)
def test_every_lists_columns_can_be_read_into_named_tuples(app_ctx, columns):
    # The named tuple is made from the column names even for no rows: a name it cannot hold (a
    # duplicate, a leading underscore, an unnamed expression) raises here.
    assert listed_rows(db.session.execute(select(*columns).where(false()))) == []
