"""The payroll batch pages: who may open what, the upload form's contract, the preview, submit and
discard, masking per role, the list, and the CSV downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from dashboard.ach import service
from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.ach.states import BatchStatus
from dashboard.ach.states import ItemStatus
from dashboard.auth.access import roles_for
from dashboard.extensions import db

HEADER = "employee_id,payee_name,bank_code,branch_code,account_number,amount,currency,reference"
GOOD_ROWS = (
    "E0001,Chan Tai Man,004,123,123456789,15000.00,HKD,SALARY MAR",
    "E0002,Lee Siu Ming,024,456,987654321,12000.50,HKD,",
    "E0003,Wong Ka Yan,004,123,555666777,9800.00,HKD,SALARY MAR",
)
#: A Tuesday, no holiday, after the fake clock's Monday 2026-01-05 10:00 HKT.
VALUE_DATE = "2026-01-06"
DEBTOR = "12345678901"


def payroll(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join((header, *rows)) + "\r\n").encode()


@pytest.fixture
def upload(post, fake_clock):
    """POST a payroll file to the upload form (or a batch's corrected-file form) as htmx."""

    def send(content: bytes, url: str = "/ach/batches/new", name: str = "payroll.csv", **fields):
        data = {
            "file": (io.BytesIO(content), name),
            "value_date": VALUE_DATE,
            "debtor_account": DEBTOR,
            "encoding": "",
            **fields,
        }
        return post(url, data, content_type="multipart/form-data", headers={"HX-Request": "true"})

    return send


def stored(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(AchBatch)),
            db.session.scalar(select(func.count()).select_from(AchItem)),
        )


def uploaded_id(response) -> int:
    assert response.status_code == 200, response.get_data(as_text=True)
    match = re.fullmatch(r"/ach/batches/(\d+)", response.headers["HX-Redirect"])
    assert match, response.headers
    return int(match[1])


def text(response) -> str:
    return response.get_data(as_text=True)


# --- who may open what -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("ach.index", ["viewer", "support", "finance", "manager", "admin"]),
        ("ach.detail", ["viewer", "support", "finance", "manager", "admin"]),
        ("ach.items", ["viewer", "support", "finance", "manager", "admin"]),
        ("ach.new", ["finance"]),
        ("ach.create", ["finance"]),
        ("ach.replace_form", ["finance"]),
        ("ach.replace", ["finance"]),
        ("ach.submit", ["finance"]),
        ("ach.discard", ["finance"]),
        ("ach.result_csv", ["finance", "manager"]),
        ("ach.errors_csv", ["finance", "manager"]),
        ("ach.template_csv", ["finance"]),
        ("ach.demo_csv", ["finance"]),
    ],
)
def test_each_payroll_route_declares_exactly_who_may_call_it(app, endpoint, allowed):
    assert list(roles_for(app.extensions["access_table"][endpoint])) == allowed


@pytest.mark.parametrize(("role", "status"), [("finance", 200), ("manager", 403), ("viewer", 403)])
def test_only_finance_opens_the_upload_form(client, login_as, role, status):
    login_as(role)
    assert client.get("/ach/batches/new").status_code == status


def test_the_navigation_offers_payroll_to_readers(client, login_as):
    login_as("viewer")
    assert 'href="/ach/batches/"' in text(client.get("/"))


# --- the upload form -------------------------------------------------------------------------------


def test_upload_form_defaults_to_the_next_allowed_value_date_and_the_configured_account(
    client, login_as, fake_clock, app, monkeypatch
):
    monkeypatch.setitem(app.config, "HKACH_DEBTOR_ACCOUNT", "400500600700")
    login_as("finance")
    page = text(client.get("/ach/batches/new"))
    # Monday 10:00 in Hong Kong: today is allowed.
    assert 'name="value_date" required type="date" value="2026-01-05"' in page or 'value="2026-01-05"' in page
    assert 'value="400500600700"' in page
    assert '<option selected value="">Detected automatically</option>' in page
    assert 'href="/ach/template.csv"' in page
    assert 'href="/ach/demo.csv"' in page
    assert 'href="/ach/demo.csv?corrected=1"' in page
    assert "duplicate_reason" not in page


def test_after_the_cut_off_the_value_date_defaults_to_the_next_day(client, login_as, fake_clock):
    fake_clock.advance(hours=8)  # 18:00 HKT, after the 17:55 cut-off
    login_as("finance")
    assert 'value="2026-01-06"' in text(client.get("/ach/batches/new"))


