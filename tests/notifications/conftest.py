"""Fixtures for the inbox tests: an active agreement and Antom payments charged to it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.payments.models import Payment
from tests.agreements.test_agreement_service import authorised


@pytest.fixture
def agreement(sandboxed):
    """An active Auto Debit agreement, authorised through the simulator and the real webhook."""
    return authorised(sandboxed)


@pytest.fixture
def charge(sandboxed, agreement) -> Callable[[int], Payment]:
    """Return a function charging the agreement ``minor`` HKD cents; queued jobs are dropped.

    The simulator's amount endings pick the answer: ``…01`` paid at once, ``…02`` in process
    (U), ``…05`` an unknown answer (paid at Antom). Dropping the jobs (the inquiry after a U)
    leaves the notifications a test posts as the only news.
    """

    def make(minor: int) -> Payment:
        payment = payments.charge_agreement(agreement.id, Money(minor, "HKD"), "June plan")
        sandboxed.app.extensions["huey"].flush()
        return payment

    return make
