"""Background jobs on Huey: built from settings in ``create_app``, nothing bound at import.

Domains declare tasks with :func:`task` (in ``<domain>/tasks.py``, under a name) and periodic
sweeps with :func:`sweeper`; services queue work by that name with :func:`enqueue_after_commit`,
which releases it only once the surrounding database transaction has committed (DESIGN §3, §8
"Jobs"). Queueing by name keeps services from importing the tasks that call them.

Work whose rows are their own queue (stored notifications waiting to be applied) is taken by
:func:`drainer` functions instead: the workers call them in a loop, so storing such a row is the
only write it costs.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app
from huey import Huey
from huey import MemoryHuey
from huey import RedisHuey
from huey import SqliteHuey
from huey import crontab
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm import SessionTransaction

from dashboard import clock

log = logging.getLogger(__name__)

#: Idle polling of the SQLite backend stays at or under this many seconds (DESIGN §8).
MAX_IDLE_DELAY = 0.25
HEARTBEAT_KEY = "worker-heartbeat"
_PENDING_KEY = "pending_jobs"


@dataclass(frozen=True)
class RetryPolicy:
    """How many times Huey runs a job again after it raised, and how many seconds apart."""

    retries: int
    delay: int


#: A payment, refund or cancel job that calls a provider: its own inquiries and the sweeper
#: resolve what two more tries do not.
RETRY_PAYMENT_CALL = RetryPolicy(retries=2, delay=30)
#: An agreement job that calls Antom (applyToken, revoke): the authCode or the revoke waits.
RETRY_AGREEMENT_CALL = RetryPolicy(retries=3, delay=30)
#: A token refresh: days ahead of expiry, so it may wait longer between tries.
RETRY_TOKEN_REFRESH = RetryPolicy(retries=3, delay=60)
#: Applying a notification: quick tries first; the sweeper takes over after 30 s.
RETRY_NOTIFICATION = RetryPolicy(retries=3, delay=5)


@dataclass(frozen=True)
class TaskSpec:
    """A function declared as a job, bound to a Huey instance in ``init_jobs``."""

    name: str
    func: Callable[..., Any]
    retry: RetryPolicy
    #: Called as ``on_failure(exc, *args)`` when a run raises, before Huey retries it.
    on_failure: Callable[..., None] | None = None

    def enqueue(self, *args: Any, delay: float | None = None, retries: int | None = None) -> None:
        """Queue this job now or in ``delay`` seconds (in a transaction: :func:`enqueue_after_commit`).

        :param retries: fewer retries than the job's policy (a first try already failed elsewhere)
        """
        bound = current_app.extensions["huey_tasks"][self.name]
        if delay or retries is not None:
            bound.schedule(args=args, delay=delay or 0, retries=retries)
        else:
            bound(*args)

    def __call__(self, *args: Any) -> Any:
        return self.func(*args)


_TASKS: dict[str, TaskSpec] = {}
_SWEEPERS: list[Callable[[], None]] = []
_DRAINERS: list[Callable[[], int]] = []
#: Jobs run once a day: name → (function, hour, minute), UTC.
_DAILY: dict[str, tuple[Callable[[], None], int, int]] = {}
#: The app each Huey instance was built for: drainers run in its context.
_APPS: weakref.WeakKeyDictionary[Huey, Flask] = weakref.WeakKeyDictionary()


def task(
    name: str, retry: RetryPolicy, on_failure: Callable[..., None] | None = None
) -> Callable[[Callable[..., Any]], TaskSpec]:
    """Declare a job called ``name``; it receives ids, re-loads state, and must be safe to run twice.

    :param on_failure: ``on_failure(exc, *args)`` records a failed run where staff see it
    """

    def decorate(func: Callable[..., Any]) -> TaskSpec:
        if name in _TASKS and _TASKS[name].func is not func:
            raise ValueError(f"two jobs are called {name}")
        spec = TaskSpec(name, func, retry, on_failure)
        _TASKS[name] = spec
        return spec

    return decorate


def declared(name: str) -> TaskSpec:
    """Return the job declared as ``name``.

    :raises LookupError: no job has that name
    """
    try:
        return _TASKS[name]
    except KeyError:
        raise LookupError(f"no job is called {name!r}") from None


def sweeper(func: Callable[[], None]) -> Callable[[], None]:
    """Register ``func`` to run on every sweep (work left half-done by a crash)."""
    if func not in _SWEEPERS:
        _SWEEPERS.append(func)
    return func


def daily(hour: int, minute: int = 0) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register ``func`` to run once a day at ``hour``:``minute`` UTC, in a worker (as the sweep does)."""

    def register(func: Callable[[], None]) -> Callable[[], None]:
        _DAILY[f"{func.__module__}.{func.__qualname__}"] = (func, hour, minute)
        return func

    return register