def test_a_valid_file_becomes_a_draft_and_htmx_goes_to_its_page(app, client, login_as, upload):
    login_as("finance")
    response = upload(payroll(*GOOD_ROWS))
    batch_id = uploaded_id(response)
    with app.app_context():
        batch = db.session.get(AchBatch, batch_id)
        assert (batch.status, batch.item_count, batch.total_minor, batch.error_count) == (
            "draft",
            3,
            3680050,
            0,
        )


def test_an_incomplete_form_answers_422_with_its_fields_and_an_error_summary(app, client, login_as, post):
    login_as("finance")
    response = post(
        "/ach/batches/new", {"value_date": "", "debtor_account": "12a34"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    page = text(response)
    assert page.lstrip().startswith('<div id="upload-area"')
    assert 'id="upload-errors"' in page
    assert "Choose the payroll CSV file." in page
    assert "Enter the account number in digits (spaces and hyphens are ignored)." in page
    assert stored(app) == (0, 0)


def test_a_file_with_a_wrong_header_is_refused_with_one_message_and_nothing_stored(
    app, client, login_as, upload
):
    login_as("finance")
    response = upload(
        payroll(
            "E0001,Chan,004,123,123456789,1.00,HKD",
            header="staff,payee_name,bank_code,branch_code,account_number,amount,currency",
        )
    )
    assert response.status_code == 422
    page = text(response)
    assert page.count('class="error"') == 1
    assert "employee_id" in page
    assert stored(app) == (0, 0)


def test_an_empty_file_is_refused_and_nothing_stored(app, client, login_as, upload):
    login_as("finance")
    response = upload(b"")
    assert response.status_code == 422
    assert 'id="upload-errors"' in text(response)
    assert stored(app) == (0, 0)


def test_the_same_file_again_needs_a_reason(app, client, login_as, upload):
    login_as("finance")
    first = uploaded_id(upload(payroll(*GOOD_ROWS)))
    again = upload(payroll(*GOOD_ROWS))
    assert again.status_code == 422
    page = text(again)
    with app.app_context():
        reference = db.session.get(AchBatch, first).reference
    assert f"uploaded before, as batch {reference}" in page
    assert 'name="duplicate_reason"' in page
    assert stored(app)[0] == 1

    second = uploaded_id(upload(payroll(*GOOD_ROWS), duplicate_reason="March bonus run is a second payment"))
    with app.app_context():
        assert db.session.get(AchBatch, second).duplicate_reason == "March bonus run is a second payment"
    assert "March bonus run is a second payment" in text(client.get(f"/ach/batches/{second}"))


# --- the preview -----------------------------------------------------------------------------------


MIXED = (
    "E0001,Chan Tai Man,004,123,123456789,15000.00,HKD,SALARY MAR",
    "E0002,Lee Siu Ming,999,456,987654321,12000.50,HKD,",
    "E0003,Wong Ka Yan,004,123,555666777,9800.005,HKD,",
    "E0004,Cheung Wing Sze Cheung Wing Sze Cheung Wing Sze,024,456,111222333,100.00,HKD,",
)


def test_the_preview_shows_encoding_totals_banks_and_problem_rows_first(app, client, login_as, upload):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*MIXED)))
    page = text(client.get(f"/ach/batches/{batch_id}"))
    assert '<dd id="batch-encoding">UTF-8' in page
    assert re.search(r'id="batch-count">4<', page)
    assert re.search(r'id="batch-errors">2 ', page)
    assert re.search(r'id="batch-warnings">1 ', page)
    assert "The Hongkong and Shanghai Banking Corporation" in page or "HSBC" in page
    rows = re.findall(r'<tr id="item-\d+">\s*<td class="num">(\d+)</td>', page)
    assert rows == ["3", "4", "5", "2"]  # errors, then warnings, then the rest
    assert 'id="submit-blocked"' in page


def test_a_viewer_sees_masked_account_numbers_and_ids_finance_and_managers_see_them_whole(
    app, client, login_as, upload, create_user
):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*GOOD_ROWS)))
    whole = text(client.get(f"/ach/batches/{batch_id}"))
    assert "123456789" in whole and "E0001" in whole
    for role in ("viewer", "support", "admin", "manager"):
        login_as(role)
        page = text(client.get(f"/ach/batches/{batch_id}"))
        if role == "manager":
            assert "123456789" in page and "E0001" in page
        else:
            assert "123456789" not in page and "E0001" not in page and DEBTOR not in page
            assert "••••6789" in page and "••••0001" in page


