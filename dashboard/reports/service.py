"""What the report does besides reading: its downloads go on the audit log."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from dashboard.audit import service as audit
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType

AUDIT_ACTION = "reports.exported"


def record_download(session: Session, section: str, table: str, filters: Mapping[str, str]) -> None:
    """Write who downloaded which table of which section, with which filters, to the audit log; commit it.

    :param filters: the URL's filter arguments, as the report shows them
    """
    with write_transaction(session):
        audit.record(
            session,
            AUDIT_ACTION,
            object_type=ObjectType.REPORT,
            after={"section": section, "table": table, "filters": dict(filters)},
        )
