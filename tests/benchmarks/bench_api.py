"""The storefront API under gunicorn (2 workers), next to a bare authenticated Flask endpoint.

Per database it starts, in a temp folder: (1) a *bare* Flask app defined here whose one view
checks a bearer key the way the API does (HMAC-SHA256 of the secret, one indexed look-up) and
answers one payment row as JSON; (2) the real app (``SANDBOX=1``, tables by ``flask db upgrade``,
a key made through the keys service), serving ``GET /api/v1/payments/{id}`` and ``POST
/api/v1/payments`` (an AlipayHK sale: the idempotency claim, the payment, the Worldpay simulator's
create call over HTTP to the same server, the answer kept). It prints requests per second and
client-side latency percentiles of each, and the ratio of the API's GET to the bare one.

The real app's simulator is served by the same workers that call it, so the server runs gthread
workers (a sync worker waiting on its own simulator would deadlock with every worker busy).

    .venv/bin/python tests/benchmarks/bench_api.py --database sqlite postgresql
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import create_engine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import DEFAULT_POSTGRES  # noqa: E402
from harness import BenchmarkError  # noqa: E402
from harness import Database  # noqa: E402
from harness import RawConnection  # noqa: E402
from harness import Server  # noqa: E402
from harness import app_environment  # noqa: E402
from harness import flask_command  # noqa: E402
from harness import free_port  # noqa: E402
from harness import machine_facts  # noqa: E402
from harness import percentile  # noqa: E402
from harness import print_facts  # noqa: E402
from harness import print_table  # noqa: E402
from harness import raw_post  # noqa: E402
from harness import remove_temp_folder  # noqa: E402

#: The API key secret both servers hash keys with.
KEY_SECRET = "bench-api-key-secret"
#: What the bare endpoint's key table and payment table hold.
BARE_METADATA = MetaData()
BARE_KEYS = Table(
    "bare_keys",
    BARE_METADATA,
    Column("id", Integer, primary_key=True),
    Column("secret_hash", String(64), unique=True),
)
BARE_PAYMENTS = Table(
    "bare_payments",
    BARE_METADATA,
    Column("id", Integer, primary_key=True),
    Column("amount_minor", Integer),
    Column("currency", String(3)),
    Column("status", String(16)),
)
#: Made in the real app by the same service the admin page calls; printed on stdout.
_MAKE_KEY = """
from dashboard import create_app
from dashboard.api.service import create_key
app = create_app()
with app.test_request_context():
    print(create_key("Benchmark", ["payments:write", "read"], None, actor_id=None).secret)
