"""Instructions a page costs the server, counted by valgrind, here and at another commit.

Run from the repository root, on a database made by ``million.py``::

    .venv/bin/python tests/benchmarks/bench_instructions.py --compare HEAD~2
    .venv/bin/python tests/benchmarks/bench_instructions.py --database postgresql --requests 10

A time moves with whatever else the machine runs; an instruction count does not. Per version, one
process runs under ``valgrind --tool=callgrind`` (about 50 times slower than without): it builds the
app as ``bench_lists.py`` does, signs in, asks each page 20 times untimed, then counts only the
``--requests`` requests of each page (the count is switched on and off around them by valgrind's
client requests, from a small C helper compiled here with gcc). It prints instructions per request,
and with ``--compare REV`` the same pages at ``REV`` (a git worktree of it in a temp folder, its
``dashboard`` first on the path) and the ratio. The versions run one after the other: a sign-in
rotates the account's session token, so two at once would sign each other out. With ``--minimal``
it also counts ``bench_lists.py``'s minimal keyset page of each list page asked (same filters) and
prints ours/minimal: the issue's "2× the minimal page", in a measure no other work moves.

Instructions are not time (a cache miss costs more than an add), and the database server's own work
is not counted (on PostgreSQL only the app's side of a round trip is). Needs valgrind, its
``callgrind.h`` and gcc (all on this project's machines). Numbers only.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lists import DEFAULT_DATABASE
from bench_lists import DEFAULT_SQLITE
from harness import DEFAULT_POSTGRES
from harness import REPO
from harness import BenchmarkError
from harness import print_table

DEFAULT_PAGES = ("/payments/", "/notifications/", "/agreements/")
#: Untimed requests of each page before the counted ones (caches, first-use imports).
WARMUP = 20
HELPER_SOURCE = """
#include <valgrind/callgrind.h>
void count_on(void) { CALLGRIND_ZERO_STATS; CALLGRIND_TOGGLE_COLLECT; }
void count_off(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS_AT("counted"); }
"""
_TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


def build_helper(folder: Path) -> Path:
    """Compile the helper that switches valgrind's count on and off; return the library."""
    source, library = folder / "count.c", folder / "libcount.so"
    source.write_text(HELPER_SOURCE)
    try:
        subprocess.run(
            ["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as failed:
        raise BenchmarkError(
            f"could not build the count helper (gcc, valgrind/callgrind.h): {failed}"
        ) from None
    return library


def counted_run(options: argparse.Namespace) -> None:
    """In the process valgrind runs: sign in, warm each page, then count its requests."""
    from bench_lists import sign_in
    from million import STAFF
    from million import app_settings
    from million import instance_folder

    import dashboard
    from dashboard import create_app

    if not Path(dashboard.__file__).resolve().is_relative_to(Path(options.source).resolve()):
        raise BenchmarkError(f"the app was imported from {dashboard.__file__}, not from {options.source}")
    app = create_app(app_settings(options.url, instance_folder(options.url)))
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = options.language
    [(email, password)] = [(email, password) for role, email, password in STAFF if role == options.role]
    sign_in(client, email, password)
    warm_and_count(client, options, f"as {options.role}")


def counted_minimal_run(options: argparse.Namespace) -> None:
    """In the process valgrind runs: warm each minimal page, then count its requests."""
    from bench_lists import reference_app

    app, _engine = reference_app(options.url, {spec.name: spec for spec in specs_of(options.url)})
    warm_and_count(app.test_client(), options, "of the minimal app")


def warm_and_count(client, options: argparse.Namespace, who: str) -> None:
    """Ask each of ``options.pages`` uncounted, then count ``options.requests`` of each; all must be 200."""
    for page in options.pages:
        for _ in range(WARMUP):
            answer = client.get(page)
            if answer.status_code != 200:
                raise BenchmarkError(f"GET {page} {who} answered {answer.status_code}")
    gc.collect()
    gc.freeze()  # as a web worker does after building the app (dashboard.create_app)
    helper = ctypes.CDLL(options.helper)
    for page in options.pages:
        helper.count_on()
        statuses = [client.get(page).status_code for _ in range(options.requests)]
        helper.count_off()
        if set(statuses) != {200}:
            raise BenchmarkError(f"GET {page} {who} answered {sorted(set(statuses))} while counted")


def specs_of(url: str) -> list:
    """Return ``bench_lists.py``'s lists and their cases on the database at ``url``."""
    from bench_lists import list_specs
    from bench_lists import read_samples
    from sqlalchemy import create_engine

    probe = create_engine(url)
    with probe.connect() as reading:
        samples = read_samples(reading)
    probe.dispose()
    return list_specs(samples)


def minimal_pages(options: argparse.Namespace) -> dict[str, str]:
    """Return the minimal keyset page of each asked page that is a list, by the asked page."""
    names = {spec.path: spec.name for spec in specs_of(options.url)}
    minimal = {}
    for page in options.pages:
        path, _, query = page.partition("?")
        if path in names:
            minimal[page] = f"/minimal/{names[path]}" + (f"?{query}" if query else "")
    return minimal


def count(
    index: int,
    version: str,
    source: Path,
    options: argparse.Namespace,
    helper: Path,
    folder: Path,
    pages: Sequence[str] | None = None,
) -> list[float]:
    """Run the pages of ``source`` (or, given ``pages``, those minimal pages) under callgrind; return
    millions of instructions per request."""
    out = folder / f"callgrind-{index}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--counted-minimal" if pages is not None else "--counted-run",
        "--url",
        options.url,
        "--helper",
        str(helper),
        "--source",
        str(source),
        "--role",
        options.role,
        "--language",
        options.language,
        "--requests",
        str(options.requests),
        "--pages",
        *(options.pages if pages is None else pages),
    ]
    env = {**os.environ, "PYTHONPATH": str(source), "PYTHONHASHSEED": "0"}
    print(f"  counting {version} ({source})…", flush=True)
    # The app (dashboard) is the source's, its folder first on the path; this script and the helpers
    # it signs in with (million, bench_lists) are this checkout's. Run from a folder of neither, so
    # neither reads a .env the other does not (create_app reads one from the working folder).
    run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    dumps = sorted(folder.glob(f"{out.name}.*"), key=lambda path: int(path.suffix[1:]))
    if run.returncode != 0 or len(dumps) != len(options.pages if pages is None else pages):
        raise BenchmarkError(f"the counted run of {version} failed:\n{run.stderr[-3000:]}")
    totals = [int(_TOTAL.search(dump.read_text()).group(1)) for dump in dumps]
    return [total / options.requests / 1e6 for total in totals]


def worktree(revision: str, folder: Path) -> Path:
    """Check ``revision`` out into a worktree under ``folder``; return its path."""
    path = folder / "compared"
    added = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(path), revision],
        capture_output=True,
        text=True,
    )
    if added.returncode != 0:
        raise BenchmarkError(f"no worktree of {revision}: {added.stderr.strip()}")
    return path


