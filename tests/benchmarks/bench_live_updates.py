"""Live-update delay: from a committed payment change to the moment an open page's poll returns it.

Run from the repository root (a plain script, not collected by pytest)::

    .venv/bin/python tests/benchmarks/bench_live_updates.py --database sqlite
    .venv/bin/python tests/benchmarks/bench_live_updates.py --database postgresql

It needs ``GET /live?after=<cursor>&topic=payment:<id>&topic=payment`` (staff session; JSON
``{"cursor": N, "events": [{"id", "topic", "object_type", "object_id", "kind"}]}``) and stops with
a clear message when the app answers 404 there.

Per database: a fresh temp instance and database (``flask db upgrade``; jobs in SQLite, or Redis
db 8 with PostgreSQL), the real app under gunicorn (2 workers), and a *writer process* that makes
one viewer account per page (users service) and the payments, and then, at random moments, commits
status changes through ``payments.change_payment`` in a write transaction, reporting each change's
event id and the wall-clock time just after its commit. Meanwhile K simulated pages — threads that
each sign in once as their own viewer (from their own loopback address, as separate staff would;
the login limit is per address) — poll ``/live`` every 1.0 s with their cursor, as the page's
script does, and note when each event id first appears. Delay = seen_at − committed_at, over
every (page, change) pair; the page's follow-up request for the changed fragment is not included.
Numbers only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import DEFAULT_POSTGRES
from harness import DEFAULT_REDIS
from harness import BenchmarkError
from harness import Database
from harness import Server
from harness import app_environment
from harness import flask_command
from harness import free_port
from harness import machine_facts
from harness import percentile
from harness import print_facts
from harness import print_table
from harness import remove_temp_folder

#: Page n signs in as viewer-n@bench.example (a second login of one account ends its first session).
VIEWER_EMAIL = "viewer-{}@bench.example"
VIEWER_PASSWORD = "bench viewer password 2026"
POLL_INTERVAL = 1.0
#: After the last change, pages keep polling this long before anything unseen counts as missed.
GRACE = 3.0
#: Each payment goes through these, one change at a time.
STEPS = ("processing", "succeeded", "settled")
_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
_VALUE = re.compile(r'value="([^"]*)"')


# --- the writer process ----------------------------------------------------------------------------


def writer_main(changes: int, min_gap: float, max_gap: float, seed: int, viewers: int) -> None:
    """Make viewers and payments, wait for "go" on stdin, then commit ``changes`` status changes.

    Prints ``ready <payment ids>`` and then one JSON line per change:
    ``{"event": id, "payment": id, "committed": unix time after the commit}``; the app's settings
    come from the environment, as in a web process.
    """
    from sqlalchemy import func
    from sqlalchemy import select

    from dashboard import create_app
    from dashboard.db import locked
    from dashboard.db import write_transaction
    from dashboard.events.kinds import ObjectType
    from dashboard.events.models import Event
    from dashboard.extensions import db
    from dashboard.payments import changes
    from dashboard.payments.models import Payment
    from dashboard.payments.states import PaymentEvent
    from dashboard.users import service as users

    rng = random.Random(seed)
    app = create_app()
    with app.app_context():
        for number in range(viewers):
            email = VIEWER_EMAIL.format(number)
            users.create_user(
                email, f"Viewer {number}", "viewer", VIEWER_PASSWORD, must_change_password=False
            )
        count = -(-changes // len(STEPS))
        with write_transaction(db.session) as session:
            ids = [
                changes.new_payment(
                    session,
                    None,
                    provider="antom",
                    request_id=f"BENCH-LIVE-{seed}-{number:05d}",
                    amount_minor=12850 + number,
                    currency="HKD",
                ).id
                for number in range(count)
            ]
        print("ready " + " ".join(map(str, ids)), flush=True)
        if sys.stdin.readline().strip() != "go":
            return
        # Each payment moves processing → succeeded → settled; which payment moves next is random.
        plan = [payment_id for payment_id in ids for _ in STEPS][:changes]
        rng.shuffle(plan)
        done: dict[int, int] = {}
        for payment_id in plan:
            time.sleep(rng.uniform(min_gap, max_gap))
            step = PaymentEvent(STEPS[done.get(payment_id, 0)])
            done[payment_id] = done.get(payment_id, 0) + 1
            with write_transaction(db.session) as session:
                payment = locked(session, Payment, payment_id)
                changes.change_payment(session, payment, step)
                event_id = session.scalar(
                    select(func.max(Event.id)).where(
                        Event.object_type == ObjectType.PAYMENT, Event.object_id == str(payment_id)
                    )
                )
            committed = time.time()
            print(json.dumps({"event": event_id, "payment": payment_id, "committed": committed}), flush=True)
        print("done", flush=True)


# --- simulated pages -------------------------------------------------------------------------------


def _session(source: str):
    """Return a requests.Session whose connections leave from ``source`` (a 127.x address)."""
    import requests
    from requests.adapters import HTTPAdapter

    class SourceAddressAdapter(HTTPAdapter):
        def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
            pool_kwargs["source_address"] = (source, 0)
            super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    session = requests.Session()
    session.mount("http://", SourceAddressAdapter())
    return session


@dataclass
class Page:
    """One open page: its session, topics, cursor and what it saw when."""

    number: int
    base_url: str
    watched_payment: int
    session: object = None
    cursor: int = 0
    seen: dict[int, float] = field(default_factory=dict)
    poll_times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def sign_in(self) -> None:
        """Sign in as this page's viewer (CSRF token from the login form), from its own address."""
        self.session = _session(f"127.0.0.{10 + self.number}")
        form = self.session.get(f"{self.base_url}/login", timeout=30)
        tag = _CSRF.search(form.text)
        token = _VALUE.search(tag.group(0)) if tag else None
        if form.status_code != 200 or token is None:
            raise BenchmarkError(f"GET /login gave {form.status_code} without a csrf_token field")
        answer = self.session.post(
            f"{self.base_url}/login",
            data={
                "csrf_token": token.group(1),
                "email": VIEWER_EMAIL.format(self.number),
                "password": VIEWER_PASSWORD,
                "next": "",
            },
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code not in (302, 303):
            email = VIEWER_EMAIL.format(self.number)
            raise BenchmarkError(f"signing in as {email} gave HTTP {answer.status_code}, not a redirect")

    def poll(self) -> list[dict]:
        """Ask /live for what happened after the cursor; move the cursor; return the events."""
        began = time.perf_counter()
        answer = self.session.get(
            f"{self.base_url}/live",
            params=[
                ("after", self.cursor),
                ("topic", f"payment:{self.watched_payment}"),
                ("topic", "payment"),
            ],
            allow_redirects=False,
            timeout=30,
        )
        arrived = time.time()
        self.poll_times.append(time.perf_counter() - began)
        if answer.status_code == 404:
            raise BenchmarkError(
                "GET /live answered 404: the live-update endpoint is not on this branch yet "
                "(merge the branch that adds /live, then run this again)"
            )
        if answer.status_code != 200:
            raise BenchmarkError(f"GET /live answered HTTP {answer.status_code}: {answer.text[:200]!r}")
        data = answer.json()
        if not isinstance(data.get("cursor"), int) or not isinstance(data.get("events"), list):
            raise BenchmarkError(
                f"GET /live answered JSON without an integer cursor and an events list: {data!r}"
            )
        self.cursor = max(self.cursor, data["cursor"])
        for event in data["events"]:
            self.seen.setdefault(int(event["id"]), arrived)
        return data["events"]

    def run(self, stop: threading.Event, phase: float) -> None:
        """Poll every POLL_INTERVAL seconds (a fixed schedule, like a timer) until ``stop`` is set."""
        next_at = time.monotonic() + phase
        while not stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += POLL_INTERVAL
            try:
                self.poll()
            except BenchmarkError as exc:
                self.errors.append(str(exc))
                return
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            next_at = max(next_at, time.monotonic())


# --- one database ----------------------------------------------------------------------------------


@dataclass
class Result:
    """One line of the results table."""

    database: str
    server: str
    pages: int
    changes: int
    delays: list[float]
    first_seen: list[float]
    missed: int
    polls: list[float]
    errors: int
    setup_seconds: float
    run_seconds: float


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    """Return the writer's next stdout line, or raise when it died or is silent for ``timeout`` s."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box or not box[0]:
        raise BenchmarkError(f"the writer process stopped answering (exit code {process.poll()})")
    return box[0].strip()


def run_database(options, kind: str, tmp: Path) -> Result:
    """Measure one database: writer + gunicorn + pages; everything is stopped and dropped after."""
    began = time.perf_counter()
    port = free_port()
    redis_url = options.redis if kind == "postgresql" else None
    database = Database.make(kind, tmp, "bench_live", options.postgres)
    instance = tmp / f"instance-{kind}"
    env = app_environment(instance, f"http://127.0.0.1:{port}", database.url, redis_url)
    server = writer = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        flask_command(env, tmp, "db", "upgrade")
        writer = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--writer",
                "--changes",
                str(options.changes),
                "--min-gap",
                str(options.min_gap),
                "--max-gap",
                str(options.max_gap),
                "--seed",
                str(options.seed),
                "--pages",
                str(options.pages),
            ],
            env=env,
            cwd=tmp,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = _read_line(writer, 120)
        if not ready.startswith("ready "):
            raise BenchmarkError(f"the writer said {ready!r} instead of ready")
        payment_ids = [int(value) for value in ready.split()[1:]]
        server = Server(
            "dashboard:create_app()",
            env,
            tmp / f"gunicorn-live-{kind}",
            port,
            options.worker_class,
            threads=options.threads,
        ).start()
        pages = [
            Page(number, server.base_url, payment_ids[number % len(payment_ids)])
            for number in range(options.pages)
        ]
        for page in pages:
            page.sign_in()
            page.poll()  # the cursor the page starts from (as rendered into it)
        rng = random.Random(options.seed)
        for page in pages:
            thread = threading.Thread(
                target=page.run, args=(stop, rng.uniform(0, POLL_INTERVAL)), daemon=True
            )
            thread.start()
            threads.append(thread)
        writer.stdin.write("go\n")
        writer.stdin.flush()
        started = time.perf_counter()
        committed: dict[int, float] = {}
        while (line := _read_line(writer, 60)) != "done":
            change = json.loads(line)
            committed[change["event"]] = change["committed"]
        time.sleep(GRACE)
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
        fatal = [page.errors[0] for page in pages if page.errors and "/live" in page.errors[0]]
        if fatal:
            raise BenchmarkError(fatal[0])
        delays, first_seen, missed = [], [], 0
        for event_id, at in committed.items():
            seen = [page.seen[event_id] - at for page in pages if event_id in page.seen]
            missed += len(pages) - len(seen)
            delays += seen
            if seen:
                first_seen.append(min(seen))
        return Result(
            kind,
            server.label,
            len(pages),
            len(committed),
            delays,
            first_seen,
            missed,
            [value for page in pages for value in page.poll_times],
            sum(len(page.errors) for page in pages),
            started - began,
            time.perf_counter() - started,
        )
    finally:
        stop.set()
        if writer is not None:
            if writer.poll() is None:
                writer.kill()
            writer.wait(timeout=10)
        if server is not None:
            server.stop()
        database.drop()
        if redis_url:
            _clean_redis(redis_url)


def _clean_redis(redis_url: str) -> None:
    """Drop the jobs queue and the sign-in rate-limit counters the run left in Redis."""
    import redis
    from huey import RedisHuey

    RedisHuey("dashboard", url=redis_url).flush()
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter("LIMITS:LIMITER/127.0.0.*/auth.login/*"))
    if keys:
        client.delete(*keys)


# --- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    parser.add_argument("--pages", type=int, default=20, help="simulated open pages (K pollers)")
    parser.add_argument("--changes", type=int, default=240, help="payment status changes to commit")
    parser.add_argument("--min-gap", type=float, default=0.05, help="shortest pause between changes (s)")
    parser.add_argument("--max-gap", type=float, default=0.45, help="longest pause between changes (s)")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="gthread")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL, no database")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="jobs queue of the PostgreSQL run")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (gunicorn logs)")
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run every database asked for and print the table."""
    options = parse_args(argv)
    if options.writer:
        writer_main(options.changes, options.min_gap, options.max_gap, options.seed, options.pages)
        return 0
    print("live-update delay benchmark (DESIGN §7: a change visible on an open page <= 2 s p95)")
    print_facts(machine_facts(options.database, options.postgres, options.redis))
    print(
        f"  {'plan':22} {options.changes} changes, {options.min_gap}-{options.max_gap} s apart; "
        f"{options.pages} pages polling every {POLL_INTERVAL:.1f} s"
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    results: list[Result] = []
    try:
        for kind in options.database:
            result = run_database(options, kind, tmp)
            results.append(result)
            print(
                f"  done: {kind} (setup {result.setup_seconds:.0f} s, changes {result.run_seconds:.0f} s)",
                flush=True,
            )
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        remove_temp_folder(tmp, options.keep)
    print()
    print_table(
        [
            "database",
            "gunicorn",
            "pages",
            "changes",
            "delay p50 s",
            "p95 s",
            "max s",
            "first page p50 s",
            "missed",
            "/live p50 ms",
            "/live p95 ms",
            "poll errors",
        ],
        [
            [
                result.database,
                result.server,
                result.pages,
                result.changes,
                f"{percentile(result.delays, 0.5):.2f}",
                f"{percentile(result.delays, 0.95):.2f}",
                f"{max(result.delays, default=float('nan')):.2f}",
                f"{percentile(result.first_seen, 0.5):.2f}",
                result.missed,
                f"{percentile(result.polls, 0.5) * 1000:.1f}",
                f"{percentile(result.polls, 0.95) * 1000:.1f}",
                result.errors,
            ]
            for result in results
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
