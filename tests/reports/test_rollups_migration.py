"""An existing database has its new rollups filled from its payments, and their finish times, on upgrade."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import JSON
from sqlalchemy import column
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy.orm import Session

from dashboard import create_app
from dashboard.db import UTCDateTime
from dashboard.extensions import db
from dashboard.reports.models import DAILY_FAILURES
from dashboard.reports.models import DAILY_WALLETS
from dashboard.reports.models import FINISH_TIMES
from dashboard.reports.rebuild import maintained_buckets
from tests.conftest import test_settings
from tests.test_migrations import migration_database  # noqa: F401 - the fixture

BEFORE_ROLLUPS = "d8f2b4a6c1e3"

payments = table(
    "payments",
    column("id"),
    column("provider"),
    column("request_id"),
    column("amount_minor"),
    column("currency"),
    column("payment_method"),
    column("status"),
    column("refunded_minor"),
    column("result_code"),
    column("paid_at", UTCDateTime()),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
    column("version"),
)
events = table(
    "events",
    column("object_type"),
    column("object_id"),
    column("kind"),
    column("summary", JSON()),
    column("created_at", UTCDateTime()),
)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_upgrade_keeps_when_payments_finished_and_fills_every_rollup(tmp_path: Path, migration_database: str):  # noqa: F811
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    with app.app_context():
        upgrade(revision=BEFORE_ROLLUPS)
        rows = [
            # id, status, code, created, paid, updated, [(event time, [old, new])]
            (1, "succeeded", "SUCCESS", "2026-03-01 15:59:59", "2026-03-01 16:00:02", "2026-03-05 00:00:00",
             [("2026-03-01 16:00:01", ["pending", "processing"]),
              ("2026-03-01 16:00:04", ["processing", "succeeded"])]),
            (2, "failed", "USER_BALANCE_NOT_ENOUGH", "2026-03-01 16:00:00", None, "2026-03-01 16:00:30",
             [("2026-03-01 16:00:20", ["pending", "failed"])]),
            (3, "failed", None, "2026-03-01 16:00:00", None, "2026-03-01 16:09:00", []),
            (4, "processing", None, "2026-03-01 16:00:00", None, "2026-03-01 16:00:01",
             [("2026-03-01 16:00:01", ["pending", "processing"])]),
        ]  # fmt: skip
        with db.engine.begin() as connection:
            for number, status, code, created, paid, updated, moves in rows:
                connection.execute(
                    payments.insert().values(
                        id=number,
                        provider="antom",
                        request_id=f"OLD-{number}",
                        amount_minor=100 * number,
                        currency="HKD",
                        payment_method="GCASH",
                        status=status,
                        refunded_minor=0,
                        result_code=code,
                        paid_at=paid and moment(paid),
                        created_at=moment(created),
                        updated_at=moment(updated),
                        version=1,
                    )
                )
                for when, change in moves:
                    connection.execute(
                        events.insert().values(
                            object_type="payment",
                            object_id=str(number),
                            kind="status_changed",
                            summary={"status": change},
                            created_at=moment(when),
                        )
                    )

        upgrade()

        with db.engine.connect() as connection:
            session = Session(bind=connection)
            finished = dict(
                connection.execute(
                    select(column("id"), column("finished_at", UTCDateTime())).select_from(table("payments"))
                ).all()
            )
            assert finished == {
                1: moment("2026-03-01 16:00:04"),  # its first status event that closed it
                2: moment("2026-03-01 16:00:20"),
                3: moment("2026-03-01 16:09:00"),  # no event: when it was last updated
                4: None,
            }
            mar_1, mar_2 = date(2026, 3, 1), date(2026, 3, 2)
            assert maintained_buckets(session, DAILY_WALLETS) == {
                (mar_1, "antom", "HKD", "GCASH"): (1, 1),
                (mar_2, "antom", "HKD", "GCASH"): (2, 0),
            }
            assert maintained_buckets(session, DAILY_FAILURES) == {
                (mar_2, "antom", "HKD", "USER_BALANCE_NOT_ENOUGH"): (1, 200),
                (mar_2, "antom", "HKD", ""): (1, 300),
            }
            assert maintained_buckets(session, FINISH_TIMES) == {
                (mar_1, "antom", "HKD", 5): (1,),
                (mar_2, "antom", "HKD", 20): (1,),
                (mar_2, "antom", "HKD", 1000): (1,),
            }
            session.close()
        db.engine.dispose()
