"""Shared pieces of the benchmark scripts: databases, a gunicorn server, a raw HTTP client, numbers.

Nothing here runs at import; the scripts (``bench_intake.py``, ``bench_live_updates.py``) import
it from their own folder. Every process and database made here is removed in the caller's
``finally`` (``Server.stop``, ``Database.drop``).
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import urlsplit

from dashboard.config import SETTINGS

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/8"
#: Settings the app reads from the environment; a stray one in the caller's shell must not leak in.
APP_SETTING_NAMES = ("INSTANCE_PATH", *(setting.name for setting in SETTINGS))


class BenchmarkError(RuntimeError):
    """The benchmark cannot run or its result is not trustworthy; the message says why."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- databases ---------------------------------------------------------------------------------


@dataclass
class Database:
    """A database made for one run: a SQLite file in the temp folder or a PostgreSQL database."""

    kind: str
    url: str

    @classmethod
    def make(cls, kind: str, tmp: Path, name: str, postgres: str = DEFAULT_POSTGRES) -> Database:
        """Return a fresh, empty database called ``name`` (dropped first if it exists)."""
        if kind == "sqlite":
            path = tmp / f"{name}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return cls(kind, f"sqlite:///{path}")
        database = cls(kind, f"{postgres.rstrip('/')}/{name}")
        database._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        return database

    @property
    def name(self) -> str:
        """Return the database's name (PostgreSQL) or file path (SQLite)."""
        return urlsplit(self.url).path.lstrip("/")

    def _admin(self, *statements: str) -> None:
        import psycopg

        parts = urlsplit(self.url.replace("postgresql+psycopg://", "postgresql://"))
        admin = parts._replace(path="/postgres").geturl()
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
                for statement in statements:
                    connection.execute(statement)
        except psycopg.OperationalError as exc:
            raise BenchmarkError(
                f"PostgreSQL at {parts.hostname}:{parts.port} is not usable: {exc}"
            ) from None

    def drop(self) -> None:
        """Remove the database (PostgreSQL) or its files (SQLite); quiet when already gone."""
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.name}{suffix}").unlink(missing_ok=True)
            return
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# --- the app and gunicorn ----------------------------------------------------------------------