def remove_worktree(path: Path) -> None:
    """Remove the worktree :func:`worktree` made."""
    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)], check=False)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sqlite-path", default=DEFAULT_SQLITE)
    parser.add_argument("--postgres-url", default=f"{DEFAULT_POSTGRES}/{DEFAULT_DATABASE}")
    parser.add_argument("--pages", nargs="+", default=list(DEFAULT_PAGES), help="paths asked, signed in")
    parser.add_argument("--role", default="support", help="the role of the staff account signed in")
    parser.add_argument("--language", default="en", help="the Accept-Language the pages are asked in")
    parser.add_argument("--requests", type=int, default=20, help="counted requests of each page")
    parser.add_argument("--compare", metavar="REV", help="count the same pages at this commit too")
    parser.add_argument(
        "--minimal", action="store_true", help="count each list page's minimal keyset page too"
    )
    parser.add_argument("--counted-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--counted-minimal", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.requests < 1:
        parser.error("--requests must be at least 1")
    if not options.url:
        options.url = (
            f"sqlite:///{options.sqlite_path}" if options.database == "sqlite" else options.postgres_url
        )
    return options


def main(argv: Sequence[str] | None = None) -> int:
    """Count each version's instructions per request and print them side by side."""
    options = parse_args(argv)
    if options.counted_run:
        counted_run(options)
        return 0
    if options.counted_minimal:
        counted_minimal_run(options)
        return 0
    print(f"instructions per request, in millions ({options.url}; {options.requests} requests a page)")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-instructions-") as temp:
            folder = Path(temp)
            helper = build_helper(folder)
            versions = {"this checkout": REPO}
            if options.compare:
                versions[options.compare] = worktree(options.compare, folder)
            try:
                counts = {
                    name: count(index, name, source, options, helper, folder)
                    for index, (name, source) in enumerate(versions.items())
                }
            finally:
                if options.compare:
                    remove_worktree(versions[options.compare])
            minimal = minimal_pages(options) if options.minimal else {}
            minimal_counts = {}
            if minimal:
                counted = count(
                    len(versions), "minimal", REPO, options, helper, folder, list(minimal.values())
                )
                minimal_counts = dict(zip(minimal, counted, strict=True))
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    names = list(counts)
    headers = [
        "page",
        *names,
        *(["this / compared"] if options.compare else []),
        *(["minimal", "this / minimal"] if options.minimal else []),
    ]
    rows = []
    for index, page in enumerate(options.pages):
        row = [page, *(f"{counts[name][index]:.2f}" for name in names)]
        if options.compare:
            row.append(f"{counts[names[0]][index] / counts[names[1]][index]:.2f}")
        if options.minimal:
            least = minimal_counts.get(page)
            row += [f"{least:.2f}", f"{counts[names[0]][index] / least:.2f}"] if least else ["—", "—"]
        rows.append(row)
    print_table(headers, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
