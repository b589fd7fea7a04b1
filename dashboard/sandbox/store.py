"""The simulators' own state: a SQLite file (``<INSTANCE_PATH>/sandbox.db``) and its tables.

It has its own engine and its own declarative base, so the app's migrations never see these
tables. Every transaction starts with ``BEGIN IMMEDIATE`` (WAL, busy timeout): the simulator
and its sender thread, or two processes sharing the instance folder, never interleave writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import BigInteger
from sqlalchemy import Engine
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from dashboard.db import IMMEDIATE
from dashboard.db import UTCDateTime
from dashboard.db import configure_sqlite


class SandboxBase(DeclarativeBase):
    """Declarative base of the simulator tables (separate from the app's metadata)."""

    metadata = MetaData()


class Authorization(SandboxBase):
    """One consult: the one-time link, the customer's answer, the auth code."""

    __tablename__ = "antom_authorizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_token: Mapped[str] = mapped_column(String(64), unique=True)
    auth_state: Mapped[str] = mapped_column(String(256))
    customer_belongs_to: Mapped[str] = mapped_column(String(64))
    redirect_url: Mapped[str] = mapped_column(String(1024))
    notify_url: Mapped[str | None] = mapped_column(String(1024))
    scopes: Mapped[str] = mapped_column(String(256))
    auth_client_id: Mapped[str | None] = mapped_column(String(64))
    #: consulted → approved | declined
    status: Mapped[str] = mapped_column(String(16), default="consulted")
    auth_code: Mapped[str | None] = mapped_column(String(128), unique=True)
    auth_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auth_code_used: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Token(SandboxBase):
    """An access token and its refresh token; a refresh adds a new row to the same authorization."""

    __tablename__ = "antom_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    authorization_id: Mapped[int] = mapped_column(ForeignKey("antom_authorizations.id"))
    customer_belongs_to: Mapped[str] = mapped_column(String(64))
    access_token: Mapped[str] = mapped_column(String(128), unique=True)
    access_token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_token: Mapped[str] = mapped_column(String(128), unique=True)
    refresh_token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_used: Mapped[bool] = mapped_column(default=False)
    #: active → revoked (merchant) | canceled (customer, in the wallet)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(SandboxBase):
    """An Auto Debit payment as the simulator sees it."""

    __tablename__ = "antom_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(64), unique=True)
    payment_request_id: Mapped[str] = mapped_column(String(64), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method_type: Mapped[str] = mapped_column(String(64))
    access_token: Mapped[str] = mapped_column(String(128))
    #: PROCESSING → SUCCESS | FAIL | CANCELLED; SUCCESS → CANCELLED
    status: Mapped[str] = mapped_column(String(16))
    result_code: Mapped[str] = mapped_column(String(64))
    result_message: Mapped[str] = mapped_column(String(256))
    #: What a PROCESSING payment becomes at ``resolve_at`` (a result code), or None: it expires.
    pending_code: Mapped[str | None] = mapped_column(String(64))
    resolve_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notify_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Refund(SandboxBase):
    """A refund of a payment."""

    __tablename__ = "antom_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refund_id: Mapped[str] = mapped_column(String(64), unique=True)
    refund_request_id: Mapped[str] = mapped_column(String(64), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str] = mapped_column(ForeignKey("antom_payments.payment_id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: PROCESSING → SUCCESS | FAIL
    status: Mapped[str] = mapped_column(String(16))
    result_code: Mapped[str] = mapped_column(String(64))
    result_message: Mapped[str] = mapped_column(String(256))
    pending_code: Mapped[str | None] = mapped_column(String(64))
    resolve_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notify_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Dispute(SandboxBase):
    """A dispute raised on demand about a paid Auto Debit payment, and the course it will take."""

    __tablename__ = "antom_disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[str] = mapped_column(String(64), unique=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("antom_payments.payment_id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(256))
    #: how it ends (``dashboard.sandbox.antom.DISPUTE_COURSES``): won, lost, withdrawn, unanswered, open
    course: Mapped[str] = mapped_column(String(16))
    #: how many of the course's steps were notified after DISPUTE_CREATED
    steps_sent: Mapped[int] = mapped_column(Integer, default=0)
    #: when the next step is due (compressed delay); None once the course is run
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: OPEN → JUDGED | CANCELLED | ACCEPTED (the last step's notification type, shortened)
    status: Mapped[str] = mapped_column(String(16), default="OPEN")
    defense_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Declaration(SandboxBase):
    """A customs declaration of a paid payment, and when customs will have answered it."""

    __tablename__ = "antom_declarations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    declaration_request_id: Mapped[str] = mapped_column(String(32), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str] = mapped_column(ForeignKey("antom_payments.payment_id"))
    customs_payment_id: Mapped[str] = mapped_column(String(64), unique=True)
    customs_order_id: Mapped[str] = mapped_column(String(64))
    customs_code: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(2))
    merchant_customs_code: Mapped[str] = mapped_column(String(20))
    merchant_customs_name: Mapped[str] = mapped_column(String(256))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: WAITING_FOR_PROCESSING → SUCCESS | FAIL (customs' answer, at ``answer_at``)
    status: Mapped[str] = mapped_column(String(32))
    #: what customs will answer: SUCCESS or FAIL
    planned: Mapped[str] = mapped_column(String(16))
    answer_at: Mapped[datetime] = mapped_column(UTCDateTime)
    customs_result_code: Mapped[str | None] = mapped_column(String(64))
    customs_result_desc: Mapped[str | None] = mapped_column(String(256))
    customs_returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorldpayPayment(SandboxBase):
    """An AlipayHK APM payment as the Worldpay simulator sees it."""

    __tablename__ = "worldpay_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(256), unique=True)
    transaction_reference: Mapped[str] = mapped_column(String(64), unique=True)
    order_reference: Mapped[str | None] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    narrative: Mapped[str] = mapped_column(String(24))
    #: the request's resultUrls object, as JSON
    result_urls: Mapped[str] = mapped_column(Text)
    #: the shopper page's token (/sandbox/worldpay/shopper/<token>)
    shopper_token: Mapped[str] = mapped_column(String(64), unique=True)
    downstream_reference: Mapped[str] = mapped_column(String(16))
    #: pending → authorized → sentForSettlement → settled | settlementFailed; pending → refused |
    #: error | cancelled | cancelledByCustomer | requestExpired; sentForSettlement or settled →
    #: sentForRefund → refunded | refundFailed
    last_event: Mapped[str] = mapped_column(String(32))
    #: when an ``authorized`` payment moves on to ``sentForSettlement``
    settle_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when a captured payment's settlement batch runs (``settled`` or ``settlementFailed``)
    settlement_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: what that batch gave: ``settled`` or ``settlementFailed``; None until it ran
    settlement: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorldpayReversal(SandboxBase):
    """A full or partial reversal (refund) of a Worldpay payment."""

    __tablename__ = "worldpay_reversals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("worldpay_payments.payment_id"))
    #: "reverse" or "partialReverse"
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(128))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    command_id: Mapped[str] = mapped_column(String(32))
    #: sentForRefund → refunded | refundFailed
    status: Mapped[str] = mapped_column(String(16))
    resolve_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when it became ``refunded`` or ``refundFailed``
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HkachToken(SandboxBase):
    """A bearer token the HK ACH simulator granted, with its scopes."""

    __tablename__ = "hkach_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    access_token: Mapped[str] = mapped_column(String(64), unique=True)
    #: space-separated, as asked for
    scopes: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HkachBatch(SandboxBase):
    """A submitted HK ACH batch, its course, and what each item will come to.

    Its status is read from the clock: RCVD until ``accepted_at``, ACTC until ``pending_at``,
    PDNG until ``final_at``, then the outcome. A batch refused by validation is RJCT at once.
    """

    __tablename__ = "hkach_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    #: payment_information_identification; None when validation found none
    batch_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pending_at: Mapped[datetime] = mapped_column(UTCDateTime)
    final_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the batch's own outcome when the whole of it fails: ISO reason and texts (JSON list)
    group_reason: Mapped[str | None] = mapped_column(String(4))
    group_information: Mapped[str] = mapped_column(Text, default="[]")
    #: True when validation refused it at submission (RJCT from the start)
    refused: Mapped[bool] = mapped_column(default=False)
    #: JSON list of {instruction_id, end_to_end_id, reason, information}
    items: Mapped[str] = mapped_column(Text, default="[]")


class Delivery(SandboxBase):
    """One notification to deliver, retried on the provider's schedule until acknowledged."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    body: Mapped[str] = mapped_column(Text)
    #: deliveries with the same queue go out in order: one waits while an earlier one is pending
    queue: Mapped[str | None] = mapped_column(String(128))
    #: pending → acknowledged | gave_up | refused (not a local URL)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryAttempt(SandboxBase):
    """The log line of one delivery attempt."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(512))
    acknowledged: Mapped[bool] = mapped_column(default=False)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FaultSwitch(SandboxBase):
    """A global fault: applies to matching calls until cleared or used up."""

    __tablename__ = "fault_switches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fault: Mapped[str] = mapped_column(String(32))
    #: an operation name (e.g. "pay") or "*" for every call
    operation: Mapped[str] = mapped_column(String(32), default="*")
    #: how many more calls it applies to; None = until cleared
    remaining: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


#: Columns added since the first sandbox.db files: (table, column, SQL type).
_ADDED_COLUMNS = (
    ("deliveries", "queue", "VARCHAR(128)"),
    ("worldpay_payments", "settlement_due_at", "DATETIME"),
    ("worldpay_payments", "settlement", "VARCHAR(32)"),
    ("worldpay_reversals", "resolved_at", "DATETIME"),
)


def build_engine(path: Path) -> Engine:
    """Return the engine of ``path`` (WAL, busy timeout, explicit BEGIN) with every table created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    configure_sqlite(engine)
    SandboxBase.metadata.create_all(engine)
    with engine.begin() as connection:
        # sandbox.db files made by earlier versions lack the newer columns.
        for table, column, kind in _ADDED_COLUMNS:
            columns = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table})")}
            if column not in columns:
                connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """Run a block in one ``BEGIN IMMEDIATE`` transaction and commit it (rollback on error)."""
    with Session(engine, expire_on_commit=False) as session:
        session.connection(execution_options={IMMEDIATE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
