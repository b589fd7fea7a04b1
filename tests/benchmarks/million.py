"""A year of a busy merchant in the real schema: 1,000,000 payments and everything around them.

Run from the repository root (a plain script, not collected by pytest)::

    .venv/bin/python tests/benchmarks/million.py --database sqlite --path /work/bench-data/million.db
    .venv/bin/python tests/benchmarks/million.py --database postgresql \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_million
    .venv/bin/python tests/benchmarks/million.py ... --payments 100000   # everything scaled down

The database is made afresh (the SQLite file removed, the PostgreSQL database dropped and created)
and its tables built by the app's migrations, then filled with, per N payments: N payments over the
365 days before today (Antom Auto Debit on several wallets and AlipayHK through Worldpay, mostly HKD),
N/20 agreements with their tokens encrypted under :data:`DATA_ENCRYPTION_KEY`, refunds of about 5 %
of the paid payments (some partial, a few waiting for approval), a few cancels, the timeline events
the services write (created, status changed, refund steps), 0.965 N notifications in the inbox as the
providers send them (payment results mostly; authorisation codes, token cancellations and refund
results 1-5 % each; redeliveries, bad signatures, late and unmatched ones), N/5 audit entries on an
intact hash chain, the rollups the reports read (daily payment and refund totals, refund approval
waits; the other payment rollups by the app's rebuild), and one staff account per role
(:data:`STAFF`). Rows are written in time order with explicit ids, by ``executemany`` on SQLite and
``COPY`` on PostgreSQL, then the database is analysed (``VACUUM ANALYZE`` on PostgreSQL).

An app that reads this data needs the same keys: :func:`app_settings` gives them.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import heapq
import json
import random
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BenchmarkError
from harness import Database

#: Fixed keys, so every benchmark process can read the tokens and sign in (benchmark data only).
SECRET_KEY = "bench-million-secret-key-not-for-production"
DATA_ENCRYPTION_KEY = "YmVuY2gtbWlsbGlvbi1mZXJuZXQta2V5LTMyYnl0ZXM="
#: One staff account per role: (role, e-mail, password).
STAFF = tuple(
    (role, f"{role}@bench.example", f"bench {role} password 2026")
    for role in ("viewer", "support", "finance", "manager", "admin")
)
BATCH = 20_000
YEAR = timedelta(days=365)
GMT8 = timezone(timedelta(hours=8))
HONG_KONG = ZoneInfo("Asia/Hong_Kong")

#: Auto Debit wallets and their share of agreements.
WALLETS = {"ALIPAY_HK": 60, "ALIPAY_CN": 12, "GCASH": 8, "KAKAOPAY": 6, "TNG": 5, "TRUEMONEY": 4, "DANA": 5}
#: Currencies besides HKD (one Antom payment in ten) and the usual amount in minor units.
OTHER_CURRENCIES = {"USD": 6_000, "CNY": 30_000, "JPY": 8_000, "SGD": 5_000, "KWD": 15_000}
#: Subscription prices in HKD cents: half the payments are one of these.
PLAN_PRICES = (8_800, 12_800, 29_800, 48_800, 98_000)
DESCRIPTIONS = ("Monthly plan", "兩杯奶茶", "Gym membership", "Top-up", "Order 4711, two items", None)
REFUND_REASONS = ("Customer request", "Duplicate charge", "Service not provided", "Other")
#: Final statuses of payments older than a day, per provider, with weights.
ANTOM_STATUSES = {
    "succeeded": 820,
    "failed": 120,
    "cancelled": 15,
    "expired": 30,
    "disputed": 2,
    "charged_back": 1,
}
WORLDPAY_STATUSES = {
    "settled": 620,
    "succeeded": 60,
    "failed": 110,
    "expired": 150,
    "cancelled": 55,
    "charged_back": 1,
}
#: Of the newest payments (the last hour), a few still wait for the provider.
OPEN_SHARE = 0.04
#: Worldpay's event for each of our statuses.
WORLDPAY_EVENTS = {
    "succeeded": "authorized",
    "settled": "settled",
    "failed": "refused",
    "expired": "requestExpired",
    "cancelled": "cancelledByCustomer",
    "charged_back": "chargedBack",
    "processing": "sentForAuthorization",
}
AGREEMENT_STATUSES = {
    "active": 60,
    "expired": 10,
    "revoked": 12,
    "cancelled_by_customer": 10,
    "failed": 2,
    "pending": 6,
}
AUDIT_ACTIONS = {
    "auth.login": 400,
    "auth.logout": 300,
    "auth.login_failed": 40,
    "payments.exported": 20,
    "payment.refund_requested": 80,
    "payment.charge_requested": 60,
    "payment.cancel_requested": 5,
    "agreement.consulted": 40,
    "agreement.revoke_requested": 15,
    "notification.reprocessed": 10,
    "notification.provider_asked": 10,
    "access.denied": 20,
}
#: Share of inbox rows that are redeliveries and that carry a bad or no signature.
DUPLICATE_SHARE = 0.03
INVALID_SHARE = 0.004
MISSING_SHARE = 0.001


def app_settings(database_url: str, instance: Path) -> dict:
    """Return the settings of an app that reads a generated database (its keys included)."""
    return {
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": SECRET_KEY,
        "DATA_ENCRYPTION_KEYS": DATA_ENCRYPTION_KEY,
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "REDIS_URL": None,
        "SANDBOX": False,
        # Making a million rows runs statements of minutes on PostgreSQL.
        "DATABASE_STATEMENT_TIMEOUT": 0,
        # The staff accounts sign in with a password only: the pages, not enrolment, are measured.
        "TWO_FACTOR_REQUIRED_ROLES": "none",
    }


def weighted(rng: random.Random, table: dict[str, int]) -> Callable[[], str]:
    """Return a function that draws a key of ``table`` with its weight."""
    keys, weights = list(table), list(table.values())
    cumulative = [sum(weights[: index + 1]) for index in range(len(weights))]
    return lambda: rng.choices(keys, cum_weights=cumulative)[0]


#: The tables written, each after those its rows refer to.
TABLES = (
    "agreements",
    "payments",
    "refunds",
    "cancels",
    "notifications",
    "events",
    "audit_log",
    "daily_totals",
    "refund_daily_totals",
    "refund_approval_waits",
)


# --- writing rows -------------------------------------------------------------------------------


def _sqlite_datetime(value: datetime) -> str:
    # What SQLAlchemy's SQLite DateTime writes (UTC, always six digits of microseconds), so the
    # app's keyset comparisons see the same strings.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Sink:
    """Writes rows of one table or another in batches: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

    def __init__(self, database_url: str):
        self.kind = "postgresql" if database_url.startswith("postgresql") else "sqlite"
        self.buffers: dict[str, tuple[tuple[str, ...], list[tuple]]] = {}
        self.counts: Counter[str] = Counter()
        if self.kind == "sqlite":
            sqlite3.register_adapter(datetime, _sqlite_datetime)
            sqlite3.register_adapter(date, date.isoformat)
            self.connection = sqlite3.connect(urlsplit(database_url).path[1:], isolation_level=None)
            self.connection.execute("PRAGMA synchronous=OFF")
            self.connection.execute("PRAGMA cache_size=-1000000")
            self.connection.execute("PRAGMA foreign_keys=OFF")
        else:
            import psycopg

            self.connection = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))

    def add(self, table: str, columns: tuple[str, ...], row: tuple) -> None:
        """Queue one row; a full batch is written."""
        _, rows = self.buffers.setdefault(table, (columns, []))
        rows.append(row)
        if len(rows) >= BATCH:
            # Every table, in the order rows refer to each other, so no row lands before what it names.
            self.flush_all()

    def flush(self, table: str) -> None:
        """Write the queued rows of ``table``."""
        columns, rows = self.buffers.get(table, ((), []))
        if not rows:
            return
        names = ", ".join(columns)
        if self.kind == "sqlite":
            marks = ", ".join("?" * len(columns))
            self.connection.execute("BEGIN")
            self.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
            self.connection.execute("COMMIT")
        else:
            with (
                self.connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            self.connection.commit()
        self.counts[table] += len(rows)
        rows.clear()

    def flush_all(self) -> None:
        """Write every queued row."""
        for table in TABLES:
            self.flush(table)

    def execute(self, statement: str, parameters: tuple = ()) -> list[tuple]:
        """Run one statement in its own transaction and return its rows."""
        if self.kind == "sqlite":
            statement = statement.replace("%s", "?")
            self.connection.execute("BEGIN")
            rows = self.connection.execute(statement, parameters).fetchall()
            self.connection.execute("COMMIT")
            return rows
        with self.connection.cursor() as cursor:
            cursor.execute(statement, parameters)
            rows = cursor.fetchall() if cursor.description else []
        self.connection.commit()
        return rows

    def finish(self) -> None:
        """Move the id sequences past the written ids, then analyse what the planner needs."""
        self.flush_all()
        if self.kind == "sqlite":
            self.connection.execute("ANALYZE")
            self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.connection.close()
            return
        for table in TABLES:
            self.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        self.connection.autocommit = True
        self.connection.execute("VACUUM ANALYZE")
        self.connection.close()


# --- the data ------------------------------------------------------------------------------------

PAYMENT_COLUMNS = (
    "id",
    "provider",
    "request_id",
    "provider_payment_id",
    "agreement_id",
    "amount_minor",
    "currency",
    "payment_method",
    "status",
    "refunded_minor",
    "order_description",
    "merchant_reference",
    "expires_at",
    "paid_at",
    "finished_at",
    "result_code",
    "result_message",
    "created_at",
    "updated_at",
    "version",
)
REFUND_COLUMNS = (
    "id",
    "payment_id",
    "request_id",
    "amount_minor",
    "currency",
    "reason",
    "status",
    "provider_refund_id",
    "requested_by_id",
    "approved_by_id",
    "rejected_by_id",
    "decided_at",
    "refunded_at",
    "result_code",
    "result_message",
    "created_at",
    "updated_at",
    "version",
)
CANCEL_COLUMNS = (
    "id",
    "payment_id",
    "request_id",
    "reason",
    "status",
    "requested_by_id",
    "cancelled_at",
    "unknown_answers",
    "result_code",
    "result_message",
    "created_at",
    "updated_at",
    "version",
)
AGREEMENT_COLUMNS = (
    "id",
    "wallet",
    "customer_ref",
    "auth_state",
    "auth_state_hash",
    "auth_url",
    "access_token",
    "access_token_hash",
    "access_token_last4",
    "access_token_expires_at",
    "refresh_token",
    "refresh_token_expires_at",
    "expires_at",
    "status",
    "revoke_requested_at",
    "revoked_at",
    "revoked_by_id",
    "revoke_reason",
    "cancelled_at",
    "cancel_reason",
    "activated_at",
    "result_code",
    "result_message",
    "created_at",
    "updated_at",
    "version",
)
NOTIFICATION_COLUMNS = (
    "id",
    "provider",
    "kind",
    "dedup_key",
    "reference",
    "duplicate_of_id",
    "headers",
    "body",
    "verdict",
    "received_at",
    "processed_at",
    "processing_error",
    "outcome",
    "object_type",
    "object_id",
    "attempts",
)
EVENT_COLUMNS = (
    "id",
    "created_at",
    "object_type",
    "object_id",
    "kind",
    "summary",
    "notification_id",
    "actor_id",
)
AUDIT_COLUMNS = (
    "id",
    "seq",
    "created_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "ip",
    "before",
    "after",
    "canonical",
    "prev_hash",
    "hash",
)
DAILY_COLUMNS = ("id", "day", "provider", "status", "currency", "count", "amount_minor")
REFUND_DAILY_COLUMNS = (
    "id",
    "day",
    "provider",
    "status",
    "currency",
    "reason",
    "result_code",
    "count",
    "amount_minor",
)
REFUND_WAIT_COLUMNS = ("id", "day", "provider", "currency", "from_seconds", "count", "longest_seconds")


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def antom_time(moment: datetime) -> str:
    """Return a time as Antom writes it (GMT+8, seconds)."""
    return moment.astimezone(GMT8).strftime("%Y-%m-%dT%H:%M:%S+08:00")


@dataclass
class Staff:
    """The ids of the staff accounts, by role."""

    ids: dict[str, int]
    emails: dict[int, str]


@dataclass(order=True)
class Later:
    """Something that happens after a payment or agreement is created, in time order."""

    at: datetime
    order: int
    write: Callable[[], None] = field(compare=False)


class Generator:
    """Writes one merchant's year, in time order, through a :class:`Sink`."""

    def __init__(self, sink: Sink, payments: int, seed: int, staff: Staff, end: datetime):
        self.sink = sink
        self.rng = random.Random(seed)
        self.payments = payments
        self.agreements = max(1, payments // 20)
        self.notifications_target = round(payments * 0.965)
        self.audit_entries = max(1, payments // 5)
        self.staff = staff
        self.end = end
        self.start = end - YEAR
        self.next_id: Counter[str] = Counter()
        self.later: list[Later] = []
        self.order = 0
        self.daily: Counter[tuple] = Counter()
        self.daily_amount: Counter[tuple] = Counter()
        self.refund_daily: Counter[tuple] = Counter()
        self.refund_daily_amount: Counter[tuple] = Counter()
        self.refund_waits: Counter[tuple] = Counter()
        self.refund_longest: Counter[tuple] = Counter()
        self.notifications = 0
        self.agreement_times: list[datetime] = []
        self.agreement_wallets: list[str] = []
        self.signature_bytes = self.rng.randbytes(256)

    # -- small pieces ---------------------------------------------------------------------------

    def new_id(self, table: str) -> int:
        self.next_id[table] += 1
        return self.next_id[table]

    def hex(self, bits: int = 128) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def antom_id(self, moment: datetime) -> str:
        """An Antom object id: date in GMT+8, fixed middle, 14 random digits (as the simulator makes them)."""
        return f"{moment.astimezone(GMT8):%Y%m%d}1940108001001888C0{self.rng.randrange(10**14):014d}"

    def worldpay_payment_id(self) -> str:
        """A Worldpay payment id: an opaque URL-safe token of 160-180 characters."""
        size = self.rng.randrange(120, 136)
        return base64.urlsafe_b64encode(self.rng.randbytes(size)).decode().rstrip("=")

    def schedule(self, at: datetime, write: Callable[[], None]) -> None:
        self.order += 1
        heapq.heappush(self.later, Later(at, self.order, write))

    def run_due(self, until: datetime) -> None:
        while self.later and self.later[0].at <= until:
            heapq.heappop(self.later).write()

    def event(self, at, object_type, object_id, kind, summary, notification_id=None, actor_id=None) -> None:
        self.sink.add(
            "events",
            EVENT_COLUMNS,
            (
                self.new_id("events"),
                at,
                object_type,
                str(object_id),
                kind,
                _json(summary),
                notification_id,
                actor_id,
            ),
        )

    # -- notifications --------------------------------------------------------------------------

    def antom_headers(self, at: datetime) -> str:
        signature = base64.b64encode(self.signature_bytes[: 200 + self.rng.randrange(56)]).decode()
        return _json(
            {
                "Content-Type": "application/json; charset=UTF-8",
                "Client-Id": "SANDBOX_5Y60382Z2R5N03012",
                "Request-Time": antom_time(at),
                "Signature": f"algorithm=RSA256,keyVersion=1,signature={signature}",
                "User-Agent": "Antom-Notify/1.0",
            }
        )

    def worldpay_headers(self) -> str:
        return _json(
            {
                "Content-Type": "application/vnd.worldpay.events-v1.hal+json",
                "Event-Signature": f"1/SHA256/{self.hex(256)}",
                "WP-CorrelationId": str(uuid.UUID(int=self.rng.getrandbits(128))),
                "User-Agent": "Worldpay-Events/1.0",
            }
        )

    def notification(
        self,
        at: datetime,
        provider: str,
        kind: str,
        key: str | None,
        reference: str | None,
        body: dict,
        subject: tuple[str, int] | None,
        outcome: str = "applied",
    ) -> int:
        """Store one verified notification (and now and then its redelivery); return its id."""
        number = self.new_id("notifications")
        headers = self.antom_headers(at) if provider == "antom" else self.worldpay_headers()
        if outcome == "applied" and at > self.end - timedelta(minutes=2):
            outcome = "pending"
        processed = (
            None
            if outcome in ("pending", "failed")
            else at + timedelta(milliseconds=self.rng.randrange(40, 2_000))
        )
        error = "ValueError('unexpected paymentStatus')" if outcome == "failed" else None
        object_type, object_id = subject if subject and outcome in ("applied", "late") else (None, None)
        raw = _json(body).encode()
        self.sink.add(
            "notifications",
            NOTIFICATION_COLUMNS,
            (
                number,
                provider,
                kind,
                key,
                reference,
                None,
                headers,
                raw,
                "valid",
                at,
                processed,
                error,
                outcome,
                object_type,
                None if object_id is None else str(object_id),
                3 if outcome == "failed" else 1,
            ),
        )
        self.notifications += 1
        draw = self.rng.random()
        if draw < DUPLICATE_SHARE:
            again = at + timedelta(seconds=self.rng.choice((3, 10, 60, 300, 3_600)))
            self.schedule(
                again, lambda: self.copy_of(number, again, provider, kind, key, reference, raw, "duplicate")
            )
        elif draw < DUPLICATE_SHARE + INVALID_SHARE + MISSING_SHARE:
            verdict = "invalid" if draw < DUPLICATE_SHARE + INVALID_SHARE else "missing"
            forged = at + timedelta(seconds=self.rng.randrange(1, 86_400))
            self.schedule(
                forged, lambda: self.copy_of(None, forged, provider, kind, None, reference, raw, verdict)
            )
        return number

    def copy_of(self, original, at, provider, kind, key, reference, raw, verdict) -> None:
        """Store a redelivery of ``original`` or a copy with a bad (or no) signature (none after today,
        none beyond the inbox's size)."""
        if at >= self.end or self.notifications >= self.notifications_target:
            return
        headers = self.antom_headers(at) if provider == "antom" else self.worldpay_headers()
        if verdict == "missing":
            headers = _json(
                {name: value for name, value in json.loads(headers).items() if "Signature" not in name}
            )
        outcome = "duplicate" if verdict == "duplicate" else "rejected"
        self.sink.add(
            "notifications",
            NOTIFICATION_COLUMNS,
            (
                self.new_id("notifications"),
                provider,
                kind,
                key,
                reference,
                original,
                headers,
                raw,
                "valid" if verdict == "duplicate" else verdict,
                at,
                at + timedelta(milliseconds=30),
                None,
                outcome,
                None,
                None,
                1,
            ),
        )
        self.notifications += 1

    def payment_notification(self, payment: dict, at: datetime) -> int:
        if payment["provider"] == "antom":
            final = payment["status"] not in ("processing", "pending")
            kind = "PAYMENT_RESULT" if final else "PAYMENT_PENDING"
            status = "S" if payment["status"] in ("succeeded", "disputed", "charged_back") else "F"
            status = status if final else "U"
            body = {
                "notifyType": kind,
                "result": {
                    "resultCode": payment["result_code"],
                    "resultStatus": status,
                    "resultMessage": payment["result_message"],
                },
                "paymentRequestId": payment["request_id"],
                "paymentId": payment["provider_payment_id"],
                "paymentAmount": {"currency": payment["currency"], "value": str(payment["amount_minor"])},
                "paymentCreateTime": antom_time(payment["created_at"]),
                "paymentTime": antom_time(at),
                "pspCustomerInfo": {"pspName": payment["payment_method"], "displayCustomerId": "852****0001"},
            }
            key = f"{kind}:{payment['provider_payment_id']}:{status}"
            reference = payment["provider_payment_id"]
        else:
            kind = WORLDPAY_EVENTS[payment["status"]]
            event_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
            body = {
                "eventId": event_id,
                "eventTimestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "eventDetails": {
                    "classification": "payment",
                    "downstreamReference": f"HK{self.rng.randrange(10**12):012d}",
                    "transactionReference": payment["request_id"],
                    "type": kind,
                    "date": payment["created_at"].date().isoformat(),
                    "amount": {"value": payment["amount_minor"], "currencyCode": payment["currency"]},
                    "_links": {"payment": {"href": ""}},
                },
            }
            key, reference = event_id, payment["request_id"]
        outcome = (
            "late" if self.rng.random() < 0.015 else "failed" if self.rng.random() < 0.001 else "applied"
        )
        return self.notification(
            at, payment["provider"], kind, key, reference, body, ("payment", payment["id"]), outcome
        )

    # -- agreements -----------------------------------------------------------------------------

    def write_agreements(self) -> None:
        """Write every agreement (made over the year and the 90 days before) and schedule its news."""
        from dashboard.agreements.models import auth_state_digest
        from dashboard.crypto import encrypt
        from dashboard.crypto import lookup_hash

        keys = (DATA_ENCRYPTION_KEY,)
        wallet = weighted(self.rng, WALLETS)
        status_of = weighted(self.rng, AGREEMENT_STATUSES)
        first = self.start - timedelta(days=90)
        span = (self.end - first) / self.agreements
        support = self.staff.ids["support"]
        for number in range(1, self.agreements + 1):
            created = first + span * (number - 1) + timedelta(seconds=self.rng.randrange(60))
            status = status_of() if created < self.end - timedelta(days=2) else "pending"
            chosen = wallet()
            auth_state = "as-" + self.hex()
            activated = plain = token = refresh = None
            access_hash = last4 = access_expires = refresh_expires = None
            revoke_requested = revoked = cancelled = None
            revoked_by = revoke_reason = cancel_reason = None
            if status not in ("pending", "failed"):
                activated = created + timedelta(seconds=self.rng.randrange(30, 900))
                plain = f"{activated.astimezone(GMT8):%Y%m%d}{self.hex(160).upper()}"
                token, access_hash, last4 = encrypt(plain, keys), lookup_hash(plain, keys), plain[-4:]
                access_expires = activated + timedelta(days=365)
                if self.rng.random() < 0.7:
                    refresh = encrypt(f"R{activated.astimezone(GMT8):%Y%m%d}{self.hex(160).upper()}", keys)
                    refresh_expires = activated + timedelta(days=730)
            ended = None
            if status in ("revoked", "cancelled_by_customer", "expired"):
                ended = min(
                    self.end - timedelta(hours=1), activated + timedelta(days=self.rng.randrange(1, 300))
                )
            if status == "revoked":
                revoke_requested, revoked, revoked_by = ended - timedelta(seconds=5), ended, support
                revoke_reason = "Customer asked to stop auto-debit"
            elif status == "cancelled_by_customer":
                cancelled, cancel_reason = ended, "User unbinds the authorization in the wallet."
            expiries = [moment for moment in (access_expires, refresh_expires) if moment]
            self.sink.add(
                "agreements",
                AGREEMENT_COLUMNS,
                (
                    number,
                    chosen,
                    f"HK-CUST-{self.rng.randrange(10**7):07d}",
                    auth_state,
                    auth_state_digest(auth_state),
                    "https://open-sea-global.alipay.com/auth?state=" + auth_state
                    if status == "pending"
                    else None,
                    token,
                    access_hash,
                    last4,
                    access_expires,
                    refresh,
                    refresh_expires,
                    max(expiries, default=None),
                    status,
                    revoke_requested,
                    revoked,
                    revoked_by,
                    revoke_reason,
                    cancelled,
                    cancel_reason,
                    activated,
                    "SUCCESS" if activated else None,
                    "success" if activated else None,
                    created,
                    ended or activated or created,
                    1,
                ),
            )
            self.agreement_times.append(created)
            self.agreement_wallets.append(chosen)
            summary = {"status": "pending", "wallet": chosen}
            self.schedule(
                created,
                lambda n=number, c=created, s=summary: self.event(
                    c, "agreement", n, "created", s, None, support
                ),
            )
            if activated:
                self.schedule(
                    activated,
                    lambda n=number, a=activated, s=auth_state, p=plain: self.authorised(n, a, s, p),
                )
            if ended and status != "expired":
                self.schedule(
                    ended, lambda n=number, e=ended, p=plain, s=status: self.token_cancelled(n, e, p, s)
                )

    def authorised(self, number: int, at: datetime, auth_state: str, token: str) -> None:
        from dashboard.crypto import lookup_hash

        auth_code = self.hex().upper()
        body = {
            "authorizationNotifyType": "AUTHCODE_CREATED",
            "authCode": auth_code,
            "authState": auth_state,
            "userLoginId": "852****0001",
            "userId": f"2188{self.rng.randrange(10**12):012d}",
        }
        key = f"AUTHCODE_CREATED:{lookup_hash(auth_code, (DATA_ENCRYPTION_KEY,))}"
        notification = self.notification(
            at, "antom", "AUTHCODE_CREATED", key, auth_state, body, ("agreement", number)
        )
        self.event(at, "agreement", number, "auth_code_received", {}, notification)
        self.event(
            at + timedelta(seconds=1),
            "agreement",
            number,
            "status_changed",
            {"status": ["pending", "active"], "result_code": "SUCCESS"},
            notification,
        )

    def token_cancelled(self, number: int, at: datetime, token: str, status: str) -> None:
        from dashboard.crypto import lookup_hash

        body = {"authorizationNotifyType": "TOKEN_CANCELED", "accessToken": token, "reason": "User unbinds."}
        key = f"TOKEN_CANCELED:{lookup_hash(token, (DATA_ENCRYPTION_KEY,))}"
        notification = self.notification(
            at, "antom", "TOKEN_CANCELED", key, None, body, ("agreement", number)
        )
        self.event(at, "agreement", number, "status_changed", {"status": ["active", status]}, notification)

    # -- payments -------------------------------------------------------------------------------

    def write_payments(self) -> None:
        """Write the payments in time order with what follows each (result, refunds, notifications)."""
        from bisect import bisect_right

        antom_status = weighted(self.rng, ANTOM_STATUSES)
        worldpay_status = weighted(self.rng, WORLDPAY_STATUSES)
        step = YEAR / self.payments
        # Share of payments whose result is notified (Antom answers Auto Debit synchronously too),
        # tuned so the inbox ends near 0.965 N rows with the agreements' and refunds' notifications.
        extra = 1 + DUPLICATE_SHARE + INVALID_SHARE + MISSING_SHARE
        others = self.agreements * 1.16 + self.payments * 0.035
        notified = min(1.0, (self.notifications_target / extra - others) / self.payments)
        open_from = self.end - timedelta(hours=1)
        for number in range(1, self.payments + 1):
            created = self.start + step * (number - 1)
            self.run_due(created)
            antom = self.rng.random() < 0.7
            if created >= open_from and self.rng.random() < OPEN_SHARE * 10:
                status = self.rng.choice(("pending", "processing"))
            else:
                status = antom_status() if antom else worldpay_status()
            if antom:
                agreement = self.rng.randint(1, max(1, bisect_right(self.agreement_times, created)))
                method = self.agreement_wallets[agreement - 1]
                currency = "HKD" if self.rng.random() < 0.9 else self.rng.choice(list(OTHER_CURRENCIES))
                request_id = "pay-" + self.hex()
                provider_id = None if status == "pending" else self.antom_id(created)
            else:
                agreement, method, currency = None, "alipay_hk", "HKD"
                request_id = "wp-" + self.hex()
                provider_id = self.worldpay_payment_id()
            if currency == "HKD" and self.rng.random() < 0.5:
                amount = self.rng.choice(PLAN_PRICES)
            else:
                typical = OTHER_CURRENCIES.get(currency, 40_000)
                amount = max(1, int(self.rng.lognormvariate(0, 1.0) * typical))
            paid = status in ("succeeded", "settled", "disputed", "charged_back")
            answered = created + timedelta(milliseconds=self.rng.randrange(300, 8_000))
            code = (
                "SUCCESS"
                if paid or status == "processing"
                else {
                    "failed": "USER_BALANCE_NOT_ENOUGH" if antom else "REFUSED",
                    "expired": "ORDER_IS_CLOSED" if antom else "REQUEST_EXPIRED",
                    "cancelled": "ORDER_IS_CANCELED" if antom else "CANCELLED_BY_CUSTOMER",
                }.get(status)
            )
            payment = {
                "id": number,
                "provider": "antom" if antom else "worldpay",
                "request_id": request_id,
                "provider_payment_id": provider_id,
                "amount_minor": amount,
                "currency": currency,
                "payment_method": method,
                "status": status,
                "created_at": created,
                "result_code": code,
                "result_message": "Success." if code == "SUCCESS" else ("Payment failed." if code else None),
            }
            refunded = self.refunds(payment, answered) if status in ("succeeded", "settled") else 0
            if antom and status == "cancelled" and self.rng.random() < 0.5:
                self.cancel(payment, answered)
            self.sink.add(
                "payments",
                PAYMENT_COLUMNS,
                (
                    number,
                    payment["provider"],
                    request_id,
                    provider_id,
                    agreement,
                    amount,
                    currency,
                    method,
                    status,
                    refunded,
                    self.rng.choice(DESCRIPTIONS),
                    f"ORD-{number:08d}" if antom and self.rng.random() < 0.5 else None,
                    created + timedelta(minutes=1) if antom else None,
                    answered if paid else None,
                    None if status in ("pending", "processing") else answered,
                    code,
                    payment["result_message"],
                    created,
                    answered,
                    1,
                ),
            )
            day = (created.astimezone(HONG_KONG).date(), payment["provider"], status, currency)
            self.daily[day] += 1
            self.daily_amount[day] += amount
            self.event(
                created,
                "payment",
                number,
                "created",
                {"status": "pending", "amount_minor": amount, "currency": currency},
            )
            if status != "pending":
                notification = None
                if status == "processing" or self.rng.random() < notified:
                    notification = self.payment_notification(payment, answered)
                summary = {"status": ["pending", status], "result_code": code}
                self.event(answered, "payment", number, "status_changed", summary, notification)
        self.run_due(self.end + YEAR)

    def refunds(self, payment: dict, paid: datetime) -> int:
        """Schedule the payment's refunds (about 5 % of paid payments) and return what they refunded."""
        if self.rng.random() >= 0.05:
            return 0
        refunded, left = 0, payment["amount_minor"]
        for _ in range(1 if self.rng.random() < 0.9 else 2):
            if left <= 0:
                break
            amount = left if self.rng.random() < 0.6 or left < 2 else self.rng.randrange(1, left)
            asked = paid + timedelta(hours=self.rng.randrange(1, 24 * 30))
            if asked >= self.end:
                break
            recent = asked > self.end - timedelta(days=3)
            # Above the approval threshold, a refund of the last days may still wait for a manager.
            big = amount > 100_000
            draw = self.rng.random()
            if big and recent and draw < 0.7:
                status = "awaiting_approval"
            else:
                status = "succeeded" if draw < 0.94 else "failed" if draw < 0.98 else "rejected"
            waits = big and status != "awaiting_approval"
            decided = asked + timedelta(minutes=self.rng.randrange(5, 240)) if waits else None
            done = (decided or asked) + timedelta(seconds=self.rng.randrange(2, 600))
            if decided and decided >= self.end:
                status, decided = "awaiting_approval", None
            elif done >= self.end and status != "awaiting_approval":
                # Asked in the last minutes: the provider has not answered yet.
                status = "processing"
            if status == "succeeded":
                refunded, left = refunded + amount, left - amount
            self.schedule(
                asked,
                lambda a=amount, t=asked, s=status, d=decided, f=done: self.refund(payment, a, t, s, d, f),
            )
        return refunded

    def refund(
        self,
        payment: dict,
        amount: int,
        asked: datetime,
        status: str,
        decided: datetime | None,
        done: datetime,
    ) -> None:
        number = self.new_id("refunds")
        antom = payment["provider"] == "antom"
        support, manager = self.staff.ids["support"], self.staff.ids["manager"]
        sent = status not in ("awaiting_approval", "rejected")
        request_id = "rf-" + self.hex()
        provider_id = self.antom_id(done) if antom and sent else None
        code = {"succeeded": "SUCCESS", "failed": "REFUND_AMOUNT_EXCEED" if antom else "REFUND_FAILED"}.get(
            status
        )
        reason = self.rng.choice(REFUND_REASONS)
        self.sink.add(
            "refunds",
            REFUND_COLUMNS,
            (
                number,
                payment["id"],
                request_id,
                amount,
                payment["currency"],
                reason,
                status,
                provider_id,
                support,
                manager if decided and status != "rejected" else None,
                manager if status == "rejected" else None,
                decided,
                done if status == "succeeded" else None,
                code,
                "Success." if code == "SUCCESS" else ("Refund failed." if code else None),
                asked,
                done if sent and status != "processing" else asked,
                1,
            ),
        )
        self.count_refund(payment, amount, asked, status, code, decided, reason)
        summary = {"refund_id": number, "amount_minor": amount, "currency": payment["currency"]}
        self.event(asked, "payment", payment["id"], "refund_requested", summary, None, support)
        if status in ("succeeded", "failed"):
            notification = None
            if self.rng.random() < 0.9:
                notification = self.refund_notification(
                    payment, number, request_id, provider_id, amount, status, done
                )
            summary = {"refund_id": number, "status": ["processing", status], "result_code": code}
            self.event(done, "payment", payment["id"], "refund_status_changed", summary, notification)

    def count_refund(self, payment, amount, asked, status, code, decided, reason) -> None:
        """Count a refund in the refund rollups as the app keeps them (its day, status and wait)."""
        from dashboard.reports.refund_rollups import wait_bucket

        day = asked.astimezone(HONG_KONG).date()
        currency = payment["currency"]
        bucket = (day, payment["provider"], status, currency, reason, code if status == "failed" else "")
        self.refund_daily[bucket] += 1
        self.refund_daily_amount[bucket] += amount
        if decided is not None:
            seconds = max(int((decided - asked).total_seconds()), 0)
            wait = (day, payment["provider"], currency, wait_bucket(seconds))
            self.refund_waits[wait] += 1
            self.refund_longest[wait] = max(self.refund_longest[wait], seconds)

    def refund_notification(self, payment, number, request_id, provider_id, amount, status, at) -> int:
        if payment["provider"] == "antom":
            state = "SUCCESS" if status == "succeeded" else "FAIL"
            body = {
                "notifyType": "REFUND_RESULT",
                "result": {
                    "resultCode": "SUCCESS" if state == "SUCCESS" else "REFUND_AMOUNT_EXCEED",
                    "resultStatus": "S" if state == "SUCCESS" else "F",
                    "resultMessage": "success.",
                },
                "refundStatus": state,
                "refundRequestId": request_id,
                "refundId": provider_id,
                "refundAmount": {"currency": payment["currency"], "value": str(amount)},
                "refundTime": antom_time(at),
            }
            key = f"REFUND_RESULT:{provider_id}:{state}"
            return self.notification(at, "antom", "REFUND_RESULT", key, provider_id, body, ("refund", number))
        kind = "refunded" if status == "succeeded" else "refundFailed"
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        body = {
            "eventId": event_id,
            "eventTimestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "eventDetails": {
                "classification": "payment",
                "transactionReference": payment["request_id"],
                "type": kind,
                "date": payment["created_at"].date().isoformat(),
                "reference": request_id,
                "amount": {"value": amount, "currencyCode": payment["currency"]},
                "_links": {"payment": {"href": ""}},
            },
        }
        return self.notification(
            at, "worldpay", kind, event_id, payment["request_id"], body, ("refund", number)
        )

    def cancel(self, payment: dict, at: datetime) -> None:
        number = self.new_id("cancels")
        self.sink.add(
            "cancels",
            CANCEL_COLUMNS,
            (
                number,
                payment["id"],
                "cx-" + self.hex(),
                "Customer changed their mind",
                "succeeded",
                self.staff.ids["support"],
                at,
                0,
                "SUCCESS",
                "Success.",
                at,
                at,
                1,
            ),
        )
        self.event(
            at,
            "payment",
            payment["id"],
            "cancel_status_changed",
            {"cancel_id": number, "status": ["submitted", "succeeded"], "result_code": "SUCCESS"},
        )

    # -- the rest -------------------------------------------------------------------------------

    def top_up_inbox(self) -> None:
        """Make the inbox exactly 0.965 N rows: Worldpay events about sales we never made (unmatched)."""
        at = self.end - timedelta(hours=12)
        while self.notifications < self.notifications_target:
            at += timedelta(seconds=1)
            event_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
            reference = "wp-" + self.hex()
            body = {
                "eventId": event_id,
                "eventTimestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "eventDetails": {
                    "classification": "payment",
                    "transactionReference": reference,
                    "type": "authorized",
                    "date": at.date().isoformat(),
                    "amount": {"value": 10_000, "currencyCode": "HKD"},
                },
            }
            self.notification(at, "worldpay", "authorized", event_id, reference, body, None, "unmatched")
        self.run_due(self.end + YEAR)

    def write_daily_totals(self) -> None:
        for number, (key, count) in enumerate(sorted(self.daily.items()), start=1):
            self.sink.add("daily_totals", DAILY_COLUMNS, (number, *key, count, self.daily_amount[key]))
        for number, (key, count) in enumerate(sorted(self.refund_daily.items()), start=1):
            row = (number, *key, count, self.refund_daily_amount[key])
            self.sink.add("refund_daily_totals", REFUND_DAILY_COLUMNS, row)
        for number, (key, count) in enumerate(sorted(self.refund_waits.items()), start=1):
            row = (number, *key, count, self.refund_longest[key])
            self.sink.add("refund_approval_waits", REFUND_WAIT_COLUMNS, row)

    def write_audit(self, head: tuple[int, int, str]) -> tuple[int, str]:
        """Append the audit entries to the chain after ``head`` (last id, seq, hash); return the new head."""
        last_id, seq, previous = head
        action = weighted(self.rng, AUDIT_ACTIONS)
        users = list(self.staff.emails)
        step = YEAR / self.audit_entries
        for number in range(self.audit_entries):
            at = self.start + step * number
            seq += 1
            actor = self.rng.choice(users)
            what = action()
            object_type, object_id, after = None, None, None
            if what.startswith("payment."):
                object_type, object_id = "payment", str(self.rng.randint(1, self.payments))
                after = {"amount_minor": self.rng.choice(PLAN_PRICES), "currency": "HKD"}
            elif what.startswith("agreement."):
                object_type, object_id = "agreement", str(self.rng.randint(1, self.agreements))
            elif what.startswith("notification."):
                object_type, object_id = "notification", str(self.rng.randint(1, self.notifications_target))
            elif what == "access.denied":
                object_type, object_id = "endpoint", "users.index"
            elif what == "payments.exported":
                after = {"filters": {"status": "succeeded"}, "rows": self.rng.randrange(1, 50_000)}
            ip = f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
            fields = {
                "seq": seq,
                "at": at.isoformat(),
                "actor_id": actor,
                "actor": self.staff.emails[actor],
                "action": what,
                "object_type": object_type,
                "object_id": object_id,
                "ip": ip,
                "before": None,
                "after": after,
            }
            canonical = json.dumps(
                fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
            )
            digest = hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()
            self.sink.add(
                "audit_log",
                AUDIT_COLUMNS,
                (
                    last_id + number + 1,
                    seq,
                    at,
                    actor,
                    self.staff.emails[actor],
                    what,
                    object_type,
                    object_id,
                    ip,
                    None,
                    None if after is None else _json(after),
                    canonical,
                    previous,
                    digest,
                ),
            )
            previous = digest
        return seq, previous


