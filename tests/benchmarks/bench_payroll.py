"""Reading and checking payroll CSVs of 10,000 and 100,000 rows next to a bare ``csv.reader`` read.

Run from the repository root (a plain script, not collected by pytest)::

    .venv/bin/python tests/benchmarks/bench_payroll.py
    .venv/bin/python tests/benchmarks/bench_payroll.py --rows 100000 --case store=my_module:prepare_store

It writes four files to a temp folder: a valid payroll and one with 10 % bad rows (unknown bank
codes, 3-decimal and ambiguous amounts, missing names, short HSBC accounts, duplicates), each of
10,000 and 100,000 rows. Each case is a *factory*, ``module:function``, that takes no argument,
does its set-up (imports, an app, a database) and returns the function measured, which takes
the file's path and returns the number of payee rows it handled. Every (case, file) pair runs in
its own fresh process: ``--repeat`` timed runs (the median is shown), then one more under
``tracemalloc`` for the Python heap's peak. The process's resident memory is read after the
set-up and at its high-water mark (VmHWM) after the timed runs. Numbers only; nothing is
asserted. The built-in cases: ``csv`` (``csv.reader`` counting rows) and ``read+validate``
(``dashboard.ach.payroll_file.read_payroll`` iterated to the end, the app's default limits).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import REPO
from harness import BenchmarkError
from harness import machine_facts
from harness import percentile
from harness import print_facts
from harness import print_table
from harness import remove_temp_folder

#: Name → factory (``module:function``); ``--case`` adds more, e.g. the service's store step.
CASES = {
    "csv": "bench_payroll:prepare_bare_csv",
    "read+validate": "bench_payroll:prepare_read_and_validate",
}
MAX_DECODED_BYTES = 20 * 1024 * 1024
MAX_ITEM_MINOR = 999_999_999
COLUMNS = [
    "employee_id",
    "payee_name",
    "payee_name_zh",
    "bank_code",
    "branch_code",
    "account_number",
    "amount",
    "currency",
    "reference",
    "email",
]
_BANKS = ["004", "024", "012", "003", "015", "016", "250", "382", "387", "389", "390", "072"]
_NAMES = ["CHAN TAI MAN", "WONG SIU MING", "LEE KA YAN", "CHEUNG WING SZE", "LAU CHI KEUNG", "HO MEI LING"]
_ZH = ["陳大文", "黃小明", "李嘉欣", "張詠詩", "", "", ""]


# --- cases ---------------------------------------------------------------------------------------


def prepare_bare_csv() -> Callable[[Path], int]:
    """Return a read of the file with ``csv.reader`` alone: the floor any reader pays."""

    def bare_csv(path: Path) -> int:
        with path.open(encoding="utf-8-sig", newline="") as text:
            return sum(1 for _ in csv.reader(text)) - 1

    return bare_csv


def prepare_read_and_validate() -> Callable[[Path], int]:
    """Return the upload's reading: encoding, size, dialect, header and every row checked."""
    from dashboard.ach.payroll_file import read_payroll

    def read_and_validate(path: Path) -> int:
        with path.open("rb") as stream:
            reader = read_payroll(stream, max_decoded_bytes=MAX_DECODED_BYTES, max_item_minor=MAX_ITEM_MINOR)
            rows = sum(1 for _ in reader)
        return rows

    return read_and_validate


# --- files ---------------------------------------------------------------------------------------


