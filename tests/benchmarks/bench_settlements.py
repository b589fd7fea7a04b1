"""Importing and reconciling an Antom settlement batch of 10,000 and 100,000 rows against as many payments.

Run from the repository root (a plain script, not collected by pytest)::

    .venv/bin/python tests/benchmarks/bench_settlements.py --database sqlite postgresql

Per database and row count, in a fresh process: a fresh database (the models' tables), N Antom
payments paid on one day written with SQLAlchemy Core bulk inserts, and the day's settlement
details file of N rows (one per payment, 1 % off by one cent, 1 % of ours left out) and its
summary written to a temp folder. Then, timed, the app's own import (``settlements.service.
import_report``): the details file (read, checked, stored) and the summary file, whose import
reconciles the batch (every row looked up among the payments, the day's payments looked for in
the batch, the totals checked). The process's resident memory is read after the set-up, its peak
mark reset (``/proc/self/clear_refs``), and its high-water mark (VmHWM) read after the import; the
same growth for 10,000 and 100,000 rows means the import and the reconciliation are streamed.
Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import DEFAULT_POSTGRES
from harness import REPO
from harness import BenchmarkError
from harness import Database
from harness import machine_facts
from harness import print_facts
from harness import print_table
from harness import remove_temp_folder

DAY = date(2026, 1, 5)
#: 10:00 in Hong Kong on DAY.
PAID_AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
INSERT_BATCH = 10_000
BATCH_REFERENCE = "20260105HKDBENCH0001"


def _memory_kib() -> dict[str, int]:
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def load_payments(engine, rows: int) -> None:
    """Insert ``rows`` succeeded Antom HKD payments paid on DAY."""
    from dashboard.payments.models import Payment

    table = Payment.__table__
    for start in range(0, rows, INSERT_BATCH):
        with engine.begin() as connection:
            connection.execute(
                table.insert(),
                [
                    {
                        "provider": "antom",
                        "request_id": f"BENCH-{number:08d}",
                        "provider_payment_id": f"2026010519401080010018{number:016d}",
                        "amount_minor": 1000 + number % 90_000,
                        "currency": "HKD",
                        "payment_method": "ALIPAY_HK",
                        "status": "succeeded",
                        "refunded_minor": 0,
                        "paid_at": PAID_AT + timedelta(milliseconds=number),
                        "created_at": PAID_AT + timedelta(milliseconds=number),
                        "updated_at": PAID_AT,
                        "version": 1,
                    }
                    for number in range(start, min(start + INSERT_BATCH, rows))
                ],
            )


def write_files(folder: Path, rows: int) -> tuple[Path, Path]:
    """Write the day's settlement details (streamed to disk) and its summary; return their paths."""
    from dashboard.providers.antom.settlement_reports import DETAIL_COLUMNS
    from dashboard.providers.antom.settlement_reports import SUMMARY_COLUMNS
    from dashboard.providers.antom.settlement_reports import details_name
    from dashboard.providers.antom.settlement_reports import major
    from dashboard.providers.antom.settlement_reports import summary_name

    details = folder / details_name("HKD", BATCH_REFERENCE)
    count = net_total = fee_total = 0
    with details.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(DETAIL_COLUMNS) + "\n")
        for number in range(rows):
            if number % 100 == 50:
                continue  # one of ours in a hundred left out
            amount = 1000 + number % 90_000 + (1 if number % 100 == 7 else 0)
            fee = (amount * 120 + 5000) // 10000
            values = {
                "settlementBatchId": BATCH_REFERENCE,
                "transactionType": "PAYMENT",
                "transactionId": f"2026010519401080010018{number:016d}",
                "transactionRequestId": f"BENCH-{number:08d}",
                "transactionCreationTime": "2026-01-05T10:00:00+08:00",
                "transactionCompletionTime": "2026-01-05T10:00:01+08:00",
                "transactionAmountValue": major(amount, "HKD"),
                "transactionCurrency": "HKD",
                "settlementAmountValue": major(amount - fee, "HKD"),
                "settlementCurrency": "HKD",
                "feeAmountValue": major(fee, "HKD"),
                "feeCurrency": "HKD",
                "settlementInitiatedDate": DAY.isoformat(),
            }
            out.write(",".join(values.get(column, "") for column in DETAIL_COLUMNS) + "\n")
            count, net_total, fee_total = count + 1, net_total + amount - fee, fee_total + fee
        out.write("<END>\n")
    summary = folder / summary_name("HKD", BATCH_REFERENCE)
    total = {
        "settlementBatchId": BATCH_REFERENCE,
        "summaryType": "TOTAL",
        "count": str(count),
        "settlementAmountValue": major(net_total, "HKD"),
        "settlementCurrency": "HKD",
        "feeAmountValue": major(fee_total, "HKD"),
        "settlementInitiatedDate": DAY.isoformat(),
    }
    summary.write_text(
        ",".join(SUMMARY_COLUMNS) + "\n" + ",".join(total.get(c, "") for c in SUMMARY_COLUMNS) + "\n<END>\n"
    )
    return details, summary


