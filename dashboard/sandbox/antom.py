"""The Antom Auto Debit simulator: consult, applyToken, revoke, pay, inquiryPayment, cancel,
refund, inquiryRefund, and the notifications Antom sends (notifyAuthorization, notifyPayment,
notifyRefund).

Amount triggers — ``pay`` (the last two digits of ``paymentAmount.value`` in minor units):

====== ==================================================================================
ending ``pay`` answers
====== ==================================================================================
01     S SUCCESS
02     U PAYMENT_IN_PROCESS, then SUCCESS by notifyPayment (after 20 s, compressed)
03     U PAYMENT_IN_PROCESS, then F USER_BALANCE_NOT_ENOUGH by notifyPayment
04     U PAYMENT_IN_PROCESS, never resolves: FAIL ORDER_IS_CLOSED at its 1-minute expiry
05     U UNKNOWN_EXCEPTION, although the payment succeeded (inquiryPayment shows SUCCESS)
06     U REQUEST_TRAFFIC_EXCEED_LIMIT, nothing is created (every retry answers the same)
11-35  F USER_BALANCE_NOT_ENOUGH (11), RISK_REJECT (12), USER_AMOUNT_EXCEED_LIMIT (13),
       PAYMENT_AMOUNT_EXCEED_LIMIT (14), PAYMENT_COUNT_EXCEED_LIMIT (15), USER_STATUS_ABNORMAL
       (16), USER_NOT_EXIST (17), USER_KYC_NOT_QUALIFIED (18), USER_PAYMENT_VERIFICATION_FAILED
       (19), INVALID_CONTRACT (20), INVALID_MERCHANT_STATUS (21), MERCHANT_NOT_REGISTERED (22),
       MERCHANT_KYB_NOT_QUALIFIED (23), PAYMENT_NOT_QUALIFIED (24), SETTLE_CONTRACT_NOT_MATCH
       (25), NO_PAY_OPTIONS (26), CURRENCY_NOT_SUPPORT (27), PROCESS_FAIL (28), SYSTEM_ERROR
       (29), ACCESS_DENIED (30), INVALID_PAYMENT_METHOD_META_DATA (31), VERIFY_TIMES_EXCEED_LIMIT
       (32), VERIFY_UNMATCHED (33), EXPIRED_CODE (34), INVALID_PAYMENT_CODE (35)
36     F INVALID_ACCESS_TOKEN (as if the wallet had dropped the token)
other  the realistic mix, drawn from ``SANDBOX_SEED`` + paymentRequestId (so a retry draws the
       same): 85 % SUCCESS; 5 % PAYMENT_IN_PROCESS resolving to SUCCESS (4 in 5) or
       USER_BALANCE_NOT_ENOUGH; 10 % failures weighted USER_BALANCE_NOT_ENOUGH 4, RISK_REJECT 2,
       USER_AMOUNT_EXCEED_LIMIT 2, PAYMENT_AMOUNT_EXCEED_LIMIT, USER_STATUS_ABNORMAL,
       USER_PAYMENT_VERIFICATION_FAILED, PAYMENT_COUNT_EXCEED_LIMIT 1 each
====== ==================================================================================

``refund`` (the last two digits of ``refundAmount.value``): 01 S SUCCESS; 02 U REFUND_IN_PROCESS
then SUCCESS by notifyRefund; 03 U REFUND_IN_PROCESS then FAIL PROCESS_FAIL by notifyRefund; 11 F
MERCHANT_BALANCE_NOT_ENOUGH; other endings: 85 % SUCCESS, 15 % REFUND_IN_PROCESS then SUCCESS.

Codes that come from the rules rather than the amount: REPEAT_REQ_INCONSISTENT (a request id
reused with another body), ORDER_IS_CANCELED / ORDER_IS_CLOSED (pay again with the id of a
cancelled / expired payment), INVALID_ACCESS_TOKEN (unknown, expired, revoked or unbound token;
revoke of a dead token), INVALID_CONTRACT (paymentMethodType is not the token's wallet),
PARAM_ILLEGAL (missing or malformed fields, paymentExpiryTime more than 1 minute ahead, refund
currency not the payment's), SETTLE_CONTRACT_NOT_MATCH (a settlementCurrency other than the
contract's, ``SANDBOX_ANTOM_SETTLEMENT_CURRENCY``, default HKD), ORDER_NOT_EXIST,
ORDER_STATUS_INVALID (refund or cancel of a payment that did not succeed), PAYMENT_IN_PROCESS
(refund of a payment still processing), REFUND_AMOUNT_EXCEED, REFUND_WINDOW_EXCEED
(``SANDBOX_ANTOM_REFUND_DAYS``, default 365), CANCEL_WINDOW_EXCEED (after 00:15 GMT+8 on the day
after the payment), PROCESS_FAIL (cancel after any refund), CLIENT_INVALID, INVALID_SIGNATURE,
KEY_NOT_FOUND, NO_INTERFACE_DEF.
applyToken codes are not documented (antom.md §2.3); the simulator answers INVALID_CODE,
USED_CODE, EXPIRED_CODE, INVALID_REFRESH_TOKEN and EXPIRED_REFRESH_TOKEN — names to check.

Disputes, on demand (:func:`raise_dispute`, a button on /sandbox): a paid payment gets
DISPUTE_CREATED (defence due in 7 days), then the course chosen (:data:`DISPUTE_COURSES`): won
(DEFENSE_SUPPLIED, then DISPUTE_JUDGED ACCEPT_BY_CUSTOMER), lost (DEFENSE_SUPPLIED, then
DISPUTE_JUDGED ACCEPT_BY_MERCHANT), withdrawn (DISPUTE_CANCELLED), unanswered (DEFENSE_DUE_ALERT,
then DISPUTE_ACCEPTED with disputeAcceptReason TIMEOUT) or open (DEFENSE_DUE_ALERT only). They go
to the notification address (``ANTOM_NOTIFY_PATH``), shaped as ams/notify_dispute shows them: no
notifyType and no result.

Choices where the documents are silent (antom.md §6, [U]): an auth code lives 10 minutes, an
access token 30 days, a refresh token 365 days; a refresh token works once and the old access
token keeps working until it expires; revoke and the customer's unbinding both send
TOKEN_CANCELED; a payment that failed synchronously still gets a notifyPayment, a request
rejected before a payment exists does not; cancel has no notification.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from collections.abc import Callable
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import timezone
from typing import Any
from typing import NamedTuple
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.money import Money
from dashboard.providers.antom import mapping
from dashboard.providers.antom import signatures
from dashboard.providers.antom.consts import CONTENT_TYPE
from dashboard.providers.antom.consts import DEFAULT_SETTLEMENT_CURRENCY
from dashboard.providers.antom.consts import HEADER_REQUEST_TIME
from dashboard.providers.antom.consts import HEADER_SIGNATURE
from dashboard.providers.antom.consts import PRODUCT_CODE_AGREEMENT_PAYMENT
from dashboard.providers.antom.consts import RESULT_CODES
from dashboard.providers.antom.consts import DisputeJudgedResult
from dashboard.providers.antom.consts import DisputeNotificationType
from dashboard.providers.antom.consts import NotifyType
from dashboard.providers.antom.consts import Operation
from dashboard.sandbox import sender
from dashboard.sandbox.core import ActiveFaults
from dashboard.sandbox.core import Sandbox
from dashboard.sandbox.store import Authorization
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import Dispute
from dashboard.sandbox.store import Payment
from dashboard.sandbox.store import Refund
from dashboard.sandbox.store import Token

PROVIDER = "antom"
GMT8 = timezone(timedelta(hours=8))

AUTH_CODE_TTL = timedelta(minutes=10)
ACCESS_TOKEN_TTL = timedelta(days=30)
REFRESH_TOKEN_TTL = timedelta(days=365)
#: Auto Debit payments expire one minute after the request (pay, paymentExpiryTime).
PAYMENT_EXPIRY = timedelta(minutes=1)
#: Documented seconds until a PAYMENT_IN_PROCESS / REFUND_IN_PROCESS resolves (then compressed).
RESOLVE_AFTER_SECONDS = 20
DEFAULT_REFUND_DAYS = 365

PAY_TRIGGERS: dict[int, str] = {
    11: "USER_BALANCE_NOT_ENOUGH",
    12: "RISK_REJECT",
    13: "USER_AMOUNT_EXCEED_LIMIT",
    14: "PAYMENT_AMOUNT_EXCEED_LIMIT",
    15: "PAYMENT_COUNT_EXCEED_LIMIT",
    16: "USER_STATUS_ABNORMAL",
    17: "USER_NOT_EXIST",
    18: "USER_KYC_NOT_QUALIFIED",
    19: "USER_PAYMENT_VERIFICATION_FAILED",
    20: "INVALID_CONTRACT",
    21: "INVALID_MERCHANT_STATUS",
    22: "MERCHANT_NOT_REGISTERED",
    23: "MERCHANT_KYB_NOT_QUALIFIED",
    24: "PAYMENT_NOT_QUALIFIED",
    25: "SETTLE_CONTRACT_NOT_MATCH",
    26: "NO_PAY_OPTIONS",
    27: "CURRENCY_NOT_SUPPORT",
    28: "PROCESS_FAIL",
    29: "SYSTEM_ERROR",
    30: "ACCESS_DENIED",
    31: "INVALID_PAYMENT_METHOD_META_DATA",
    32: "VERIFY_TIMES_EXCEED_LIMIT",
    33: "VERIFY_UNMATCHED",
    34: "EXPIRED_CODE",
    35: "INVALID_PAYMENT_CODE",
}
MIX_FAILURES: tuple[tuple[str, int], ...] = (
    ("USER_BALANCE_NOT_ENOUGH", 4),
    ("RISK_REJECT", 2),
    ("USER_AMOUNT_EXCEED_LIMIT", 2),
    ("PAYMENT_AMOUNT_EXCEED_LIMIT", 1),
    ("USER_STATUS_ABNORMAL", 1),
    ("USER_PAYMENT_VERIFICATION_FAILED", 1),
    ("PAYMENT_COUNT_EXCEED_LIMIT", 1),
)

#: Messages of the codes Antom's tables do not list.
EXTRA_MESSAGES = {
    "INVALID_CODE": "The auth code is invalid.",
    "USED_CODE": "The auth code has already been used.",
    "EXPIRED_CODE": "The auth code is expired.",
    "INVALID_REFRESH_TOKEN": "The refresh token is invalid, used or revoked.",
    "EXPIRED_REFRESH_TOKEN": "The refresh token is expired.",
}

#: URL path after /v1/ → operation.
API_PATHS: dict[str, Operation] = {
    "authorizations/consult": Operation.CONSULT,
    "authorizations/applyToken": Operation.APPLY_TOKEN,
    "authorizations/revoke": Operation.REVOKE,
    "payments/pay": Operation.PAY,
    "payments/inquiryPayment": Operation.INQUIRY_PAYMENT,
    "payments/cancel": Operation.CANCEL,
    "payments/refund": Operation.REFUND,
    "payments/inquiryRefund": Operation.INQUIRY_REFUND,
}


class Reject(Exception):
    """Answer the call with this result (and the extra fields) instead of going on."""

    def __init__(self, code: str, status: str = "F", **fields: Any):
        super().__init__(code)
        self.code = code
        self.status = status
        self.fields = fields


# -- helpers ----------------------------------------------------------------------------------------


def message(operation: Operation | None, code: str) -> str:
    """Return the documented message of ``code``."""
    documented = RESULT_CODES[operation or Operation.PAY].get(code) or RESULT_CODES[Operation.PAY].get(code)
    if documented is None:
        for table in RESULT_CODES.values():
            if code in table:
                documented = table[code]
                break
    return documented.meaning if documented else EXTRA_MESSAGES.get(code, code)


def result(operation: Operation | None, code: str, status: str) -> dict[str, str]:
    """Return a ``result`` object."""
    return {"resultCode": code, "resultStatus": status, "resultMessage": message(operation, code)}


def at(moment: datetime) -> str:
    """Return an Antom time in GMT+8, as Antom's examples show."""
    return mapping.format_time(moment.astimezone(GMT8))


