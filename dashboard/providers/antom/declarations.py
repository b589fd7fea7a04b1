"""Antom customs declaration: ``declare`` and ``inquiryDeclarationRequests`` to and from dataclasses.

Sources (the project's provider notes, "Declare goods", cite each fact): the API reference pages
ams/declare and ams/inquirydeclare, and the official Python SDK's ``AlipayCustomsDeclareRequest``,
``AlipayCustomsQueryRequest``, their responses and the ``CustomsInfo``, ``MerchantCustomsInfo`` and
``DeclarationRecord`` models. Declaring is for China's customs (``customs.region`` CN); the
request's ``result`` only says whether Antom accepted it, customs' decision comes from an inquiry.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from dashboard.declarations.states import DeclarationEvent
from dashboard.declarations.states import DeclarationNews
from dashboard.money import Money
from dashboard.providers.antom.mapping import MappingError
from dashboard.providers.antom.mapping import from_amount
from dashboard.providers.antom.mapping import parse_time
from dashboard.providers.antom.mapping import to_amount
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import ProviderResult

#: declarationRequestId: "1 to 32" characters, the API's idempotency field (ams/declare).
MAX_DECLARATION_REQUEST_ID_LENGTH = 32
#: inquiryDeclarationRequests takes at most 10 ids at a time (ams/inquirydeclare).
MAX_INQUIRY_IDS = 10
#: CustomsInfo.customsCode (128, Alipay+ declare page; Antom's page gives no length) and region
#: (ISO 3166 alpha-2; "only China customs declaration is supported").
MAX_CUSTOMS_CODE_LENGTH = 128
CUSTOMS_REGION = "CN"
#: MerchantCustomsInfo: the merchant's registration number and name at customs. Antom's page gives
#: no lengths; Alipay's customs API (alipay.acquire.customs) gives 20 and 256 (uncertain for Antom).
MAX_MERCHANT_CUSTOMS_CODE_LENGTH = 20
MAX_MERCHANT_CUSTOMS_NAME_LENGTH = 256
#: The wallet whose payments customs declarations are for (Alipay+ declare: "only for payments
#: that are processed by the AlipayCN wallet").
DECLARABLE_METHODS = frozenset({"ALIPAY_CN"})

#: The customs codes ams/inquirydeclare lists ("More information"), with the authorities behind
#: them; Antom's registration id at customs differs by authority and is in its answers.
CUSTOMS_AUTHORITIES: Mapping[str, str] = MappingProxyType(
    {
        "ZONGSHU": "General Administration of Customs (also Tianjin, Guangzhou, Hangzhou, Xinzheng)",
        "ZHENGZHOU": "Henan bonded logistics center",
        "NINGBO": "Ningbo Customs",
        "SHANGHAI_CBT": "Shanghai Customs",
    }
)


class DeclarationRequestStatus(enum.StrEnum):
    """DeclarationRecord ``declarationRequestStatus``.

    Only WAITING_FOR_PROCESSING is seen in a published sample (Alipay+ inquireDeclarationRequests);
    the final values are uncertain and follow Antom's other status fields (SUCCESS / FAIL).
    """

    WAITING_FOR_PROCESSING = "WAITING_FOR_PROCESSING"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"


#: ``declarationRequestStatus`` → declaration event.
STATUS_EVENTS: Mapping[DeclarationRequestStatus, DeclarationEvent] = MappingProxyType(
    {
        DeclarationRequestStatus.WAITING_FOR_PROCESSING: DeclarationEvent.SUBMITTED,
        DeclarationRequestStatus.PROCESSING: DeclarationEvent.SUBMITTED,
        DeclarationRequestStatus.SUCCESS: DeclarationEvent.DECLARED,
        DeclarationRequestStatus.FAIL: DeclarationEvent.REJECTED,
    }
)

#: What declare's answer means: S accepted (customs decide later), F refused; U keeps it pending.
ANSWER_EVENTS: Mapping[CallOutcome, DeclarationEvent] = MappingProxyType(
    {CallOutcome.SUCCEEDED: DeclarationEvent.SUBMITTED, CallOutcome.FAILED: DeclarationEvent.REFUSED}
)


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise MappingError(f"{key} is not a string")
    return value or None


def _time(data: Mapping[str, Any], key: str) -> datetime | None:
    return None if data.get(key) in (None, "") else parse_time(data[key])


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise MappingError(f"{key} is not an object")
    return value


@dataclass(frozen=True)
class DeclareRequest:
    """Declare a successful payment to a customs authority."""

    declaration_request_id: str
    payment_id: str
    amount: Money
    customs_code: str
    merchant_customs_code: str
    merchant_customs_name: str
    region: str = CUSTOMS_REGION

    def __post_init__(self) -> None:
        if not 1 <= len(self.declaration_request_id) <= MAX_DECLARATION_REQUEST_ID_LENGTH:
            raise ValueError(
                f"declaration_request_id must be 1 to {MAX_DECLARATION_REQUEST_ID_LENGTH} characters"
            )
        if self.amount.minor <= 0:
            raise ValueError("the declared amount must be positive")


def declare_body(request: DeclareRequest) -> dict[str, Any]:
    """Return declare's request body (one order, not split: ``splitOrder`` "false")."""
    return {
        "declarationRequestId": request.declaration_request_id,
        "paymentId": request.payment_id,
        "declarationAmount": to_amount(request.amount),
        "customs": {"customsCode": request.customs_code, "region": request.region},
        "merchantCustomsInfo": {
            "merchantCustomsCode": request.merchant_customs_code,
            "merchantCustomsName": request.merchant_customs_name,
        },
        # Required; every field but arrays is sent as a string (ams/declare "Structure").
        "splitOrder": "false",
    }