# --- the whole run -------------------------------------------------------------------------------


@dataclass
class Built:
    """What :func:`build` wrote and how long it took."""

    url: str
    seconds: float
    counts: dict[str, int]


def make_database(kind: str, target: str) -> str:
    """Make the database afresh and return its SQLAlchemy URL (``target``: a path or a URL)."""
    if kind == "sqlite":
        path = Path(target).resolve()
        if path.suffix != ".db":
            raise BenchmarkError(f"the SQLite path must end in .db: {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        return Database.make("sqlite", path.parent, path.stem).url
    parts = urlsplit(target)
    server = parts._replace(path="").geturl()
    return Database.make("postgresql", Path(), parts.path.lstrip("/"), server).url


def instance_folder(database_url: str) -> Path:
    """Return the instance folder kept beside a generated database (SQLite) or in /tmp (PostgreSQL)."""
    parts = urlsplit(database_url)
    if database_url.startswith("sqlite"):
        return Path(parts.path[1:]).with_suffix(".instance")
    return Path("/tmp") / f"{parts.path.lstrip('/')}.instance"


def staff_accounts(database_url: str, before: datetime) -> tuple[Staff, tuple[int, int, str]]:
    """Build the schema with the app's migrations and create :data:`STAFF` through the users service.

    The accounts are made on the day before the data begins, so their audit entries open the chain.
    Return the staff and the audit chain head (last id, seq, hash).
    """
    from flask_migrate import upgrade
    from sqlalchemy import text

    from dashboard import clock
    from dashboard import create_app
    from dashboard.extensions import db
    from dashboard.users import service

    app = create_app(app_settings(database_url, instance_folder(database_url)))
    previous = clock.use(clock.FakeClock(before))
    try:
        with app.app_context():
            upgrade()
            ids = {}
            for role, email, password in STAFF:
                user = service.create_user(email, role.title(), role, password, must_change_password=False)
                ids[role] = user.id
            last_id = db.session.scalar(text("SELECT coalesce(max(id), 0) FROM audit_log"))
            seq, digest = db.session.execute(text("SELECT seq, hash FROM audit_chain_head")).one()
            db.session.remove()
            db.engine.dispose()
    finally:
        clock.use(previous)
    return Staff(ids, {user_id: email for (_, email, _), user_id in zip(STAFF, ids.values(), strict=True)}), (
        last_id,
        seq,
        digest,
    )


def fill_rollups(database_url: str) -> float:
    """Fill the payment rollups this script does not write, by the rebuild behind ``flask rollups
    rebuild`` (outcomes by wallet, failures by code, time to a final status); return its seconds."""
    from sqlalchemy import text

    from dashboard import create_app
    from dashboard.db import write_transaction
    from dashboard.extensions import db
    from dashboard.reports.rebuild import rebuild_rollups

    tables = ("daily_wallets", "daily_failures", "finish_times")
    app = create_app(app_settings(database_url, instance_folder(database_url)))
    with app.app_context():
        began = time.perf_counter()
        with write_transaction(db.session) as session:
            rebuild_rollups(session, ZoneInfo(app.config["DISPLAY_TIMEZONE"]), replace=True, tables=tables)
        seconds = time.perf_counter() - began
        with write_transaction(db.session) as session:
            for name in tables:
                session.execute(text(f"ANALYZE {name}"))
        db.session.remove()
        db.engine.dispose()
    return seconds


def build(kind: str, target: str, payments: int = 1_000_000, seed: int = 12, progress=print) -> Built:
    """Make the database ``target`` afresh and fill it with ``payments`` payments and the rest to scale."""
    began = time.perf_counter()
    url = make_database(kind, target)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    staff, head = staff_accounts(url, end - YEAR - timedelta(days=100))
    progress(f"  schema and {len(STAFF)} staff accounts: {time.perf_counter() - began:.0f} s")
    sink = Sink(url)
    generator = Generator(sink, payments, seed, staff, end)
    generator.write_agreements()
    sink.flush_all()
    generator.write_payments()
    generator.top_up_inbox()
    generator.write_daily_totals()
    progress(f"  payments and what follows them: {time.perf_counter() - began:.0f} s")
    seq, digest = generator.write_audit(head)
    sink.flush_all()
    sink.execute("UPDATE audit_chain_head SET seq = %s, hash = %s", (seq, digest))
    progress(f"  audit log: {time.perf_counter() - began:.0f} s; analysing…")
    sink.finish()
    progress(f"  analysed: {time.perf_counter() - began:.0f} s; filling the other rollups…")
    rebuilt = fill_rollups(url)
    progress(f"  rollups rebuilt from the payments in {rebuilt:.1f} s: {time.perf_counter() - began:.0f} s")
    return Built(url, time.perf_counter() - began, dict(sink.counts))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--path", help="the SQLite file to make (ends in .db)")
    parser.add_argument(
        "--url", help="the PostgreSQL database to make, e.g. postgresql+psycopg://…/bench_million"
    )
    parser.add_argument("--payments", type=int, default=1_000_000, help="everything else scales with it")
    parser.add_argument("--seed", type=int, default=12)
    options = parser.parse_args(argv)
    if (options.database == "sqlite") != bool(options.path) or (options.database == "postgresql") != bool(
        options.url
    ):
        parser.error("give --path with --database sqlite, --url with --database postgresql")
    return options


def main(argv: list[str] | None = None) -> int:
    """Build one database and print what it holds."""
    options = parse_args(argv)
    target = options.path or options.url
    print(f"generating {options.payments:,} payments into {options.database} {target}", flush=True)
    try:
        built = build(
            options.database, target, options.payments, options.seed, lambda line: print(line, flush=True)
        )
    except BenchmarkError as exc:
        print(f"generation failed: {exc}", file=sys.stderr)
        return 2
    for table, count in sorted(built.counts.items()):
        print(f"  {table:14} {count:>10,}")
    print(f"done in {built.seconds:.0f} s: {built.url}")
    print(f"  staff: {', '.join(email for _, email, _ in STAFF)} (password 'bench <role> password 2026')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
