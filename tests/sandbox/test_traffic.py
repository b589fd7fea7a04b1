"""The traffic simulator drives the product through the storefront API, as a storefront and its
customers would: agreements approved and declined, charges, sales with shopper outcomes, refunds."""

from __future__ import annotations

import random

from sqlalchemy import func
from sqlalchemy import select

from dashboard.agreements.models import Agreement
from dashboard.api.models import SCOPES
from dashboard.api.service import create_key
from dashboard.audit.models import AuditLog
from dashboard.extensions import db
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.sandbox.traffic import Traffic


def test_the_traffic_moves_agreements_payments_and_refunds(sandboxed):
    said: list[str] = []
    secret = create_key("traffic simulator", SCOPES, None, actor_id=None).secret
    traffic = Traffic(sandboxed.url + "/api/v1", secret, random.Random(7), say=said.append)

    for _ in range(40):
        traffic.step()
        sandboxed.settle()  # the providers' notifications arrive, the jobs run

    db.session.rollback()
    statuses = dict(db.session.execute(select(Payment.status, func.count()).group_by(Payment.status)).all())
    agreements = dict(
        db.session.execute(select(Agreement.status, func.count()).group_by(Agreement.status)).all()
    )
    assert sum(statuses.values()) >= 15 and statuses.get("succeeded", 0) + statuses.get("settled", 0) >= 5
    assert len(statuses) >= 3  # the shoppers' outcomes and the charges' mix differ
    assert agreements.get("active", 0) >= 1
    assert db.session.scalar(select(func.count()).select_from(Refund)) >= 1
    assert len(said) == 40 and not [line for line in said if "no answer" in line or " 500" in line]
    # Everything it did is in the audit log under its key, as any storefront's calls are.
    assert db.session.scalar(select(func.count()).where(AuditLog.actor_label.like("api-key:%"))) >= 5


def test_simulate_refuses_to_run_without_the_sandbox(app):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["simulate", "--minutes", "0.05"])
    assert result.exit_code != 0
    assert "run it with SANDBOX=1" in result.output
