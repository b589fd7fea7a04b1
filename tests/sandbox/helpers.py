"""Shared steps: authorize an agreement through the stand-in page over HTTP, make payments."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import requests

from dashboard.money import Money
from dashboard.providers.antom import AntomClient
from dashboard.providers.antom import ApplyTokenRequest
from dashboard.providers.antom import ConsultRequest
from dashboard.providers.antom import Env
from dashboard.providers.antom import PayRequest
from dashboard.providers.antom import PayResult
from dashboard.providers.antom import signatures
from dashboard.providers.antom.mapping import ApplyTokenResult

WALLET = "ALIPAY_HK"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def consult(antom: AntomClient, base_url: str, state: str | None = None, wallet: str = WALLET):
    """Consult for ``wallet`` (ALIPAY_HK) with a redirect back to the app."""
    return antom.consult(
        ConsultRequest(
            customer_belongs_to=wallet,
            auth_redirect_url=f"{base_url}/merchant/authorized?from=sandbox",
            auth_state=state or f"st-{uuid.uuid4().hex[:12]}",
            env=Env("WEB"),
        )
    )


def answer_consent(link: str, decision: str = "approve") -> requests.Response:
    """Open the stand-in page and press a button, as a browser would (cookie + CSRF token)."""
    with requests.Session() as browser:
        page = browser.get(link, timeout=5)
        page.raise_for_status()
        token = _CSRF.search(page.text).group(1)
        return browser.post(
            link, data={"csrf_token": token, "decision": decision}, allow_redirects=False, timeout=5
        )


def authorize(antom: AntomClient, base_url: str, wallet: str = WALLET) -> tuple[str, str]:
    """Consult and approve; return (authCode, authState) from the redirect."""
    consulted = consult(antom, base_url, wallet=wallet)
    answer = answer_consent(consulted.normal_url)
    assert answer.status_code == 303, answer.text
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["authState"] == [consulted.auth_state]
    return query["authCode"][0], consulted.auth_state


def token(antom: AntomClient, base_url: str, wallet: str = WALLET) -> ApplyTokenResult:
    """Authorize and exchange the code for ``wallet``'s customer; return the applyToken answer."""
    code, _ = authorize(antom, base_url, wallet)
    result = antom.apply_token(ApplyTokenRequest.for_auth_code(wallet, code))
    assert result.outcome == "S", result
    return result


def pay(antom: AntomClient, access_token: str, minor: int, request_id: str | None = None, **kw) -> PayResult:
    """Pay ``minor`` HKD cents with the token."""
    return antom.pay(
        PayRequest(
            payment_request_id=request_id or f"pay-{uuid.uuid4().hex}",
            amount=Money(minor, "HKD"),
            payment_method_type=kw.pop("wallet", WALLET),
            access_token=access_token,
            reference_order_id="ORD-1",
            order_description="Monthly plan",
            settlement_currency=kw.pop("settlement_currency", "HKD"),
            **kw,
        )
    )


def raw_call(sandbox, api: str, body: dict) -> dict:
    """POST ``body`` to the simulator's ``api`` (``payments/pay`` …), signed; return the answer."""
    settings = sandbox.sandbox.antom
    uri = f"/sandbox/antom/ams/sandbox/api/v1/{api}"
    raw = json.dumps(body).encode()
    request_time = "1767578400123"
    key = signatures.load_private_key(settings.private_key)
    value = signatures.sign(key, "POST", uri, settings.client_id, request_time, raw)
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "Client-Id": settings.client_id,
        "Request-Time": request_time,
        "Signature": signatures.build_signature_header(value),
    }
    answer = requests.post(sandbox.url + uri, data=raw, headers=headers, timeout=5)
    answer.raise_for_status()
    return answer.json()
