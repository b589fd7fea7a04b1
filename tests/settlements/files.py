"""Antom report files for the settlement tests, written with the documented columns (antom.md §7)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from sqlalchemy import select

from dashboard.extensions import db
from dashboard.providers.antom.settlement_reports import DETAIL_COLUMNS
from dashboard.providers.antom.settlement_reports import SUMMARY_COLUMNS
from dashboard.providers.antom.settlement_reports import TYPE_WORDS
from dashboard.providers.antom.settlement_reports import details_name
from dashboard.providers.antom.settlement_reports import major
from dashboard.providers.antom.settlement_reports import summary_name
from dashboard.settlements import service
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.records import EntryKind

DAY = date(2026, 1, 5)


@dataclass
class Batch:
    """A batch being written: its rows (kind, id, request id, signed amount, fee) and summary extras."""

    reference: str = "20260105HKD0000000001"
    currency: str = "HKD"
    day: date = DAY
    rows: list[tuple[EntryKind, str, str | None, int, int, str | None]] = field(default_factory=list)
    fee_adjustments: list[int] = field(default_factory=list)
    #: Rows the summary counts but the details leave out.
    left_out: list[tuple[EntryKind, str, str | None, int, int, str | None]] = field(default_factory=list)
    #: Added to the summary's TOTAL net (a summary that disagrees).
    total_skew: int = 0

    def add(self, kind: EntryKind, provider_id: str, request_id: str | None, amount: int, fee: int = 0,
            original: str | None = None) -> Batch:  # fmt: skip
        self.rows.append((kind, provider_id, request_id, amount, fee, original))
        return self

    def _detail(self, row) -> str:
        kind, provider_id, request_id, amount, fee, original = row
        values = {
            "settlementBatchId": self.reference,
            "customerId": "2188120000000001",
            "PSP": "ALIPAY_HK",
            "transactionType": TYPE_WORDS[kind],
            "transactionId": provider_id,
            "originalTransactionId": original or "",
            "transactionRequestId": request_id or "",
            "transactionCreationTime": "2026-01-05T10:00:00+08:00",
            "transactionCompletionTime": "2026-01-05T10:00:01+08:00",
            "transactionAmountValue": major(amount, self.currency),
            "transactionCurrency": self.currency,
            "settlementAmountValue": major(amount - fee, self.currency),
            "settlementCurrency": self.currency,
            "feeAmountValue": major(fee, self.currency),
            "feeCurrency": self.currency,
            "settlementInitiatedDate": self.day.isoformat(),
        }
        return ",".join(values.get(column, "") for column in DETAIL_COLUMNS)

    def details(self) -> tuple[str, io.BytesIO]:
        lines = [",".join(DETAIL_COLUMNS), *(self._detail(row) for row in self.rows), "<END>"]
        return details_name(self.currency, self.reference), io.BytesIO("\n".join(lines).encode() + b"\n")

    def summary(self) -> tuple[str, io.BytesIO]:
        sums: dict[EntryKind, list[int]] = {}
        for kind, _, _, amount, fee, _ in self.rows + self.left_out:
            count, net, fees = sums.get(kind, [0, 0, 0])
            sums[kind] = [count + 1, net + amount - fee, fees + fee]
        for fee in self.fee_adjustments:
            count, net, fees = sums.get(EntryKind.FEE_ADJUSTMENT, [0, 0, 0])
            sums[EntryKind.FEE_ADJUSTMENT] = [count + 1, net - fee, fees + fee]
        total = [sum(values[i] for values in sums.values()) for i in range(3)]
        sums[EntryKind.TOTAL] = [total[0], total[1] + self.total_skew, total[2]]
        lines = [",".join(SUMMARY_COLUMNS)]
        for kind, (count, net, fee) in sums.items():
            values = {
                "settlementBatchId": self.reference,
                "summaryType": TYPE_WORDS[kind],
                "count": str(count),
                "settlementAmountValue": major(net, self.currency),
                "settlementCurrency": self.currency,
                "feeAmountValue": major(fee, self.currency),
                "feeCurrency": self.currency,
                "settlementInitiatedDate": self.day.isoformat(),
            }
            lines.append(",".join(values.get(column, "") for column in SUMMARY_COLUMNS))
        lines.append("<END>")
        return summary_name(self.currency, self.reference), io.BytesIO("\n".join(lines).encode() + b"\n")


def settlement_with_differences() -> SettlementBatch:
    """Import a batch with a payment nobody knows and a fee adjustment; return it, reconciled."""
    batch = Batch().add(EntryKind.PAYMENT, "STRANGER", "=HYPERLINK(1)", 12300, 148)
    batch.fee_adjustments.append(500)
    for name, stream in (batch.details(), batch.summary()):
        service.import_report("antom", stream, name, source="upload")
    return db.session.scalar(select(SettlementBatch).where(SettlementBatch.reference == batch.reference))