def write_payroll(path: Path, rows: int, bad_share: float, seed: int = 14) -> None:
    """Write a payroll of ``rows`` payees, ``bad_share`` of them with one mistake each."""
    rng = random.Random(seed)
    mistakes = [
        ("bank_code", "999"),
        ("amount", "1234.567"),
        ("amount", "1,234"),
        ("payee_name", ""),
        ("account_number", "4567890"),
    ]
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        previous: list[str] | None = None
        for number in range(1, rows + 1):
            code = rng.choice(_BANKS)
            cells = {
                "employee_id": f"EMP{number:06d}",
                "payee_name": rng.choice(_NAMES),
                "payee_name_zh": rng.choice(_ZH),
                "bank_code": code,
                "branch_code": f"{rng.randrange(1, 1000):03d}",
                "account_number": f"{rng.randrange(10**8, 10**9)}"
                if code in ("004", "024", "016")
                else f"{rng.randrange(10**9, 10**10)}",
                "amount": f"{rng.randrange(12_000, 95_000)}.{rng.choice(('00', '50'))}",
                "currency": "HKD",
                "reference": f"EMP{number:06d} NOV26",
                "email": f"e{number}@example.com",
            }
            line = [cells[column] for column in COLUMNS]
            if rng.random() < bad_share:
                if previous is not None and rng.random() < 1 / 6:
                    line = [f"EMP{number:06d}", *previous[1:]]
                else:
                    column, value = rng.choice(mistakes)
                    line[COLUMNS.index(column)] = value
            writer.writerow(line)
            previous = line


# --- measuring (once, for every case) ------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise BenchmarkError(f"/proc/self/status has no {field}")


def child(factory: str, path: Path, repeat: int) -> dict:
    """Measure ``factory``'s function on ``path`` in this process; return the numbers."""
    module, name = factory.split(":")
    function = getattr(importlib.import_module(module), name)()
    rss_before = _status_kib("VmRSS")
    seconds = []
    rows = 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = function(path)
        seconds.append(time.perf_counter() - start)
    rss_peak = _status_kib("VmHWM")
    tracemalloc.start()
    function(path)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "rows": rows,
        "seconds": statistics.median(seconds),
        "p95": percentile(seconds, 0.95),
        "traced_peak": traced_peak,
        "rss_before": rss_before,
        "rss_peak": rss_peak,
    }


def measure(factory: str, path: Path, repeat: int) -> dict:
    """Run :func:`child` in a fresh process (so memory marks belong to this case alone)."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", factory, str(path), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise BenchmarkError(f"case {factory} on {path.name} failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs per case and file (median and p95 shown)"
    )
    parser.add_argument("--case", action="append", default=[], help="NAME=module:factory, one more case")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder with the files")
    parser.add_argument("--child", nargs=2, metavar=("FACTORY", "PATH"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(options.child[0], Path(options.child[1]), options.repeat)))
        return
    if max(options.rows) > 1_000_000:
        raise BenchmarkError("at most 1,000,000 rows on these shared machines")
    cases = dict(CASES)
    for extra in options.case:
        name, _, factory = extra.partition("=")
        cases[name] = factory
    print("bench_payroll: reading and checking payroll CSVs")
    print_facts(machine_facts([], "", None))
    tmp = Path(tempfile.mkdtemp(prefix="bench-payroll-"))
    try:
        files = []
        for rows in options.rows:
            for label, share in (("valid", 0.0), ("10% bad", 0.1)):
                path = tmp / f"payroll-{rows}-{int(share * 100)}.csv"
                write_payroll(path, rows, share)
                files.append((f"{rows:,} {label}", path))
        table = []
        for label, path in files:
            size = path.stat().st_size / (1 << 20)
            for name, factory in cases.items():
                numbers = measure(factory, path, options.repeat)
                table.append(
                    [
                        label,
                        f"{size:.1f}",
                        name,
                        f"{numbers['rows']:,}",
                        f"{numbers['seconds']:.3f}",
                        f"{numbers['p95']:.3f}",
                        f"{numbers['rows'] / numbers['seconds']:,.0f}",
                        f"{numbers['traced_peak'] / (1 << 20):.2f}",
                        f"{numbers['rss_before'] / 1024:.0f} → {numbers['rss_peak'] / 1024:.0f}"
                        f" (+{(numbers['rss_peak'] - numbers['rss_before']) / 1024:.0f})",
                    ]
                )
        print()
        print_table(
            [
                "file",
                "MiB",
                "case",
                "rows",
                "median s",
                "p95 s",
                "rows/s",
                "traced peak MiB",
                "RSS MiB before → peak",
            ],
            table,
        )
    finally:
        remove_temp_folder(tmp, options.keep)


if __name__ == "__main__":
    main()
