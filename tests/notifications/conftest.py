"""Fixtures for the inbox tests: extra SANDBOX=1 apps with their own settings, Antom payments."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator

import pytest
from flask import Flask

from dashboard import create_app
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.payments.models import Payment
from tests.agreements.test_agreement_service import authorised
from tests.conftest import test_settings


@pytest.fixture
def make_sandbox_app(tmp_path, live_db: None) -> Iterator[Callable[..., Flask]]:
    """Return a factory for SANDBOX=1 apps with extra settings (not served; committing database)."""
    built: list[Flask] = []

    def build(**extra: object) -> Flask:
        folder = tmp_path / f"app{len(built)}"
        folder.mkdir()
        application = create_app(test_settings(folder, SANDBOX=True, **extra))
        with application.app_context():
            db.create_all()
        built.append(application)
        return application

    yield build
    for application in built:
        application.extensions["sandbox"].engine.dispose()
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


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
