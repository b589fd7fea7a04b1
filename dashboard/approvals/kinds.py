"""What every kind of request that waits for a second person gives the approvals queue.

A domain describes its kind (refunds above the threshold today, payroll batches later) with an
:class:`ApprovalKind`; the queue lists, counts and decides through it, never through the domain's
own tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from dashboard.money import Money


class ApprovalRefused(ValueError):
    """A decision is not possible: decided already, one's own request, or no longer possible."""


@dataclass(frozen=True)
class Waiting:
    """One request waiting for a second person, as the queue shows it."""

    #: The :attr:`ApprovalKind.code` it belongs to.
    kind: str
    #: Its id within the kind.
    id: int
    #: What approving it does, in one sentence ("Refund HK$6,000.00 of HK$8,000.00 to …").
    summary: str
    #: The page of what it is about, as ``url_for`` arguments, and how that reads ("payment pay-12").
    subject: str
    subject_endpoint: str
    subject_args: dict[str, Any]
    amount: Money
    requested_by_id: int | None
    requested_at: datetime
    reason: str | None
    note: str | None
    #: More for the approver to weigh, as (label, text) lines: counts and sums per bank, the
    #: warnings the requester acknowledged …
    details: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Return an id unique across kinds, for element ids."""
        return f"{self.kind}-{self.id}"


@dataclass(frozen=True)
class ApprovalKind:
    """How the queue lists, counts and decides one kind of request."""

    #: Short code in URLs (``refund``).
    code: str
    #: The requests waiting longest, oldest first, at most as many as asked for.
    waiting: Callable[[Session, int], list[Waiting]]
    #: One request by id, if it still waits.
    one: Callable[[Session, int], Waiting | None]
    #: A statement counting how many wait (one indexed count; the navigation shows the sum of all
    #: kinds' on every page, read in one statement).
    count_statement: Callable[[], Select]
    #: Approve request ``id`` as ``actor_id`` with a comment; return (message, flash category).
    #: Raises :class:`ApprovalRefused`.
    approve: Callable[[int, int, str | None], tuple[str, str]]
    #: Reject it likewise.
    reject: Callable[[int, int, str | None], tuple[str, str]]
