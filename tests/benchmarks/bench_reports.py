"""The report's sections over a kept database of 1,000,000 payments (``million.py``): the time each
section takes for 30 and for 365 days, side by side in one run with the same figures computed by a
plain GROUP BY over the rows themselves (payments, refunds, notifications, agreements, payroll items).

Run from the repository root, on a database made by ``million.py`` and upgraded to the newest
migration (``flask --app dashboard db upgrade`` with that database's settings: the rollups are filled
by the migrations, or by ``flask --app dashboard rollups rebuild``)::

    .venv/bin/python tests/benchmarks/bench_reports.py --database sqlite postgresql

Each figure is the median and p95 of ``--runs`` calls of a section's figures and tables (the work of
``GET /reports/<section>`` less the HTML), after one untimed call; the plain GROUP BY runs the same
number of times, alternating with it. Ranges end on the last day that has payments.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import million
from harness import percentile
from harness import print_table
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

#: Where ``million.py``'s README commands put the databases.
SQLITE_PATH = "/work/bench-data/million.db"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_million"

#: The plain way to get each section's figures: one GROUP BY over the source rows of the range.
#: ``{day}`` is the created (or received) day in the display time zone, ``:start``/``:end`` the range.
PLAIN: dict[str, str] = {
    "payments": "SELECT {day} AS day, provider, currency, status, count(*), sum(amount_minor) FROM payments"
    " WHERE created_at >= :start AND created_at < :end GROUP BY 1, 2, 3, 4",
    "errors": "SELECT provider, currency, result_code, count(*), sum(amount_minor) FROM payments"
    " WHERE created_at >= :start AND created_at < :end AND status = 'failed' GROUP BY 1, 2, 3",
    "refunds": "SELECT {day} AS day, currency, reason, status, count(*), sum(amount_minor) FROM refunds"
    " WHERE created_at >= :start AND created_at < :end GROUP BY 1, 2, 3, 4",
    "agreements": "SELECT status, count(*) FROM agreements GROUP BY 1",
    "payroll": "SELECT b.status, i.status, i.reason_code, count(*), sum(i.amount_minor) FROM ach_items i"
    " JOIN ach_batches b ON b.id = i.batch_id GROUP BY 1, 2, 3",
    "notifications": "SELECT {received_day} AS day, provider, verdict, outcome, count(*) FROM notifications"
    " WHERE received_at >= :start AND received_at < :end GROUP BY 1, 2, 3, 4",
}


def local_day(dialect: str, column: str, zone: str) -> str:
    """Return SQL for ``column``'s day in ``zone`` (SQLite: Hong Kong's fixed +8 hours)."""
    if dialect == "sqlite":
        return f"date({column}, '+8 hours')"
    return f"({column} AT TIME ZONE '{zone}')::date"


def timed(call: Callable[[], object], runs: int) -> list[float]:
    """Return how long each of ``runs`` calls took, in ms."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return times


def time_side_by_side(
    session, section, filters, statement, bounds, runs: int
) -> tuple[list[float], list[float]]:
    """Time a section and its plain GROUP BY (when it has one) in turn, after one untimed call of each."""

    def report_section():
        section.tables(section.figures(session, filters))
        session.rollback()

    def plain_group_by():
        session.execute(statement, bounds).all()
        session.rollback()

    calls = [report_section] + ([plain_group_by] if statement is not None else [])
    times: list[list[float]] = [[] for _ in calls]
    for call in calls:
        call()
    for _ in range(runs):
        for call, kept in zip(calls, times, strict=True):
            kept += timed(call, 1)
    return times[0], times[1] if len(times) > 1 else []


def measure(kind: str, url: str, runs: int) -> list[tuple]:
    """Time every section and its plain GROUP BY on one database; return the table's rows."""
    from dashboard import create_app
    from dashboard.db import UTCDateTime
    from dashboard.extensions import db
    from dashboard.payments.models import Payment
    from dashboard.reports.ranges import RangeKey
    from dashboard.reports.ranges import ReportFilters
    from dashboard.reports.ranges import ReportRange
    from dashboard.reports.sections import SECTIONS

    app = create_app(million.app_settings(url, million.instance_folder(url)))
    rows = []
    with app.test_request_context():
        session: Session = db.session
        zone_name = app.config["DISPLAY_TIMEZONE"]
        zone = ZoneInfo(zone_name)
        newest = session.scalar(select(func.max(Payment.created_at)))
        last_day = newest.astimezone(zone).date()
        dialect = session.get_bind().dialect.name
        for days in (30, 365):
            report = ReportRange(RangeKey.CUSTOM, last_day - timedelta(days=days - 1), last_day, zone)
            filters = ReportFilters(report)
            bounds = {"start": report.start_utc, "end": report.end_utc}
            for section in SECTIONS:
                plain = PLAIN.get(section.name)
                statement = None
                if plain:
                    statement = text(
                        plain.format(
                            day=local_day(dialect, "created_at", zone_name),
                            received_day=local_day(dialect, "received_at", zone_name),
                        )
                    )
                    if ":start" in plain:
                        statement = statement.bindparams(
                            bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
                        )

                ours, theirs = time_side_by_side(session, section, filters, statement, bounds, runs)
                rows.append(
                    (
                        kind,
                        section.name,
                        days,
                        f"{statistics.median(ours):.1f}",
                        f"{percentile(ours, 0.95):.1f}",
                        f"{statistics.median(theirs):.1f}" if theirs else "—",
                        f"{statistics.median(theirs) / statistics.median(ours):.1f}×" if theirs else "—",
                    )
                )
                print(" ".join(str(cell) for cell in rows[-1]), flush=True)
        db.engine.dispose()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    parser.add_argument("--sqlite-path", default=SQLITE_PATH)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    rows = []
    for kind in args.database:
        url = f"sqlite:///{Path(args.sqlite_path).resolve()}" if kind == "sqlite" else args.postgres_url
        rows += measure(kind, url, args.runs)
    print()
    print_table(
        ("database", "section", "days", "ours median ms", "ours p95 ms", "plain GROUP BY median ms", "ratio"),
        rows,
    )


if __name__ == "__main__":
    main()
