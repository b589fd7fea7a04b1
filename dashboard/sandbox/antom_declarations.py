"""The Antom customs declaration simulator: ``declare`` and ``inquiryDeclarationRequests``.

``declare`` (ams/declare) checks, in this order, and refuses with F:

- a field missing, too long or malformed (declarationRequestId 1–32, paymentId ≤ 64, the amount,
  customs.customsCode ≤ 128 and a 2-letter region, merchantCustomsInfo code ≤ 20 and name ≤ 256,
  splitOrder "true"/"false"; a suborderId when split) → PARAM_ILLEGAL;
- the same declarationRequestId with another body → REPEAT_REQ_INCONSISTENT (the same body answers
  what the first did: the API's idempotency field);
- an unknown paymentId → ORDER_NOT_EXIST; a payment that is not SUCCESS → ORDER_STATUS_INVALID;
- a payment not made with ALIPAY_CN → PAYMENT_METHOD_NOT_SUPPORTED;
- a region other than CN or a customs code ams/inquirydeclare does not list → CUSTOMS_NOT_SUPPORT;
- a currency other than the payment's → PARAM_ILLEGAL; more than the payment → DECLARE_AMOUNT_EXCEED.

Accepted, a declaration is WAITING_FOR_PROCESSING; customs answer :data:`CUSTOMS_ANSWER_SECONDS`
later (compressed by ``SANDBOX_TIME_SCALE``): SUCCESS with customs code "2", or FAIL with "100"
when the declared amount in minor units ends in :data:`REJECT_ENDING`. Antom sends no notification
for declarations; ``inquiryDeclarationRequests`` reports the state (lists unknown ids apart).
The refusal names past SUCCESS / ACCESS_DENIED, the final statuses and customs' codes are the
uncertain parts (see the provider notes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.providers.antom.consts import Operation
from dashboard.providers.antom.declarations import CUSTOMS_AUTHORITIES
from dashboard.providers.antom.declarations import CUSTOMS_REGION
from dashboard.providers.antom.declarations import DECLARABLE_METHODS
from dashboard.providers.antom.declarations import MAX_CUSTOMS_CODE_LENGTH
from dashboard.providers.antom.declarations import MAX_DECLARATION_REQUEST_ID_LENGTH
from dashboard.providers.antom.declarations import MAX_INQUIRY_IDS
from dashboard.providers.antom.declarations import MAX_MERCHANT_CUSTOMS_CODE_LENGTH
from dashboard.providers.antom.declarations import MAX_MERCHANT_CUSTOMS_NAME_LENGTH
from dashboard.providers.antom.declarations import DeclarationRequestStatus
from dashboard.sandbox.antom import Reject
from dashboard.sandbox.antom import _amount
from dashboard.sandbox.antom import _text
from dashboard.sandbox.antom import at
from dashboard.sandbox.antom import new_id
from dashboard.sandbox.antom import request_hash
from dashboard.sandbox.antom import result
from dashboard.sandbox.core import ActiveFaults
from dashboard.sandbox.core import Sandbox
from dashboard.sandbox.store import Declaration
from dashboard.sandbox.store import Payment

#: Seconds customs take to answer (not documented; our choice, then compressed).
CUSTOMS_ANSWER_SECONDS = 60
#: A declared amount ending so (in minor units) is rejected by customs.
REJECT_ENDING = 99
#: Antom's registration id at the customs of ams/inquirydeclare's table (31222699S7 for most).
REGISTRATION_ID = "31222699S7"
#: Customs' answers (customsDeclarationResultCode / Desc); "2" is the code of the published sample.
CUSTOMS_ANSWERS = {
    DeclarationRequestStatus.SUCCESS: ("2", "Declared: the payment matches the customs order."),
    DeclarationRequestStatus.FAIL: ("100", "Rejected: the payer does not match the order's buyer."),
}

S = DeclarationRequestStatus


def _split_order(body: dict[str, Any]) -> bool:
    value = body.get("splitOrder")
    if value in ("true", True):
        _text(body, "suborderId")
        return True
    if value in ("false", False):
        return False
    raise Reject("PARAM_ILLEGAL")


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise Reject("PARAM_ILLEGAL")
    return value


def declare(sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults) -> dict:
    """declare: idempotent by declarationRequestId; only a paid ALIPAY_CN payment, to known customs."""
    request_id = _text(body, "declarationRequestId", MAX_DECLARATION_REQUEST_ID_LENGTH)
    payment_id = _text(body, "paymentId")
    amount = _amount(body, "declarationAmount")
    customs = _object(body, "customs")
    customs_code = _text(customs, "customsCode", MAX_CUSTOMS_CODE_LENGTH)
    region = _text(customs, "region", 2)
    merchant = _object(body, "merchantCustomsInfo")
    merchant_code = _text(merchant, "merchantCustomsCode", MAX_MERCHANT_CUSTOMS_CODE_LENGTH)
    merchant_name = _text(merchant, "merchantCustomsName", MAX_MERCHANT_CUSTOMS_NAME_LENGTH)
    _split_order(body)
    fingerprint = request_hash(body)
    existing = session.scalar(select(Declaration).where(Declaration.declaration_request_id == request_id))
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise Reject("REPEAT_REQ_INCONSISTENT")
        return _declare_answer(existing)
    payment = session.scalar(select(Payment).where(Payment.payment_id == payment_id))
    if payment is None:
        raise Reject("ORDER_NOT_EXIST")
    if payment.status != "SUCCESS":
        raise Reject("ORDER_STATUS_INVALID")
    if payment.payment_method_type not in DECLARABLE_METHODS:
        raise Reject("PAYMENT_METHOD_NOT_SUPPORTED")
    if region != CUSTOMS_REGION or customs_code.upper() not in CUSTOMS_AUTHORITIES:
        raise Reject("CUSTOMS_NOT_SUPPORT")
    if amount.currency != payment.currency:
        raise Reject("PARAM_ILLEGAL")
    if amount.minor > payment.amount_minor:
        raise Reject("DECLARE_AMOUNT_EXCEED")
    row = Declaration(
        declaration_request_id=request_id,
        request_hash=fingerprint,
        payment_id=payment.payment_id,
        customs_payment_id=new_id(now),
        customs_order_id=payment.payment_request_id,
        customs_code=customs_code,
        region=region,
        merchant_customs_code=merchant_code,
        merchant_customs_name=merchant_name,
        amount_minor=amount.minor,
        currency=amount.currency,
        status=S.WAITING_FOR_PROCESSING,
        planned=S.FAIL if amount.minor % 100 == REJECT_ENDING else S.SUCCESS,
        answer_at=now + sandbox.delay(CUSTOMS_ANSWER_SECONDS),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return _declare_answer(row)


def _declare_answer(row: Declaration) -> dict[str, Any]:
    return {
        "result": result(Operation.DECLARE, "SUCCESS", "S"),
        "customsPaymentId": row.customs_payment_id,
        "customsOrderId": row.customs_order_id,
        "identityCheckResult": "CHECK_PASSED",
        "customsProviderRegistrationId": REGISTRATION_ID,
    }


def _record(row: Declaration) -> dict[str, Any]:
    record = {
        "declarationRequestId": row.declaration_request_id,
        "customsPaymentId": row.customs_payment_id,
        "customsOrderId": row.customs_order_id,
        "customs": {"customsCode": row.customs_code, "region": row.region},
        "merchantCustomsInfo": {
            "merchantCustomsCode": row.merchant_customs_code,
            "merchantCustomsName": row.merchant_customs_name,
        },
        "declarationAmount": {"currency": row.currency, "value": str(row.amount_minor)},
        "splitOrder": "false",
        "declarationRequestStatus": row.status,
        "lastModifiedTime": at(row.updated_at),
    }
    if row.customs_returned_at is not None:
        record["customsDeclarationResultCode"] = row.customs_result_code
        record["customsDeclarationResultDesc"] = row.customs_result_desc
        record["customsDeclarationReturnTime"] = at(row.customs_returned_at)
    return record


def inquiry_declarations(
    sandbox: Sandbox, session: Session, body: dict, now: datetime, faults: ActiveFaults
) -> dict:
    """inquiryDeclarationRequests: up to 10 of our ids; records found, the others listed apart."""
    ids = body.get("declarationRequestIds")
    if (
        not isinstance(ids, list)
        or not 1 <= len(ids) <= MAX_INQUIRY_IDS
        or not all(isinstance(i, str) and 1 <= len(i) <= MAX_DECLARATION_REQUEST_ID_LENGTH for i in ids)
    ):
        raise Reject("PARAM_ILLEGAL")
    rows = session.scalars(select(Declaration).where(Declaration.declaration_request_id.in_(ids))).all()
    found = {row.declaration_request_id: row for row in rows}
    answer: dict[str, Any] = {
        "result": result(Operation.INQUIRY_DECLARATION, "SUCCESS", "S"),
        "declarationRecords": [_record(found[i]) for i in dict.fromkeys(ids) if i in found],
    }
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        answer["declarationRequestsNotFound"] = missing
    return answer


def advance(sandbox: Sandbox, session: Session, now: datetime) -> None:
    """Give customs' answer to the declarations whose time has come."""
    due = session.scalars(
        select(Declaration).where(
            Declaration.status == S.WAITING_FOR_PROCESSING, Declaration.answer_at <= now
        )
    ).all()
    for row in due:
        row.status = row.planned
        row.customs_result_code, row.customs_result_desc = CUSTOMS_ANSWERS[S(row.planned)]
        row.customs_returned_at = row.updated_at = now


#: URL path after /v1/ → operation.
API_PATHS = {
    "customs/declare": Operation.DECLARE,
    "customs/inquiryDeclarationRequests": Operation.INQUIRY_DECLARATION,
}

HANDLERS = {Operation.DECLARE: declare, Operation.INQUIRY_DECLARATION: inquiry_declarations}
