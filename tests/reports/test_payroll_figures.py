"""The payroll section's figures, against hand-counted batches, and its links to the batches list."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import update

from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.ach.states import BatchStatus
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.reports.payroll_figures import payroll_figures
from dashboard.reports.payroll_figures import payroll_tables
from tests.ach.batch_helpers import VALUE_DATE
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import upload
from tests.reports.helpers import report_filters

LATER = date(2026, 1, 7)


def batch(finance_id: int, payees: int, value_date: date = VALUE_DATE) -> int:
    return upload(
        [payee(number) for number in range(1, payees + 1)], finance_id, value_date=value_date
    ).batch_id


def bank_answered(
    batch_id: int, status: BatchStatus, rows: dict[int, tuple[str, str | None]], **batch
) -> None:
    """Set what the bank did: the batch's status and sums, and each row's ``(status, reason code)``."""
    db.session.execute(update(AchBatch).where(AchBatch.id == batch_id).values(status=status.value, **batch))
    for row, (status_of_row, code) in rows.items():
        db.session.execute(
            update(AchItem)
            .where(AchItem.batch_id == batch_id, AchItem.row_number == row)
            .values(status=status_of_row, reason_code=code)
        )


def make_batches(finance: int) -> dict[str, int]:
    """A paid-in-part batch and a draft paid on the 5th, a batch paid in CNY on the 7th."""
    part = batch(finance, 3)
    bank_answered(
        part,
        BatchStatus.COMPLETED_WITH_FAILURES,
        {2: ("paid", None), 3: ("rejected", "AC04"), 4: ("rejected", "ZZ99")},
        paid_minor=100_150,
        paid_count=1,
    )
    draft = batch(finance, 1)
    paid = batch(finance, 2, LATER)
    bank_answered(
        paid,
        BatchStatus.COMPLETED,
        {2: ("paid", None), 3: ("paid", None)},
        currency="CNY",
        paid_minor=200_000,
        paid_count=2,
    )
    return {"part": part, "draft": draft, "paid": paid}


@pytest.fixture
def batches(app_ctx, create_user, fake_clock) -> dict[str, int]:
    return make_batches(create_user("finance").id)


def test_an_empty_range_shows_nothing(app_ctx):
    shown = payroll_figures(db.session, report_filters(LATER, LATER))
    assert (shown.batches, shown.rejected, shown.paid) == ((), (), ())


def test_batches_count_by_status_on_their_value_date(batches):
    shown = payroll_figures(db.session, report_filters(VALUE_DATE, VALUE_DATE))
    assert shown.batches == ((BatchStatus.DRAFT, 1), (BatchStatus.COMPLETED_WITH_FAILURES, 1))
    assert [(line.code, line.count) for line in shown.rejected] == [("AC04", 1), ("ZZ99", 1)]
    assert "account" in shown.rejected[0].guidance.meaning
    assert shown.rejected[1].guidance is None
    assert [(line.value_date, line.paid, line.payees) for line in shown.paid] == [
        (VALUE_DATE, Money(100_150, "HKD"), 1)
    ]


def test_paid_money_stays_per_currency_and_value_date(batches):
    shown = payroll_figures(db.session, report_filters(VALUE_DATE, LATER))
    assert [(line.value_date, line.currency, line.paid) for line in shown.paid] == [
        (VALUE_DATE, "HKD", Money(100_150, "HKD")),
        (LATER, "CNY", Money(200_000, "CNY")),
    ]
    assert dict(shown.batches)[BatchStatus.COMPLETED] == 1
    assert len(shown.charts) == 4  # statuses, rejections, one per currency paid


def test_each_status_opens_the_batches_list_showing_as_many_batches(
    app, client, login_as, create_user, fake_clock
):
    finance = create_user("finance").id
    with app.test_request_context():
        make_batches(finance)
        db.session.commit()
        tables = payroll_tables(payroll_figures(db.session, report_filters(VALUE_DATE, LATER)))
    login_as("manager")
    [by_status] = [table for table in tables if table.name == "batches"]
    assert len(by_status.rows) == 3
    for _status, link in by_status.rows:
        listed = client.get(link.url).get_data(as_text=True)
        assert len(re.findall(r'<tr id="ach_batch-\d+"', listed)) == int(link.text), link.url
    section = client.get(
        "/reports/payroll?range=custom&day_from=2026-01-05&day_to=2026-01-07", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert 'data-live-topic="ach_batch"' in section
    assert section.count('role="img"') == 4
    assert (
        'href="/ach/batches/?status=completed&amp;value_from=2026-01-05&amp;value_to=2026-01-07">1</a>'
        in section
    )