def drainer(func: Callable[[], int]) -> Callable[[], int]:
    """Register ``func``: it takes waiting pieces of work, does them and returns how many (0: none waits).

    Workers run it in a loop, :data:`MAX_IDLE_DELAY` apart while it finds nothing; it must be safe
    to run in several threads and processes at once.
    """
    if func not in _DRAINERS:
        _DRAINERS.append(func)
    return func


def build_huey(app: Flask) -> Huey:
    """Return the Huey instance the settings ask for."""
    if app.config.get("JOBS_BACKEND") == "memory":
        return MemoryHuey("dashboard", immediate=False, utc=True)
    if app.config.get("REDIS_URL"):
        return RedisHuey("dashboard", url=app.config["REDIS_URL"], utc=True)
    path = Path(app.config.get("JOBS_DATABASE") or Path(app.config["INSTANCE_PATH"]) / "jobs.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    # No fsync per enqueue (WAL with synchronous=NORMAL): a job lost to a power cut is found
    # again by the sweeper, which re-queues work from the database; the sync cost ~2 ms per
    # webhook under the queue's exclusive lock (tests/benchmarks/bench_intake.py).
    return SqliteHuey("dashboard", filename=str(path), utc=True, fsync=False)


def init_jobs(app: Flask) -> Huey:
    """Build Huey for ``app`` and bind every declared task and the periodic jobs to it."""
    huey = build_huey(app)
    bound: dict[str, Any] = {}

    def in_app_context(spec: TaskSpec) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            with app.app_context():
                try:
                    return spec.func(*args)
                except Exception as exc:
                    if spec.on_failure is not None:
                        try:
                            spec.on_failure(exc, *args)
                        except Exception:
                            log.exception("could not record the failure of %s%r", spec.name, args)
                    raise

        run.__name__ = spec.name
        return run

    for spec in _TASKS.values():
        bound[spec.name] = huey.task(
            retries=spec.retry.retries, retry_delay=spec.retry.delay, name=spec.name
        )(in_app_context(spec))

    @huey.periodic_task(crontab(), name="dashboard.jobs.periodic_sweep")
    def periodic_sweep() -> None:
        with app.app_context():
            sweep()

    for name, (func, hour, minute) in _DAILY.items():

        def run_daily(func: Callable[[], None] = func) -> None:
            with app.app_context():
                func()

        huey.periodic_task(crontab(minute=str(minute), hour=str(hour)), name=name)(run_daily)

    @huey.periodic_task(crontab(), name="dashboard.jobs.periodic_heartbeat")
    def periodic_heartbeat() -> None:
        beat(huey)

    app.extensions["huey"] = huey
    app.extensions["huey_tasks"] = bound
    _APPS[huey] = app
    return huey


def get_huey() -> Huey:
    """Return the current app's Huey instance."""
    return current_app.extensions["huey"]


def sweep() -> None:
    """Run every registered sweeper; one failing does not stop the others."""
    for func in list(_SWEEPERS):
        try:
            func()
        except Exception:
            log.exception("sweeper %s failed", func.__qualname__)


def beat(huey: Huey) -> None:
    """Record that a worker is alive now."""
    huey.put(HEARTBEAT_KEY, clock.now().isoformat())


def last_heartbeat(huey: Huey) -> datetime | None:
    """Return the last worker heartbeat, or None when no worker ever ran."""
    value = huey.get(HEARTBEAT_KEY, peek=True)
    return datetime.fromisoformat(value) if value else None


def queue_depth(huey: Huey) -> int:
    """Return how many jobs wait in the queue."""
    return huey.pending_count()


def enqueue_after_commit(session: Session, name: str, *args: Any, delay: float | None = None) -> None:
    """Queue job ``name`` with ``args`` to run once ``session``'s transaction commits (after ``delay`` s).

    A rollback drops it. The sweeper re-queues anything a crash between the commit
    and the enqueue would lose.

    :raises LookupError: no job has that name (before anything is queued)
    """
    session.info.setdefault(_PENDING_KEY, []).append((declared(name), args, delay))


@event.listens_for(Session, "after_commit")
def _release_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, [])
    for spec, args, delay in pending:
        try:
            spec.enqueue(*args, delay=delay)
        except Exception:
            # The committed work stays; the sweeper finds it and queues it again.
            log.exception("could not enqueue %s%r", spec.name, args)