def run_one(kind: str, rows: int, postgres: str, name: str) -> dict:
    """Set up, then time the two imports; return the numbers (runs in its own process)."""
    from dashboard import create_app
    from dashboard.extensions import db
    from dashboard.settlements import service
    from dashboard.settlements.models import SettlementBatch
    from dashboard.settlements.models import SettlementResult

    tmp = Path(tempfile.mkdtemp(prefix="bench-settle-"))
    database = Database.make(kind, tmp, name, postgres)
    try:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "benchmark-secret-key-of-at-least-32-characters",
                "INSTANCE_PATH": str(tmp / "instance"),
                "DATABASE_URL": database.url,
                "DATA_ENCRYPTION_KEYS": "hTJ2pWmZEu0pO8YzGTnAWTDc8m3Hc4Ih3sHkkL5ZqWc=",
                "JOBS_BACKEND": "memory",
                "RATELIMIT_ENABLED": False,
                "WORLDPAY_WEBHOOK_SECRETS": "1:bench",
            }
        )
        with app.app_context():
            db.create_all()
            began = time.perf_counter()
            load_payments(db.engine, rows)
            if kind == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.exec_driver_sql("VACUUM ANALYZE payments")
            load_seconds = time.perf_counter() - began
            details, summary = write_files(tmp, rows)
            size_mb = details.stat().st_size / 1e6
        with app.test_request_context():
            before = _memory_kib()
            Path("/proc/self/clear_refs").write_text("5")
            began = time.perf_counter()
            with details.open("rb") as stream:
                stored = service.import_report("antom", stream, details.name, source="upload")
            import_seconds = time.perf_counter() - began
            began = time.perf_counter()
            with summary.open("rb") as stream:
                service.import_report("antom", stream, summary.name, source="upload")
            reconcile_seconds = time.perf_counter() - began
            after = _memory_kib()
            assert stored.refused is None, stored.refused
            batch = db.session.get(SettlementBatch, stored.batch_id)
            results = db.session.execute(
                db.select(SettlementResult.outcome, db.func.count())
                .where(SettlementResult.batch_id == batch.id)
                .group_by(SettlementResult.outcome)
            ).all()
            db.session.remove()
        with app.app_context():
            db.engine.dispose()
        return {
            "kind": kind,
            "rows": rows,
            "file_mb": round(size_mb, 1),
            "load_s": round(load_seconds, 1),
            "import_s": round(import_seconds, 2),
            "reconcile_s": round(reconcile_seconds, 2),
            "rss_before_mib": round(before["VmRSS"] / 1024),
            "peak_mib": round(after["VmHWM"] / 1024),
            "state": batch.state,
            "outcomes": dict(sorted((outcome, count) for outcome, count in results)),
        }
    finally:
        database.drop()
        remove_temp_folder(tmp, keep=False)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite"])
    parser.add_argument("--rows", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL (no database)")
    parser.add_argument("--name", default="bench_settlements", help="the database made and dropped")
    parser.add_argument("--one", nargs=2, metavar=("DATABASE", "ROWS"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if options.one:
        print(json.dumps(run_one(options.one[0], int(options.one[1]), options.postgres, options.name)))
        return 0
    print_facts(machine_facts(options.database, options.postgres, None))
    print(flush=True)
    found = []
    for kind in options.database:
        for rows in options.rows:
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    kind,
                    str(rows),
                    "--postgres",
                    options.postgres,
                    "--name",
                    options.name,
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
            )
            if child.returncode:
                raise BenchmarkError(f"{kind} {rows}: {child.stderr.strip()[-2000:]}")
            found.append(json.loads(child.stdout.strip().splitlines()[-1]))
            print(f"  {kind} {rows:,}: done", flush=True)
    print_table(
        ("database", "rows", "file MB", "details import s", "summary + reconcile s", "RSS before → peak MiB",
         "outcomes"),
        [
            (r["kind"], f"{r['rows']:,}", r["file_mb"], r["import_s"], r["reconcile_s"],
             f"{r['rss_before_mib']} → {r['peak_mib']} (+{r['peak_mib'] - r['rss_before_mib']})",
             ", ".join(f"{k} {v:,}" for k, v in r["outcomes"].items()))
            for r in found
        ],
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