"""


# --- the bare endpoint (loaded by gunicorn as ``bench_api:bare_app()``) ----------------------------


def bare_app():
    """Return a Flask app whose one view checks a bearer key (HMAC look-up) and answers a payment row."""
    import hashlib
    import hmac

    from flask import Flask
    from flask import abort
    from flask import jsonify
    from flask import request
    from sqlalchemy import select

    from dashboard.db import configure_sqlite

    engine = create_engine(os.environ["BARE_DATABASE_URL"])
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)
    server_secret = KEY_SECRET.encode()
    app = Flask(__name__)

    @app.get("/bare/payments/<int:payment_id>")
    def payment(payment_id: int):
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        digest = hmac.new(server_secret, secret.encode(), hashlib.sha256).hexdigest()
        with engine.connect() as connection:
            if (
                scheme != "Bearer"
                or connection.scalar(select(BARE_KEYS.c.id).where(BARE_KEYS.c.secret_hash == digest)) is None
            ):
                abort(401)
            row = connection.execute(
                select(BARE_PAYMENTS).where(BARE_PAYMENTS.c.id == payment_id)
            ).one_or_none()
        if row is None:
            abort(404)
        return jsonify(id=row.id, amount=row.amount_minor, currency=row.currency, status=row.status)

    return app


# --- load -------------------------------------------------------------------------------------------


@dataclass
class Load:
    """What one run of requests measured."""

    label: str
    sent: int
    seconds: float
    latencies: list[float]
    errors: Counter

    @property
    def rate(self) -> float:
        """Return completed requests per second."""
        return self.sent / self.seconds

    def ms(self, fraction: float) -> float:
        """Return a latency percentile in milliseconds."""
        return percentile(self.latencies, fraction) * 1000


def get_request(port: int, path: str, secret: str) -> bytes:
    """Return the bytes of a keep-alive GET with the bearer key."""
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {secret}\r\n\r\n"
    return head.encode("latin-1")


def post_request(port: int, secret: str, amount: int) -> bytes:
    """Return the bytes of ``POST /api/v1/payments`` of an AlipayHK sale with its own Idempotency-Key."""
    body = json.dumps({"amount": amount, "currency": "HKD", "narrative": f"Order {amount}"}).encode()
    headers = {
        "Authorization": f"Bearer {secret}",
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    return raw_post(f"127.0.0.1:{port}", "/api/v1/payments", headers, body)


def drive(label: str, port: int, requests: list[bytes], concurrency: int, expected: int) -> Load:
    """Send every request once from ``concurrency`` threads over keep-alive connections."""
    index = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: Counter = Counter()
    start = threading.Barrier(concurrency + 1)

    def client(slot: int) -> None:
        connection = RawConnection(port)
        start.wait()
        while (number := next(index)) < len(requests):
            began = time.perf_counter()
            try:
                status, _body = connection.request(requests[number])
            except OSError as exc:
                errors[type(exc).__name__] += 1
                continue
            latencies[slot].append(time.perf_counter() - began)
            if status != expected:
                errors[f"HTTP {status}"] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Load(label, len(requests), time.perf_counter() - began, [v for t in latencies for v in t], errors)


# --- one database -------------------------------------------------------------------------------


def run_bare(options, kind: str, tmp: Path, port: int) -> Load:
    """Measure the bare authenticated endpoint on a fresh two-table database."""
    import hashlib
    import hmac

    database = Database.make(kind, tmp, options.pg_database, options.postgres)
    server = None
    secret = "bo_test_bare-benchmark-key"
    try:
        engine = create_engine(database.url)
        BARE_METADATA.create_all(engine)
        with engine.begin() as connection:
            digest = hmac.new(KEY_SECRET.encode(), secret.encode(), hashlib.sha256).hexdigest()
            connection.execute(BARE_KEYS.insert(), {"secret_hash": digest})
            connection.execute(
                BARE_PAYMENTS.insert(),
                {"id": 1, "amount_minor": 12345, "currency": "HKD", "status": "processing"},
            )
        engine.dispose()
        env = app_environment(tmp / "bare-instance", f"http://127.0.0.1:{port}", database.url, None)
        env["BARE_DATABASE_URL"] = database.url
        server = Server(
            "bench_api:bare_app()",
            env,
            tmp / f"gunicorn-bare-{kind}",
            port,
            "gthread",
            threads=options.threads,
            extra_paths=[HERE],
        ).start()
        request = get_request(port, "/bare/payments/1", secret)
        drive("warm-up", port, [request] * 200, options.concurrency, 200)
        return drive(
            f"bare GET ({server.label})", port, [request] * options.requests, options.concurrency, 200
        )
    finally:
        if server is not None:
            server.stop()
        database.drop()


def run_api(options, kind: str, tmp: Path, port: int) -> list[Load]:
    """Measure ``GET /api/v1/payments/{id}`` and ``POST /api/v1/payments`` of the real app."""
    database = Database.make(kind, tmp, options.pg_database, options.postgres)
    server = None
    try:
        env = app_environment(
            tmp / "instance",
            f"http://127.0.0.1:{port}",
            database.url,
            options.redis if kind == "postgresql" else None,
        )
        env.update(API_KEY_SECRET=KEY_SECRET, API_RATE_LIMIT="1000000 per minute")
        flask_command(env, tmp, "db", "upgrade")
        import subprocess

        made = subprocess.run(
            [sys.executable, "-c", _MAKE_KEY], env=env, cwd=tmp, capture_output=True, text=True, timeout=120
        )
        if made.returncode != 0:
            raise BenchmarkError(f"making the key failed:\n{made.stderr}")
        secret = made.stdout.strip().splitlines()[-1]
        server = Server(
            "dashboard:create_app()",
            env,
            tmp / f"gunicorn-api-{kind}",
            port,
            "gthread",
            threads=options.threads,
        ).start()
        warm = [post_request(port, secret, 10000 + n) for n in range(50)]
        drive("warm-up", port, warm, min(options.concurrency, 4), 201)
        get = get_request(port, "/api/v1/payments/1", secret)
        drive("warm-up", port, [get] * 200, options.concurrency, 200)
        reads = drive(
            f"API GET /payments/{{id}} ({server.label})",
            port,
            [get] * options.requests,
            options.concurrency,
            200,
        )
        posts = [post_request(port, secret, 20000 + n) for n in range(options.posts)]
        writes = drive(f"API POST /payments ({server.label})", port, posts, min(options.concurrency, 4), 201)
        return [reads, writes]
    finally:
        if server is not None:
            server.stop()
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    parser.add_argument("--requests", type=int, default=3000, help="GETs per endpoint")
    parser.add_argument("--posts", type=int, default=300, help="POST /api/v1/payments sent")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (POSTs use at most 4)")
    parser.add_argument("--threads", type=int, default=8, help="gthread threads per worker")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument(
        "--pg-database", default="bench_api", help="database made, used in turn by both servers, and dropped"
    )
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/8", help="jobs and rate limits (PostgreSQL runs)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (gunicorn logs)")
    options = parser.parse_args()

    print("storefront API benchmark (gunicorn, 2 workers; the client shares the machine's cores)")
    print_facts(machine_facts(options.database, options.postgres, options.redis))
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    rows = []
    try:
        for kind in options.database:
            bare = run_bare(options, kind, tmp, free_port())
            reads, writes = run_api(options, kind, tmp, free_port())
            for load in (bare, reads, writes):
                rows.append(
                    [
                        kind,
                        load.label,
                        load.sent,
                        f"{load.rate:.0f}",
                        f"{load.ms(0.5):.1f}",
                        f"{load.ms(0.95):.1f}",
                        f"{load.ms(0.99):.1f}",
                        dict(load.errors) or "-",
                    ]
                )
            rows.append([kind, "API GET / bare GET", "", f"{reads.rate / bare.rate:.0%}", "", "", "", ""])
    finally:
        remove_temp_folder(tmp, options.keep)
    print_table(["database", "endpoint", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows)


if __name__ == "__main__":
    main()