def new_id(now: datetime) -> str:
    """Return an Antom-looking object id (date, fixed middle, random tail)."""
    return f"{now.astimezone(GMT8):%Y%m%d}1940108001001888C0{secrets.randbelow(10**14):014d}"


def request_hash(body: dict[str, Any]) -> str:
    """Return the fingerprint that idempotency compares."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _text(body: dict[str, Any], key: str, max_length: int = 64, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise Reject("PARAM_ILLEGAL")
    return value


def _amount(body: dict[str, Any], key: str) -> Money:
    try:
        money = mapping.from_amount(body.get(key))
    except mapping.MappingError:
        raise Reject("PARAM_ILLEGAL") from None
    if money.minor <= 0:
        raise Reject("PARAM_ILLEGAL")
    return money


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _notify(
    sandbox: Sandbox,
    session: Session,
    url: str | None,
    kind: str,
    payload: dict[str, Any],
    faults: ActiveFaults,
) -> list[Delivery]:
    if "no_notification" in faults:
        return []  # no notification address at Antom for this kind
    copies = 2 if "duplicate_notification" in faults else 1
    return sender.enqueue(
        session, sandbox, PROVIDER, kind, url or sandbox.default_notify_url, payload, copies
    )


def notification_headers(sandbox: Sandbox, url: str, body: bytes) -> dict[str, str]:
    """Sign a notification the way Antom does: content ``POST <notify path>\\n<client-id>.<time>.<body>``."""
    request_time = at(_now())
    path = urlsplit(url).path or "/"
    signature = signatures.sign(
        sandbox.keys.antom.private_key, "POST", path, sandbox.antom.client_id, request_time, body
    )
    return {
        "Content-Type": CONTENT_TYPE,
        HEADER_REQUEST_TIME: request_time,
        "client-id": sandbox.antom.client_id,
        HEADER_SIGNATURE: signatures.build_signature_header(signature, sandbox.antom.key_version),
    }


def _now() -> datetime:
    from dashboard import clock

    return clock.now()


# -- authorizations ---------------------------------------------------------------------------------


def consult(sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults) -> dict:
    """consult: store the request and answer a one-time link to the customer stand-in page."""
    wallet = _text(body, "customerBelongsTo")
    redirect = _text(body, "authRedirectUrl", 1024)
    state = _text(body, "authState", 256)
    scopes = body.get("scopes")
    if urlsplit(redirect).scheme not in {"http", "https"}:
        raise Reject("PARAM_ILLEGAL")
    if (
        not isinstance(scopes, list)
        or not 1 <= len(scopes) <= 4
        or not all(isinstance(s, str) for s in scopes)
    ):
        raise Reject("PARAM_ILLEGAL")
    link = secrets.token_urlsafe(24)
    session.add(
        Authorization(
            link_token=link,
            auth_state=state,
            customer_belongs_to=wallet,
            redirect_url=redirect,
            notify_url=_text(body, "authNotifyUrl", 1024, required=False),
            scopes=",".join(scopes),
            auth_client_id=_text(body, "authClientId", required=False),
            created_at=now,
        )
    )
    url = f"{sandbox.base_url}/antom/authorize/{link}"
    return {"result": result(Operation.CONSULT, "SUCCESS", "S"), "normalUrl": url, "authUrl": url}


def approve(sandbox: Sandbox, session: Session, link: str, now: datetime, faults: ActiveFaults) -> str:
    """The customer approves: issue an auth code, notify AUTHCODE_CREATED, return the redirect URL.

    The redirect carries ``authCode`` and ``authState`` whether or not the notification is sent
    (the ``no_notification`` fault: no notification address configured at Antom).
    """
    auth = find_consult(session, link)
    if auth is None or auth.status != "consulted":
        raise Reject("USED_LINK")
    auth.status = "approved"
    auth.auth_code = secrets.token_hex(16).upper()
    auth.auth_code_expires_at = now + AUTH_CODE_TTL
    payload = {
        "authorizationNotifyType": str(NotifyType.AUTHCODE_CREATED),
        "authCode": auth.auth_code,
        "authState": auth.auth_state,
        "authClientId": auth.auth_client_id,
        "result": result(None, "SUCCESS", "S"),
    }
    _notify(sandbox, session, auth.notify_url, "AUTHCODE_CREATED", _compact(payload), faults)
    return _with_query(auth.redirect_url, authCode=auth.auth_code, authState=auth.auth_state)


def decline(session: Session, link: str) -> Authorization:
    """The customer declines: the link is spent, nothing is notified (Antom notifies successes only)."""
    auth = find_consult(session, link)
    if auth is None or auth.status != "consulted":
        raise Reject("USED_LINK")
    auth.status = "declined"
    return auth


def find_consult(session: Session, link: str) -> Authorization | None:
    """Return the consult behind a stand-in page link."""
    return session.scalar(select(Authorization).where(Authorization.link_token == link))


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _issue_token(session: Session, auth: Authorization, now: datetime) -> Token:
    token = Token(
        authorization_id=auth.id,
        customer_belongs_to=auth.customer_belongs_to,
        access_token=f"{now.astimezone(GMT8):%Y%m%d}{secrets.token_hex(20).upper()}",
        access_token_expires_at=now + ACCESS_TOKEN_TTL,
        refresh_token=f"R{now.astimezone(GMT8):%Y%m%d}{secrets.token_hex(20).upper()}",
        refresh_token_expires_at=now + REFRESH_TOKEN_TTL,
        created_at=now,
    )
    session.add(token)
    session.flush()
    return token


def apply_token(sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults) -> dict:
    """applyToken by AUTHORIZATION_CODE (single use, 10 minutes) or REFRESH_TOKEN (single use)."""
    grant = _text(body, "grantType", 32)
    wallet = _text(body, "customerBelongsTo")
    if grant == "AUTHORIZATION_CODE":
        code = _text(body, "authCode", 128)
        auth = session.scalar(select(Authorization).where(Authorization.auth_code == code))
        if auth is None:
            raise Reject("INVALID_CODE")
        if auth.customer_belongs_to != wallet:
            raise Reject("PARAM_ILLEGAL")
        if auth.auth_code_used:
            raise Reject("USED_CODE")
        if auth.auth_code_expires_at <= now:
            raise Reject("EXPIRED_CODE")
        auth.auth_code_used = True
        token = _issue_token(session, auth, now)
    elif grant == "REFRESH_TOKEN":
        refresh = _text(body, "refreshToken", 128)
        old = session.scalar(select(Token).where(Token.refresh_token == refresh))
        if old is None or old.refresh_used or old.status != "active":
            raise Reject("INVALID_REFRESH_TOKEN")
        if old.customer_belongs_to != wallet:
            raise Reject("PARAM_ILLEGAL")
        if old.refresh_token_expires_at <= now:
            raise Reject("EXPIRED_REFRESH_TOKEN")
        old.refresh_used = True
        token = _issue_token(session, session.get(Authorization, old.authorization_id), now)
    else:
        raise Reject("PARAM_ILLEGAL")
    return {
        "result": result(Operation.APPLY_TOKEN, "SUCCESS", "S"),
        "accessToken": token.access_token,
        "accessTokenExpiryTime": at(token.access_token_expires_at),
        "refreshToken": token.refresh_token,
        "refreshTokenExpiryTime": at(token.refresh_token_expires_at),
        "userLoginId": "852****" + token.access_token[-4:],
    }


def _end_tokens(
    sandbox: Sandbox, session: Session, token: Token, status: str, reason: str | None, faults: ActiveFaults
) -> None:
    siblings = session.scalars(select(Token).where(Token.authorization_id == token.authorization_id)).all()
    for sibling in siblings:
        if sibling.status == "active":
            sibling.status = status
    auth = session.get(Authorization, token.authorization_id)
    payload = {
        "authorizationNotifyType": str(NotifyType.TOKEN_CANCELED),
        "accessToken": token.access_token,
        "reason": reason,
        "authClientId": auth.auth_client_id,
        "result": result(None, "SUCCESS", "S"),
    }
    _notify(sandbox, session, auth.notify_url, "TOKEN_CANCELED", _compact(payload), faults)


def revoke(sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults) -> dict:
    """revoke: the access token and every token of the same authorization die; TOKEN_CANCELED follows."""
    access = _text(body, "accessToken", 128)
    token = session.scalar(select(Token).where(Token.access_token == access))
    if token is None or token.status != "active":
        raise Reject("INVALID_ACCESS_TOKEN")
    _end_tokens(sandbox, session, token, "revoked", None, faults)
    return {"result": result(Operation.REVOKE, "SUCCESS", "S")}


def unbind(sandbox: Sandbox, session: Session, token_id: int, faults: ActiveFaults) -> Token:
    """The customer unbinds the merchant in the wallet app: tokens die, TOKEN_CANCELED is sent."""
    token = session.get(Token, token_id)
    if token is None or token.status != "active":
        raise Reject("INVALID_ACCESS_TOKEN")
    _end_tokens(
        sandbox, session, token, "canceled", "The customer unbound the merchant in the wallet app.", faults
    )
    return token


def token_usable(token: Token | None, now: datetime) -> bool:
    """Return whether an access token can debit now."""
    return token is not None and token.status == "active" and token.access_token_expires_at > now


# -- payments -------------------------------------------------------------------------------------


def pay_plan(seed: str, request_id: str, amount_minor: int) -> tuple[str, str]:
    """Return (kind, code) for a new payment: kind S, F, PENDING (code = final), EXPIRE, UNKNOWN, TRAFFIC."""
    ending = amount_minor % 100
    fixed = {
        1: ("S", "SUCCESS"),
        2: ("PENDING", "SUCCESS"),
        3: ("PENDING", "USER_BALANCE_NOT_ENOUGH"),
        4: ("EXPIRE", "ORDER_IS_CLOSED"),
        5: ("UNKNOWN", "SUCCESS"),
        6: ("TRAFFIC", "REQUEST_TRAFFIC_EXCEED_LIMIT"),
        36: ("REJECT", "INVALID_ACCESS_TOKEN"),
    }
    if ending in fixed:
        return fixed[ending]
    if ending in PAY_TRIGGERS:
        return "F", PAY_TRIGGERS[ending]
    rng = random.Random(f"{seed}:pay:{request_id}")
    draw = rng.random()
    if draw < 0.85:
        return "S", "SUCCESS"
    if draw < 0.90:
        return "PENDING", "SUCCESS" if rng.random() < 0.8 else "USER_BALANCE_NOT_ENOUGH"
    codes, weights = zip(*MIX_FAILURES, strict=True)
    return "F", rng.choices(codes, weights)[0]


def _payment_fields(payment: Payment) -> dict[str, Any]:
    return _compact(
        {
            "paymentRequestId": payment.payment_request_id,
            "paymentId": payment.payment_id,
            "paymentAmount": {"currency": payment.currency, "value": str(payment.amount_minor)},
            "paymentCreateTime": at(payment.created_at),
            "paymentTime": at(payment.paid_at) if payment.paid_at else None,
        }
    )


def _payment_notice(payment: Payment) -> dict[str, Any]:
    status = "S" if payment.status == "SUCCESS" else "F"
    return {
        "notifyType": str(NotifyType.PAYMENT_RESULT),
        "result": result(Operation.PAY, payment.result_code, status),
        **_payment_fields(payment),
        "pspCustomerInfo": {"pspName": payment.payment_method_type, "displayCustomerId": "852****0001"},
    }


def _pay_answer(payment: Payment) -> dict[str, Any]:
    if payment.status == "PROCESSING":
        return {"result": result(Operation.PAY, "PAYMENT_IN_PROCESS", "U"), **_payment_fields(payment)}
    if payment.status == "CANCELLED":
        return {"result": result(Operation.PAY, "ORDER_IS_CANCELED", "F")}
    if payment.status == "FAIL" and payment.result_code == "ORDER_IS_CLOSED":
        return {"result": result(Operation.PAY, "ORDER_IS_CLOSED", "F")}
    status = "S" if payment.status == "SUCCESS" else "F"
    return {"result": result(Operation.PAY, payment.result_code, status), **_payment_fields(payment)}


def pay(sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults) -> dict:
    """pay (Auto Debit): idempotent by paymentRequestId; outcome by amount trigger or the seeded mix."""
    if body.get("productCode") != PRODUCT_CODE_AGREEMENT_PAYMENT:
        raise Reject("PARAM_ILLEGAL")
    request_id = _text(body, "paymentRequestId")
    amount = _amount(body, "paymentAmount")
    method = body.get("paymentMethod")
    if not isinstance(method, dict) or not isinstance(body.get("order"), dict):
        raise Reject("PARAM_ILLEGAL")
    method_type = _text(method, "paymentMethodType")
    access = _text(method, "paymentMethodId", 128)
    _check_settlement(sandbox, body)
    expires_at = now + PAYMENT_EXPIRY
    if body.get("paymentExpiryTime") is not None:
        try:
            expires_at = mapping.parse_time(body["paymentExpiryTime"])
        except mapping.MappingError:
            raise Reject("PARAM_ILLEGAL") from None
        # "must be less than one minute after the payment request is sent" (a little clock skew allowed)
        if not now < expires_at <= now + PAYMENT_EXPIRY + timedelta(seconds=5):
            raise Reject("PARAM_ILLEGAL")
    fingerprint = request_hash(body)
    existing = session.scalar(select(Payment).where(Payment.payment_request_id == request_id))
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise Reject("REPEAT_REQ_INCONSISTENT")
        return _pay_answer(existing)
    kind, code = pay_plan(sandbox.seed, request_id, amount.minor)
    if kind == "TRAFFIC":
        raise Reject(code, "U")
    token = session.scalar(select(Token).where(Token.access_token == access))
    if kind == "REJECT" or not token_usable(token, now):
        raise Reject("INVALID_ACCESS_TOKEN")
    if token.customer_belongs_to != method_type:
        raise Reject("INVALID_CONTRACT")
    payment = Payment(
        payment_id=new_id(now),
        payment_request_id=request_id,
        request_hash=fingerprint,
        amount_minor=amount.minor,
        currency=amount.currency,
        payment_method_type=method_type,
        access_token=access,
        status="PROCESSING",
        result_code="PAYMENT_IN_PROCESS",
        result_message=message(Operation.PAY, "PAYMENT_IN_PROCESS"),
        expires_at=expires_at,
        notify_url=_text(body, "paymentNotifyUrl", 2048, required=False),
        created_at=now,
    )
    session.add(payment)
    if kind in {"S", "F", "UNKNOWN"}:
        _finish_payment(sandbox, session, payment, code, now, faults)
    elif kind == "PENDING":
        payment.pending_code = code
        payment.resolve_at = now + sandbox.delay(RESOLVE_AFTER_SECONDS)
    session.flush()
    if kind == "UNKNOWN":
        return {"result": result(Operation.PAY, "UNKNOWN_EXCEPTION", "U")}
    return _pay_answer(payment)


def _check_settlement(sandbox: Sandbox, body: dict) -> None:
    """Refuse a settlementCurrency other than the contract's (SANDBOX_ANTOM_SETTLEMENT_CURRENCY).

    settlementStrategy may be left out: Antom then settles in the contract's one currency.
    """
    strategy = body.get("settlementStrategy")
    if strategy is None:
        return
    if not isinstance(strategy, dict):
        raise Reject("PARAM_ILLEGAL")
    currency = _text(strategy, "settlementCurrency", 3)
    if currency != contract_currency(sandbox):
        raise Reject("SETTLE_CONTRACT_NOT_MATCH")


def contract_currency(sandbox: Sandbox) -> str:
    """Return the settlement currency of the simulated merchant contract."""
    return sandbox.options.get("SANDBOX_ANTOM_SETTLEMENT_CURRENCY") or DEFAULT_SETTLEMENT_CURRENCY


def _finish_payment(
    sandbox: Sandbox, session: Session, payment: Payment, code: str, now: datetime, faults: ActiveFaults
) -> None:
    payment.status = "SUCCESS" if code == "SUCCESS" else "FAIL"
    payment.result_code = code
    payment.result_message = message(Operation.PAY, code)
    payment.paid_at = now if code == "SUCCESS" else None
    payment.pending_code = payment.resolve_at = None
    _notify(sandbox, session, payment.notify_url, "PAYMENT_RESULT", _payment_notice(payment), faults)


def _find_payment(session: Session, body: dict) -> Payment:
    payment_id = _text(body, "paymentId", required=False)
    request_id = _text(body, "paymentRequestId", required=False)
    if not payment_id and not request_id:
        raise Reject("PARAM_ILLEGAL")
    where = Payment.payment_id == payment_id if payment_id else Payment.payment_request_id == request_id
    payment = session.scalar(select(Payment).where(where))
    if payment is None:
        raise Reject("ORDER_NOT_EXIST")
    return payment


def inquiry_payment(
    sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults
) -> dict:
    """inquiryPayment: the payment's true state and its refunds (paymentId wins over paymentRequestId)."""
    payment = _find_payment(session, body)
    refunds = session.scalars(
        select(Refund).where(Refund.payment_id == payment.payment_id).order_by(Refund.id)
    )
    transactions = [
        _compact(
            {
                "transactionType": "REFUND",
                "transactionStatus": refund.status,
                "transactionId": refund.refund_id,
                "transactionRequestId": refund.refund_request_id,
                "transactionAmount": {"currency": refund.currency, "value": str(refund.amount_minor)},
                "transactionTime": at(refund.refunded_at or refund.created_at),
                "transactionResult": result(
                    Operation.REFUND,
                    refund.result_code,
                    {"SUCCESS": "S", "FAIL": "F"}.get(refund.status, "U"),
                ),
            }
        )
        for refund in refunds
    ]
    return {
        "result": result(Operation.INQUIRY_PAYMENT, "SUCCESS", "S"),
        **_payment_fields(payment),
        "paymentStatus": payment.status,
        "paymentResultCode": payment.result_code,
        "paymentResultMessage": payment.result_message,
        "paymentMethodType": payment.payment_method_type,
        "transactions": transactions,
    }


