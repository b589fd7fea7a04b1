"""The payments CSV export of 100,000 and 1,000,000 payments: time, rows/s, and the server's peak memory.

Run from the repository root (a plain script, not collected by pytest)::

    .venv/bin/python tests/benchmarks/bench_export.py --database sqlite postgresql

Per database and row count: a fresh temp instance and database (``flask db upgrade``), one viewer
account (``flask create-user``), N payments (and 1,000 agreements, whose customer refs the export
joins) written with SQLAlchemy Core bulk inserts, then the real app under gunicorn (one gthread
worker, so the serving process is known) and one signed-in download of ``GET /payments/export.csv``
read as it streams. It prints the rows in the file (must equal N), total seconds, rows/s, MB/s, time
to the first byte, the worker's CPU seconds, and its resident memory: before the export, at its
peak (the kernel's high-water mark, VmHWM) and the growth. The export reads keyset chunks and writes
each before reading the next, so the peak must not grow with N. Numbers only.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import DEFAULT_POSTGRES
from harness import BenchmarkError
from harness import Database
from harness import Server
from harness import app_environment
from harness import cpu_seconds
from harness import flask_command
from harness import free_port
from harness import machine_facts
from harness import print_facts
from harness import print_table
from harness import remove_temp_folder

VIEWER_EMAIL = "export-viewer@bench.example"
VIEWER_PASSWORD = "bench viewer password 2026"
AGREEMENTS = 1_000
BATCH = 10_000
#: A year of payments, newest last.
FIRST_PAYMENT = datetime(2026, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
#: (currency, share, typical amount in minor units): mostly Hong Kong dollars.
CURRENCIES = [("HKD", 0.9, 50_000), ("USD", 0.05, 8_000), ("JPY", 0.03, 9_000), ("KWD", 0.02, 20_000)]
STATUSES = ["succeeded"] * 6 + ["settled"] * 2 + ["failed", "processing", "pending", "cancelled"]
WALLETS = ["ALIPAY_HK"] * 6 + ["ALIPAY_CN", "GCASH", "KAKAOPAY"]
DESCRIPTIONS = ["兩杯奶茶", "Monthly plan", "Order 4711, two items", "=SUM(A1:A9)", "Top-up"]
_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
_VALUE = re.compile(r'value="([^"]*)"')


# --- data ------------------------------------------------------------------------------------------


def load_payments(database_url: str, rows: int, seed: int) -> float:
    """Insert AGREEMENTS agreements and ``rows`` payments with Core bulk inserts; return the seconds."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    from dashboard.agreements.models import Agreement
    from dashboard.payments.models import Payment

    rng = random.Random(seed)
    began = time.perf_counter()
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    agreements = Agreement.__table__
    payments = Payment.__table__
    with engine.begin() as connection:
        connection.execute(
            agreements.insert(),
            [
                {
                    "wallet": WALLETS[number % len(WALLETS)],
                    "customer_ref": f"CUST-{number:06d}",
                    "auth_state": f"bench-state-{number:06d}",
                    "auth_state_hash": f"{number:064d}",
                    "status": "active",
                    "version": 1,
                    "created_at": FIRST_PAYMENT,
                    "updated_at": FIRST_PAYMENT,
                }
                for number in range(AGREEMENTS)
            ],
        )
        agreement_ids = list(connection.scalars(text("SELECT id FROM agreements ORDER BY id")))
    step = YEAR / rows
    for start in range(0, rows, BATCH):
        batch = []
        for number in range(start, min(start + BATCH, rows)):
            currency = rng.choices(CURRENCIES, weights=[share for _, share, _ in CURRENCIES])[0]
            code, _, typical = currency
            antom = rng.random() < 0.7
            amount = max(1, int(rng.expovariate(1 / typical)))
            status = rng.choice(STATUSES)
            refunded = amount // rng.choice([1, 2, 4]) if status == "succeeded" and rng.random() < 0.05 else 0
            created = FIRST_PAYMENT + step * number
            batch.append(
                {
                    "provider": "antom" if antom else "worldpay",
                    "request_id": f"BENCH-{number:08d}",
                    "provider_payment_id": f"2026{number:016d}" if status != "pending" else None,
                    "agreement_id": rng.choice(agreement_ids) if antom else None,
                    "amount_minor": amount,
                    "currency": code,
                    "payment_method": rng.choice(WALLETS) if antom else "alipay_hk",
                    "status": status,
                    "refunded_minor": refunded,
                    "result_code": "SUCCESS" if status in ("succeeded", "settled") else "PROCESS_FAIL",
                    "result_message": "Success." if status in ("succeeded", "settled") else "Failed.",
                    "order_description": rng.choice(DESCRIPTIONS),
                    "paid_at": created + timedelta(seconds=3) if status in ("succeeded", "settled") else None,
                    "created_at": created,
                    "updated_at": now,
                    "version": 1,
                }
            )
        with engine.begin() as connection:
            connection.execute(payments.insert(), batch)
    if engine.dialect.name == "postgresql":
        # What autovacuum would have done by the time a real table held this many rows.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE payments"))
            connection.execute(text("VACUUM ANALYZE agreements"))
    engine.dispose()
    return time.perf_counter() - began


# --- the download ----------------------------------------------------------------------------------


