"""``Idempotency-Key``: one action per key, and the first answer given again (for 24 hours).

The key is claimed by a committed row before anything is done. A second request with the key
finds the row: with the same method, path and body it gets the kept answer (status and body);
with anything else it is refused (422); while the first is still being answered it is refused
with 409, so two concurrent requests never act twice. On SQLite the claim's write transaction
makes the second wait for the first's claim; on PostgreSQL the unique index does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dashboard import clock
from dashboard.api.models import ANSWERED
from dashboard.api.models import IN_PROGRESS
from dashboard.api.models import IdempotentRequest
from dashboard.api.problems import Problem
from dashboard.db import write_transaction
from dashboard.extensions import db

HEADER = "Idempotency-Key"
#: How long a key's answer is kept (and the key cannot be used for anything else).
KEPT_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255
#: The header on an answer given again.
REPLAYED_HEADER = "Idempotent-Replayed"
#: How many kept answers one purge deletes at a time.
PURGE_BATCH = 1000


def fingerprint(method: str, path: str, body: Any) -> str:
    """Return what recognises a request: SHA-256 of its method, path and body (keys sorted)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


#: A kept answer: HTTP status and JSON body.
Answer = tuple[int, dict[str, Any]]


def once(api_key_id: int, key: str | None, print_: str, act: Callable[[], Answer]) -> tuple[Answer, bool]:
    """Answer a POST once per ``key``: act and keep the answer, or give the kept one again.

    :returns: the answer, and whether it is a kept one given again
    :raises Problem: no key, another request under the key, or one still being answered
    """
    if not key:
        raise Problem("idempotency-key-required", f"Send an {HEADER} header (a UUID) with every POST.")
    if len(key) > MAX_KEY_LENGTH:
        raise Problem("validation", f"The {HEADER} header is at most {MAX_KEY_LENGTH} characters.")
    kept = _claim(api_key_id, key, print_)
    if kept is not None:
        return kept, True
    try:
        status, body = act()
    except Problem as problem:
        status, body = problem.status, problem.body()
    except BaseException:
        # Nothing is kept of a crash: the key may be used again (the services' own request ids
        # still stop a money movement from happening twice).
        _release(api_key_id, key)
        raise
    _keep(api_key_id, key, status, body)
    return (status, body), False


def _claim(api_key_id: int, key: str, print_: str) -> Answer | None:
    """Claim ``key`` (committed), or return its kept answer; refuse a reuse or a request in flight."""
    db.session.rollback()
    try:
        with write_transaction(db.session) as session:
            row = session.scalar(
                select(IdempotentRequest)
                .where(IdempotentRequest.api_key_id == api_key_id, IdempotentRequest.key == key)
                .with_for_update()
            )
            if row is not None and row.created_at <= clock.now() - KEPT_FOR:
                session.delete(row)  # older than a day and not purged yet: gone, as documented
                session.flush()
                row = None
            if row is None:
                session.add(IdempotentRequest(api_key_id=api_key_id, key=key, fingerprint=print_))
                return None
            if row.fingerprint != print_:
                raise Problem(
                    "idempotency-key-reused",
                    f"This {HEADER} was used within the last day for another request; "
                    "use a new key for a new request.",
                )
            if row.state == IN_PROGRESS:
                raise _in_progress()
            return row.status, row.body
    except IntegrityError:
        # Another request claimed the key between our look and our insert (PostgreSQL).
        raise _in_progress() from None


def _in_progress() -> Problem:
    return Problem(
        "idempotency-key-in-progress",
        f"A request with this {HEADER} is still being answered; ask again in a moment for its answer.",
        headers={"Retry-After": "1"},
    )


def _keep(api_key_id: int, key: str, status: int, body: dict[str, Any]) -> None:
    db.session.rollback()
    with write_transaction(db.session) as session:
        row = session.scalar(
            select(IdempotentRequest).where(
                IdempotentRequest.api_key_id == api_key_id, IdempotentRequest.key == key
            )
        )
        row.state, row.status, row.body = ANSWERED, status, body


def _release(api_key_id: int, key: str) -> None:
    db.session.rollback()
    with write_transaction(db.session) as session:
        session.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.api_key_id == api_key_id, IdempotentRequest.key == key
            )
        )


def purge_expired() -> int:
    """Delete kept answers older than a day, a batch at a time; return how many went."""
    cutoff, purged = clock.now() - KEPT_FOR, 0
    while True:
        with write_transaction(db.session) as session:
            ids = list(
                session.scalars(
                    select(IdempotentRequest.id)
                    .where(IdempotentRequest.created_at < cutoff)
                    .limit(PURGE_BATCH)
                )
            )
            if ids:
                session.execute(delete(IdempotentRequest).where(IdempotentRequest.id.in_(ids)))
        purged += len(ids)
        if len(ids) < PURGE_BATCH:
            return purged