def cancel_deadline(created_at: datetime) -> datetime:
    """Return 00:15 GMT+8 on the day after the payment's GMT+8 day (the Auto Debit cancel window)."""
    day = created_at.astimezone(GMT8).date() + timedelta(days=1)
    return datetime.combine(day, time(0, 15), tzinfo=GMT8)


def cancel(sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults) -> dict:
    """cancel: within the window, before any refund; a paid payment is refunded in full."""
    payment = _find_payment(session, body)
    if payment.status != "CANCELLED":
        live_refund = session.scalar(
            select(func.count(Refund.id)).where(
                Refund.payment_id == payment.payment_id, Refund.status != "FAIL"
            )
        )
        if live_refund:
            raise Reject("PROCESS_FAIL")
        if now > cancel_deadline(payment.created_at):
            raise Reject("CANCEL_WINDOW_EXCEED")
        if payment.status == "FAIL":
            raise Reject("ORDER_STATUS_INVALID")
        payment.status = "CANCELLED"
        payment.result_code = "ORDER_IS_CANCELED"
        payment.result_message = message(Operation.PAY, "ORDER_IS_CANCELED")
        payment.pending_code = payment.resolve_at = None
        payment.cancelled_at = now
    return {
        "result": result(Operation.CANCEL, "SUCCESS", "S"),
        "paymentId": payment.payment_id,
        "paymentRequestId": payment.payment_request_id,
        "cancelTime": at(payment.cancelled_at),
    }