def test_problems_never_repeat_an_account_number_or_an_employee_id(app, client, login_as, upload):
    login_as("finance")
    long_id = "EMPLOYEE-" + "7" * 27
    bad = (
        f"{long_id},Chan Tai Man,004,123,12345678901234,100.00,HKD,",
        "=E0009,Lee Siu Ming,004,123,9876-54O21,100.00,HKD,",
    )
    batch_id = uploaded_id(upload(payroll(*bad)))
    for role in ("viewer", "finance"):
        login_as(role)
        page = text(client.get(f"/ach/batches/{batch_id}"))
        assert "The account number has 14 digits; for bank 004" in page
        assert "The employee id has 36 characters" in page
        assert "The employee id starts with =" in page
        for whole in ("12345678901234", long_id, "=E0009", "9876-54O21"):
            assert page.count(whole) == (role == "finance"), (role, whole)


# --- submit and discard ----------------------------------------------------------------------------


WARNED = (
    *GOOD_ROWS[:2],
    "E0004,Cheung Wing Sze Cheung Wing Sze Cheung Wing Sze,024,456,111222333,100.00,HKD,",
)


def shown_file(page: str) -> str:
    """Return the SHA-256 of the file a batch page's submit form was shown with."""
    return re.search(r'name="sha256" type="hidden" value="([0-9a-f]{64})"', page)[1]


def test_submitting_needs_the_warnings_acknowledged_then_a_confirmation(app, client, login_as, upload, post):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*WARNED)))
    url = f"/ach/batches/{batch_id}/submit"
    hx = {"HX-Request": "true"}
    sha256 = shown_file(text(client.get(f"/ach/batches/{batch_id}")))

    refused = post(url, {"sha256": sha256}, headers=hx)
    assert refused.status_code == 422
    assert text(refused).lstrip().startswith('<section id="batch-actions"')
    assert "Tick this to confirm you read the 1 warning." in text(refused)

    confirming = post(url, {"acknowledge": "y", "sha256": sha256}, headers=hx)
    assert confirming.status_code == 200
    assert 'id="submit-confirm"' in text(confirming) and shown_file(text(confirming)) == sha256
    with app.app_context():
        assert db.session.get(AchBatch, batch_id).status == "draft"

    done = post(url, {"acknowledge": "y", "confirmed": "yes", "sha256": sha256}, headers=hx)
    assert done.headers["HX-Redirect"] == f"/ach/batches/{batch_id}"
    with app.app_context():
        batch = db.session.get(AchBatch, batch_id)
        assert batch.status == "awaiting_approval"
        assert batch.warnings_acknowledged_by_id is not None


def test_a_file_replaced_since_the_page_was_opened_is_not_submitted(app, client, login_as, upload, post):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*GOOD_ROWS)))
    sha256 = shown_file(text(client.get(f"/ach/batches/{batch_id}")))
    upload(payroll(*GOOD_ROWS[:2]), url=f"/ach/batches/{batch_id}/file", name="other.csv")

    refused = post(
        f"/ach/batches/{batch_id}/submit",
        {"confirmed": "yes", "sha256": sha256},
        headers={"HX-Request": "true"},
    )

    assert refused.status_code == 422
    assert "The file changed since you opened it: other.csv was uploaded since." in text(refused)
    with app.app_context():
        assert db.session.get(AchBatch, batch_id).status == "draft"


def test_a_batch_with_errors_cannot_be_submitted(app, client, login_as, upload, post):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*MIXED)))
    response = post(
        f"/ach/batches/{batch_id}/submit",
        {"acknowledge": "y", "confirmed": "yes"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(AchBatch, batch_id).status == "draft"


def test_discarding_asks_first_then_discards(app, client, login_as, upload, post):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*GOOD_ROWS)))
    url = f"/ach/batches/{batch_id}/discard"
    asked = post(url, {}, headers={"HX-Request": "true"})
    assert 'id="discard-confirm"' in text(asked)
    with app.app_context():
        assert db.session.get(AchBatch, batch_id).status == "draft"
    done = post(url, {"confirmed": "yes"}, headers={"HX-Request": "true"})
    assert done.headers["HX-Redirect"] == f"/ach/batches/{batch_id}"
    with app.app_context():
        assert db.session.get(AchBatch, batch_id).status == "discarded"
    assert 'id="batch-actions"' not in text(client.get(f"/ach/batches/{batch_id}"))


