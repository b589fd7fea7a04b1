"""The settlement pages: who may open what, the import form's contract, a batch's differences and
their notes, the list's filters, and the differences' CSV."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func
from sqlalchemy import select

from dashboard.auth.access import roles_for
from dashboard.extensions import db
from dashboard.settlements import service
from dashboard.settlements.models import Outcome
from dashboard.settlements.models import SettlementFile
from dashboard.settlements.models import SettlementResult
from dashboard.settlements.records import EntryKind
from tests.factories import make_payment
from tests.settlements.files import Batch
from tests.settlements.files import settlement_with_differences


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def send_report(post):
    """POST a report file to the import form as htmx."""

    def send(name: str, stream: io.BytesIO, provider: str = "antom"):
        data = {"provider": provider, "file": (stream, name)}
        return post(
            "/settlements/import", data, content_type="multipart/form-data", headers={"HX-Request": "true"}
        )

    return send


@pytest.fixture
def reconciled(app, client):
    """A reconciled batch with two differences: a payment unknown to us and a fee adjustment."""
    with app.app_context():
        batch = settlement_with_differences()
        results = {
            result.outcome: result.id
            for result in db.session.scalars(
                select(SettlementResult).where(SettlementResult.batch_id == batch.id)
            )
        }
        return Reconciled(batch.id, batch.reference, results)


@dataclass(frozen=True)
class Reconciled:
    id: int
    reference: str
    results: dict[str, int]


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("settlements.index", ["viewer", "support", "finance", "manager", "admin"]),
        ("settlements.detail", ["viewer", "support", "finance", "manager", "admin"]),
        ("settlements.import_form", ["finance"]),
        ("settlements.import_file", ["finance"]),
        ("settlements.note", ["finance", "manager"]),
        ("settlements.differences_csv", ["finance", "manager", "admin"]),
    ],
)
def test_each_settlement_route_declares_exactly_who_may_call_it(app, endpoint, allowed):
    assert list(roles_for(app.extensions["access_table"][endpoint])) == allowed


def test_an_imported_batch_opens_on_its_page_with_its_differences(client, login_as, send_report, app):
    login_as("finance")
    with app.app_context():
        payment = make_payment(db.session, status="succeeded", provider_payment_id="P-1", amount_minor=5000)
        payment_id, request_id = payment.id, payment.request_id
        db.session.commit()
    batch = Batch().add(EntryKind.PAYMENT, "P-1", request_id, 5001, 60)

    assert send_report(*batch.details()).status_code == 200
    answer = send_report(*batch.summary())

    assert answer.status_code == 200, text(answer)
    location = answer.headers["HX-Redirect"]
    assert re.fullmatch(r"/settlements/\d+", location)
    page = text(client.get(location))
    assert "Amount differs from ours" in page and f'href="/payments/{payment_id}"' in page
    assert "HK$50.01" in page and "HK$50.00" in page
    assert 'id="note-' in page and "Resolve with this note" in page


def test_a_bad_file_is_refused_whole_with_its_line(login_as, send_report, app):
    login_as("finance")
    name, stream = Batch().add(EntryKind.PAYMENT, "P-1", "r-1", 100).details()
    cut = io.BytesIO(stream.getvalue().replace(b"<END>\n", b""))

    answer = send_report(name, cut)

    assert answer.status_code == 422
    page = text(answer)
    assert 'class="error-summary"' in page and "line 3" in page and "without its &lt;END&gt; line" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(SettlementFile.id))) == 0


def test_a_file_not_named_as_a_report_is_refused(login_as, send_report):
    login_as("finance")
    answer = send_report("payroll.csv", io.BytesIO(b"a,b\n"))
    assert answer.status_code == 422 and "not the name of an Antom settlement report" in text(answer)


def test_the_same_file_twice_says_so(login_as, send_report):
    login_as("finance")
    name, stream = Batch().add(EntryKind.PAYMENT, "P-1", "r-1", 100).details()
    send_report(name, io.BytesIO(stream.getvalue()))
    again = send_report(name, io.BytesIO(stream.getvalue()))
    assert again.status_code == 200 and again.headers["HX-Redirect"].startswith("/settlements/")


def test_a_note_resolves_a_difference_and_an_empty_one_is_refused(client, login_as, post, reconciled):
    login_as("manager")
    stranger = reconciled.results[Outcome.MISSING_OURS]
    url = f"/settlements/results/{stranger}/note"
    field = f"result-{stranger}-note"

    empty = post(url, {field: "  "}, headers={"HX-Request": "true"})
    assert empty.status_code == 422
    assert "Say what explains the difference." in text(empty) and 'class="error-summary"' in text(empty)

    kept = post(url, {field: "Wallet team test payment, refunded by them."}, headers={"HX-Request": "true"})
    assert kept.status_code == 200 and kept.headers["HX-Redirect"] == f"/settlements/{reconciled.id}"
    page = text(client.get(f"/settlements/{reconciled.id}"))
    assert "Wallet team test payment, refunded by them." in page and "1 open of 2" in page


def test_support_may_read_a_batch_but_not_resolve_it(client, login_as, post, reconciled):
    login_as("support")
    page = text(client.get(f"/settlements/{reconciled.id}"))
    assert "Settled by the provider, unknown to us" in page and "Resolve with this note" not in page
    result_id = reconciled.results[Outcome.FEE]
    assert post(f"/settlements/results/{result_id}/note", {"note": "x"}).status_code == 403


def test_the_list_shows_states_and_filters_by_them(client, login_as, reconciled):
    login_as("viewer")
    listed = text(client.get("/settlements/?state=differences"))
    assert reconciled.reference in listed and "2 of 2" in listed
    assert reconciled.reference not in text(client.get("/settlements/?state=balanced"))
    assert client.get("/settlements/?state=nonsense").status_code == 200


def test_the_differences_download_is_formula_safe_and_audited(client, login_as, reconciled, audit_rows):
    login_as("finance")
    answer = client.get(f"/settlements/{reconciled.id}/differences.csv")

    assert answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(text(answer))))
    assert [row["difference"] for row in rows] == ["missing ours", "fee"]
    assert rows[0]["provider_amount"] == "123.00" and rows[1]["fee"] == "5.00"
    assert [entry.action for entry in audit_rows()][-1] == "settlement.differences_downloaded"


def test_a_formula_in_a_row_is_written_as_text(app, client, login_as):
    batch = Batch().add(EntryKind.PAYMENT, "=HYPERLINK(1)", "r", 100)
    with app.app_context():
        for name, stream in (batch.details(), batch.summary()):
            service.import_report("antom", stream, name, source="upload")
        listed = db.session.scalar(select(SettlementResult.batch_id))
    login_as("finance")
    rows = list(csv.reader(io.StringIO(text(client.get(f"/settlements/{listed}/differences.csv")))))
    assert rows[1][4] == "'=HYPERLINK(1)"


def test_a_payment_shows_its_settlement_once_reconciled(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        payment = make_payment(db.session, status="succeeded", provider_payment_id="P-9", amount_minor=12001)
        payment_id, request_id = payment.id, payment.request_id
        db.session.commit()
    assert 'id="payment-settlement"' not in text(client.get(f"/payments/{payment_id}"))
    batch = Batch().add(EntryKind.PAYMENT, "P-9", request_id, 12001, 144)
    with app.app_context():
        for name, stream in (batch.details(), batch.summary()):
            service.import_report("antom", stream, name, source="upload")

    page = text(client.get(f"/payments/{payment_id}"))

    assert batch.reference in page and "2026-01-05" in page
    assert re.search(r'id="payment-settlement-fee">HK\$1\.44<', page)
    assert re.search(r'id="payment-settlement-net">HK\$118\.57<', page)