# -- refunds --------------------------------------------------------------------------------------


def refund_plan(seed: str, request_id: str, amount_minor: int) -> tuple[str, str]:
    """Return (kind, code) for a new refund: S, PENDING (code = final) or F."""
    ending = amount_minor % 100
    fixed = {1: ("S", "SUCCESS"), 2: ("PENDING", "SUCCESS"), 3: ("PENDING", "PROCESS_FAIL")}
    if ending in fixed:
        return fixed[ending]
    if ending == 11:
        return "F", "MERCHANT_BALANCE_NOT_ENOUGH"
    rng = random.Random(f"{seed}:refund:{request_id}")
    return ("S", "SUCCESS") if rng.random() < 0.85 else ("PENDING", "SUCCESS")


def _refund_fields(refund: Refund) -> dict[str, Any]:
    return _compact(
        {
            "refundRequestId": refund.refund_request_id,
            "refundId": refund.refund_id,
            "refundAmount": {"currency": refund.currency, "value": str(refund.amount_minor)},
            "refundTime": at(refund.refunded_at) if refund.refunded_at else None,
        }
    )


def _refund_answer(refund: Refund) -> dict[str, Any]:
    if refund.status == "PROCESSING":
        answer = result(Operation.REFUND, "REFUND_IN_PROCESS", "U")
    else:
        answer = result(Operation.REFUND, refund.result_code, "S" if refund.status == "SUCCESS" else "F")
    return {"result": answer, **_refund_fields(refund), "paymentId": refund.payment_id}