def test_a_corrected_file_replaces_the_rows_of_the_same_batch(app, client, login_as, upload):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*MIXED)))
    again = upload(payroll(*GOOD_ROWS), url=f"/ach/batches/{batch_id}/file", name="payroll-fixed.csv")
    assert uploaded_id(again) == batch_id
    with app.app_context():
        batch = db.session.get(AchBatch, batch_id)
        assert (batch.file_name, batch.item_count, batch.error_count) == ("payroll-fixed.csv", 3, 0)
    assert stored(app) == (1, 3)


def test_a_rejected_batch_given_a_corrected_file_names_no_decision_until_the_next(
    app, client, login_as, upload, create_user
):
    clerk = login_as("finance")
    manager = create_user("manager")
    batch_id = uploaded_id(upload(payroll(*GOOD_ROWS)))
    with app.test_request_context():
        service.submit_for_approval(batch_id, clerk.id, warnings_acknowledged=False)
        service.reject_batch(batch_id, actor_id=manager.id, comment="Wrong month")
    assert "Rejected by</dt>" in text(client.get(f"/ach/batches/{batch_id}"))

    upload(payroll(*GOOD_ROWS[:2]), url=f"/ach/batches/{batch_id}/file")

    with app.app_context():
        batch = db.session.get(AchBatch, batch_id)
        assert batch.status == "draft"
        assert (batch.decided_by_id, batch.decided_at, batch.decision_comment) == (None, None, None)
        assert batch.submitted_for_approval_at is None
    page = text(client.get(f"/ach/batches/{batch_id}"))
    # The decision is gone from the batch's facts; its timeline still tells the rejection.
    assert 'id="batch-approver"' not in page
    assert "Rejected by</dt>" not in page and "Approved by</dt>" not in page
    listed = text(client.get("/ach/batches/"))
    assert "Manager Tester" not in listed[listed.index(f'id="ach_batch-{batch_id}"') :]

    with app.test_request_context():
        service.submit_for_approval(batch_id, clerk.id, warnings_acknowledged=False)
        service.reject_batch(batch_id, actor_id=manager.id, comment="Still wrong")
        service.discard(batch_id, clerk.id)
    assert "Rejected by</dt>" in text(client.get(f"/ach/batches/{batch_id}"))


# --- the page's regions ----------------------------------------------------------------------------


def test_the_live_regions_re_render_their_own_block_from_their_own_url(app, client, login_as, upload):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*GOOD_ROWS)))
    url = f"/ach/batches/{batch_id}"
    page = text(client.get(url))
    assert f'hx-get="{url}" hx-trigger="live"' in page
    assert f'hx-get="{url}/items" hx-trigger="live"' in page
    summary = text(client.get(url, headers={"HX-Request": "true"}))
    assert summary.lstrip().startswith('<div id="batch-summary"')
    assert 'id="items"' not in summary
    items = text(client.get(url + "/items?status=valid", headers={"HX-Request": "true"}))
    assert items.lstrip().startswith('<div id="batch-items"')
    assert items.count('<tr id="item-') == 3
    # The address bar shows the batch page at those rows, which opens whole.
    assert f'hx-push-url="{url}?status=valid"' in items
    assert text(client.get(url + "?status=valid")).count('<tr id="item-') == 3


# --- the list --------------------------------------------------------------------------------------


def test_the_list_shows_batches_and_finds_them_by_employee_payee_account_or_number(
    app, client, login_as, upload
):
    login_as("finance")
    first = uploaded_id(upload(payroll(*GOOD_ROWS)))
    second = uploaded_id(upload(payroll("E0777,Ho Man Kit,004,123,444555666,500.00,HKD,")))
    page = text(client.get("/ach/batches/"))
    assert page.index(f'id="ach_batch-{second}"') < page.index(f'id="ach_batch-{first}"')
    for q in ("E0777", "Ho Man", "444555666", f"#{second}"):
        found = text(client.get("/ach/batches/", query_string={"q": q}))
        assert f'id="ach_batch-{second}"' in found and f'id="ach_batch-{first}"' not in found, q
    for role, finds_starts in (("viewer", False), ("support", False), ("manager", True)):
        login_as(role)
        for q in ("E077", "44455", "E0777", "444555666"):
            found = text(client.get("/ach/batches/", query_string={"q": q}))
            whole_or_allowed = finds_starts or q in ("E0777", "444555666")
            assert (f'id="ach_batch-{second}"' in found) == whole_or_allowed, (role, q)
    filtered = text(client.get("/ach/batches/", query_string={"status": "discarded"}))
    assert not re.search(r'id="batch-\d+"', filtered)
    bad = client.get("/ach/batches/", query_string={"value_from": "2026-02-01", "value_to": "2026-01-01"})
    assert not re.search(r'id="batch-\d+"', text(bad)) and "Must not be before" in text(bad)


