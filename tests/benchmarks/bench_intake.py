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
ratio intake/bare. No job worker runs meanwhile, so what is measured is intake alone; then (``apply``)
two job worker processes (``flask worker --workers 1`` each) apply the backlog intake left, and the
script prints how many notifications a second they applied and checks each was applied exactly once.
Latencies are measured by the client, which shares the machine's cores with the server (its CPU use
is printed). ``--rounds N`` measures bare and intake N times in turn and prints each round's ratio
and their median. Numbers only; nothing here asserts a time.

``--soak-seconds 600 --rate 300`` instead runs intake and the two job workers together for that long
at that steady rate, samples the memory of every server and job worker process every 30 s, and at
the end checks that every notification was stored once and applied once.

PostgreSQL: ``postgresql+psycopg://postgres@127.0.0.1:5432`` (``--postgres``), databases
``bench_intake`` and ``bench_intake_bare`` are created and dropped; Redis: ``--redis``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import statistics
import subprocess
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

from harness import BIN
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
from harness import remove_temp_folder
from harness import rss_mib

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
    round: int = 1


def _count(url: str, sql: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


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


def run_intake(
    options, kind: str, worker_class: str, tmp: Path, port: int, requests, warmup, apply: bool
) -> list[Run]:
    """Measure ``POST /webhooks/antom`` of the real app on a fresh database, then (``apply``) the
    job workers applying what it stored."""
    from dashboard.providers.antom.consts import NOTIFICATION_ACK

    instance = tmp / "instance"
    database = Database.make(kind, tmp, "bench_intake", options.postgres)
    server = None
    env = app_environment(instance, f"http://127.0.0.1:{port}", database.url, _redis(options, kind))
    try:
        _flush_jobs(env)
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
        outcomes = _outcomes(database.url)
        valid = sum(count for key, count in outcomes.items() if key.startswith("valid/"))
        total = len(requests) + len(warmup)
        note = f"waiting to be applied {outcomes.get('valid/pending', 0)}/{total} (no job worker)"
        runs = [Run("intake", kind, server.label, options.concurrency, load, valid - len(warmup), note)]
        if apply:
            runs.append(apply_backlog(options, kind, env, tmp, database.url, total))
        return runs
    finally:
        if server is not None:
            server.stop()
        _flush_jobs(env)
        database.drop()


def _redis(options, kind: str) -> str | None:
    return options.redis if kind == "postgresql" else None


def _flush_jobs(env: dict) -> None:
    """Empty the jobs queue the app of ``env`` uses (Redis db or ``instance/jobs.db``)."""
    from huey import RedisHuey
    from huey import SqliteHuey

    if env.get("REDIS_URL"):
        RedisHuey("dashboard", url=env["REDIS_URL"]).flush()
    elif (Path(env["INSTANCE_PATH"]) / "jobs.db").exists():
        SqliteHuey("dashboard", filename=str(Path(env["INSTANCE_PATH"]) / "jobs.db")).flush()


def _outcomes(url: str) -> dict[str, int]:
    return dict(
        _count(url, "SELECT verdict || '/' || outcome, count(*) FROM notifications GROUP BY verdict, outcome")
    )


class JobWorkers:
    """``count`` job worker processes (``flask --app dashboard worker --workers 1``)."""

    def __init__(self, env: dict, folder: Path, count: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.processes = [
            subprocess.Popen(
                [str(BIN / "flask"), "--app", "dashboard", "worker", "--workers", "1"],
                env=dict(env),
                cwd=folder,
                stdout=(folder / f"worker-{number}.log").open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for number in range(count)
        ]

    @property
    def pids(self) -> list[int]:
        """Return the workers' process ids."""
        return [process.pid for process in self.processes]

    def stop(self) -> None:
        """Stop every worker (SIGINT, as Ctrl-C) and wait for it."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass
class Applied:
    """What the job workers did with a backlog, and whether each notification was applied once."""

    count: int
    seconds: float
    worker_cpu: float
    check: str

    @property
    def rate(self) -> float:
        """Return notifications applied per second."""
        return self.count / self.seconds if self.seconds else 0.0


def vacuum_like_autovacuum(url: str) -> None:
    """On PostgreSQL, VACUUM ANALYZE the inbox, as autovacuum would (it is off on this machine's server).

    Without it a table filled in seconds keeps the planner's empty-table guesses and the dead
    index entries of every row applied meanwhile.
    """
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.execute(text("VACUUM ANALYZE notifications"))
    finally:
        engine.dispose()


def wait_until_applied(url: str, pids: list[int], timeout: float) -> Applied:
    """Poll until no verified notification waits; time it from the first one applied."""
    cpu_before = cpu_seconds(pids)
    waiting_sql = "SELECT count(*) FROM notifications WHERE verdict = 'valid' AND outcome = 'pending'"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            initial = connection.execute(text(waiting_sql)).scalar_one()
            deadline = time.monotonic() + timeout
            began = None
            left = initial
            while left and time.monotonic() < deadline:
                time.sleep(0.1)
                left = connection.execute(text(waiting_sql)).scalar_one()
                connection.rollback()
                if began is None and left < initial:
                    began, initial_at_start = time.perf_counter(), left
            seconds = time.perf_counter() - began if began is not None else 0.0
            applied = initial_at_start - left if began is not None else 0
    finally:
        engine.dispose()
    return Applied(applied, seconds, cpu_seconds(pids) - cpu_before, exactly_once(url))


def exactly_once(url: str) -> str:
    """Say whether every verified notification was applied, each once (one timeline note, one try)."""
    rows = _count(
        url,
        """
        SELECT
          (SELECT count(*) FROM notifications WHERE verdict = 'valid' AND duplicate_of_id IS NULL),
          (SELECT count(*) FROM notifications WHERE verdict = 'valid' AND outcome = 'pending'),
          (SELECT count(*) FROM notifications WHERE verdict = 'valid' AND attempts > 1),
          (SELECT count(*) FROM (SELECT notification_id FROM events WHERE kind = 'notification'
                                 GROUP BY notification_id HAVING count(*) > 1) AS twice),
          (SELECT count(DISTINCT notification_id) FROM events WHERE kind = 'notification')
        """,
    )
    stored, pending, retried, noted_twice, noted = rows[0]
    verdict = "OK" if pending == noted_twice == 0 and noted == stored else "NOT exactly once"
    return (
        f"{verdict}: {stored} stored, {noted} noted once, {noted_twice} noted twice, "
        f"{pending} still pending, {retried} tried more than once"
    )


def apply_backlog(options, kind: str, env: dict, tmp: Path, url: str, total: int) -> Run:
    """Let ``options.apply_workers`` job worker processes apply the stored backlog; time them."""
    vacuum_like_autovacuum(url)
    workers = JobWorkers(env, tmp / f"workers-{kind}", options.apply_workers)
    try:
        applied = wait_until_applied(url, workers.pids, timeout=max(120.0, total / 20))
    finally:
        workers.stop()
    load = Load(applied.count, applied.seconds, [], Counter(), 0.0, applied.worker_cpu, 0)
    label = f"{options.apply_workers} workers"
    return Run("apply", kind, label, options.apply_workers, load, applied.count, applied.check)


# --- soak ------------------------------------------------------------------------------------------

#: Seconds between two memory samples in the soak.
SOAK_SAMPLE_EVERY = 30


def paced(port: int, requests: list[bytes], rate: float, threads: int, expected: bytes) -> Load:
    """POST request ``i`` at ``i / rate`` seconds from the start (or as soon after as a thread is free)."""
    index = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: Counter = Counter()
    began = time.perf_counter()

    def client(slot: int) -> None:
        connection = RawConnection(port)
        while (number := next(index)) < len(requests):
            delay = began + number / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter()
            try:
                status, body = connection.request(requests[number])
            except OSError as exc:
                errors[type(exc).__name__] += 1
                continue
            latencies[slot].append(time.perf_counter() - sent)
            if status != 200 or body != expected:
                errors[f"HTTP {status}"] += 1
        connection.close()

    pool = [threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - began
    flat = [value for times in latencies for value in times]
    return Load(len(requests), seconds, flat, errors, 0.0, 0.0, threads)


def soak(options, kind: str, tmp: Path, port: int, keys) -> None:
    """Run intake and the job workers together at ``options.rate`` for ``options.soak_seconds``."""
    from dashboard.providers.antom.consts import NOTIFICATION_ACK
    from dashboard.providers.antom.settings import DEFAULT_SANDBOX_CLIENT_ID

    total = options.rate * options.soak_seconds
    began = time.perf_counter()
    requests = signed_requests(keys.antom.private_key, DEFAULT_SANDBOX_CLIENT_ID, port, total, "88")
    print(f"  soak {kind}: {total} notifyPayment bodies signed in {time.perf_counter() - began:.0f} s; ")
    print(f"  {options.rate}/s for {options.soak_seconds} s, gunicorn gthread 2x{options.threads}, ", end="")
    print(f"{options.apply_workers} job worker processes applying meanwhile")
    instance = tmp / "instance"
    database = Database.make(kind, tmp, "bench_intake", options.postgres)
    env = app_environment(instance, f"http://127.0.0.1:{port}", database.url, _redis(options, kind))
    server = workers = None
    samples: list[list[object]] = []
    try:
        _flush_jobs(env)
        flask_command(env, tmp, "db", "upgrade")
        folder = tmp / f"gunicorn-soak-{kind}"
        server = Server("dashboard:create_app()", env, folder, port, "gthread", threads=options.threads)
        server.start()
        workers = JobWorkers(env, tmp / f"workers-soak-{kind}", options.apply_workers)
        result: list[Load] = []

        def send() -> None:
            result.append(paced(port, requests, options.rate, options.concurrency, NOTIFICATION_ACK))

        sender = threading.Thread(target=send)
        sender.start()
        started = time.perf_counter()
        while True:
            elapsed = time.perf_counter() - started
            vacuum_like_autovacuum(database.url)
            outcomes = _outcomes(database.url)
            stored = sum(count for key, count in outcomes.items() if key.startswith("valid/"))
            samples.append(
                [
                    f"{elapsed:.0f}",
                    " ".join(f"{rss_mib(pid):.0f}" for pid in server.worker_pids()),
                    " ".join(f"{rss_mib(pid):.0f}" for pid in workers.pids),
                    stored,
                    outcomes.get("valid/pending", 0),
                ]
            )
            print(f"    {' | '.join(str(value) for value in samples[-1])}", flush=True)
            sender.join(timeout=SOAK_SAMPLE_EVERY)
            if not sender.is_alive():
                break
        load = result[0]
        applied = wait_until_applied(database.url, workers.pids, timeout=300)
        samples.append(
            [
                f"{time.perf_counter() - started:.0f} (end)",
                " ".join(f"{rss_mib(pid):.0f}" for pid in server.worker_pids()),
                " ".join(f"{rss_mib(pid):.0f}" for pid in workers.pids),
                sum(count for key, count in _outcomes(database.url).items() if key.startswith("valid/")),
                _outcomes(database.url).get("valid/pending", 0),
            ]
        )
        rows = _count(
            database.url,
            "SELECT count(*), count(DISTINCT dedup_key) FROM notifications "
            "WHERE verdict = 'valid' AND duplicate_of_id IS NULL",
        )
        stored, distinct = rows[0]
    finally:
        if workers is not None:
            workers.stop()
        if server is not None:
            server.stop()
        _flush_jobs(env)
        database.drop()
    print()
    print_table(["s", "server workers RSS MiB", "job workers RSS MiB", "stored", "waiting"], samples)
    print()
    print(
        f"  sent {load.sent} in {load.seconds:.0f} s ({load.rate:.0f}/s): p50 {load.ms(0.5):.1f} ms, "
        f"p95 {load.ms(0.95):.1f} ms, p99 {load.ms(0.99):.1f} ms, errors {sum(load.errors.values())}"
    )
    print(f"  stored once: {stored} rows, {distinct} distinct dedup keys, of {total} sent")
    print(f"  applied once: {applied.check}; {applied.rate:.0f}/s after sending ended")
    print(f"load average after: {', '.join(f'{value:.2f}' for value in os.getloadavg())}")


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
        choices=["bare", "intake", "apply"],
        default=["bare", "intake", "apply"],
        help="what to measure (default: all; apply needs intake, whose backlog it applies)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure bare and intake this many times in turn (the ratio's median is printed); "
        "apply runs after the last round",
    )
    parser.add_argument("--apply-workers", type=int, default=2, help="job worker processes (apply, soak)")
    parser.add_argument(
        "--soak-seconds", type=int, default=0, help="run intake and the job workers together this long"
    )
    parser.add_argument("--rate", type=int, default=300, help="notifications a second in the soak")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker (README: 8)")
    parser.add_argument("--requests", type=int, default=5000, help="measured notifications per run")
    parser.add_argument("--warmup", type=int, default=400, help="notifications sent before measuring")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (connections)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL, no database")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="jobs queue of the PostgreSQL run")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (gunicorn logs)")
    options = parser.parse_args(argv)
    if options.rounds < 1:
        parser.error("--rounds must be 1 or more")
    return options


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
        if options.soak_seconds:
            for kind in options.database:
                soak(options, kind, tmp, port, keys)
            return 0
        began = time.perf_counter()
        signed = signed_requests(
            keys.antom.private_key, DEFAULT_SANDBOX_CLIENT_ID, port, options.warmup + options.requests, "77"
        )
        warmup, requests = signed[: options.warmup], signed[options.warmup :]
        print(
            f"  {'signed':22} {len(signed)} notifyPayment bodies in {time.perf_counter() - began:.1f} s "
            f"(warm-up {len(warmup)}, measured {len(requests)}); {options.concurrency} client threads"
        )
        print("  no job worker runs while intake is measured; then the workers apply its backlog")
        print()
        for kind in options.database:
            for worker_class, number in itertools.product(options.worker_class, range(1, options.rounds + 1)):
                if "bare" in options.endpoint:
                    bare = run_bare(options, kind, worker_class, tmp, port, keys, requests, warmup)
                    runs.append(_progress(bare, number))
                if "intake" in options.endpoint:
                    apply = "apply" in options.endpoint and number == options.rounds
                    for run in run_intake(options, kind, worker_class, tmp, port, requests, warmup, apply):
                        runs.append(_progress(run, number))
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        remove_temp_folder(tmp, options.keep)
    _print_results(runs, len(requests))
    print(f"load average after: {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    return 0


def _progress(run: Run, number: int) -> Run:
    """Mark ``run`` as of round ``number`` and say it is done."""
    run.round = number
    print(
        f"  done: {run.endpoint} {run.database} {run.server} (round {number}): {run.load.rate:.0f}/s",
        flush=True,
    )
    return run


def _print_results(runs: list[Run], expected: int) -> None:
    applied = [run for run in runs if run.endpoint == "apply"]
    runs = [run for run in runs if run.endpoint != "apply"]
    print()
    print_table(
        [
            "endpoint",
            "database",
            "gunicorn",
            "round",
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
                run.round,
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
    if applied:
        print()
        print_table(
            ["applied by", "database", "notifications", "seconds", "applied/s", "worker CPU ms", "check"],
            [
                [
                    run.server,
                    run.database,
                    run.load.sent,
                    f"{run.load.seconds:.1f}",
                    f"{run.load.rate:.0f}",
                    f"{run.load.server_cpu / max(run.load.sent, 1) * 1000:.2f}",
                    run.note,
                ]
                for run in applied
            ],
        )
    print()
    for (kind, server), configuration in itertools.groupby(runs, key=lambda run: (run.database, run.server)):
        ratios = []
        for number, pair in itertools.groupby(configuration, key=lambda run: run.round):
            by_endpoint = {run.endpoint: run for run in pair}
            if {"bare", "intake"} <= by_endpoint.keys():
                intake, bare = by_endpoint["intake"].load, by_endpoint["bare"].load
                ratios.append(intake.rate / bare.rate)
                print(
                    f"intake/bare {kind:10} {server:11} round {number}: {ratios[-1]:.0%} "
                    f"({intake.rate:.0f}/s vs {bare.rate:.0f}/s; "
                    f"p95 {intake.ms(0.95):.1f} vs {bare.ms(0.95):.1f} ms)"
                )
        if len(ratios) > 1:
            median = statistics.median(ratios)
            print(f"intake/bare {kind:10} {server:11} median of {len(ratios)} rounds: {median:.0%}")


if __name__ == "__main__":
    sys.exit(main())