def refund(sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults) -> dict:
    """refund: idempotent by refundRequestId; only after success, within the window, total ≤ paid."""
    request_id = _text(body, "refundRequestId")
    payment_id = _text(body, "paymentId")
    amount = _amount(body, "refundAmount")
    fingerprint = request_hash(body)
    existing = session.scalar(select(Refund).where(Refund.refund_request_id == request_id))
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise Reject("REPEAT_REQ_INCONSISTENT")
        return _refund_answer(existing)
    payment = session.scalar(select(Payment).where(Payment.payment_id == payment_id))
    if payment is None:
        raise Reject("ORDER_NOT_EXIST")
    if payment.status == "CANCELLED":
        raise Reject("ORDER_IS_CANCELED")
    if payment.status == "PROCESSING":
        raise Reject("PAYMENT_IN_PROCESS", "U")
    if payment.status != "SUCCESS":
        raise Reject("ORDER_STATUS_INVALID")
    if amount.currency != payment.currency:
        raise Reject("PARAM_ILLEGAL")
    window = timedelta(days=int(sandbox.options.get("SANDBOX_ANTOM_REFUND_DAYS") or DEFAULT_REFUND_DAYS))
    if now > payment.paid_at + window:
        raise Reject("REFUND_WINDOW_EXCEED")
    refunded = session.scalar(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.payment_id == payment.payment_id, Refund.status != "FAIL"
        )
    )
    if refunded + amount.minor > payment.amount_minor:
        raise Reject("REFUND_AMOUNT_EXCEED")
    kind, code = refund_plan(sandbox.seed, request_id, amount.minor)
    if kind == "F":
        raise Reject(code)
    row = Refund(
        refund_id=new_id(now),
        refund_request_id=request_id,
        request_hash=fingerprint,
        payment_id=payment.payment_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        status="PROCESSING",
        result_code="REFUND_IN_PROCESS",
        result_message=message(Operation.REFUND, "REFUND_IN_PROCESS"),
        notify_url=_text(body, "refundNotifyUrl", 2048, required=False),
        created_at=now,
    )
    session.add(row)
    if kind == "S":
        _finish_refund(sandbox, session, row, code, now, faults)
    else:
        row.pending_code = code
        row.resolve_at = now + sandbox.delay(RESOLVE_AFTER_SECONDS)
    session.flush()
    return _refund_answer(row)


