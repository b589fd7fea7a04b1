"""The Antom simulator's settlement reports (antom.md §7), written from what it really processed.

For every GMT+8 day D the simulator serves, in the folder ``/sandbox/antom/v1/settlements/
<merchantId>/<YYYYMMDD>/`` (standing in for Antom's SFTP folder and the Dashboard's downloads):

* ``transactionItems_<D>_000.csv`` — every payment, refund and cancel made on D, with its latest status;
* per settlement currency, one batch settling what completed on D: ``settlementItems_<cur>_<batch>_000.csv``
  and ``settlementSummary_<cur>_<batch>_000.csv``. The contract currency's batch is there even on a
  day without transactions (its summary's TOTAL is 0).

The folder of D appears once D is over in GMT+8 plus :data:`REPORT_DELAY_SECONDS` (Antom: "generated
on T+1"), compressed by ``SANDBOX_TIME_SCALE``. The files are rebuilt from the simulator's tables on
each download, so they always say what it processed. Choices where the documents are silent ([U]):
a batch settles in the transaction's currency (no FX); the fee is :data:`FEE_BPS` of a payment, given
back with a cancel, none on a refund; ``ANTOM_MERCHANT_ID`` unset, the folder's merchant id is
:data:`~dashboard.providers.antom.settlement_reports.SANDBOX_MERCHANT_ID`.

``SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES`` (``all``, or ISO dates separated by commas) makes those
days' batches disagree with what the merchant was told, the way real ones do, chosen from
``SANDBOX_SEED`` so tests can name them: one payment off by one cent, one payment left out of the
details (the summary still counts it), a payment nobody asked for, a refund reversed (when the batch
has a refund) and a fee adjustment of :data:`FEE_ADJUSTMENT` units (summary only).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import replace
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.money import exponent
from dashboard.providers.antom import settlement_reports as antom_files
from dashboard.providers.antom.settlement_reports import GMT8
from dashboard.sandbox.antom import contract_currency
from dashboard.sandbox.core import Sandbox
from dashboard.sandbox.store import Payment
from dashboard.sandbox.store import Refund

#: Documented delay between the end of a day and its reports (Antom: generated on T+1).
REPORT_DELAY_SECONDS = 6 * 3600
#: The simulated contract's fee on a payment, in basis points (rounded half up to minor units).
FEE_BPS = 120
#: The fee adjustment a day with differences carries, in major units of the batch currency.
FEE_ADJUSTMENT = 5
PSP = "ALIPAY_HK"
PRODUCT_CODE = "AGREEMENT_PAYMENT"


@dataclass(frozen=True)
class Line:
    """One transaction as the reports write it (amounts in minor units, signed as written)."""

    type: str
    transaction_id: str
    original_id: str | None
    request_id: str
    amount: int
    currency: str
    fee: int
    status: str
    created_at: datetime
    completed_at: datetime | None
    method: str
    #: The batch it settles in (None: not settled).
    batch_id: str | None = None

    @property
    def net(self) -> int:
        return self.amount - self.fee


def fee_of(amount: int) -> int:
    """Return the simulated contract's fee on a payment of ``amount`` minor units."""
    return (amount * FEE_BPS + 5000) // 10000


def batch_id(sandbox: Sandbox, day: date, currency: str) -> str:
    """Return the settlement batch id of a day's batch in ``currency`` (the same on every download)."""
    tail = hashlib.sha256(f"{sandbox.seed}:{day}:{currency}".encode()).hexdigest()[:10].upper()
    return f"{day:%Y%m%d}{currency}{tail}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the start and end of a GMT+8 day."""
    start = datetime.combine(day, time(0), tzinfo=GMT8)
    return start, start + timedelta(days=1)


def ready_at(sandbox: Sandbox, day: date) -> datetime:
    """Return when a day's reports appear (compressed delay after the day's end)."""
    return day_bounds(day)[1] + sandbox.delay(REPORT_DELAY_SECONDS)


