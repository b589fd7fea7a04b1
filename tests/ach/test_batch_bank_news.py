"""The HK ACH mapping's part for payroll batches: a status report read as news per transfer (keyed by
our instruction id), and a batch paid from its own debit account."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

from dashboard.ach.states import ItemStatus
from dashboard.ach.states import SubmissionEvent
from dashboard.money import Money
from dashboard.providers.hkach.mapping import CreditTransfer
from dashboard.providers.hkach.mapping import PaymentBatch
from dashboard.providers.hkach.mapping import batch_problems
from dashboard.providers.hkach.mapping import build_payload
from dashboard.providers.hkach.mapping import parse_status
from dashboard.providers.news import TransferNews


def report(group: str, items: list[tuple[str, str, str | None]], **group_fields) -> dict:
    return {
        "group_status": group,
        **group_fields,
        "original_payment_information_and_status_details": [
            {
                "original_payment_information_identification": "PAY00000001-1",
                "transaction_information_and_status": [
                    {
                        "original_instruction_identification": instruction,
                        "original_end_to_end_identification": "SAL-1",
                        "transaction_status": status,
                        **({"transaction_status_reason_code": reason} if reason else {}),
                        **(
                            {"transaction_status_additional_information": ["Closed account number"]}
                            if reason
                            else {}
                        ),
                    }
                    for instruction, status, reason in items
                ],
            }
        ],
    }


def news_of(payload: dict):
    return parse_status(payload, "9d2f0a8e-0000-4000-8000-000000000001", None).news


def test_a_partly_paid_report_names_each_transfer_by_instruction_id_in_our_words():
    news = news_of(report("PART", [("PAY00000001-2", "ACSC", None), ("PAY00000001-3", "RJCT", "AC04")]))

    assert (news.event, news.group_status, news.unnamed) == (SubmissionEvent.PARTIALLY_SETTLED, "PART", None)
    assert news.transfers == {
        "PAY00000001-2": TransferNews(ItemStatus.PAID),
        "PAY00000001-3": TransferNews(ItemStatus.REJECTED, "AC04", "Closed account number"),
    }


def test_a_report_still_in_process_is_received_news_with_the_stage_of_each_transfer():
    for group, stage in (
        ("RCVD", ItemStatus.RECEIVED),
        ("ACTC", ItemStatus.ACCEPTED),
        ("PDNG", ItemStatus.PENDING),
    ):
        news = news_of(report(group, [("PAY00000001-2", group, None)]))
        assert (news.event, news.transfers["PAY00000001-2"].status) == (SubmissionEvent.RECEIVED, stage)


def test_a_batch_rejected_whole_gives_its_narrated_reason_to_every_transfer_without_one():
    news = news_of(
        report(
            "RJCT",
            [("PAY00000001-2", "RJCT", None)],
            group_status_reason_code="NARR",
            group_status_additional_information=["(AM04) Insufficient funds"],
        )
    )

    whole = TransferNews(ItemStatus.REJECTED, "AM04", "Insufficient funds")
    assert (news.event, news.code, news.message) == (SubmissionEvent.REJECTED, "AM04", "Insufficient funds")
    assert news.transfers == {"PAY00000001-2": whole}
    assert news.unnamed == whole


def test_a_batch_is_paid_from_its_own_debit_account_when_it_names_one():
    transfer = CreditTransfer(
        "PAY00000001-2", "SAL-1", Money(100, "HKD"), "004", "002", "123456785", "CHAN TAI MAN"
    )
    created = datetime(2026, 1, 5, 2, tzinfo=UTC)
    own = PaymentBatch("PAY00000001-1", date(2026, 1, 5), (transfer,), debtor_account="012345678901")
    default = PaymentBatch("PAY00000001-1", date(2026, 1, 5), (transfer,))

    def debtor(batch: PaymentBatch) -> str:
        payload = build_payload(batch, debtor_name="ACME", debtor_account="99999", created_at=created)
        return payload["payment_information"][0]["debtor_account_identification"]

    assert (debtor(own), debtor(default)) == ("012345678901", "99999")
    assert batch_problems(PaymentBatch("B", date(2026, 1, 5), (transfer,), debtor_account="12-AB")) != []