def _finish_refund(
    sandbox: Sandbox, session: Session, row: Refund, code: str, now: datetime, faults: ActiveFaults
) -> None:
    row.status = "SUCCESS" if code == "SUCCESS" else "FAIL"
    row.result_code = code
    row.result_message = message(Operation.REFUND, code)
    row.refunded_at = now if code == "SUCCESS" else None
    row.pending_code = row.resolve_at = None
    notice = {
        "notifyType": str(NotifyType.REFUND_RESULT),
        "result": result(Operation.REFUND, code, "S" if code == "SUCCESS" else "F"),
        "refundStatus": row.status,
        **_refund_fields(row),
    }
    _notify(sandbox, session, row.notify_url, "REFUND_RESULT", notice, faults)


def inquiry_refund(
    sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults
) -> dict:
    """inquiryRefund: the refund's true state (refundId wins over refundRequestId)."""
    refund_id = _text(body, "refundId", required=False)
    request_id = _text(body, "refundRequestId", required=False)
    if not refund_id and not request_id:
        raise Reject("PARAM_ILLEGAL")
    where = Refund.refund_id == refund_id if refund_id else Refund.refund_request_id == request_id
    row = session.scalar(select(Refund).where(where))
    if row is None:
        raise Reject("ORDER_NOT_EXIST")
    return {
        "result": result(Operation.INQUIRY_REFUND, "SUCCESS", "S"),
        **_refund_fields(row),
        "refundStatus": row.status,
    }


