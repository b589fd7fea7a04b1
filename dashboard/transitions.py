"""Move a row through its status machine and write the move on its timeline, in one place.

Payments, refunds, cancels and agreements share this skeleton; each domain adds only its own
facts (a payment's paid time, a refund's provider id) and its side effect (a payment's rollup,
a refund's refunded sum, an agreement's timestamps).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any
from typing import Protocol

from sqlalchemy.orm import Session

from dashboard.events.kinds import TimelineRef
from dashboard.events.service import record_event
from dashboard.machine import Machine


class Stateful(Protocol):
    """A row with a status, a kept provider result and a timeline."""

    status: str
    result_code: str | None
    result_message: str | None

    @property
    def timeline(self) -> TimelineRef: ...


def move(
    session: Session,
    row: Stateful,
    machine: Machine,
    event: enum.StrEnum | str,
    *,
    result: tuple[str | None, str | None] = (None, None),
    facts: Callable[[Any], None] | None = None,
    on_move: Callable[[Any, Any], None] | None = None,
    summary: dict[str, Any] | None = None,
    notification_id: int | None = None,
    actor_id: int | None = None,
) -> bool:
    """Move ``row`` by ``event`` and record the move on its timeline; return whether the status moved.

    :param result: the provider's result code and message, kept when a code is given
    :param facts: ``facts(new_status)`` stores what came with the event, even when the status
        stays (a note); it runs only once the event is known to be allowed
    :param on_move: ``on_move(old, new)``, the domain's side effect of a real move; it runs first,
        so raising leaves the row as it was
    :param summary: what the timeline entry says besides the status change
    :raises IgnoredEvent: duplicate or late; nothing changed
    :raises InvalidTransition: the event contradicts the status; nothing changed
    """
    old = machine.statuses(row.status)
    new = machine.next(old, event)
    if new is not old and on_move is not None:
        on_move(old, new)
    code, message = result
    if code is not None:
        row.result_code, row.result_message = code, message
    if facts is not None:
        facts(new)
    if new is old:
        return False
    row.status = new.value
    timeline = row.timeline
    record_event(
        session,
        timeline.object_type,
        timeline.object_id,
        timeline.status_kind,
        {**timeline.extra, "status": [old.value, new.value], **(summary or {})},
        notification_id=notification_id,
        actor_id=actor_id,
    )
    return True
