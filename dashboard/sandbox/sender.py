"""The notification sender: signed POSTs to the dashboard, retried until acknowledged.

It knows no provider: each simulator registers (:func:`register`) how it signs a body, its
retry schedule, what counts as an acknowledgement and its ``tick`` (the simulator's own timed
work). Deliveries that share a ``queue`` (e.g. the events of one Worldpay payment) go out in
order: a later one waits while an earlier one is still pending.

Antom's schedule (antom.md §3.5): when the fixed acknowledgement does not come back, Antom
retries within 24 hours, up to 8 times, at intervals 0 s, 2 min, 10 min, 10 min, 1 h, 2 h, 6 h,
15 h. Whether the "0 s" is the first send or an immediate retry is not documented; here the eight
intervals are the waits before attempts 1 to 8 (so at most 8 attempts). The waits are compressed
by ``SANDBOX_TIME_SCALE``; the notification's own times are real ``clock.now()`` values.

For Antom only HTTP 200 with ``result.resultCode == "SUCCESS"`` and ``resultStatus == "S"``
counts as an acknowledgement; for Worldpay any HTTP 200 (worldpay_hkach.md §1.10.1).
Deliveries run in a background thread (started with the first sandbox request
outside tests) or synchronously with :func:`run_due` — tests call it instead of sleeping.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from collections.abc import Iterable
from datetime import datetime
from datetime import timedelta
from typing import Any

import requests
from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from dashboard import clock
from dashboard.sandbox.core import Sandbox
from dashboard.sandbox.core import get_sandbox
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import DeliveryAttempt
from dashboard.sandbox.store import FaultSwitch
from dashboard.sandbox.store import transaction

log = logging.getLogger(__name__)

#: Documented waits (seconds) before each attempt; len() is the maximum number of attempts.
ANTOM_SCHEDULE: tuple[int, ...] = (0, 120, 600, 600, 3600, 7200, 21600, 54000)
#: How long one sender owns a delivery it is trying (another process skips it meanwhile).
CLAIM = timedelta(seconds=60)
#: Characters of a response kept in the log.
KEEP = 500

#: provider → function(sandbox, url, body) returning the headers that sign a notification.
SIGNERS: dict[str, Callable[[Sandbox, str, bytes], dict[str, str]]] = {}
#: provider → retry schedule.
SCHEDULES: dict[str, tuple[int, ...]] = {"antom": ANTOM_SCHEDULE}
#: provider → whether a response acknowledges the notification.
ACKNOWLEDGERS: dict[str, Callable[[requests.Response], bool]] = {}
#: provider → its simulator's timed work, run by :func:`run_due` before delivering.
TICKERS: dict[str, Callable[[Sandbox, Any, datetime], None]] = {}


def register(
    provider: str,
    *,
    sign: Callable[[Sandbox, str, bytes], dict[str, str]],
    schedule: tuple[int, ...],
    acknowledged: Callable[[requests.Response], bool],
    tick: Callable[[Sandbox, Any, datetime], None] | None = None,
) -> None:
    """Teach the sender a provider's signing, retry schedule, acknowledgement and timed work."""
    SIGNERS[provider] = sign
    SCHEDULES[provider] = schedule
    ACKNOWLEDGERS[provider] = acknowledged
    if tick is not None:
        TICKERS[provider] = tick


def serialise(payload: dict[str, Any]) -> str:
    """Return the exact body that is signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def enqueue(
    session,
    sandbox: Sandbox,
    provider: str,
    kind: str,
    url: str,
    payload: dict[str, Any],
    copies: int = 1,
    queue: str | None = None,
) -> list[Delivery]:
    """Queue a notification (``copies`` > 1 sends duplicates); due at once, after its ``queue``."""
    now = clock.now()
    body = serialise(payload)
    refused = not sandbox.may_deliver_to(url)
    made = []
    for _ in range(copies):
        delivery = Delivery(
            provider=provider,
            kind=kind,
            url=url,
            body=body,
            queue=queue,
            status="refused" if refused else "pending",
            attempts=0,
            next_try_at=None if refused else now + sandbox.delay(SCHEDULES[provider][0]),
            created_at=now,
            last_response="not this app nor loopback: a sandbox never calls out" if refused else None,
        )
        session.add(delivery)
        made.append(delivery)
    session.flush()
    return made


def acknowledged(response: requests.Response) -> bool:
    """Return whether ``response`` is Antom's documented acknowledgement."""
    if response.status_code != 200:
        return False
    try:
        result = json.loads(response.content).get("result") or {}
    except (ValueError, AttributeError):
        return False
    return result.get("resultCode") == "SUCCESS" and result.get("resultStatus") == "S"


def _claim(sandbox: Sandbox, delivery_id: int, now: datetime) -> Delivery | None:
    with transaction(sandbox.engine) as session:
        claimed = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status == "pending",
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
            )
            .values(claimed_until=now + CLAIM)
        ).rowcount
        return session.get(Delivery, delivery_id) if claimed else None