# --- downloads -------------------------------------------------------------------------------------


def test_template_and_demo_files_download_as_csv(client, login_as):
    login_as("finance")
    template = client.get("/ach/template.csv")
    assert template.mimetype == "text/csv"
    assert template.headers["Content-Disposition"] == 'attachment; filename="payroll-template.csv"'
    lines = list(csv.reader(io.StringIO(template.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(lines) == 2
    demo = list(csv.reader(io.StringIO(client.get("/ach/demo.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert len(demo) == 501
    corrected = client.get("/ach/demo.csv?corrected=1")
    assert corrected.headers["Content-Disposition"] == 'attachment; filename="payroll-demo-corrected.csv"'


# --- a batch the bank has finished -----------------------------------------------------------------


def finish(app, batch_id: int, rejected: dict[int, tuple[str, str]]) -> None:
    """Write what the bank reported, as the poll job leaves it: ``rejected`` rows, the others paid."""
    with app.app_context():
        for item in db.session.scalars(select(AchItem).where(AchItem.batch_id == batch_id)):
            code, text = rejected.get(item.row_number, (None, None))
            item.status = ItemStatus.REJECTED if code else ItemStatus.PAID
            item.reason_code, item.reason_text = code, text
        paid = db.session.scalars(
            select(AchItem.amount_minor).where(AchItem.batch_id == batch_id, AchItem.status == "paid")
        ).all()
        db.session.execute(
            update(AchBatch)
            .where(AchBatch.id == batch_id)
            .values(
                status=BatchStatus.COMPLETED_WITH_FAILURES,
                final_count=len(paid) + len(rejected),
                paid_count=len(paid),
                paid_minor=sum(paid),
                rejected_count=len(rejected),
            )
        )
        db.session.commit()


FORMULA_ROWS = (
    "E0001,Chan Tai Man,004,123,123456789,15000.00,HKD,SALARY MAR",
    '=E0002,"=HYPERLINK(""http://x"",""pay"")",024,456,987654000,12000.50,HKD,@SUM(1)',
)


def test_a_finished_batch_shows_its_progress_and_its_rejected_rows_with_meaning_and_next_step(
    app, client, login_as, upload
):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*GOOD_ROWS)))
    finish(app, batch_id, {3: ("AC03", "Invalid creditor account number")})
    page = text(client.get(f"/ach/batches/{batch_id}"))
    assert 'id="batch-status">completed with failures<' in page
    assert '<progress class="progress-bar" id="batch-progress-bar" max="3" value="3">100 %</progress>' in page
    assert 'id="batch-progress-label">3 of 3 payees final<' in page
    assert "2 payees, HK$24,800.00" in page
    assert 'id="result-csv"' in page and 'id="batch-actions"' not in page
    rejected = text(client.get(f"/ach/batches/{batch_id}?status=rejected"))
    assert rejected.count('<tr id="item-') == 1
    assert "<code>AC03</code> Invalid creditor account number" in rejected
    assert "What it means" in rejected and "Next step" in rejected


def test_the_result_file_is_exact_and_formula_safe(app, client, login_as, upload, audit_rows):
    clerk = login_as("finance")
    batch_id = uploaded_id(upload(payroll(*FORMULA_ROWS)))
    finish(app, batch_id, {3: ("AC03", "=Invalid creditor account number")})
    with app.app_context():
        reference = db.session.get(AchBatch, batch_id).reference
    response = client.get(f"/ach/batches/{batch_id}/result.csv")
    assert response.headers["Content-Disposition"] == f'attachment; filename="payroll-{reference}-result.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data(as_text=True) == (
        "\ufeffRow,Employee ID,Payee name,Payee name (Chinese),Bank code,Bank,Branch code,Account number,"
        "Amount,Currency,Reference,Status,Reason code,Bank's reason,Meaning,Next step\r\n"
        "2,E0001,Chan Tai Man,,004,The Hongkong and Shanghai Banking Corporation Ltd (HSBC),123,123456789,"
        "15000.00,HKD,SALARY MAR,paid,,,,\r\n"
        '3,\'=E0002,"\'=HYPERLINK(""http://x"",""pay"")",,024,Hang Seng Bank Ltd,456,987654000,12000.50,HKD,'
        "'@SUM(1),rejected,AC03,'=Invalid creditor account number,"
        "The payee's account number does not exist at their bank.,"
        '"Correct the employee\'s bank details with them, then pay this employee in a new batch."\r\n'
    )
    [entry] = audit_rows("ach.file_downloaded")
    assert (entry.actor_id, entry.object_id, entry.after) == (clerk.id, str(batch_id), {"file": "result"})


def test_the_error_report_is_exact_and_formula_safe(app, client, login_as, upload):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*FORMULA_ROWS)))
    body = client.get(f"/ach/batches/{batch_id}/errors.csv").get_data(as_text=True)
    lines = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert lines[0] == ["Row", "Column", "Severity", "Code", "Message", "Cell"]
    assert [line[:4] + line[5:] for line in lines[1:]] == [
        ["3", "employee_id", "warning", "formula_like", "'=E0002"],
        ["3", "payee_name", "warning", "formula_like", '\'=HYPERLINK("http://x","pay")'],
        ["3", "reference", "warning", "formula_like", "'@SUM(1)"],
    ]
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)


