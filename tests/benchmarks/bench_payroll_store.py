"""The upload's store step for ``bench_payroll.py``: read, check and store a payroll as a draft batch.

Cases to add to that script, one per database, each run in its own process on a database made
for it (a SQLite file in a temp folder; a PostgreSQL database ``bench_payroll_store`` on the local
server, or ``--postgres``'s through ``BENCH_POSTGRES``), removed when the process ends::

    .venv/bin/python tests/benchmarks/bench_payroll.py \\
        --case store-sqlite=bench_payroll_store:prepare_store_sqlite \\
        --case store-postgresql=bench_payroll_store:prepare_store_postgresql

Each timed run is one :func:`dashboard.ach.service.upload` of the whole file (every run a new
batch of the same file, let through with a duplicate reason), committed.

Measured on 29 Nov 2026 (2 shared cores, load 1.3-2.5; medians of 3; RSS is the process's peak):

=================  ==========  =============  ============  ================  ==========
file               bare csv    read+validate  store SQLite  store PostgreSQL  RSS peak
=================  ==========  =============  ============  ================  ==========
10,000 valid       0.008 s     0.097 s        0.249 s       0.207 s           128 MiB
100,000 valid      0.082 s     0.895 s        2.646 s       1.579 s           133 MiB
100,000 10 % bad   0.080 s     0.899 s        2.489 s       1.890 s           132 MiB
=================  ==========  =============  ============  ================  ==========

Memory is flat in the file size (+5 MiB from 10,000 to 100,000 rows; the Python heap's peak
stays under 6 MiB). PostgreSQL takes the items as one COPY (INSERTs of 1,000 rows took 3.3 s
for the 100,000 alone); on SQLite the INSERTs themselves cost about 1.1 s of the 2.5 s, the
reading and checking about 0.9 s.

Then, the same evening, the code before and after the store was made faster, run back to back
(100,000 rows, load 0.9-1.1; the machine is shared, so runs vary by about a tenth):

=================  ===================  ===================  ===================  ==========
file               read+validate        store SQLite         store PostgreSQL     RSS peak
                   before → after       before → after       before → after       after
=================  ===================  ===================  ===================  ==========
100,000 valid      0.986 → 0.777 s      2.523 → 1.964 s      1.845 → 1.617 s      148 MiB
100,000 10 % bad   1.021 → 0.943 s      2.792 → 2.203 s      2.036 → 1.664 s      148 MiB
=================  ===================  ===================  ===================  ==========

What paid: a draft's problem rows indexed alone (two partial indexes instead of one over every
row), a 16 MiB SQLite page cache while the items are written (the item indexes take account
numbers in random order; without it each run on the growing table was slower than the one
before), the error and warning flags bound as 0 or 1 rather than booleans, a clean row's item
built without looking for problems, and plain (not frozen) row records in the checker. The
larger cache is the +15 MiB of RSS on SQLite, the same for any file size. SQLite's INSERTs are
now about 0.9 s of the 2 s; the rest is reading and checking in Python.

Then a second round (before and after side by side on a busy machine, load 4-8; the figures are
in ``tests/benchmarks/README.md``): 0.73-0.80 of the time and CPU on SQLite, 0.81 of the uploading
process's CPU on PostgreSQL, the same RSS. What paid:

- a clean row is taken by a few tests of the usual shapes (``RowChecker._clean``), each enough for
  its cell's checks to find nothing; only a row that fails one goes through every check, which
  names its problems (reading and checking 100,000 valid rows: 0.85 → 0.72 s CPU);
- the item status CHECK written as one comparison per status: SQLite builds a lookup table for an
  IN list of more than two values each time a statement runs, and ``executemany`` runs it once a
  row (0.49 → 0.28 s CPU for 100,000 INSERTs without a secondary index, in sqlite3 alone);
- a row's cells picked from the CSV record in the checker's order (no dict a row), one generator
  that reads, numbers and checks the rows and one that builds and counts the items (two calls a
  row fewer each), the clean row built with positional arguments, the amount read by one ``int``
  (reading and checking 0.72 → 0.59 s, with the items built 0.82 → 0.65 s CPU).
"""

from __future__ import annotations

import atexit
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness import DEFAULT_POSTGRES
from harness import Database
from harness import remove_temp_folder

from dashboard import clock
from dashboard import create_app
from dashboard.ach.rules import first_value_date
from dashboard.extensions import db

#: Cheap password hashing: the one user is made at set-up, outside the timed runs.
_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


def _prepare(kind: str) -> Callable[[Path], int]:
    from dashboard.ach import service
    from dashboard.ach.models import AchBatch
    from dashboard.users import service as users

    tmp = Path(tempfile.mkdtemp(prefix="bench-payroll-store-"))
    database = Database.make(
        kind, tmp, "bench_payroll_store", os.environ.get("BENCH_POSTGRES", DEFAULT_POSTGRES)
    )

    def clean_up() -> None:
        db.engine.dispose()
        database.drop()
        remove_temp_folder(tmp, keep=False)

    app = create_app(
        {
            "DATABASE_URL": database.url,
            "INSTANCE_PATH": str(tmp / "instance"),
            "SECRET_KEY": "bench-payroll-secret-key-not-for-production",
            "JOBS_BACKEND": "memory",
            "ARGON2_PARAMETERS": _ARGON2,
        }
    )
    context = app.test_request_context()
    context.push()
    atexit.register(clean_up)
    db.create_all()
    finance = users.create_user(
        "finance@bench.example", "Bench", "finance", "bench password 1", must_change_password=False
    )
    db.session.commit()
    finance_id, value_date = finance.id, first_value_date(clock.now())

    def store(path: Path) -> int:
        with path.open("rb") as stream:
            uploaded = service.upload(
                stream,
                path.name,
                value_date=value_date,
                debtor_account="012345678901",
                uploader_id=finance_id,
                duplicate_reason="benchmark run",
            )
        if uploaded.batch_id is None:
            raise RuntimeError(f"the file was refused: {uploaded.refused}")
        return db.session.get(AchBatch, uploaded.batch_id).item_count

    return store


def prepare_store_sqlite() -> Callable[[Path], int]:
    """Return the store step on a SQLite file."""
    return _prepare("sqlite")


def prepare_store_postgresql() -> Callable[[Path], int]:
    """Return the store step on PostgreSQL."""
    return _prepare("postgresql")