@dataclass(frozen=True, kw_only=True)
class DeclareResult(ProviderResult):
    """declare's answer: S accepted (not yet customs' decision), F refused, U unknown."""

    customs_payment_id: str | None = None
    customs_order_id: str | None = None
    #: identityCheckResult: CHECK_PASSED / CHECK_NOT_PASSED (the buyer's identity against the payer's).
    identity_check: str | None = None

    @property
    def news(self) -> DeclarationNews | None:
        """Return what the answer means for the declaration; None for an unknown answer."""
        event = ANSWER_EVENTS.get(self.outcome)
        if event is None:
            return None
        refused = event is DeclarationEvent.REFUSED
        return DeclarationNews(
            event,
            self.result_code if refused else None,
            self.result_message if refused else None,
            provider_declaration_id=self.customs_payment_id,
            customs_order_id=self.customs_order_id,
        )


def declare_result(data: Mapping[str, Any], **envelope: Any) -> DeclareResult:
    """Return the typed declare answer."""
    return DeclareResult(
        **envelope,
        customs_payment_id=_text(data, "customsPaymentId"),
        customs_order_id=_text(data, "customsOrderId"),
        identity_check=_text(data, "identityCheckResult"),
    )


def inquiry_body(declaration_request_ids: list[str]) -> dict[str, Any]:
    """Return inquiryDeclarationRequests' body: 1 to 10 of our request ids."""
    if not 1 <= len(declaration_request_ids) <= MAX_INQUIRY_IDS:
        raise ValueError(f"ask about 1 to {MAX_INQUIRY_IDS} declarations at a time")
    return {"declarationRequestIds": list(declaration_request_ids)}


@dataclass(frozen=True)
class DeclarationRecord:
    """One declaration as inquiryDeclarationRequests reports it."""

    declaration_request_id: str
    status: str | None
    customs_payment_id: str | None = None
    customs_order_id: str | None = None
    customs_code: str | None = None
    amount: Money | None = None
    last_modified: datetime | None = None
    customs_result_code: str | None = None
    customs_result_message: str | None = None
    customs_returned_at: datetime | None = None

    @property
    def news(self) -> DeclarationNews | None:
        """Return what the record says in our words; None for a status we do not know."""
        try:
            event = STATUS_EVENTS[DeclarationRequestStatus(self.status)]
        except ValueError:
            return None
        return DeclarationNews(
            event,
            self.customs_result_code,
            self.customs_result_message,
            provider_declaration_id=self.customs_payment_id,
            customs_order_id=self.customs_order_id,
            customs_answered_at=self.customs_returned_at,
        )


def _record(data: Any) -> DeclarationRecord:
    if not isinstance(data, Mapping):
        raise MappingError("a declaration record is not an object")
    request_id = _text(data, "declarationRequestId")
    if request_id is None:
        raise MappingError("a declaration record has no declarationRequestId")
    amount = data.get("declarationAmount")
    return DeclarationRecord(
        declaration_request_id=request_id,
        status=_text(data, "declarationRequestStatus"),
        customs_payment_id=_text(data, "customsPaymentId"),
        customs_order_id=_text(data, "customsOrderId"),
        customs_code=_text(_object(data, "customs"), "customsCode"),
        amount=None if amount is None else from_amount(amount),
        last_modified=_time(data, "lastModifiedTime"),
        customs_result_code=_text(data, "customsDeclarationResultCode"),
        customs_result_message=_text(data, "customsDeclarationResultDesc"),
        customs_returned_at=_time(data, "customsDeclarationReturnTime"),
    )


@dataclass(frozen=True, kw_only=True)
class InquiryDeclarationsResult(ProviderResult):
    """inquiryDeclarationRequests' answer: the records found and the ids Antom does not know."""

    records: tuple[DeclarationRecord, ...] = ()
    not_found: tuple[str, ...] = ()

    def record_of(self, declaration_request_id: str) -> DeclarationRecord | None:
        """Return the record of ``declaration_request_id``, if the answer has one."""
        return next((r for r in self.records if r.declaration_request_id == declaration_request_id), None)


def inquiry_result(data: Mapping[str, Any], **envelope: Any) -> InquiryDeclarationsResult:
    """Return the typed inquiryDeclarationRequests answer."""
    records = data.get("declarationRecords") or []
    not_found = data.get("declarationRequestsNotFound") or []
    if not isinstance(records, list) or not isinstance(not_found, list):
        raise MappingError("declarationRecords and declarationRequestsNotFound must be lists")
    if not all(isinstance(item, str) for item in not_found):
        raise MappingError("declarationRequestsNotFound must list strings")
    return InquiryDeclarationsResult(
        **envelope, records=tuple(_record(item) for item in records), not_found=tuple(not_found)
    )
