"""Payroll batches waiting for a manager, as the approvals queue lists and decides them."""

from __future__ import annotations

import itertools
from collections import Counter
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.ach.models import AchBatch
from dashboard.ach.queries import bank_totals
from dashboard.ach.queries import iter_problem_items
from dashboard.ach.rules import Severity
from dashboard.ach.rules import value_date_problems
from dashboard.ach.service import AFTER_VALUE_DATE_REFUSAL
from dashboard.ach.service import approve_batch
from dashboard.ach.service import batch_summary
from dashboard.ach.service import reject_batch
from dashboard.ach.service import value_date_refusal
from dashboard.ach.service import warnings_to_acknowledge
from dashboard.ach.states import BatchStatus
from dashboard.approvals.kinds import ApprovalKind
from dashboard.approvals.kinds import Waiting
from dashboard.i18n import gettext as _
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.users.models import User

WAITING = BatchStatus.AWAITING_APPROVAL.value
#: Most kinds of acknowledged warning the queue names for one batch (the batch page lists them all).
WARNING_KINDS_SHOWN = 5


def _details(session: Session, batch: AchBatch) -> tuple[tuple[str, str], ...]:
    """Return what the approver weighs: payees and value date (and what is wrong with it now), each
    bank's count and sum, the warnings."""
    lines = [
        (
            _("Payees"),
            _(
                "%(count)s from file %(file)s, value date %(day)s",
                count=batch.valid_count,
                file=batch.file_name,
                day=batch.value_date.isoformat(),
            ),
        )
    ]
    for bank in bank_totals(session, batch.id):
        amount = format_money(Money(bank.total_minor, batch.currency)) if batch.currency else "—"
        lines.append(
            (
                _("Bank %(code)s", code=bank.bank_code),
                _(
                    "%(bank)s: %(count)s payee(s), %(amount)s",
                    bank=bank.bank_name,
                    count=bank.count,
                    amount=amount,
                ),
            )
        )
    refusal = value_date_refusal(batch.value_date)
    if refusal:
        lines.append((_("Cannot be approved"), f"{refusal} {AFTER_VALUE_DATE_REFUSAL}"))
    else:
        lines.extend((_("Value date"), p.message) for p in value_date_problems(batch.value_date, clock.now()))
    if batch.duplicate_reason:
        lines.append((_("Same file as an earlier batch"), batch.duplicate_reason))
    warnings = warnings_to_acknowledge(batch)
    if warnings and batch.warnings_acknowledged_at is not None:
        who = session.scalar(select(User.name).where(User.id == batch.warnings_acknowledged_by_id)) or "—"
        zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
        when = batch.warnings_acknowledged_at.astimezone(zone)
        lines.append(
            (
                _("Warnings acknowledged"),
                _(
                    "%(count)s warning(s), by %(who)s at %(when)s",
                    count=warnings,
                    who=who,
                    when=when.strftime("%Y-%m-%d %H:%M"),
                ),
            )
        )
        for message, count in _warning_kinds(session, batch).most_common(WARNING_KINDS_SHOWN):
            lines.append((_("Warning"), f"{message} ({count}×)"))
    return tuple(lines)


def _warning_kinds(session: Session, batch: AchBatch) -> Counter[str]:
    """Count the acknowledged warnings by kind, each named by the message of its first row."""
    first: dict[str, str] = {}
    counts: Counter[str] = Counter()
    problems = itertools.chain(
        batch.file_problems or (),
        (p for item in iter_problem_items(session, batch.id) for p in item.problems),
    )
    for problem in problems:
        if problem["severity"] == Severity.ERROR.value:
            continue
        message = first.setdefault(problem["code"], problem["message"])
        counts[message] += 1
    return counts


def _as_waiting(session: Session, batch: AchBatch) -> Waiting:
    return Waiting(
        kind=PAYROLL_APPROVALS.code,
        id=batch.id,
        summary=batch_summary(batch),
        subject=_("payroll batch %(reference)s", reference=batch.reference),
        subject_endpoint="ach.detail",
        subject_args={"batch_id": batch.id},
        amount=Money(batch.total_minor, batch.currency or "HKD"),
        requested_by_id=batch.uploaded_by_id,
        requested_at=batch.submitted_for_approval_at or batch.created_at,
        reason=None,
        note=None,
        details=_details(session, batch),
    )


def _waiting():
    return select(AchBatch).where(AchBatch.status == WAITING)


def waiting_batches(session: Session, limit: int) -> list[Waiting]:
    """Return the ``limit`` batches waiting longest for approval, oldest first."""
    batches = session.scalars(
        _waiting().order_by(AchBatch.submitted_for_approval_at, AchBatch.id).limit(limit)
    )
    return [_as_waiting(session, batch) for batch in batches]


def waiting_batch(session: Session, batch_id: int) -> Waiting | None:
    """Return batch ``batch_id`` if it still waits for approval."""
    batch = session.scalars(_waiting().where(AchBatch.id == batch_id)).first()
    return _as_waiting(session, batch) if batch is not None else None


def waiting_batches_statement() -> Select:
    """Return the count of batches waiting for approval (ix_ach_batches_status_submitted_for_approval_at_id
    answers it)."""
    return select(func.count()).select_from(AchBatch).where(AchBatch.status == WAITING)


def approve(batch_id: int, actor_id: int, comment: str | None) -> tuple[str, str]:
    """Approve a waiting batch: its requests are stored and sent by a job; say so."""
    batch = approve_batch(batch_id, actor_id=actor_id, comment=comment)
    total = format_money(batch.total) if batch.total is not None else _("nothing")
    return (
        _(
            "Approved payroll batch %(reference)s: %(count)s payee(s), %(total)s, are being sent to the"
            " bank; its page shows the progress.",
            reference=batch.reference,
            count=batch.valid_count,
            total=total,
        ),
        "success",
    )


def reject(batch_id: int, actor_id: int, comment: str | None) -> tuple[str, str]:
    """Reject a waiting batch; nothing is sent, and finance may upload a corrected file."""
    batch = reject_batch(batch_id, actor_id=actor_id, comment=comment)
    return _("Rejected payroll batch %(reference)s; nothing was sent.", reference=batch.reference), "success"


PAYROLL_APPROVALS = ApprovalKind(
    code="payroll",
    waiting=waiting_batches,
    one=waiting_batch,
    count_statement=waiting_batches_statement,
    approve=approve,
    reject=reject,
)
