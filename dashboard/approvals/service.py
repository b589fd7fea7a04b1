"""The one approvals queue: every kind of request that waits for a second person, oldest first."""

from __future__ import annotations

import functools
import operator

from sqlalchemy import Select
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.ach.approvals import PAYROLL_APPROVALS
from dashboard.approvals.kinds import ApprovalKind
from dashboard.approvals.kinds import ApprovalRefused
from dashboard.approvals.kinds import Waiting
from dashboard.i18n import gettext as _
from dashboard.payments.approvals import REFUND_APPROVALS

#: Every kind of request the queue holds, by code.
KINDS: dict[str, ApprovalKind] = {kind.code: kind for kind in (REFUND_APPROVALS, PAYROLL_APPROVALS)}


#: How many requests the queue shows at once, those waiting longest (deciding one brings the next):
#: each comes with its own decision form.
QUEUE_SHOWN = 20


def waiting(session: Session, limit: int = QUEUE_SHOWN) -> list[Waiting]:
    """Return the ``limit`` requests waiting longest for a second person, oldest first."""
    return sorted(
        (item for kind in KINDS.values() for item in kind.waiting(session, limit)),
        key=lambda item: (item.requested_at, item.kind, item.id),
    )[:limit]


def waiting_one(session: Session, kind_code: str, request_id: int) -> Waiting | None:
    """Return request ``request_id`` of kind ``kind_code`` if it still waits for a second person."""
    kind = KINDS.get(kind_code)
    return kind.one(session, request_id) if kind else None


def waiting_count(session: Session) -> int:
    """Return how many requests wait for a second person (one statement adding every kind's count)."""
    return session.scalar(_waiting_count_statement())


@functools.cache
def _waiting_count_statement() -> Select:
    # Built once: the navigation runs it on every page, and it has no parameters.
    counts = [kind.count_statement().scalar_subquery() for kind in KINDS.values()]
    return select(functools.reduce(operator.add, counts))


def decide(
    kind_code: str, request_id: int, *, approve: bool, actor_id: int, comment: str | None
) -> tuple[str, str]:
    """Approve or reject one waiting request as ``actor_id``; return what happened and its flash category.

    :raises ApprovalRefused: an unknown kind, or the kind refused the decision
    """
    kind = KINDS.get(kind_code)
    if kind is None:
        raise ApprovalRefused(_("there are no %(kind)s approvals", kind=kind_code))
    decision = kind.approve if approve else kind.reject
    return decision(request_id, actor_id, comment)
