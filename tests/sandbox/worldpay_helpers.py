"""Shared Worldpay steps: create an AlipayHK sale, answer the shopper page over HTTP, raw calls."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Any

import requests

from dashboard.money import Money
from dashboard.providers.worldpay import CreatePaymentRequest
from dashboard.providers.worldpay import PaymentResult
from dashboard.providers.worldpay import ResultUrls
from dashboard.providers.worldpay import WorldpayClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def result_urls(base_url: str) -> ResultUrls:
    return ResultUrls(
        success=f"{base_url}/shop/success",
        pending=f"{base_url}/shop/pending",
        failure=f"{base_url}/shop/failure",
        cancel=f"{base_url}/shop/cancel",
    )


def create(
    client: WorldpayClient,
    base_url: str,
    minor: int = 12850,
    currency: str = "HKD",
    reference: str | None = None,
) -> PaymentResult:
    return client.create_payment(
        CreatePaymentRequest(
            transaction_reference=reference or f"DASH-{uuid.uuid4().hex[:16]}",
            amount=Money(minor, currency),
            narrative="Acme Shop HK",
            result_urls=result_urls(base_url),
        )
    )


def choose(redirect: str, choice: str) -> requests.Response:
    """Open the shopper page and press a button, as a browser would (cookie + CSRF token)."""
    with requests.Session() as browser:
        page = browser.get(redirect, timeout=5)
        page.raise_for_status()
        token = _CSRF.search(page.text).group(1)
        return browser.post(
            redirect, data={"csrf_token": token, "choice": choice}, allow_redirects=False, timeout=5
        )


def independent_signatures(body: bytes, secrets: dict[str, str]) -> set[str]:
    """The Event-Signature parts written from the documentation, not from the app's code."""
    return {
        f"{key_id}/SHA256/{hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}"
        for key_id, secret in secrets.items()
    }


def raw(app, method: str, path: str, body: Any = None, *, auth=True, version=True, **kw) -> requests.Response:
    """Call the simulator directly, bypassing the client's own checks."""
    settings = app.extensions["sandbox"].worldpay
    headers = {"Accept": "application/json"}
    if version:
        headers["WP-Api-Version"] = "2024-07-01" if version is True else version
    headers.update(kw.pop("headers", {}))
    url = path if path.startswith("http") else settings.base_url + path
    return requests.request(
        method,
        url,
        json=body,
        headers=headers,
        auth=(settings.username, settings.password) if auth is True else auth,
        timeout=5,
        **kw,
    )


def create_body(base_url: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "transactionReference": f"RAW-{uuid.uuid4().hex[:16]}",
        "merchant": {"entity": "default"},
        "instruction": {
            "method": "alipay_hk",
            "value": {"amount": 12850, "currency": "HKD"},
            "narrative": {"line1": "Acme Shop HK"},
            "paymentInstrument": {"type": "direct"},
            "resultUrls": {
                "success": f"{base_url}/shop/success",
                "pending": f"{base_url}/shop/pending",
                "failure": f"{base_url}/shop/failure",
            },
        },
    }
    for path, value in changes.items():
        target = body
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return body
