"""The daily job fetches the simulator's reports of a day and reconciles them with what the back
office did through it: balanced, or every injected difference found."""

from __future__ import annotations

from datetime import date
from datetime import datetime

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.payments.refunds import refund_payment
from dashboard.settlements import service
from dashboard.settlements.models import BatchState
from dashboard.settlements.models import Outcome
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.models import SettlementFile
from dashboard.settlements.models import SettlementResult
from dashboard.settlements.tasks import fetch_due_reports
from tests.agreements.test_agreement_service import authorised

#: The fake clock's day in Hong Kong (and in Antom's GMT+8).
DAY = date(2026, 1, 5)


@pytest.fixture
def day_of_business(sandboxed):
    """Three charges and a refund through the back office, on DAY."""
    agreement = authorised(sandboxed)
    charged = [
        payments.charge_agreement(agreement.id, Money(minor, "HKD"), "Plan") for minor in (40001, 25001, 9001)
    ]
    sandboxed.settle()
    refund = refund_payment(charged[0].id, Money(5001, "HKD"), "Customer request", "rf-settle-1")
    sandboxed.settle()
    assert refund.status == "succeeded"
    return charged


def outcomes(batch: SettlementBatch) -> list[str]:
    return sorted(
        db.session.scalars(select(SettlementResult.outcome).where(SettlementResult.batch_id == batch.id))
    )


def test_the_job_fetches_a_finished_day_and_it_balances(sandboxed, day_of_business, fake_clock):
    fetch_due_reports()
    sandboxed.run_jobs()
    # The three days before are there (quiet days: their summaries total 0); DAY is not over yet.
    days = set(db.session.scalars(select(SettlementFile.day)))
    assert DAY not in days and len(days) == 3
    assert {batch.state for batch in db.session.scalars(select(SettlementBatch))} == {BatchState.BALANCED}

    fake_clock.advance(days=1)
    fetch_due_reports()
    sandboxed.run_jobs()

    batch = db.session.scalar(select(SettlementBatch).where(SettlementBatch.day == DAY))
    assert batch.state == BatchState.BALANCED, outcomes(batch)
    assert outcomes(batch) == [Outcome.MATCHED] * 4  # three payments and a refund
    assert batch.net_minor == batch.summary_net_minor
    kinds = sorted(db.session.scalars(select(SettlementFile.kind).where(SettlementFile.day == DAY)))
    assert kinds == ["settlement_details", "settlement_summary", "transactions"]
    # Fetching again imports nothing new.
    assert service.fetch_day("antom", DAY) == []


def test_injected_differences_are_each_found(sandboxed, day_of_business, fake_clock, monkeypatch):
    monkeypatch.setitem(sandboxed.sandbox.options, "SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES", DAY.isoformat())
    fake_clock.advance(days=1)

    service.fetch_day("antom", DAY)

    batch = db.session.scalar(select(SettlementBatch).where(SettlementBatch.day == DAY))
    assert batch.state == BatchState.DIFFERENCES
    found = outcomes(batch)
    for outcome in (
        Outcome.AMOUNT_MISMATCH,  # a payment off by one cent
        Outcome.MISSING_THEIRS,  # a payment left out of the details
        Outcome.MISSING_OURS,  # a payment we never heard of
        Outcome.STATUS_MISMATCH,  # the refund reversed
        Outcome.FEE,  # a fee adjustment
        Outcome.TOTALS_MISMATCH,  # the summary still counts the row left out
    ):
        assert found.count(outcome) == 1, (outcome, found)


def test_the_fetch_is_queued_once_a_day_by_the_workers(app):
    [job] = [
        task
        for task in app.extensions["huey"]._registry.periodic_tasks
        if task.name == "dashboard.settlements.tasks.fetch_due_reports"
    ]
    assert job.validate_datetime(datetime(2026, 1, 5, 2, 0))
    assert not job.validate_datetime(datetime(2026, 1, 5, 3, 0))