def deliver(sandbox: Sandbox, delivery_id: int) -> bool | None:
    """Try one delivery now; return whether it was acknowledged (None: someone else has it)."""
    now = clock.now()
    delivery = _claim(sandbox, delivery_id, now)
    if delivery is None:
        return None
    body = delivery.body.encode("utf-8")
    headers = SIGNERS[delivery.provider](sandbox, delivery.url, body)
    status = text = error = None
    ok = False
    try:
        response = sandbox.http.post(delivery.url, data=body, headers=headers, timeout=(3.05, 10))
        ok = ACKNOWLEDGERS.get(delivery.provider, acknowledged)(response)
        status, text = response.status_code, response.text[:KEEP]
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:KEEP]
    finished = clock.now()
    with transaction(sandbox.engine) as session:
        row = session.get(Delivery, delivery_id)
        row.attempts += 1
        row.claimed_until = None
        row.last_status = status
        row.last_response = text if error is None else error
        schedule = SCHEDULES[row.provider]
        if ok:
            row.status, row.next_try_at = "acknowledged", None
        elif row.attempts >= len(schedule):
            row.status, row.next_try_at = "gave_up", None
        else:
            row.next_try_at = finished + sandbox.delay(schedule[row.attempts])
        session.add(
            DeliveryAttempt(
                delivery_id=row.id,
                number=row.attempts,
                at=finished,
                http_status=status,
                response=text,
                error=error,
                acknowledged=ok,
                next_try_at=row.next_try_at,
            )
        )
    return ok


def deliver_now(sandbox: Sandbox, delivery_ids: Iterable[int]) -> None:
    """Deliver these notifications at once, in this thread (the "before the response" fault)."""
    for delivery_id in delivery_ids:
        deliver(sandbox, delivery_id)


def deliver_due(sandbox: Sandbox, now: datetime | None = None) -> int:
    """Try every delivery that is due; return how many attempts were made."""
    now = now or clock.now()
    with transaction(sandbox.engine) as session:
        newest_first = session.scalar(
            select(FaultSwitch.id).where(FaultSwitch.fault == "reorder_notifications").limit(1)
        )
        order = Delivery.id.desc() if newest_first else Delivery.id
        rows = session.execute(
            select(Delivery.id, Delivery.queue)
            .where(Delivery.status == "pending", Delivery.next_try_at <= now)
            .order_by(Delivery.next_try_at if not newest_first else Delivery.id.desc(), order)
        ).all()
        due: list[tuple[int, str | None]] = []
        for delivery_id, queue in rows:
            if queue is not None and not newest_first:
                # In order per queue: an earlier pending delivery must be due in this pass too.
                earlier = set(
                    session.scalars(
                        select(Delivery.id).where(
                            Delivery.queue == queue, Delivery.status == "pending", Delivery.id < delivery_id
                        )
                    )
                )
                if not earlier <= {d for d, _ in due}:
                    continue
            due.append((delivery_id, queue))
    made = 0
    blocked: set[str] = set()
    for delivery_id, queue in due:
        if queue is not None and queue in blocked:
            continue
        ok = deliver(sandbox, delivery_id)
        if ok is not None:
            made += 1
        if not ok and queue is not None and not newest_first:
            blocked.add(queue)
    return made


def run_due(sandbox: Sandbox, now: datetime | None = None) -> int:
    """Advance every simulator (payments that resolve or expire), then deliver what is due."""
    with transaction(sandbox.engine) as session:
        for tick in TICKERS.values():
            tick(sandbox, session, now or clock.now())
    return deliver_due(sandbox, now)


def _loop(sandbox: Sandbox, interval: float) -> None:
    while not sandbox.stop.wait(interval):
        try:
            run_due(sandbox)
        except Exception:
            log.exception("sandbox sender pass failed")


def start_sender(sandbox: Sandbox, interval: float = 0.2) -> None:
    """Start the background sender thread once per sandbox."""
    with sandbox.lock:
        if sandbox.sender is not None and sandbox.sender.is_alive():
            return
        sandbox.stop.clear()
        sandbox.sender = threading.Thread(
            target=_loop, args=(sandbox, interval), name="sandbox-sender", daemon=True
        )
        sandbox.sender.start()


def stop_sender(sandbox: Sandbox) -> None:
    """Stop the background sender thread (tests, shutdown)."""
    sandbox.stop.set()
    if sandbox.sender is not None:
        sandbox.sender.join(timeout=5)
        sandbox.sender = None


def ensure_started() -> None:
    """Start the current app's notification sender with its first simulator request (not in tests)."""
    if current_app.config.get("SANDBOX_SENDER", not current_app.testing):
        start_sender(get_sandbox())