# -- disputes -------------------------------------------------------------------------------------

DAY = 86400
#: A raised dispute's defence deadline (documented per card scheme and wallet; our choice).
DEFENSE_WINDOW = timedelta(days=7)
#: What the customer says, for every simulated dispute.
DISPUTE_REASON = "The customer says the service paid for was not provided."


class Step(NamedTuple):
    """One later notification of a dispute's course: when (documented seconds after it was raised),
    its disputeNotificationType, and what it carries."""

    after: int
    kind: DisputeNotificationType
    judged: DisputeJudgedResult | None = None
    accept_reason: str | None = None


#: How a dispute raised on demand goes on after DISPUTE_CREATED (delays compressed as any other).
DISPUTE_COURSES: dict[str, tuple[Step, ...]] = {
    # The merchant defends and wins: the customer is held liable, the funds come back.
    "won": (
        Step(2 * DAY, DisputeNotificationType.DEFENSE_SUPPLIED),
        Step(5 * DAY, DisputeNotificationType.DISPUTE_JUDGED, DisputeJudgedResult.ACCEPT_BY_CUSTOMER),
    ),
    # The merchant defends and loses: the funds are taken back.
    "lost": (
        Step(2 * DAY, DisputeNotificationType.DEFENSE_SUPPLIED),
        Step(5 * DAY, DisputeNotificationType.DISPUTE_JUDGED, DisputeJudgedResult.ACCEPT_BY_MERCHANT),
    ),
    # The customer withdraws it.
    "withdrawn": (Step(1 * DAY, DisputeNotificationType.DISPUTE_CANCELLED),),
    # Nobody defends it: a warning a day before the deadline, then it is accepted on timeout.
    "unanswered": (
        Step(6 * DAY, DisputeNotificationType.DEFENSE_DUE_ALERT),
        Step(7 * DAY, DisputeNotificationType.DISPUTE_ACCEPTED, accept_reason="TIMEOUT"),
    ),
    # It stays open (after the warning), for staff to look at.
    "open": (Step(6 * DAY, DisputeNotificationType.DEFENSE_DUE_ALERT),),
}