#: How many jobs its session had waiting for the commit when each savepoint began.
_WAITING_AT_SAVEPOINT: weakref.WeakKeyDictionary[SessionTransaction, int] = weakref.WeakKeyDictionary()


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        _WAITING_AT_SAVEPOINT[transaction] = len(session.info.get(_PENDING_KEY, ()))


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    """Drop the jobs a rolled-back transaction queued: all of them, or those since its savepoint began."""
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)
    elif previous_transaction in _WAITING_AT_SAVEPOINT:
        del session.info.get(_PENDING_KEY, [])[_WAITING_AT_SAVEPOINT.pop(previous_transaction) :]


def drain_once(app: Flask) -> int:
    """Let every drainer take what waits, in ``app``'s context; return how many pieces were done."""
    done = 0
    for func in list(_DRAINERS):
        with app.app_context():
            while taken := func():
                done += taken
    return done


def run_pending(huey: Huey, limit: int = 1000, *, scheduled_until: datetime | None = None) -> int:
    """Run queued jobs and drain waiting work in this thread until none is left; return how many ran.

    Tests use it; scheduled (delayed) jobs whose time has come are moved to the queue
    first — with ``scheduled_until`` (naive UTC, Huey's own convention), those due by then.
    """
    app = _APPS[huey]
    ran = 0
    while ran < limit:
        ran += drain_once(app)
        now = scheduled_until or huey._get_timestamp()
        for scheduled in huey.read_schedule(now):
            huey.enqueue(scheduled)
        message = huey.dequeue()
        if message is None:
            return ran
        if huey.ready_to_run(message, now):
            ran += 1
        huey.execute(message, now)  # one queued for later goes to the schedule
    raise RuntimeError(f"more than {limit} jobs ran; is a job re-queueing itself?")


class Drainers:
    """Threads that run every drainer in a loop until stopped."""

    def __init__(self, app: Flask, threads: int):
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(app,), name=f"drainer-{number}", daemon=True)
            for number in range(threads)
        ]

    def _run(self, app: Flask) -> None:
        while not self._stop.is_set():
            try:
                done = drain_once(app)
            except Exception:
                log.exception("a drainer failed")
                done = 0
            if not done:
                self._stop.wait(MAX_IDLE_DELAY)

    def start(self) -> Drainers:
        """Start the threads; return self."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Ask the threads to stop and wait for the piece of work each is doing."""
        self._stop.set()
        for thread in self._threads:
            thread.join()


class Workers:
    """Huey's consumer and the drainers, started and stopped together."""

    def __init__(self, huey: Huey, workers: int, *, check_worker_health: bool = False):
        self.consumer = huey.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=True,
            max_delay=MAX_IDLE_DELAY,
            check_worker_health=check_worker_health,
        )
        self.drainers = Drainers(_APPS[huey], workers)

    def stop(self, graceful: bool = True) -> None:
        """Stop the drainers and the consumer."""
        self.drainers.stop()
        self.consumer.stop(graceful=graceful)


def start_consumer(huey: Huey, workers: int = 2) -> Workers:
    """Start worker threads, drainers and the scheduler from the main thread; return them."""
    started = Workers(huey, workers)
    started.consumer.start()
    started.drainers.start()
    beat(huey)
    return started
