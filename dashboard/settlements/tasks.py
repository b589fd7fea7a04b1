"""Settlement jobs: every day, fetch each reporting provider's reports of the last days."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select

from dashboard import clock
from dashboard.extensions import db
from dashboard.jobs import RetryPolicy
from dashboard.jobs import daily
from dashboard.jobs import task
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.entry import Provider
from dashboard.settlements import service
from dashboard.settlements.models import SettlementFile
from dashboard.settlements.records import ReportKind

FETCH_REPORTS = "settlements.fetch_reports"
#: How many past days are looked for (a day's reports missed by a stopped worker are fetched later).
DAYS_BACK = 3
#: A provider's folder that could not be read is tried again a few times, minutes apart.
RETRY_FETCH = RetryPolicy(retries=3, delay=120)


@task(FETCH_REPORTS, RETRY_FETCH)
def fetch_reports_task(provider_code: str, day: str) -> str:
    """Fetch and import a provider's reports of ``day`` (ISO) that are not imported yet."""
    imported = service.fetch_day(provider_code, date.fromisoformat(day))
    refused = [str(result.refused) for result in imported if result.refused is not None]
    return f"{len(imported)} imported" + (f"; refused: {'; '.join(refused)}" if refused else "")


def days_to_fetch(entry: Provider, now: datetime) -> list[date]:
    """Return the provider's past days (its zone) whose transaction details are not imported yet."""
    today = now.astimezone(entry.settlement_reports.day_zone).date()
    days = [today - timedelta(days=back) for back in range(1, DAYS_BACK + 1)]
    have = set(
        db.session.scalars(
            select(SettlementFile.day).where(
                SettlementFile.provider == entry.code,
                SettlementFile.kind == ReportKind.TRANSACTIONS.value,
                SettlementFile.day.in_(days),
            )
        )
    )
    db.session.rollback()
    return [day for day in days if day not in have]


@daily(hour=2)  # 10:00 in Hong Kong and in Antom's GMT+8: the day before is out by then
def fetch_due_reports() -> None:
    """Queue a fetch of every reporting provider's past days that have no transaction details yet.

    Runs once a day; a day missed (no worker, a folder not out yet) is fetched on one of the next
    :data:`DAYS_BACK` days.
    """
    now = clock.now()
    for entry in service.reporting_providers():
        try:
            entry.report_folder()
        except ProviderConfigError:
            continue  # its reports' location is not configured: nothing to fetch from
        for day in days_to_fetch(entry, now):
            fetch_reports_task.enqueue(entry.code, day.isoformat())
