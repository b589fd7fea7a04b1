"""The payments list's CSV export: the list's filters, every row, major units, zones, safe cells, streamed."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import event

from dashboard.extensions import db
from dashboard.payments import export
from dashboard.payments.models import Payment
from tests.factories import make_agreement
from tests.factories import make_payment
from tests.factories import make_refund

# 14:30 on 2 March in Hong Kong.
PAID = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
HEADER = [
    "Created (Asia/Hong_Kong)",
    "Provider",
    "Our id",
    "Provider id",
    "Wallet / method",
    "Customer ref",
    "Amount",
    "Currency",
    "Refunded",
    "Status",
    "Result code",
    "Result message",
    "Paid (Asia/Hong_Kong)",
    "Description",
]


def add_payments(app, *specs: dict) -> list[int]:
    """Commit one payment per spec (model fields, plus ``customer_ref`` for an agreement)."""
    with app.app_context():
        ids = []
        for spec in specs:
            fields = dict(spec)
            if "customer_ref" in fields:
                fields["agreement_id"] = make_agreement(
                    db.session, customer_ref=fields.pop("customer_ref")
                ).id
            ids.append(make_payment(db.session, **{"created_at": PAID, **fields}).id)
        db.session.commit()
    return ids


def rows_of(response) -> list[dict[str, str]]:
    """Read the downloaded file as a spreadsheet would: UTF-8 after its BOM, one dict per row."""
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "starts with the UTF-8 BOM Excel needs"
    reader = csv.reader(io.StringIO(body[3:].decode("utf-8"), newline=""))
    header, *rows = list(reader)
    assert header == HEADER
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_export_is_a_dated_csv_file_with_a_header_and_a_row_per_payment(
    app, client, fake_clock, login_as
):
    fake_clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))  # already 3 March in Hong Kong
    login_as("viewer")
    add_payments(
        app,
        {
            "request_id": "PAY-ROW",
            "provider": "worldpay",
            "provider_payment_id": "wp-123",
            "payment_method": "alipay_hk",
            "amount_minor": 123450,
            "refunded_minor": 2000,
            "status": "charged_back",
            "result_code": "refused",
            "result_message": "Refused by the wallet.",
            "paid_at": PAID + timedelta(seconds=3),
            "order_description": "兩杯奶茶",
        },
        {"request_id": "PAY-OLDER", "customer_ref": "CUST-HK-42", "created_at": PAID - timedelta(hours=7)},
    )
    response = client.get("/payments/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="payments-2026-03-03.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    newest, older = rows_of(response)
    assert newest == {
        "Created (Asia/Hong_Kong)": "2026-03-02T14:30:00+08:00",
        "Provider": "Worldpay",
        "Our id": "PAY-ROW",
        "Provider id": "wp-123",
        "Wallet / method": "alipay_hk",
        "Customer ref": "",
        "Amount": "1234.50",
        "Currency": "HKD",
        "Refunded": "20.00",
        "Status": "charged back",
        "Result code": "refused",
        "Result message": "Refused by the wallet.",
        "Paid (Asia/Hong_Kong)": "2026-03-02T14:30:03+08:00",
        "Description": "兩杯奶茶",
    }
    assert older["Our id"] == "PAY-OLDER" and older["Customer ref"] == "CUST-HK-42"
    assert older["Created (Asia/Hong_Kong)"] == "2026-03-02T07:30:00+08:00"
    assert older["Refunded"] == "0.00" and older["Paid (Asia/Hong_Kong)"] == ""


@pytest.mark.parametrize(
    ("currency", "minor", "amount", "refunded"),
    [("HKD", 123405, "1234.05", "0.01"), ("JPY", 1200, "1200", "1"), ("KWD", 12345, "12.345", "0.001")],
)
def test_amounts_are_in_major_units_with_the_currency_s_own_decimals(
    app, client, login_as, currency, minor, amount, refunded
):
    login_as("viewer")
    add_payments(app, {"currency": currency, "amount_minor": minor, "refunded_minor": 1})
    (row,) = rows_of(client.get("/payments/export.csv"))
    assert (row["Amount"], row["Refunded"], row["Currency"]) == (amount, refunded, currency)


def test_the_export_has_exactly_the_rows_the_list_s_filters_match(app, client, login_as):
    login_as("viewer")
    add_payments(
        app,
        {"request_id": "ORD-FIT", "currency": "HKD", "amount_minor": 5000, "refunded_minor": 100},
        {"request_id": "ORD-NOT-REFUNDED", "currency": "HKD", "amount_minor": 5000},
        {"request_id": "ORD-TOO-CHEAP", "currency": "HKD", "amount_minor": 4999, "refunded_minor": 100},
        {"request_id": "ORD-YEN", "currency": "JPY", "amount_minor": 5000, "refunded_minor": 100},
        {"request_id": "PAY-OTHER", "currency": "HKD", "amount_minor": 5000, "refunded_minor": 100},
        {
            "request_id": "ORD-DAY-BEFORE",
            "currency": "HKD",
            "amount_minor": 5000,
            "refunded_minor": 100,
            "created_at": PAID - timedelta(days=1),
        },
    )
    url = "/payments/export.csv?q=ORD-&currency=HKD&amount_min=50&has_refunds=y&day_from=2026-03-02"
    assert [row["Our id"] for row in rows_of(client.get(url))] == ["ORD-FIT"]
    assert len(rows_of(client.get("/payments/export.csv"))) == 6


def test_a_refund_id_finds_its_payment_in_the_export_as_in_the_list(app, client, login_as):
    login_as("viewer")
    (payment_id,) = add_payments(app, {"request_id": "PAY-REFUNDED"})
    with app.app_context():
        make_refund(db.session, db.session.get(Payment, payment_id), request_id="RF-7")
        db.session.commit()
    assert [row["Our id"] for row in rows_of(client.get("/payments/export.csv?q=RF-7"))] == ["PAY-REFUNDED"]


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"], ids=repr)
def test_no_cell_can_start_a_spreadsheet_formula(app, client, login_as, lead):
    login_as("viewer")
    hostile = f'{lead}HYPERLINK("http://evil.example","click")'
    add_payments(
        app,
        {
            "request_id": f"{lead}PAY",
            "provider_payment_id": hostile,
            "payment_method": f"{lead}1",
            "customer_ref": f"{lead}CUST",
            "result_code": f"{lead}CODE",
            "result_message": hostile,
            "order_description": hostile,
        },
    )
    (row,) = rows_of(client.get("/payments/export.csv"))
    for column in (
        "Our id",
        "Provider id",
        "Wallet / method",
        "Customer ref",
        "Result code",
        "Result message",
        "Description",
    ):
        assert row[column].startswith("'" + lead), (column, row[column])
    unsafe = [column for column, cell in row.items() if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert unsafe == []


def test_every_export_is_audited_with_who_and_which_filters(app, client, login_as, audit_rows):
    user = login_as("viewer")
    client.get("/payments/export.csv?currency=HKD&status=&has_refunds=y").get_data()
    (entry,) = audit_rows(export.AUDIT_ACTION)
    assert (entry.actor_id, entry.actor_label) == (user.id, user.email)
    assert entry.after == {"filters": {"currency": "HKD", "has_refunds": "y"}, "format": "csv"}


@pytest.mark.parametrize("role", ["viewer", "support", "finance", "manager", "admin"])
def test_every_staff_role_that_reads_the_list_may_export_it(app, client, login_as, role):
    login_as(role)
    add_payments(app, {"request_id": "PAY-ANY-ROLE"})
    assert [row["Our id"] for row in rows_of(client.get("/payments/export.csv"))] == ["PAY-ANY-ROLE"]


def test_an_anonymous_export_goes_to_the_login(client):
    response = client.get("/payments/export.csv?currency=HKD")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_invalid_filters_export_nothing_and_say_why(app, client, login_as, audit_rows):
    login_as("viewer")
    add_payments(app, {"request_id": "PAY-NOT-EXPORTED"})
    response = client.get("/payments/export.csv?currency=JPY&amount_min=12.5")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was exported" in page and "Amount from: JPY amounts have no decimals." in page
    assert "PAY-NOT-EXPORTED" not in page and response.mimetype == "text/html"
    assert audit_rows(export.AUDIT_ACTION) == []


def test_the_export_is_streamed_one_query_per_chunk_as_the_download_is_read(
    app, client, login_as, monkeypatch
):
    login_as("viewer")
    monkeypatch.setattr(export, "CHUNK_SIZE", 3)
    add_payments(
        app, *({"request_id": f"PAY-S-{n:02d}", "created_at": PAID + timedelta(seconds=n)} for n in range(7))
    )
    with app.app_context():
        engine = db.engine
    selects: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM payments" in statement:
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/payments/export.csv")
        assert response.is_streamed
        pieces = iter(response.response)
        header = next(pieces)
        assert header.startswith(b"\xef\xbb\xbfCreated") and selects == []  # nothing read yet
        read_by_piece = []
        for piece in pieces:
            read_by_piece.append((len(selects), piece.count(b"\r\n")))
        response.close()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # Each piece of the download is one more query of at most a chunk of rows: 7 rows, 3 queries.
    assert read_by_piece == [(1, 3), (2, 3), (3, 1)]


@pytest.mark.parametrize(("rows", "queries"), [(0, 1), (3, 1), (4, 2), (10, 4)])
def test_the_number_of_queries_grows_with_the_chunks_not_with_the_rows(
    app, client, login_as, monkeypatch, rows, queries
):
    login_as("viewer")
    monkeypatch.setattr(export, "CHUNK_SIZE", 3)
    add_payments(app, *({"created_at": PAID + timedelta(seconds=n)} for n in range(rows)))
    with app.app_context():
        engine = db.engine
    selects: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM payments" in statement:
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert len(rows_of(client.get("/payments/export.csv"))) == rows
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(selects) == queries