@pytest.mark.parametrize("role", ["viewer", "support", "admin"])
def test_downloads_are_refused_to_roles_that_see_masked_numbers(app, client, login_as, upload, role):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*GOOD_ROWS)))
    login_as(role)
    assert client.get(f"/ach/batches/{batch_id}/result.csv").status_code == 403
    assert client.get(f"/ach/batches/{batch_id}/errors.csv").status_code == 403
    assert 'id="errors-csv"' not in text(client.get(f"/ach/batches/{batch_id}"))


def test_the_encoding_chosen_over_detection_is_used_and_shown(app, client, login_as, upload):
    login_as("finance")
    big5 = payroll("E0001,陳大文,004,123,123456789,15000.00,HKD,").decode().encode("big5hkscs")
    batch_id = uploaded_id(upload(big5, encoding="big5hkscs"))
    page = text(client.get(f"/ach/batches/{batch_id}"))
    assert re.search(r'<dd id="batch-encoding">Big5-HKSCS[^<]*\(chosen\)', page)
    assert "陳大文" in page


def test_a_value_date_that_is_not_allowed_is_refused_beside_its_field(app, client, login_as, upload):
    login_as("finance")
    response = upload(payroll(*GOOD_ROWS), value_date="2026-01-11")  # a Sunday
    assert response.status_code == 422
    assert re.search(r'id="error-value_date">[^<]*is a Sunday', text(response))
    assert stored(app) == (0, 0)


def test_pages_answer_htmx_with_their_block(app, client, login_as, upload):
    login_as("finance")
    uploaded_id(upload(payroll(*GOOD_ROWS)))
    hx = {"HX-Request": "true"}
    assert text(client.get("/ach/batches/", headers=hx)).lstrip().startswith('<section id="results"')
    assert text(client.get("/ach/batches/new", headers=hx)).lstrip().startswith('<div id="upload-area"')
    page = text(client.get("/ach/batches/"))
    assert page.lstrip().startswith("<!doctype html>")
    # New batches are counted into the list's live bar by the server; the rows stay put.
    assert '<section id="results" data-live-topic="ach_batch"' in page
    assert 'data-live-count="/ach/batches/since?after=' in page and 'id="live-bar"' in page


def test_a_batch_that_went_further_offers_no_corrected_file(app, client, login_as, upload):
    login_as("finance")
    batch_id = uploaded_id(upload(payroll(*GOOD_ROWS)))
    finish(app, batch_id, {})
    response = client.get(f"/ach/batches/{batch_id}/file")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/ach/batches/{batch_id}"
    assert "its file can no longer change" in text(client.get(f"/ach/batches/{batch_id}"))


def test_the_new_batches_bar_counts_only_those_the_search_finds(app, client, login_as, upload):
    login_as("finance")
    page = text(client.get("/ach/batches/?q=E0777"))
    cursor = int(re.search(r'data-live-cursor="(\d+)"', page).group(1))
    uploaded_id(upload(payroll(*GOOD_ROWS)))
    found = uploaded_id(upload(payroll("E0777,Ho Man Kit,004,123,444555666,500.00,HKD,")))
    bar = " ".join(text(client.get(f"/ach/batches/since?q=E0777&after={cursor}")).split())
    assert "1 new batch — show</button>" in bar and "1 more does not match your filters" in bar
    rows = text(client.get(f"/ach/batches/rows?id={found}"))
    assert re.findall(r'<tr id="ach_batch-(\d+)"', rows) == [str(found)]