def app_environment(instance: Path, base_url: str, database_url: str, redis_url: str | None) -> dict:
    """Return the environment of an app process: sandbox on, this instance, database and jobs."""
    env = {key: value for key, value in os.environ.items() if key not in APP_SETTING_NAMES}
    env.update(
        SANDBOX="1",
        INSTANCE_PATH=str(instance),
        PUBLIC_BASE_URL=base_url,
        DATABASE_URL=database_url,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def flask_command(env: Mapping[str, str], cwd: Path, *args: str) -> str:
    """Run ``flask --app dashboard <args>`` in ``cwd`` (no ``.env`` there); return its output."""
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "dashboard", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise BenchmarkError(f"flask {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


_READY_HOOK = """
import pathlib


def post_worker_init(worker):
    pathlib.Path({folder!r}, f"ready-{{worker.pid}}").touch()
"""


@dataclass
class Server:
    """A gunicorn master with ``workers`` processes serving ``app`` on a loopback port."""

    app: str
    env: Mapping[str, str]
    folder: Path
    port: int
    worker_class: str = "sync"
    workers: int = 2
    threads: int = 8
    extra_paths: Sequence[Path] = ()
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        """Return e.g. ``gthread 2x8`` or ``sync 2``."""
        if self.worker_class == "gthread":
            return f"gthread {self.workers}x{self.threads}"
        return f"{self.worker_class} {self.workers}"

    def start(self, timeout: float = 60.0) -> Server:
        """Start gunicorn and return once every worker has loaded the app."""
        gunicorn = BIN / "gunicorn"
        if not gunicorn.exists():
            raise BenchmarkError(f"{gunicorn} is missing: pip install gunicorn into this venv")
        self.folder.mkdir(parents=True, exist_ok=True)
        for marker in self.folder.glob("ready-*"):
            marker.unlink()
        hook = self.folder / "gunicorn_hooks.py"
        hook.write_text(_READY_HOOK.format(folder=str(self.folder)))
        command = [
            str(gunicorn),
            "--config",
            str(hook),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "--error-logfile",
            str(self.folder / "gunicorn.log"),
            "--pythonpath",
            ",".join(str(path) for path in (REPO, *self.extra_paths)),
        ]
        if self.worker_class == "gthread":
            command += ["--threads", str(self.threads)]
        command.append(self.app)
        # Its own session: stop() can take down the master and its workers as one group.
        self.process = subprocess.Popen(command, env=dict(self.env), cwd=self.folder, start_new_session=True)
        deadline = time.monotonic() + timeout
        while len(list(self.folder.glob("ready-*"))) < self.workers:
            if self.process.poll() is not None:
                raise BenchmarkError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise BenchmarkError(f"gunicorn workers did not start in {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.05)
        return self

    def worker_pids(self) -> list[int]:
        """Return the pids of the workers that reported ready."""
        return sorted(int(marker.name.split("-", 1)[1]) for marker in self.folder.glob("ready-*"))

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of gunicorn's error log."""
        path = self.folder / "gunicorn.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else "(no log)"

    def stop(self) -> None:
        """Stop gunicorn (TERM, then KILL of its process group after 15 s); safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def cpu_seconds(pids: Iterable[int]) -> float:
    """Return the user + system CPU seconds the processes ``pids`` have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def rss_mib(pid: int) -> float:
    """Return the resident memory of process ``pid`` in MiB (0 when it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- a raw HTTP/1.1 client (cheap: the load generator shares the two cores) ---------------------


class RawConnection:
    """One keep-alive connection that sends pre-built request bytes and reads the status and body."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.connects = 0

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1
        return sock

    def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send ``raw`` (a whole HTTP/1.1 request) and return (status, body)."""
        if self.sock is None:
            self.sock = self._connect()
        sock = self.sock
        try:
            sock.sendall(raw)
            buffer = b""
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("connection closed before the response headers")
                buffer += chunk
            head, _, body = buffer.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length = None
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            while length is None or len(body) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    if length is None:
                        break
                    raise ConnectionError("connection closed inside the response body")
                body += chunk
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        """Close the socket (the next request opens a new one)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def raw_post(host_header: str, path: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """Return the bytes of ``POST path`` with ``headers`` and ``body`` (keep-alive, Content-Length)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host_header}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --- numbers ---------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile (``fraction`` in 0..1) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    # Nearest rank is ceil(fraction × n). round(x + 0.5) is not: Python rounds halves to even, so the
    # p95 of 20 values came out as the 20th (the slowest) where it is the 19th. The tolerance keeps a
    # product that lands a hair above a whole number (0.07 × 100 = 7.000000000000001) at it.
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered) - 1e-9)))
    return ordered[rank - 1]


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print an aligned plain-text table."""
    text_rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(headers[i]), *(len(row[i]) for row in text_rows)) for i in range(len(headers))]
    print("  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)))
    for row in text_rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def postgres_version(postgres: str) -> str:
    """Return PostgreSQL's ``server_version`` or why it could not be read."""
    try:
        import psycopg

        url = postgres.replace("postgresql+psycopg://", "postgresql://").rstrip("/") + "/postgres"
        with psycopg.connect(url, connect_timeout=5) as connection:
            return connection.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"


def redis_version(redis_url: str) -> str:
    """Return Redis's ``redis_version`` or why it could not be read."""
    try:
        import redis

        return redis.Redis.from_url(redis_url, socket_timeout=5).info("server")["redis_version"]
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"


def machine_facts(kinds: Iterable[str], postgres: str, redis_url: str | None) -> list[tuple[str, str]]:
    """Return (name, value) facts about this machine and the database servers used."""
    import gunicorn

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    facts = [
        ("CPUs", f"{os.cpu_count()} ({platform.machine()}, {platform.processor() or 'unknown CPU'})"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("gunicorn", gunicorn.__version__),
        ("load average before", f"{load}  (other work on this machine skews every number)"),
    ]
    kinds = set(kinds)
    if "sqlite" in kinds:
        facts.append(("SQLite", sqlite3.sqlite_version))
    if "postgresql" in kinds:
        facts.append(("PostgreSQL", postgres_version(postgres)))
        if redis_url:
            facts.append(("Redis", redis_version(redis_url)))
    return facts


def print_facts(facts: Iterable[tuple[str, str]]) -> None:
    """Print the machine facts, one per line."""
    for name, value in facts:
        print(f"  {name + ':':22} {value}")


def remove_temp_folder(tmp: Path, keep: bool) -> None:
    """Delete a run's temp folder, or say where it is when ``keep`` (gunicorn logs and databases)."""
    if keep:
        print(f"temp folder kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