def raise_dispute(
    sandbox: Sandbox, session: Session, payment_id: str, course: str, now: datetime, faults: ActiveFaults
) -> Dispute:
    """The customer disputes a paid payment: DISPUTE_CREATED now, the rest of ``course`` later.

    :raises Reject: no such payment (ORDER_NOT_EXIST), not paid (ORDER_STATUS_INVALID), a dispute
        of it still open (PROCESS_FAIL), or an unknown course (PARAM_ILLEGAL)
    """
    if course not in DISPUTE_COURSES:
        raise Reject("PARAM_ILLEGAL")
    payment = session.scalar(select(Payment).where(Payment.payment_id == payment_id))
    if payment is None:
        raise Reject("ORDER_NOT_EXIST")
    if payment.status != "SUCCESS":
        raise Reject("ORDER_STATUS_INVALID")
    open_one = session.scalar(
        select(Dispute.id).where(Dispute.payment_id == payment_id, Dispute.status == "OPEN").limit(1)
    )
    if open_one is not None:
        raise Reject("PROCESS_FAIL")
    dispute = Dispute(
        dispute_id=new_id(now),
        payment_id=payment_id,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        reason=DISPUTE_REASON,
        course=course,
        steps_sent=0,
        status="OPEN",
        defense_due_at=now + DEFENSE_WINDOW,
        next_step_at=now + sandbox.delay(DISPUTE_COURSES[course][0].after),
        created_at=now,
    )
    session.add(dispute)
    session.flush()
    opened = Step(0, DisputeNotificationType.DISPUTE_CREATED)
    _notify_dispute(sandbox, session, dispute, payment, opened, now, faults)
    return dispute


def _notify_dispute(
    sandbox: Sandbox,
    session: Session,
    dispute: Dispute,
    payment: Payment,
    step: Step,
    now: datetime,
    faults: ActiveFaults,
) -> None:
    """Send one notifyDispute as ams/notify_dispute shows it: no notifyType and no result."""
    amount = {"currency": dispute.currency, "value": str(dispute.amount_minor)}
    kind = step.kind
    body: dict[str, Any] = {
        "paymentRequestId": payment.payment_request_id,
        "disputeId": dispute.dispute_id,
        "paymentId": payment.payment_id,
        "disputeTime": at(dispute.created_at),
        "disputeAmount": amount,
        "disputeNotificationType": str(kind),
        "disputeReasonMsg": dispute.reason,
        "disputeSource": payment.payment_method_type,
    }
    if kind in (DisputeNotificationType.DISPUTE_CREATED, DisputeNotificationType.DEFENSE_DUE_ALERT):
        body["defenseDueTime"] = at(dispute.defense_due_at)
        body["defendable"] = True
    if step.judged is not None:
        body.update(
            disputeJudgedTime=at(now), disputeJudgedAmount=amount, disputeJudgedResult=str(step.judged)
        )
    if step.accept_reason is not None:
        body.update(disputeAcceptReason=step.accept_reason, disputeAcceptTime=at(now))
    if "no_notification" in faults:
        return
    copies = 2 if "duplicate_notification" in faults else 1
    sender.enqueue(
        session,
        sandbox,
        PROVIDER,
        str(kind),
        sandbox.default_notify_url,
        body,
        copies,
        queue=f"antom-dispute:{dispute.dispute_id}",
    )


#: The dispute's status once a step of this kind was sent (other kinds leave it open).
_DISPUTE_ENDS = {
    DisputeNotificationType.DISPUTE_JUDGED: "JUDGED",
    DisputeNotificationType.DISPUTE_CANCELLED: "CANCELLED",
    DisputeNotificationType.DISPUTE_ACCEPTED: "ACCEPTED",
}


def _advance_disputes(sandbox: Sandbox, session: Session, now: datetime, faults: ActiveFaults) -> None:
    due = session.scalars(select(Dispute).where(Dispute.next_step_at <= now).order_by(Dispute.id)).all()
    for dispute in due:
        course = DISPUTE_COURSES[dispute.course]
        step = course[dispute.steps_sent]
        payment = session.scalar(select(Payment).where(Payment.payment_id == dispute.payment_id))
        _notify_dispute(sandbox, session, dispute, payment, step, now, faults)
        dispute.steps_sent += 1
        dispute.status = _DISPUTE_ENDS.get(step.kind, dispute.status)
        later = course[dispute.steps_sent :]
        dispute.next_step_at = dispute.created_at + sandbox.delay(later[0].after) if later else None


# -- time passing ---------------------------------------------------------------------------------


def tick(sandbox: Sandbox, session: Session, now: datetime) -> None:
    """Resolve in-process payments and refunds that are due, expire unpaid payments, and send the
    due steps of raised disputes."""
    quiet = ActiveFaults()
    for payment in session.scalars(select(Payment).where(Payment.status == "PROCESSING")).all():
        if payment.pending_code and payment.resolve_at and payment.resolve_at <= now:
            _finish_payment(sandbox, session, payment, payment.pending_code, now, quiet)
        elif payment.expires_at <= now:
            _finish_payment(sandbox, session, payment, "ORDER_IS_CLOSED", now, quiet)
    for row in session.scalars(select(Refund).where(Refund.status == "PROCESSING")).all():
        if row.pending_code and row.resolve_at and row.resolve_at <= now:
            _finish_refund(sandbox, session, row, row.pending_code, now, quiet)
    _advance_disputes(sandbox, session, now, quiet)


HANDLERS: dict[Operation, Callable[..., dict]] = {
    Operation.CONSULT: consult,
    Operation.APPLY_TOKEN: apply_token,
    Operation.REVOKE: revoke,
    Operation.PAY: pay,
    Operation.INQUIRY_PAYMENT: inquiry_payment,
    Operation.CANCEL: cancel,
    Operation.REFUND: refund,
    Operation.INQUIRY_REFUND: inquiry_refund,
}


sender.register(
    PROVIDER,
    sign=notification_headers,
    schedule=sender.ANTOM_SCHEDULE,
    acknowledged=sender.acknowledged,
    tick=tick,
)