def differences_on(sandbox: Sandbox, day: date) -> bool:
    """Return whether ``SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES`` names the day (or ``all``)."""
    words = {
        word.strip()
        for word in str(sandbox.options.get("SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES") or "").split(",")
    }
    return "all" in words or day.isoformat() in words


def _within(column, day: date):
    start, end = day_bounds(day)
    return and_(column >= start, column < end)


def _payment_line(payment: Payment, type_: str = "PAYMENT") -> Line:
    fee = fee_of(payment.amount_minor)
    cancel = type_ == "CANCEL"
    return Line(
        type=type_,
        transaction_id=payment.payment_id,
        original_id=None,
        request_id=payment.payment_request_id,
        amount=-payment.amount_minor if cancel else payment.amount_minor,
        currency=payment.currency,
        fee=-fee if cancel else (fee if payment.paid_at else 0),
        status=payment.status,
        created_at=payment.created_at,
        completed_at=payment.cancelled_at if cancel else payment.paid_at,
        method=payment.payment_method_type,
    )


def _refund_line(refund: Refund, method: str) -> Line:
    return Line(
        type="REFUND",
        transaction_id=refund.refund_id,
        original_id=refund.payment_id,
        request_id=refund.refund_request_id,
        amount=-refund.amount_minor,
        currency=refund.currency,
        fee=0,
        status=refund.status,
        created_at=refund.created_at,
        completed_at=refund.refunded_at,
        method=method,
    )


def _methods(session: Session, payment_ids: Iterable[str]) -> dict[str, str]:
    ids = set(payment_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Payment.payment_id, Payment.payment_method_type).where(Payment.payment_id.in_(ids))
    )
    return {payment_id: method for payment_id, method in rows}


def settled_lines(session: Session, day: date) -> list[Line]:
    """Return what settles on ``day``: payments paid, refunds made and paid payments cancelled that day."""
    paid = session.scalars(
        select(Payment)
        .where(Payment.paid_at.is_not(None), _within(Payment.paid_at, day))
        .order_by(Payment.id)
    ).all()
    cancelled = session.scalars(
        select(Payment)
        .where(Payment.paid_at.is_not(None), _within(Payment.cancelled_at, day))
        .order_by(Payment.id)
    ).all()
    refunds = session.scalars(
        select(Refund).where(Refund.status == "SUCCESS", _within(Refund.refunded_at, day)).order_by(Refund.id)
    ).all()
    methods = _methods(session, (refund.payment_id for refund in refunds))
    return [
        *(_payment_line(payment) for payment in paid),
        *(_payment_line(payment, "CANCEL") for payment in cancelled),
        *(_refund_line(refund, methods.get(refund.payment_id, "")) for refund in refunds),
    ]


def _settled(sandbox: Sandbox, line: Line, settles: datetime | None) -> Line:
    """Return the line with the batch it settles in (the batch of the day of ``settles``), if any."""
    if settles is None:
        return line
    return replace(line, batch_id=batch_id(sandbox, settles.astimezone(GMT8).date(), line.currency))


def _within_day(moment: datetime | None, day: date) -> bool:
    start, end = day_bounds(day)
    return moment is not None and start <= moment < end


def transaction_lines(sandbox: Sandbox, session: Session, day: date) -> list[Line]:
    """Return every transaction made on ``day`` with its latest status and, once settled, its batch."""
    payments = session.scalars(
        select(Payment)
        .where(or_(_within(Payment.created_at, day), _within(Payment.cancelled_at, day)))
        .order_by(Payment.id)
    ).all()
    refunds = session.scalars(select(Refund).where(_within(Refund.created_at, day)).order_by(Refund.id)).all()
    methods = _methods(session, (refund.payment_id for refund in refunds))
    lines: list[Line] = []
    for payment in payments:
        if _within_day(payment.created_at, day):
            lines.append(_settled(sandbox, _payment_line(payment), payment.paid_at))
        if _within_day(payment.cancelled_at, day):
            paid = payment.paid_at is not None
            line = _payment_line(payment, "CANCEL")
            lines.append(_settled(sandbox, line, payment.cancelled_at) if paid else replace(line, fee=0))
    for refund in refunds:
        line = _refund_line(refund, methods.get(refund.payment_id, ""))
        lines.append(_settled(sandbox, line, refund.refunded_at if refund.status == "SUCCESS" else None))
    return lines