def sign_in(base_url: str):
    """Return a requests.Session signed in as the viewer (CSRF token from the login form)."""
    import requests

    session = requests.Session()
    form = session.get(f"{base_url}/login", timeout=30)
    tag = _CSRF.search(form.text)
    token = _VALUE.search(tag.group(0)) if tag else None
    if form.status_code != 200 or token is None:
        raise BenchmarkError(f"GET /login gave {form.status_code} without a csrf_token field")
    answer = session.post(
        f"{base_url}/login",
        data={"csrf_token": token.group(1), "email": VIEWER_EMAIL, "password": VIEWER_PASSWORD, "next": ""},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code not in (302, 303):
        raise BenchmarkError(f"signing in as {VIEWER_EMAIL} gave HTTP {answer.status_code}, not a redirect")
    return session


def reset_peak(pid: int) -> None:
    """Reset the kernel's peak-RSS mark of ``pid`` (``5`` > clear_refs), so VmHWM is the export's own peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError as exc:
        raise BenchmarkError(f"cannot reset the peak RSS of the worker: {exc}") from None


def memory_kib(pid: int) -> dict[str, int]:
    """Return VmRSS and VmHWM (peak resident set) of process ``pid`` in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


@dataclass
class Result:
    """One line of the results table."""

    database: str
    rows: int
    lines: int
    load_seconds: float
    seconds: float
    first_byte: float
    megabytes: float
    cpu: float
    rss_before_kib: int
    peak_kib: int


def run_one(options, kind: str, rows: int, tmp: Path) -> Result:
    """Export ``rows`` payments from a fresh ``kind`` database; everything is stopped and dropped after."""
    port = free_port()
    database = Database.make(kind, tmp, "bench_export", options.postgres)
    instance = tmp / f"instance-{kind}-{rows}"
    env = app_environment(instance, f"http://127.0.0.1:{port}", database.url, None)
    server = None
    try:
        flask_command(env, tmp, "db", "upgrade")
        flask_command(
            env, tmp, "create-user", VIEWER_EMAIL, "--role", "viewer", "--password", VIEWER_PASSWORD
        )
        print(f"  loading {rows:,} payments into {kind}…", flush=True)
        load_seconds = load_payments(database.url, rows, options.seed)
        server = Server(
            "dashboard:create_app()",
            env,
            tmp / f"gunicorn-export-{kind}-{rows}",
            port,
            "gthread",
            workers=1,
            threads=4,
        ).start()
        (worker,) = server.worker_pids()
        session = sign_in(server.base_url)
        if session.get(f"{server.base_url}/payments/", timeout=60).status_code != 200:
            raise BenchmarkError("GET /payments/ did not answer 200")
        reset_peak(worker)
        before = memory_kib(worker)
        cpu_before = cpu_seconds([worker])
        print(f"  exporting {rows:,} payments from {kind}…", flush=True)
        began = time.perf_counter()
        first_byte = None
        size = lines = 0
        with session.get(f"{server.base_url}/payments/export.csv", stream=True, timeout=600) as response:
            if response.status_code != 200:
                raise BenchmarkError(f"the export answered HTTP {response.status_code}")
            for piece in response.iter_content(chunk_size=1 << 16):
                if first_byte is None:
                    first_byte = time.perf_counter() - began
                size += len(piece)
                lines += piece.count(b"\n")
        seconds = time.perf_counter() - began
        cpu = cpu_seconds([worker]) - cpu_before
        after = memory_kib(worker)
        if lines - 1 != rows:
            raise BenchmarkError(f"the file has {lines - 1:,} rows, not {rows:,}")
        return Result(
            kind,
            rows,
            lines - 1,
            load_seconds,
            seconds,
            first_byte or 0.0,
            size / 1e6,
            cpu,
            before["VmRSS"],
            after["VmHWM"],
        )
    finally:
        if server is not None:
            server.stop()
        database.drop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    parser.add_argument("--rows", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL, no database")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (gunicorn logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run every database and row count asked for and print the table."""
    options = parse_args(argv)
    print("payments CSV export benchmark (memory must stay flat in the row count)")
    print_facts(machine_facts(options.database, options.postgres, None))
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    results: list[Result] = []
    try:
        for kind in options.database:
            for rows in options.rows:
                results.append(run_one(options, kind, rows, tmp))
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        remove_temp_folder(tmp, options.keep)
    print()
    print_table(
        [
            "database",
            "rows",
            "load s",
            "export s",
            "rows/s",
            "MB",
            "MB/s",
            "first byte ms",
            "worker CPU s",
            "RSS before MiB",
            "peak RSS MiB",
            "growth MiB",
        ],
        [
            [
                result.database,
                f"{result.lines:,}",
                f"{result.load_seconds:.0f}",
                f"{result.seconds:.1f}",
                f"{result.lines / result.seconds:,.0f}",
                f"{result.megabytes:.0f}",
                f"{result.megabytes / result.seconds:.1f}",
                f"{result.first_byte * 1000:.0f}",
                f"{result.cpu:.1f}",
                f"{result.rss_before_kib / 1024:.0f}",
                f"{result.peak_kib / 1024:.0f}",
                f"{(result.peak_kib - result.rss_before_kib) / 1024:.0f}",
            ]
            for result in results
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
