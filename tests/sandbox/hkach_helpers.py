"""Shared HK ACH steps: batches, a recording HTTP session, raw calls to the simulator."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import requests

from dashboard.money import Money
from dashboard.providers.hkach import CreditTransfer
from dashboard.providers.hkach import PaymentBatch

#: The fake clock's first day (2026-01-05 10:00 HKT, a Monday): a valid same-day value date.
VALUE_DATE = date(2026, 1, 5)


def transfer(number: int = 1, **changes: Any) -> CreditTransfer:
    fields: dict[str, Any] = {
        "instruction_id": f"INS-{number}",
        "end_to_end_id": f"EMP-{number}",
        "amount": Money(1000000 + number, "HKD"),
        "bank_code": "004",
        "branch_code": "002",
        "account_number": f"12345678{number % 10}",
        "creditor_name": f"CHAN TAI MAN {number}",
        "remittance": "SALARY JAN 2026",
    }
    fields.update(changes)
    return CreditTransfer(**fields)


def batch(*transfers: CreditTransfer, batch_id: str = "PAYROLL-2026-01", **changes: Any) -> PaymentBatch:
    return PaymentBatch(
        batch_id=batch_id,
        value_date=changes.pop("value_date", VALUE_DATE),
        transfers=transfers or (transfer(1), transfer(2), transfer(3)),
        **changes,
    )


class RecordingSession(requests.Session):
    """A session that keeps every request it sends (to check what went over the wire)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        return super().send(request, **kwargs)

    def bodies(self, path_end: str) -> list[bytes]:
        return [r.body for r in self.sent if r.path_url.endswith(path_end)]


def raw_submit(base_url: str, token: str, api_key: str, message_id: str, body: Any, **headers: str):
    return requests.post(
        base_url + "/payment/hk/v1.0/ach",
        data=json.dumps(body),
        headers={
            "Authorization": f"Bearer {token}",
            "apikey": api_key,
            "x-Message-Id": message_id,
            "Content-Type": "application/json",
            **headers,
        },
        timeout=5,
    )