@dataclass
class Batch:
    """One day's settlement batch in one currency: its detail lines and its summary's extra rows."""

    batch_id: str
    currency: str
    day: date
    #: What the provider settled (the summary counts all of these).
    lines: list[Line]
    #: Lines of ``lines`` the details leave out (by transaction id and type).
    left_out: set[tuple[str, str]]
    #: Fee adjustments (minor units, positive: charged) the summary adds.
    fee_adjustments: list[int]

    @property
    def details(self) -> list[Line]:
        return [line for line in self.lines if (line.transaction_id, line.type) not in self.left_out]


def _inject_differences(sandbox: Sandbox, batch: Batch) -> None:
    """Make a batch disagree with the merchant's records as real batches do (see the module's doc)."""
    draw = random.Random(f"{sandbox.seed}:{batch.day}:{batch.currency}:differences")
    payments = [index for index, line in enumerate(batch.lines) if line.type == "PAYMENT"]
    draw.shuffle(payments)
    if payments:
        index = payments.pop()
        line = batch.lines[index]
        batch.lines[index] = replace(line, amount=line.amount + 1)
    if payments:
        line = batch.lines[payments.pop()]
        batch.left_out.add((line.transaction_id, line.type))
    tag = hashlib.sha256(f"{sandbox.seed}:{batch.batch_id}:stranger".encode()).hexdigest()
    stranger = 10 ** exponent(batch.currency) * 123 + int(tag[:4], 16) % 100
    moment = day_bounds(batch.day)[0] + timedelta(hours=11)
    batch.lines.append(
        Line(
            type="PAYMENT",
            transaction_id=f"{batch.day:%Y%m%d}1940108001001888C0{int(tag[4:16], 16) % 10**14:014d}",
            original_id=None,
            request_id=f"unknown-{tag[16:28]}",
            amount=stranger,
            currency=batch.currency,
            fee=fee_of(stranger),
            status="SUCCESS",
            created_at=moment,
            completed_at=moment,
            method=PSP,
        )
    )
    refunds = [line for line in batch.lines if line.type == "REFUND"]
    if refunds:
        refund = draw.choice(refunds)
        batch.lines.append(replace(refund, type="REFUND_REVERSAL", amount=-refund.amount, fee=0))
    batch.fee_adjustments.append(FEE_ADJUSTMENT * 10 ** exponent(batch.currency))


def batches(sandbox: Sandbox, session: Session, day: date) -> list[Batch]:
    """Return the settlement batches of ``day`` (the contract currency's always, others when used)."""
    by_currency: dict[str, list[Line]] = defaultdict(list)
    by_currency[contract_currency(sandbox)] = []
    for line in settled_lines(session, day):
        by_currency[line.currency].append(line)
    found = []
    for currency, lines in sorted(by_currency.items()):
        batch = Batch(batch_id(sandbox, day, currency), currency, day, lines, set(), [])
        if lines and differences_on(sandbox, day):
            _inject_differences(sandbox, batch)
        found.append(batch)
    return found


# -- writing -----------------------------------------------------------------------------------------


