"""Notification intake under gunicorn (2 workers), next to a bare verify-insert-commit endpoint.

Run from the repository root (a plain script, not collected by pytest)::

    .venv/bin/python tests/benchmarks/bench_intake.py --database sqlite
    .venv/bin/python tests/benchmarks/bench_intake.py --database postgresql
    .venv/bin/python tests/benchmarks/bench_intake.py --database sqlite postgresql --worker-class gthread

For each database and gunicorn worker class it starts, on a free loopback port and in a temp
folder, (1) a *bare* Flask app defined here that only checks the RSA signature and INSERTs +
COMMITs the raw body into a one-table database of the same kind, then (2) the real app
(``dashboard:create_app()``, ``SANDBOX=1``, a fresh instance folder and database, tables by
``flask db upgrade``; jobs in SQLite, or in Redis db 8 for the PostgreSQL run). It POSTs the same
pre-signed Antom ``notifyPayment`` bodies to both — signed with the simulator's Antom key exactly as
Antom signs (``POST <notify path>\\n<Client-Id>.<Request-Time>.<body>``) — from C client threads
and prints requests/s, p50/p95/p99 latency, errors, rows stored with verdict ``valid`` and the
ratio intake/bare. No job consumer runs: the apply jobs intake enqueues stay queued, so what is
measured is intake alone. Latencies are measured by the client, which shares the machine's cores
with the server (its CPU use is printed). Numbers only; nothing here asserts a time.

PostgreSQL: ``postgresql+psycopg://postgres@127.0.0.1:5432`` (``--postgres``), databases
``bench_intake`` and ``bench_intake_bare`` are created and dropped; Redis: ``--redis``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import BigInteger
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import create_engine
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import DEFAULT_POSTGRES
from harness import DEFAULT_REDIS
from harness import BenchmarkError
from harness import Database
from harness import RawConnection
from harness import Server
from harness import app_environment
from harness import cpu_seconds
from harness import flask_command
from harness import free_port
from harness import machine_facts
from harness import percentile
from harness import print_facts
from harness import print_table
from harness import raw_post

HERE = Path(__file__).resolve().parent
NOTIFY_PATH = "/webhooks/antom"
#: The bare endpoint's one table.
BARE_METADATA = MetaData()
BARE_TABLE = Table(
    "bare_notifications",
    BARE_METADATA,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("verdict", String(16), nullable=False),
)


# --- the bare endpoint (loaded by gunicorn as ``bench_intake:bare_app()``) -------------------------


def bare_app():
    """Return a Flask app whose one view verifies the Antom signature and stores the body (one commit).

    Settings from the environment: ``BARE_DATABASE_URL``, ``BARE_PUBLIC_KEY`` (PEM file),
    ``BARE_CLIENT_ID``. SQLite gets the app's own connection rules (WAL, synchronous=NORMAL,
    busy timeout, BEGIN IMMEDIATE) so the two differ only in what the app does on top.
    """
    from flask import Flask
    from flask import Response
    from flask import request

    from dashboard.db import IMMEDIATE
    from dashboard.db import configure_sqlite
    from dashboard.providers.antom.consts import HEADER_CLIENT_ID
    from dashboard.providers.antom.consts import HEADER_REQUEST_TIME
    from dashboard.providers.antom.consts import HEADER_SIGNATURE
    from dashboard.providers.antom.consts import NOTIFICATION_ACK
    from dashboard.providers.antom.signatures import load_public_key
    from dashboard.providers.antom.signatures import verify_notification

    url = os.environ["BARE_DATABASE_URL"]
    client_id = os.environ["BARE_CLIENT_ID"]
    public_key = load_public_key(Path(os.environ["BARE_PUBLIC_KEY"]))
    engine = create_engine(url, execution_options={IMMEDIATE: True})
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)
    insert = BARE_TABLE.insert()
    app = Flask(__name__)

    @app.post(NOTIFY_PATH)
    def notify() -> Response:
        body = request.get_data(cache=False)
        headers = request.headers
        valid = headers.get(HEADER_CLIENT_ID) == client_id and verify_notification(
            public_key,
            NOTIFY_PATH,
            client_id,
            headers.get(HEADER_REQUEST_TIME, ""),
            body,
            headers.get(HEADER_SIGNATURE),
        )
        with engine.begin() as connection:
            connection.execute(insert, {"body": body, "verdict": "valid" if valid else "invalid"})
        return Response(
            NOTIFICATION_ACK if valid else b"{}", 200 if valid else 401, content_type="application/json"
        )

    return app


# --- signed notifications --------------------------------------------------------------------------


def signed_requests(private_key, client_id: str, port: int, count: int, tag: str) -> list[bytes]:
    """Return ``count`` whole HTTP requests, each a distinct notifyPayment signed as Antom signs it."""
    from dashboard import clock
    from dashboard.providers.antom.consts import CONTENT_TYPE
    from dashboard.providers.antom.consts import HEADER_CLIENT_ID
    from dashboard.providers.antom.consts import HEADER_REQUEST_TIME
    from dashboard.providers.antom.consts import HEADER_SIGNATURE
    from dashboard.providers.antom.signatures import build_signature_header
    from dashboard.providers.antom.signatures import sign
    from dashboard.sandbox.antom import at
    from dashboard.sandbox.sender import serialise

    now = clock.now()
    created, paid = at(now - timedelta(seconds=5)), at(now)
    requests = []
    for number in range(count):
        payload = {
            "notifyType": "PAYMENT_RESULT",
            "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"},
            "paymentRequestId": f"BENCH-{tag}-{number:06d}",
            "paymentId": f"{now:%Y%m%d}1940108001001888C0{tag}{number:08d}",
            "paymentAmount": {"currency": "HKD", "value": str(1000 + number % 90000)},
            "paymentCreateTime": created,
            "paymentTime": paid,
            "pspCustomerInfo": {"pspName": "ALIPAY_HK", "displayCustomerId": "852****5678"},
        }
        body = serialise(payload).encode()
        request_time = at(clock.now())
        signature = sign(private_key, "POST", NOTIFY_PATH, client_id, request_time, body)
        headers = {
            "Content-Type": CONTENT_TYPE,
            HEADER_CLIENT_ID: client_id,
            HEADER_REQUEST_TIME: request_time,
            HEADER_SIGNATURE: build_signature_header(signature, 1),
        }
        requests.append(raw_post(f"127.0.0.1:{port}", NOTIFY_PATH, headers, body))
    return requests


# --- load ------------------------------------------------------------------------------------------


@dataclass
class Load:
    """What one burst of requests measured."""

    sent: int
    seconds: float
    latencies: list[float]
    errors: Counter
    client_cpu: float
    server_cpu: float
    connects: int

    @property
    def rate(self) -> float:
        """Return completed requests per second."""
        return self.sent / self.seconds

    def ms(self, fraction: float) -> float:
        """Return a latency percentile in milliseconds."""
        return percentile(self.latencies, fraction) * 1000


def drive(port: int, requests: list[bytes], concurrency: int, expected: bytes, pids: list[int]) -> Load:
    """POST every request once from ``concurrency`` threads (keep-alive where the server allows)."""
    from dashboard.providers.antom.consts import NOTIFICATION_ACK  # noqa: F401 - warm the import

    index = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: Counter = Counter()
    connects = [0] * concurrency
    start = threading.Barrier(concurrency + 1)

    def client(slot: int) -> None:
        connection = RawConnection(port)
        times = latencies[slot]
        start.wait()
        while (number := next(index)) < len(requests):
            began = time.perf_counter()
            try:
                status, body = connection.request(requests[number])
            except OSError as exc:
                errors[type(exc).__name__] += 1
                continue
            times.append(time.perf_counter() - began)
            if status != 200 or body != expected:
                errors[f"HTTP {status}"] += 1
        connects[slot] = connection.connects
        connection.close()

    threads = [threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    server_before, client_before = cpu_seconds(pids), time.process_time()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    return Load(
        sent=len(requests),
        seconds=seconds,
        latencies=[value for times in latencies for value in times],
        errors=errors,
        client_cpu=time.process_time() - client_before,
        server_cpu=cpu_seconds(pids) - server_before,
        connects=sum(connects),
    )


# --- one configuration ----------------------------------------------------------------------------


@dataclass
class Run:
    """One line of the results table."""

    endpoint: str
    database: str
    server: str
    concurrency: int
    load: Load
    stored_valid: int
    note: str


def _count(url: str, sql: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


def _huey(env: dict, instance: Path):
    from huey import RedisHuey
    from huey import SqliteHuey

    if env.get("REDIS_URL"):
        return RedisHuey("dashboard", url=env["REDIS_URL"])
    return SqliteHuey("dashboard", filename=str(instance / "jobs.db"))


def run_bare(options, kind: str, worker_class: str, tmp: Path, port: int, keys, requests, warmup) -> Run:
    """Measure the bare endpoint on a fresh one-table database."""
    from dashboard.providers.antom.consts import NOTIFICATION_ACK
    from dashboard.providers.antom.settings import DEFAULT_SANDBOX_CLIENT_ID

    database = Database.make(kind, tmp, "bench_intake_bare", options.postgres)
    server = None
    try:
        engine = create_engine(database.url)
        BARE_METADATA.create_all(engine)
        engine.dispose()
        public_key = tmp / "antom_public_key.pem"
        public_key.write_text(keys.antom.public_pem)
        env = app_environment(tmp / "bare-instance", f"http://127.0.0.1:{port}", database.url, None)
        env.update(
            BARE_DATABASE_URL=database.url,
            BARE_PUBLIC_KEY=str(public_key),
            BARE_CLIENT_ID=DEFAULT_SANDBOX_CLIENT_ID,
        )
        server = Server(
            "bench_intake:bare_app()",
            env,
            tmp / f"gunicorn-bare-{kind}-{worker_class}",
            port,
            worker_class,
            threads=options.threads,
            extra_paths=[HERE],
        ).start()
        drive(port, warmup, options.concurrency, NOTIFICATION_ACK, server.worker_pids())
        load = drive(port, requests, options.concurrency, NOTIFICATION_ACK, server.worker_pids())
        server.stop()
        rows = _count(database.url, "SELECT count(*) FROM bare_notifications WHERE verdict = 'valid'")
        stored = rows[0][0] - len(warmup)
        return Run("bare", kind, server.label, options.concurrency, load, stored, "verify + INSERT + COMMIT")
    finally:
        if server is not None:
            server.stop()
        database.drop()


def run_intake(options, kind: str, worker_class: str, tmp: Path, port: int, requests, warmup) -> Run:
    """Measure ``POST /webhooks/antom`` of the real app on a fresh database; no job consumer runs."""
    from dashboard.providers.antom.consts import NOTIFICATION_ACK

    instance = tmp / "instance"
    redis_url = options.redis if kind == "postgresql" else None
    database = Database.make(kind, tmp, "bench_intake", options.postgres)
    server = None
    env = app_environment(instance, f"http://127.0.0.1:{port}", database.url, redis_url)
    huey = _huey(env, instance)
    try:
        huey.flush()
        flask_command(env, tmp, "db", "upgrade")
        server = Server(
            "dashboard:create_app()",
            env,
            tmp / f"gunicorn-intake-{kind}-{worker_class}",
            port,
            worker_class,
            threads=options.threads,
        ).start()
        drive(port, warmup, options.concurrency, NOTIFICATION_ACK, server.worker_pids())
        load = drive(port, requests, options.concurrency, NOTIFICATION_ACK, server.worker_pids())
        server.stop()
        rows = dict(
            _count(
                database.url,
                "SELECT verdict || '/' || outcome, count(*) FROM notifications GROUP BY verdict, outcome",
            )
        )
        valid = sum(count for key, count in rows.items() if key.startswith("valid/"))
        queued = huey.pending_count()
        total = len(requests) + len(warmup)
        pending = rows.get("valid/pending", 0)
        note = f"jobs queued {queued}/{total}, pending {pending}/{total} (no consumer)"
        return Run("intake", kind, server.label, options.concurrency, load, valid - len(warmup), note)
    finally:
        if server is not None:
            server.stop()
        huey.flush()
        database.drop()


# --- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    parser.add_argument(
        "--worker-class",
        nargs="+",
        choices=["sync", "gthread"],
        default=["sync", "gthread"],
        help="gunicorn worker classes to measure (default: both)",
    )
    parser.add_argument(
        "--endpoint",
        nargs="+",
        choices=["bare", "intake"],
        default=["bare", "intake"],
        help="what to measure (default: both, for the ratio)",
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker (README: 8)")
    parser.add_argument("--requests", type=int, default=5000, help="measured notifications per run")
    parser.add_argument("--warmup", type=int, default=400, help="notifications sent before measuring")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (connections)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL, no database")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="jobs queue of the PostgreSQL run")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (gunicorn logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run every configuration asked for and print the table."""
    options = parse_args(argv)
    from dashboard.providers.antom.settings import DEFAULT_SANDBOX_CLIENT_ID
    from dashboard.sandbox.keys import ensure_keys

    print("notification intake benchmark (DESIGN §7: >= 800/s, p95 <= 15 ms, >= 80 % of bare)")
    print_facts(machine_facts(options.database, options.postgres, options.redis))
    tmp = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    runs: list[Run] = []
    try:
        port = free_port()
        keys = ensure_keys(tmp / "instance")
        began = time.perf_counter()
        signed = signed_requests(
            keys.antom.private_key, DEFAULT_SANDBOX_CLIENT_ID, port, options.warmup + options.requests, "77"
        )
        warmup, requests = signed[: options.warmup], signed[options.warmup :]
        print(
            f"  {'signed':22} {len(signed)} notifyPayment bodies in {time.perf_counter() - began:.1f} s "
            f"(warm-up {len(warmup)}, measured {len(requests)}); {options.concurrency} client threads"
        )
        print("  apply jobs are enqueued but never run: no consumer is started (intake alone is measured)")
        print()
        for kind in options.database:
            for worker_class in options.worker_class:
                if "bare" in options.endpoint:
                    runs.append(run_bare(options, kind, worker_class, tmp, port, keys, requests, warmup))
                    _print_progress(runs[-1])
                if "intake" in options.endpoint:
                    runs.append(run_intake(options, kind, worker_class, tmp, port, requests, warmup))
                    _print_progress(runs[-1])
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if options.keep:
            print(f"temp folder kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    _print_results(runs, len(requests))
    print(f"load average after: {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    return 0


def _print_progress(run: Run) -> None:
    print(f"  done: {run.endpoint} {run.database} {run.server}: {run.load.rate:.0f}/s", flush=True)


def _print_results(runs: list[Run], expected: int) -> None:
    print()
    print_table(
        [
            "endpoint",
            "database",
            "gunicorn",
            "conc",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "valid rows",
            "srv CPU ms/req",
            "client CPU",
            "notes",
        ],
        [
            [
                run.endpoint,
                run.database,
                run.server,
                run.concurrency,
                f"{run.load.rate:.0f}",
                f"{run.load.ms(0.50):.1f}",
                f"{run.load.ms(0.95):.1f}",
                f"{run.load.ms(0.99):.1f}",
                sum(run.load.errors.values()) or 0,
                f"{run.stored_valid}/{expected}",
                f"{run.load.server_cpu / run.load.sent * 1000:.2f}",
                f"{run.load.client_cpu / run.load.seconds:.0%} of a core",
                run.note,
            ]
            for run in runs
        ],
    )
    errors = Counter()
    for run in runs:
        errors.update(run.load.errors)
    if errors:
        print(f"errors: {json.dumps(dict(errors))}")
    print()
    for (kind, server), pair in itertools.groupby(runs, key=lambda run: (run.database, run.server)):
        by_endpoint = {run.endpoint: run for run in pair}
        if {"bare", "intake"} <= by_endpoint.keys():
            intake, bare = by_endpoint["intake"].load, by_endpoint["bare"].load
            print(
                f"intake/bare {kind:10} {server:11}: {intake.rate / bare.rate:.0%} "
                f"({intake.rate:.0f}/s vs {bare.rate:.0f}/s; "
                f"p95 {intake.ms(0.95):.1f} vs {bare.ms(0.95):.1f} ms)"
            )


if __name__ == "__main__":
    sys.exit(main())
