"""The provider step: one call to a provider about one row, in the DESIGN §3 protocol (§9).

Every call that moves money or an agreement goes through :func:`provider_step`. The caller has
committed the row (and its request id) before; the step reads it, calls the provider with no
transaction open (a notification may be applied meanwhile: it finds the committed row), and
commits the answer in a transaction of its own with the call's record on the row's timeline. A
service then only states its decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from sqlalchemy.orm import Session

from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.service import record_provider_call
from dashboard.extensions import db
from dashboard.machine import IgnoredEvent
from dashboard.machine import InvalidTransition
from dashboard.providers.base import Call

log = logging.getLogger(__name__)

M = TypeVar("M")
T = TypeVar("T")


def provider_step(
    model: type[M],
    object_id: int,
    prepare: Callable[[M], Callable[[], Any] | None],
    decide: Callable[[Session, M, Call], T],
    *,
    unsent: Callable[[M | None], T] = lambda row: None,
) -> T:
    """Call a provider about row ``object_id`` of ``model`` and commit what the answer decides.

    :param prepare: read the row and return the call to send (a function of no arguments), or
        None when there is nothing to send; runs in a read transaction that ends before the call
    :param decide: ``decide(session, row, call)`` with the row locked again, in the write
        transaction that also records the call on the row's timeline; its value is returned.
        Should it raise, what it changed is undone but the call's record is still committed
        (the provider did answer), and then the error propagates.
    :param unsent: what to return when nothing was sent, given the row as read (or None)
    """
    row = db.session.get(model, object_id)
    send = prepare(row) if row is not None else None
    if send is None:
        answer = unsent(row)
        db.session.rollback()
        return answer
    db.session.rollback()
    call = Call.run(send)
    with write_transaction(db.session) as session:
        row = locked(session, model, object_id)
        record_provider_call(session, row.timeline, call)
        try:
            with session.begin_nested():
                return decide(session, row, call)
        except Exception as exc:
            failed = exc
    raise failed


def settle(change: Callable[[], bool]) -> bool:
    """Run a status change that may come late or contradict the status; then it changes nothing.

    After a provider's answer its call record is on the timeline already, so nothing is lost: a
    notification or an inquiry got there first (late), or the provider contradicts itself (logged
    for staff). Sweeps use it too: what another worker settled meanwhile is left as it is.
    """
    try:
        return change()
    except IgnoredEvent:
        return False
    except InvalidTransition as exc:
        log.warning("a provider answer contradicts the status: %s", exc)
        return False