def _csv(header: tuple[str, ...], rows: Iterable[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", restval="", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    out.write(antom_files.END + "\n")
    return out.getvalue().encode("utf-8")


def _row(line: Line, merchant_id: str, settled_on: date | None) -> dict[str, str]:
    major = antom_files.major
    row = {
        "settlementBatchId": line.batch_id or "",
        "customerId": merchant_id,
        "PSP": PSP,
        "transactionType": line.type,
        "transactionId": line.transaction_id,
        "originalTransactionId": line.original_id or "",
        "transactionRequestId": line.request_id,
        "paymentMethodType": line.method,
        "wallet": line.method,
        "status": line.status,
        "transactionCreationTime": antom_files.report_time(line.created_at),
        "transactionUpdateTime": antom_files.report_time(line.completed_at or line.created_at),
        "transactionCompletionTime": antom_files.report_time(line.completed_at),
        "productCode": PRODUCT_CODE,
        "transactionAmountValue": major(line.amount, line.currency),
        "transactionCurrency": line.currency,
    }
    if line.batch_id:
        row |= {
            "settlementAmountValue": major(line.net, line.currency),
            "settlementCurrency": line.currency,
            "feeAmountValue": major(line.fee, line.currency),
            "feeCurrency": line.currency,
        }
    if settled_on is not None:
        row["settlementInitiatedDate"] = settled_on.isoformat()
    return row


def transactions_file(sandbox: Sandbox, session: Session, day: date, merchant_id: str) -> bytes:
    """Write the transaction details report of ``day``."""
    rows = (_row(line, merchant_id, None) for line in transaction_lines(sandbox, session, day))
    return _csv(antom_files.TRANSACTION_COLUMNS, rows)


def details_file(batch: Batch, merchant_id: str) -> bytes:
    """Write a batch's settlement details report."""
    rows = (_row(replace(line, batch_id=batch.batch_id), merchant_id, batch.day) for line in batch.details)
    return _csv(antom_files.DETAIL_COLUMNS, rows)


def summary_file(batch: Batch, merchant_id: str) -> bytes:
    """Write a batch's settlement summary report: one row per type, then TOTAL."""
    sums: dict[str, list[int]] = {}
    for line in batch.lines:
        count, net, fee = sums.setdefault(line.type, [0, 0, 0])
        sums[line.type] = [count + 1, net + line.net, fee + line.fee]
    for fee in batch.fee_adjustments:
        count, net, charged = sums.setdefault("ADJUSTMENT_FEE", [0, 0, 0])
        sums["ADJUSTMENT_FEE"] = [count + 1, net - fee, charged + fee]
    sums["TOTAL"] = [
        sum(values[0] for values in sums.values()),
        *(sum(v[i] for v in sums.values()) for i in (1, 2)),
    ]
    rows = (
        {
            "settlementBatchId": batch.batch_id,
            "customerId": merchant_id,
            "PSP": PSP,
            "summaryType": type_,
            "count": str(count),
            "settlementAmountValue": antom_files.major(net, batch.currency),
            "settlementCurrency": batch.currency,
            "feeAmountValue": antom_files.major(fee, batch.currency),
            "feeCurrency": batch.currency,
            "settlementInitiatedDate": batch.day.isoformat(),
        }
        for type_, (count, net, fee) in sums.items()
    )
    return _csv(antom_files.SUMMARY_COLUMNS, rows)


def merchant_id(sandbox: Sandbox) -> str:
    """Return the merchant id the simulator's report folder is named by."""
    return sandbox.options.get("ANTOM_MERCHANT_ID") or antom_files.SANDBOX_MERCHANT_ID


def day_files(sandbox: Sandbox, session: Session, day: date, now: datetime) -> dict[str, bytes] | None:
    """Return a day's report files by name, or None while the day's folder does not exist yet."""
    if now < ready_at(sandbox, day):
        return None
    merchant = merchant_id(sandbox)
    files = {antom_files.transactions_name(day): transactions_file(sandbox, session, day, merchant)}
    for batch in batches(sandbox, session, day):
        files[antom_files.details_name(batch.currency, batch.batch_id)] = details_file(batch, merchant)
        files[antom_files.summary_name(batch.currency, batch.batch_id)] = summary_file(batch, merchant)
    return files
