"""The documented Worldpay samples: stored bodies in tests/payloads/worldpay and the example request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dashboard.money import Money
from dashboard.providers.worldpay import CreatePaymentRequest
from dashboard.providers.worldpay import Customer
from dashboard.providers.worldpay import DeviceData
from dashboard.providers.worldpay import ResultUrls

USERNAME = "merchant-user"
PASSWORD = "s3cret-pass"
PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "worldpay"


def payload_bytes(name: str) -> bytes:
    """Return a stored sample body exactly as written."""
    return (PAYLOADS / f"{name}.json").read_bytes()


def payload(name: str) -> dict[str, Any]:
    """Return a stored sample body, parsed."""
    return json.loads(payload_bytes(name))


URLS = ResultUrls(
    success="https://shop.example/pay/success",
    pending="https://shop.example/pay/pending",
    failure="https://shop.example/pay/failure",
    cancel="https://shop.example/pay/cancel",
)


def documented_request(**changes: object) -> CreatePaymentRequest:
    """Return the request of the documented example (§1.4.3), with ``changes`` applied."""
    fields: dict[str, object] = {
        "transaction_reference": "DASH-ORD-000123",
        "order_reference": "ORD-000123",
        "amount": Money(12850, "HKD"),
        "narrative": "Acme Shop HK",
        "result_urls": URLS,
        "country": "HK",
        "device_data": DeviceData(device="mobile", operating_system="ios"),
        "customer": Customer(first_name="Mei", last_name="Chan", email="mei@example.com"),
    }
    fields.update(changes)
    return CreatePaymentRequest(**fields)  # type: ignore[arg-type]
