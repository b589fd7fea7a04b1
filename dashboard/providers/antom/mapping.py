"""Antom JSON to and from typed dataclasses: amounts, times, requests, results and notifications.

This is the only place that knows Antom's wire shapes: ``{"currency": "HKD", "value": "1000"}``
amounts in minor units as strings, ISO-8601 times with an offset, camelCase field names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from types import MappingProxyType
from typing import Any
from typing import TypeVar

from dashboard.money import Money
from dashboard.money import UnknownCurrency
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import RefundEvent
from dashboard.providers.antom.consts import HEADER_REQUEST_TIME
from dashboard.providers.antom.consts import INVALID_ACCESS_TOKEN
from dashboard.providers.antom.consts import MAX_REQUEST_ID_LENGTH
from dashboard.providers.antom.consts import ORDER_NOT_EXIST
from dashboard.providers.antom.consts import PRODUCT_CODE_AGREEMENT_PAYMENT
from dashboard.providers.antom.consts import SCOPE_AGREEMENT_PAY
from dashboard.providers.antom.consts import DisputeJudgedResult
from dashboard.providers.antom.consts import DisputeNotificationType
from dashboard.providers.antom.consts import GrantType
from dashboard.providers.antom.consts import NotifyType
from dashboard.providers.antom.consts import PaymentStatus
from dashboard.providers.antom.consts import RefundStatus
from dashboard.providers.base import UNPARSEABLE
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import MalformedMessage
from dashboard.providers.base import NotificationIdentity
from dashboard.providers.base import ProviderResult
from dashboard.providers.base import Subject
from dashboard.providers.base import json_object
from dashboard.providers.base import parse_json
from dashboard.providers.news import PAYMENT_ANSWER
from dashboard.providers.news import REFUND_ANSWER
from dashboard.providers.news import AuthorizationChange
from dashboard.providers.news import AuthorizationNews
from dashboard.providers.news import CancelNews
from dashboard.providers.news import DisputeNews
from dashboard.providers.news import News
from dashboard.providers.news import PaymentNews
from dashboard.providers.news import RefundNews

# Amount "value": String(16), a non-negative integer in the currency's smallest unit (ref/cc).
_AMOUNT_VALUE = re.compile(r"[0-9]{1,16}", re.ASCII)


_E = TypeVar("_E", PaymentStatus, RefundStatus, NotifyType, DisputeNotificationType, DisputeJudgedResult)


class MappingError(MalformedMessage):
    """An Antom message does not have the documented shape."""


#: ``paymentStatus`` (inquiryPayment, notifyPayment) → payment event.
PAYMENT_STATUS_EVENTS: Mapping[PaymentStatus, PaymentEvent] = MappingProxyType(
    {
        PaymentStatus.SUCCESS: PaymentEvent.SUCCEEDED,
        # An Auto Debit payment that expires unpaid is reported as FAIL (antom.md §5.2).
        PaymentStatus.FAIL: PaymentEvent.FAILED,
        PaymentStatus.PROCESSING: PaymentEvent.PROCESSING,
        PaymentStatus.CANCELLED: PaymentEvent.CANCELLED,
        PaymentStatus.PENDING: PaymentEvent.PROCESSING,
    }
)

#: ``refundStatus`` (inquiryRefund, notifyRefund) → refund event.
REFUND_STATUS_EVENTS: Mapping[RefundStatus, RefundEvent] = MappingProxyType(
    {
        RefundStatus.SUCCESS: RefundEvent.SUCCEEDED,
        RefundStatus.PROCESSING: RefundEvent.PROCESSING,
        RefundStatus.FAIL: RefundEvent.FAILED,
    }
)

#: notifyAuthorization types → what changed for the customer's authorisation.
AUTHORIZATION_CHANGES: Mapping[NotifyType, AuthorizationChange] = MappingProxyType(
    {
        NotifyType.AUTHCODE_CREATED: AuthorizationChange.CODE_ISSUED,
        NotifyType.TOKEN_CREATED: AuthorizationChange.TOKEN_ISSUED,
        NotifyType.TOKEN_CANCELED: AuthorizationChange.TOKEN_CANCELLED,
    }
)


D = DisputeNotificationType
J = DisputeJudgedResult

#: notifyDispute types → what they mean for the payment (DISPUTE_JUDGED: see JUDGED_EVENTS), and
#: how staff read them. A defence supplied or due leaves the dispute open. DISPUTE_ACCEPTED means
#: the merchant bears it (accepted, or the defence deadline passed: ``disputeAcceptReason``).
#: RDR_RESOLVED: Visa's Rapid Dispute Resolution settles a claim by refunding the cardholder from
#: the merchant's funds before it becomes a chargeback, so the funds are gone as with a lost
#: chargeback (the notify_dispute page says only "the dispute is of the RDR type"; our reading).
DISPUTE_EVENTS: Mapping[DisputeNotificationType, tuple[PaymentEvent, str]] = MappingProxyType(
    {
        D.DISPUTE_CREATED: (PaymentEvent.DISPUTE_OPENED, "opened"),
        D.DEFENSE_SUPPLIED: (PaymentEvent.DISPUTE_OPENED, "defence supplied"),
        D.DEFENSE_DUE_ALERT: (PaymentEvent.DISPUTE_OPENED, "defence due within 24 hours"),
        D.DISPUTE_CANCELLED: (PaymentEvent.DISPUTE_RESOLVED, "cancelled by the customer"),
        D.DISPUTE_ACCEPTED: (PaymentEvent.CHARGED_BACK, "accepted: the merchant bears it"),
        D.RDR_RESOLVED: (PaymentEvent.CHARGED_BACK, "rapid dispute resolution: customer refunded"),
    }
)

#: disputeJudgedResult → what the judgement means for the payment, and how staff read it. A
#: compliance retrieval whose documents failed validation says nothing documented about the funds:
#: the payment stays disputed for staff to follow up.
JUDGED_EVENTS: Mapping[DisputeJudgedResult, tuple[PaymentEvent, str]] = MappingProxyType(
    {
        J.ACCEPT_BY_CUSTOMER: (PaymentEvent.DISPUTE_RESOLVED, "judged: the customer is liable"),
        J.ACCEPT_BY_MERCHANT: (PaymentEvent.CHARGED_BACK, "judged: the merchant is liable"),
        J.VALIDATE_SUCCESS: (PaymentEvent.DISPUTE_RESOLVED, "judged: documents validated"),
        J.VALIDATE_FAIL: (PaymentEvent.DISPUTE_OPENED, "judged: documents failed validation"),
    }
)

#: disputeAcceptReason (SDK DisputeAcceptReasonType) in words.
ACCEPT_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "MERCHANT_ACCEPTED": "accepted by the merchant",
        "TIMEOUT": "the defence was not supplied in time",
        "MANUAL_PROCESSING_ACCEPTED": "accepted by Antom's staff",
    }
)


def payment_status_event(payment_status: str) -> PaymentEvent:
    """Map a ``paymentStatus``; an undocumented value is recorded as a NOTE."""
    try:
        return PAYMENT_STATUS_EVENTS[PaymentStatus(payment_status)]
    except ValueError:
        return PaymentEvent.NOTE


def payment_result_event(notify_type: str, result_status: str) -> PaymentEvent:
    """Map a notifyPayment without ``paymentStatus``: PAYMENT_PENDING, or PAYMENT_RESULT with S/F/U."""
    if notify_type == NotifyType.PAYMENT_PENDING or result_status not in set(CallOutcome):
        return PaymentEvent.PROCESSING
    return PAYMENT_ANSWER[CallOutcome(result_status)]


# -- amounts and times ------------------------------------------------------------------------


def to_amount(money: Money) -> dict[str, str]:
    """Return Antom's Amount object for ``money``."""
    if money.minor < 0:
        raise ValueError("Antom amounts are never negative")
    return {"currency": money.currency, "value": str(money.minor)}


def from_amount(data: Any) -> Money:
    """Return the Money an Antom Amount object carries."""
    if not isinstance(data, Mapping):
        raise MappingError("amount is not an object")
    currency, value = data.get("currency"), data.get("value")
    if not isinstance(currency, str) or not isinstance(value, str) or not _AMOUNT_VALUE.fullmatch(value):
        raise MappingError(f"malformed amount {dict(data)!r}")
    try:
        return Money(int(value), currency)
    except UnknownCurrency as exc:
        raise MappingError(str(exc)) from None


def format_time(moment: datetime) -> str:
    """Return ``moment`` as Antom's ISO-8601 with offset, e.g. ``2019-11-27T12:01:01+08:00``."""
    if moment.utcoffset() is None:
        raise ValueError("Antom times need a UTC offset")
    return moment.isoformat(timespec="seconds")


def parse_time(text: Any) -> datetime:
    """Return the aware datetime of an Antom ISO-8601 time; an offset is required."""
    if not isinstance(text, str):
        raise MappingError("time is not a string")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MappingError(f"malformed time {text!r}") from None
    if moment.utcoffset() is None:
        raise MappingError(f"time {text!r} has no UTC offset")
    return moment


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise MappingError(f"{key} is not a string")
    return value


def _loose(data: Mapping[str, Any], key: str) -> str | None:
    """Return a non-empty string field, or None for anything else (never raises)."""
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _time(data: Mapping[str, Any], key: str) -> datetime | None:
    return None if data.get(key) is None else parse_time(data[key])


def _money(data: Mapping[str, Any], key: str) -> Money | None:
    return None if data.get(key) is None else from_amount(data[key])


def _enum(kind: type[_E], data: Mapping[str, Any], key: str) -> _E | None:
    value = _str(data, key)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise MappingError(f"unknown {key} {value!r}") from None


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is not None and not isinstance(value, Mapping):
        raise MappingError(f"{key} is not an object")
    return value


def _objects(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise MappingError(f"{key} is not a list of objects")
    return items


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None and value != {}}


def _check_request_id(name: str, value: str) -> None:
    if not value or len(value) > MAX_REQUEST_ID_LENGTH:
        raise ValueError(f"{name} must be 1 to {MAX_REQUEST_ID_LENGTH} characters")


def _check_positive(amount: Money) -> None:
    if amount.minor <= 0:
        raise ValueError("the amount must be positive")


def parse_result(data: Any) -> tuple[CallOutcome, str | None, str | None]:
    """Return (outcome, resultCode, resultMessage) of a message's ``result`` object."""
    result = _object(data, "result") if isinstance(data, Mapping) else None
    if result is None:
        raise MappingError("the message has no result object")
    try:
        outcome = CallOutcome(result.get("resultStatus"))
    except ValueError:
        raise MappingError(f"unknown resultStatus {result.get('resultStatus')!r}") from None
    return outcome, _str(result, "resultCode"), _str(result, "resultMessage")


# -- shared parts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """Where the buyer is (Env object): required by consult, optional on pay."""

    terminal_type: str
    os_type: str | None = None
    os_version: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None


def _env(env: Env) -> dict[str, str]:
    return _compact(
        {
            "terminalType": env.terminal_type,
            "osType": env.os_type,
            "osVersion": env.os_version,
            "clientIp": env.client_ip,
            "userAgent": env.user_agent,
        }
    )


@dataclass(frozen=True)
class PspCustomerInfo:
    """The wallet's view of the buyer (pspCustomerInfo)."""

    psp_name: str | None = None
    psp_customer_id: str | None = None
    display_customer_id: str | None = None


def _psp_customer_info(data: Mapping[str, Any]) -> PspCustomerInfo | None:
    info = _object(data, "pspCustomerInfo")
    if info is None:
        return None
    return PspCustomerInfo(
        psp_name=_str(info, "pspName"),
        psp_customer_id=_str(info, "pspCustomerId"),
        display_customer_id=_str(info, "displayCustomerId"),
    )


# -- consult ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsultRequest:
    """Ask Antom for a one-time authorization URL for a wallet."""

    customer_belongs_to: str
    auth_redirect_url: str
    auth_state: str
    env: Env
    scopes: tuple[str, ...] = (SCOPE_AGREEMENT_PAY,)
    auth_client_id: str | None = None
    notify_url: str | None = None

    def __post_init__(self) -> None:
        if not self.auth_state or len(self.auth_state) > 256:
            raise ValueError("auth_state must be 1 to 256 characters")
        if not 1 <= len(self.scopes) <= 4:
            raise ValueError("consult takes one to four scopes")


@dataclass(frozen=True)
class AuthCodeDetail:
    """One code of a QR-based authorization (authCodeForm.codeDetails)."""

    value_type: str | None
    value: str | None
    display_type: str | None


@dataclass(frozen=True, kw_only=True)
class ConsultResult(ProviderResult):
    """consult's answer: where to send the buyer to authorize."""

    auth_state: str | None = None
    normal_url: str | None = None
    scheme_url: str | None = None
    applink_url: str | None = None
    app_identifier: str | None = None
    auth_url: str | None = None
    auth_codes: tuple[AuthCodeDetail, ...] = ()

    @property
    def customer_url(self) -> str | None:
        """Return where to send the customer to authorise: the web page first, then the app links."""
        return self.normal_url or self.scheme_url or self.applink_url or self.auth_url


def consult_body(request: ConsultRequest, notify_url: str | None) -> dict[str, Any]:
    """Return consult's request body."""
    env = _env(request.env)
    # The current consult page (ams_zh-cn/authconsult) requires env.*; older pages require the
    # top-level terminalType/osType/osVersion it marks deprecated, so both are sent (antom.md §2.1).
    return _compact(
        {
            "customerBelongsTo": request.customer_belongs_to,
            "authRedirectUrl": request.auth_redirect_url,
            "scopes": list(request.scopes),
            "authState": request.auth_state,
            "env": env,
            "terminalType": env.get("terminalType"),
            "osType": env.get("osType"),
            "osVersion": env.get("osVersion"),
            "authClientId": request.auth_client_id,
            "authNotifyUrl": request.notify_url or notify_url,
        }
    )


def consult_result(data: Mapping[str, Any], request: ConsultRequest, **envelope: Any) -> ConsultResult:
    """Return the typed consult answer."""
    details = _objects(_object(data, "authCodeForm") or {}, "codeDetails")
    return ConsultResult(
        **envelope,
        auth_state=request.auth_state,
        normal_url=_str(data, "normalUrl"),
        scheme_url=_str(data, "schemeUrl"),
        applink_url=_str(data, "applinkUrl"),
        app_identifier=_str(data, "appIdentifier"),
        auth_url=_str(data, "authUrl"),
        auth_codes=tuple(
            AuthCodeDetail(_str(item, "codeValueType"), _str(item, "codeValue"), _str(item, "displayType"))
            for item in details
        ),
    )


# -- applyToken and revoke --------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyTokenRequest:
    """Exchange an auth code, or a refresh token, for an access token."""

    grant_type: GrantType
    customer_belongs_to: str
    auth_code: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        needs_code = self.grant_type is GrantType.AUTHORIZATION_CODE
        if needs_code != bool(self.auth_code) or needs_code == bool(self.refresh_token):
            raise ValueError(f"{self.grant_type} takes exactly the matching auth_code or refresh_token")

    @classmethod
    def for_auth_code(cls, customer_belongs_to: str, auth_code: str) -> ApplyTokenRequest:
        """Return the request that exchanges a freshly issued auth code."""
        return cls(GrantType.AUTHORIZATION_CODE, customer_belongs_to, auth_code=auth_code)

    @classmethod
    def for_refresh(cls, customer_belongs_to: str, refresh_token: str) -> ApplyTokenRequest:
        """Return the request that renews an access token before it expires."""
        return cls(GrantType.REFRESH_TOKEN, customer_belongs_to, refresh_token=refresh_token)


@dataclass(frozen=True, kw_only=True)
class ApplyTokenResult(ProviderResult):
    """applyToken's answer; the tokens are secrets and stay out of repr."""

    access_token: str | None = field(default=None, repr=False)
    access_token_expiry_time: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expiry_time: datetime | None = None
    user_login_id: str | None = None
    psp_customer_info: PspCustomerInfo | None = None


def apply_token_body(request: ApplyTokenRequest) -> dict[str, Any]:
    """Return applyToken's request body."""
    return _compact(
        {
            "grantType": str(request.grant_type),
            "customerBelongsTo": request.customer_belongs_to,
            "authCode": request.auth_code,
            "refreshToken": request.refresh_token,
        }
    )


def apply_token_result(data: Mapping[str, Any], **envelope: Any) -> ApplyTokenResult:
    """Return the typed applyToken answer."""
    return ApplyTokenResult(
        **envelope,
        access_token=_str(data, "accessToken"),
        access_token_expiry_time=_time(data, "accessTokenExpiryTime"),
        refresh_token=_str(data, "refreshToken"),
        refresh_token_expiry_time=_time(data, "refreshTokenExpiryTime"),
        user_login_id=_str(data, "userLoginId"),
        psp_customer_info=_psp_customer_info(data),
    )


@dataclass(frozen=True, kw_only=True)
class RevokeResult(ProviderResult):
    """revoke's answer: only the result matters."""

    @property
    def token_invalid(self) -> bool:
        """Return True when Antom no longer knows the token (expired, revoked or unbound already)."""
        return self.outcome is CallOutcome.FAILED and self.result_code == INVALID_ACCESS_TOKEN


def revoke_body(access_token: str) -> dict[str, Any]:
    """Return revoke's request body."""
    return {"accessToken": access_token}


def revoke_result(data: Mapping[str, Any], **envelope: Any) -> RevokeResult:
    """Return the typed revoke answer."""
    return RevokeResult(**envelope)


# -- pay, inquiryPayment, cancel --------------------------------------------------------------


@dataclass(frozen=True)
class PayRequest:
    """Debit a buyer's wallet with an Auto Debit access token."""

    payment_request_id: str
    amount: Money
    payment_method_type: str
    access_token: str = field(repr=False)
    reference_order_id: str
    order_description: str
    # The contract's settlement currency, not the payment's (pay, settlementStrategy); None lets
    # the client send the one it is configured with.
    settlement_currency: str | None = None
    env: Env | None = None
    reference_merchant_id: str | None = None
    # Must be within one minute of sending; the contract default is one minute.
    expiry_time: datetime | None = None
    notify_url: str | None = None

    def __post_init__(self) -> None:
        _check_request_id("payment_request_id", self.payment_request_id)
        _check_positive(self.amount)


@dataclass(frozen=True, kw_only=True)
class PayResult(ProviderResult):
    """pay's answer; ``outcome`` S means the buyer was debited."""

    payment_request_id: str | None = None
    payment_id: str | None = None
    amount: Money | None = None
    payment_create_time: datetime | None = None
    payment_time: datetime | None = None
    psp_customer_info: PspCustomerInfo | None = None

    @property
    def news(self) -> PaymentNews:
        """Return what pay's answer means for the payment (its S/F/U is the payment's)."""
        return PaymentNews.answered(
            self.outcome,
            self.result_code,
            self.result_message,
            paid_at=self.payment_time,
            provider_payment_id=self.payment_id,
        )


def pay_body(request: PayRequest, notify_url: str | None, settlement_currency: str) -> dict[str, Any]:
    """Return pay's request body; ``settlement_currency`` is the contract's, unless the request names one."""
    amount = to_amount(request.amount)
    return _compact(
        {
            "productCode": PRODUCT_CODE_AGREEMENT_PAYMENT,
            "paymentRequestId": request.payment_request_id,
            "order": _compact(
                {
                    "referenceOrderId": request.reference_order_id,
                    "orderDescription": request.order_description,
                    "orderAmount": amount,
                    "merchant": _compact({"referenceMerchantId": request.reference_merchant_id}),
                }
            ),
            "paymentAmount": amount,
            "paymentMethod": {
                "paymentMethodType": request.payment_method_type,
                "paymentMethodId": request.access_token,
            },
            "paymentExpiryTime": None if request.expiry_time is None else format_time(request.expiry_time),
            # Sent always: older pay pages mark settlementStrategy REQUIRED (antom.md §5.1).
            "settlementStrategy": {"settlementCurrency": request.settlement_currency or settlement_currency},
            "env": None if request.env is None else _env(request.env),
            "paymentNotifyUrl": request.notify_url or notify_url,
        }
    )


def _payment_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "payment_request_id": _str(data, "paymentRequestId"),
        "payment_id": _str(data, "paymentId"),
        "amount": _money(data, "paymentAmount"),
        "payment_create_time": _time(data, "paymentCreateTime"),
        "payment_time": _time(data, "paymentTime"),
    }


def pay_result(data: Mapping[str, Any], **envelope: Any) -> PayResult:
    """Return the typed pay answer."""
    return PayResult(**envelope, **_payment_fields(data), psp_customer_info=_psp_customer_info(data))


def payment_lookup_body(payment_request_id: str | None, payment_id: str | None) -> dict[str, str]:
    """Return the body naming a payment for inquiryPayment or cancel; paymentId wins if both."""
    if not payment_request_id and not payment_id:
        raise ValueError("name the payment by payment_request_id or payment_id")
    return _compact({"paymentRequestId": payment_request_id, "paymentId": payment_id})


@dataclass(frozen=True)
class Transaction:
    """A later action on a payment as inquiryPayment lists it (e.g. a refund)."""

    transaction_type: str | None
    status: str | None
    transaction_id: str | None
    request_id: str | None
    amount: Money | None
    time: datetime | None
    result_code: str | None


def _transaction(data: Mapping[str, Any]) -> Transaction:
    result = _object(data, "transactionResult") or {}
    return Transaction(
        transaction_type=_str(data, "transactionType"),
        status=_str(data, "transactionStatus"),
        transaction_id=_str(data, "transactionId"),
        request_id=_str(data, "transactionRequestId"),
        amount=_money(data, "transactionAmount"),
        time=_time(data, "transactionTime"),
        result_code=_str(result, "resultCode"),
    )


@dataclass(frozen=True, kw_only=True)
class InquiryPaymentResult(ProviderResult):
    """inquiryPayment's answer; ``outcome`` is the query's, ``payment_status`` the payment's."""

    payment_request_id: str | None = None
    payment_id: str | None = None
    payment_status: PaymentStatus | None = None
    payment_result_code: str | None = None
    payment_result_message: str | None = None
    amount: Money | None = None
    payment_create_time: datetime | None = None
    payment_time: datetime | None = None
    transactions: tuple[Transaction, ...] = ()

    @property
    def news(self) -> PaymentNews | None:
        """Return where the payment stands, when the inquiry answered with its status."""
        if self.outcome is not CallOutcome.SUCCEEDED or self.payment_status is None:
            return None
        return PaymentNews(
            payment_status_event(self.payment_status),
            self.payment_result_code,
            self.payment_result_message,
            paid_at=self.payment_time,
            provider_payment_id=self.payment_id,
        )

    @property
    def never_received(self) -> bool:
        """Return True when Antom has no such payment: the pay never reached it."""
        return self.result_code == ORDER_NOT_EXIST


def inquiry_payment_result(data: Mapping[str, Any], **envelope: Any) -> InquiryPaymentResult:
    """Return the typed inquiryPayment answer."""
    return InquiryPaymentResult(
        **envelope,
        **_payment_fields(data),
        payment_status=_enum(PaymentStatus, data, "paymentStatus"),
        payment_result_code=_str(data, "paymentResultCode"),
        payment_result_message=_str(data, "paymentResultMessage"),
        transactions=tuple(_transaction(item) for item in _objects(data, "transactions")),
    )


@dataclass(frozen=True, kw_only=True)
class CancelResult(ProviderResult):
    """cancel's answer; ``outcome`` S means the payment is cancelled (refunded in full if paid)."""

    payment_request_id: str | None = None
    payment_id: str | None = None
    cancel_time: datetime | None = None

    @property
    def news(self) -> CancelNews:
        """Return what cancel's answer means for the cancel."""
        return CancelNews.answered(
            self.outcome, self.result_code, self.result_message, cancelled_at=self.cancel_time
        )


def cancel_result(data: Mapping[str, Any], **envelope: Any) -> CancelResult:
    """Return the typed cancel answer."""
    return CancelResult(
        **envelope,
        payment_request_id=_str(data, "paymentRequestId"),
        payment_id=_str(data, "paymentId"),
        cancel_time=_time(data, "cancelTime"),
    )


# -- refund and inquiryRefund -----------------------------------------------------------------


@dataclass(frozen=True)
class RefundRequest:
    """Refund all or part of a successful payment."""

    refund_request_id: str
    payment_id: str
    amount: Money
    reason: str | None = None
    reference_refund_id: str | None = None
    notify_url: str | None = None

    def __post_init__(self) -> None:
        _check_request_id("refund_request_id", self.refund_request_id)
        _check_positive(self.amount)


@dataclass(frozen=True, kw_only=True)
class RefundResult(ProviderResult):
    """refund's answer; ``outcome`` U with REFUND_IN_PROCESS means accepted, not yet final."""

    refund_request_id: str | None = None
    refund_id: str | None = None
    payment_id: str | None = None
    amount: Money | None = None
    refund_time: datetime | None = None

    @property
    def news(self) -> RefundNews:
        """Return what refund's answer means for the refund (U with REFUND_IN_PROCESS: accepted)."""
        return RefundNews.answered(
            self.outcome,
            self.result_code,
            self.result_message,
            refunded_at=self.refund_time,
            provider_refund_id=self.refund_id,
        )


def refund_body(request: RefundRequest, notify_url: str | None) -> dict[str, Any]:
    """Return refund's request body."""
    return _compact(
        {
            "refundRequestId": request.refund_request_id,
            "paymentId": request.payment_id,
            "refundAmount": to_amount(request.amount),
            "refundReason": request.reason,
            "referenceRefundId": request.reference_refund_id,
            "refundNotifyUrl": request.notify_url or notify_url,
        }
    )


def _refund_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "refund_request_id": _str(data, "refundRequestId"),
        "refund_id": _str(data, "refundId"),
        "amount": _money(data, "refundAmount"),
        "refund_time": _time(data, "refundTime"),
    }


def refund_result(data: Mapping[str, Any], **envelope: Any) -> RefundResult:
    """Return the typed refund answer."""
    return RefundResult(**envelope, **_refund_fields(data), payment_id=_str(data, "paymentId"))


def refund_lookup_body(refund_request_id: str | None, refund_id: str | None) -> dict[str, str]:
    """Return inquiryRefund's body; refundId wins if both are given."""
    if not refund_request_id and not refund_id:
        raise ValueError("name the refund by refund_request_id or refund_id")
    return _compact({"refundRequestId": refund_request_id, "refundId": refund_id})


@dataclass(frozen=True, kw_only=True)
class InquiryRefundResult(ProviderResult):
    """inquiryRefund's answer; ``outcome`` is the query's, ``refund_status`` the refund's."""

    refund_request_id: str | None = None
    refund_id: str | None = None
    refund_status: RefundStatus | None = None
    amount: Money | None = None
    refund_time: datetime | None = None

    @property
    def news(self) -> RefundNews | None:
        """Return where the refund stands, when the inquiry answered with its status."""
        if self.outcome is not CallOutcome.SUCCEEDED or self.refund_status is None:
            return None
        return RefundNews(
            REFUND_STATUS_EVENTS[self.refund_status],
            refunded_at=self.refund_time,
            provider_refund_id=self.refund_id,
        )

    @property
    def never_received(self) -> bool:
        """Return True when Antom has no such refund: the refund request never reached it."""
        return self.result_code == ORDER_NOT_EXIST


def inquiry_refund_result(data: Mapping[str, Any], **envelope: Any) -> InquiryRefundResult:
    """Return the typed inquiryRefund answer."""
    return InquiryRefundResult(
        **envelope, **_refund_fields(data), refund_status=_enum(RefundStatus, data, "refundStatus")
    )


# -- notifications ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentNotification:
    """A notifyPayment body."""

    notify_type: NotifyType
    outcome: CallOutcome
    result_code: str | None
    result_message: str | None
    payment_request_id: str | None
    payment_id: str | None
    amount: Money | None
    payment_create_time: datetime | None
    payment_time: datetime | None
    psp_customer_info: PspCustomerInfo | None

    @property
    def payment_outcome(self) -> CallOutcome:
        """Return what this says about the payment: only PAYMENT_RESULT is final."""
        return self.outcome if self.notify_type is NotifyType.PAYMENT_RESULT else CallOutcome.UNKNOWN

    @property
    def news(self) -> PaymentNews:
        """Return the payment's news, with what it takes to record a payment we had not seen."""
        return PaymentNews(
            payment_result_event(self.notify_type, self.outcome.value),
            self.result_code,
            self.result_message,
            paid_at=self.payment_time,
            provider_payment_id=self.payment_id,
            request_id=self.payment_request_id,
            amount=self.amount,
            created_at=self.payment_create_time,
        )


@dataclass(frozen=True)
class RefundNotification:
    """A notifyRefund body."""

    notify_type: NotifyType
    outcome: CallOutcome
    result_code: str | None
    result_message: str | None
    refund_status: RefundStatus | None
    refund_request_id: str | None
    refund_id: str | None
    amount: Money | None
    refund_time: datetime | None
    #: Not in every notifyRefund; when present it places a refund we did not start.
    payment_id: str | None = None

    @property
    def news(self) -> RefundNews:
        """Return the refund's news; without a ``refundStatus`` the result's S/F/U says it."""
        if self.refund_status is not None:
            event = REFUND_STATUS_EVENTS[self.refund_status]
        else:
            event = REFUND_ANSWER[self.outcome]
        return RefundNews(
            event,
            self.result_code,
            self.result_message,
            refunded_at=self.refund_time,
            provider_refund_id=self.refund_id,
            request_id=self.refund_request_id,
            amount=self.amount,
            provider_payment_id=self.payment_id,
        )


@dataclass(frozen=True)
class AuthorizationNotification:
    """A notifyAuthorization body: AUTHCODE_CREATED, TOKEN_CREATED or TOKEN_CANCELED."""

    notify_type: NotifyType
    auth_code: str | None = field(repr=False)
    auth_state: str | None
    access_token: str | None = field(repr=False)
    reason: str | None
    auth_client_id: str | None
    user_login_id: str | None

    @property
    def news(self) -> AuthorizationNews:
        """Return what changed for the customer's authorisation."""
        return AuthorizationNews(
            AUTHORIZATION_CHANGES[self.notify_type],
            auth_state=self.auth_state,
            auth_code=self.auth_code,
            access_token=self.access_token,
            reason=self.reason,
        )


@dataclass(frozen=True)
class DisputeNotification:
    """A notifyDispute body: no ``notifyType`` and no ``result``; ``disputeNotificationType`` says what it is.

    Fields as ams/notify_dispute and the SDKs' AlipayDisputeNotify name them.
    """

    notification_type: DisputeNotificationType
    dispute_id: str
    payment_request_id: str | None
    payment_id: str | None
    dispute_time: datetime | None = None
    amount: Money | None = None
    reason_message: str | None = None
    reason_code: str | None = None
    source: str | None = None
    judged_time: datetime | None = None
    judged_amount: Money | None = None
    judged_result: DisputeJudgedResult | None = None
    defense_due_time: datetime | None = None
    accept_reason: str | None = None
    accept_time: datetime | None = None
    dispute_type: str | None = None
    defendable: bool | None = None
    arn: str | None = None

    @property
    def news(self) -> DisputeNews:
        """Return what the dispute means for its payment.

        :raises MappingError: a DISPUTE_JUDGED without a judged result (nobody can tell who won)
        """
        code: str = self.notification_type.value
        if self.notification_type is DisputeNotificationType.DISPUTE_JUDGED:
            if self.judged_result is None:
                raise MappingError("DISPUTE_JUDGED without disputeJudgedResult")
            event, stage = JUDGED_EVENTS[self.judged_result]
            code = self.judged_result.value
        else:
            event, stage = DISPUTE_EVENTS[self.notification_type]
        if self.accept_reason:
            stage = f"{stage} ({ACCEPT_REASONS.get(self.accept_reason, self.accept_reason)})"
        return DisputeNews(
            event,
            self.dispute_id,
            stage,
            code=code,
            message=self.reason_message,
            request_id=self.payment_request_id,
            provider_payment_id=self.payment_id,
            amount=self.judged_amount or self.amount,
            defend_by=self.defense_due_time,
        )


def _flag(data: Mapping[str, Any], key: str) -> bool | None:
    """Read a Boolean the docs send as a string ("true") and their examples as a JSON Boolean."""
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise MappingError(f"{key} is not a Boolean")


def _dispute_notification(data: Mapping[str, Any]) -> DisputeNotification:
    dispute_id = _str(data, "disputeId")
    if not dispute_id:
        raise MappingError("the dispute notification has no disputeId")
    payment_request_id, payment_id = _str(data, "paymentRequestId"), _str(data, "paymentId")
    if not payment_request_id and not payment_id:
        raise MappingError("the dispute notification names no payment")
    kind = _enum(DisputeNotificationType, data, "disputeNotificationType")
    if kind is None:
        raise MappingError("disputeNotificationType is empty")
    return DisputeNotification(
        notification_type=kind,
        dispute_id=dispute_id,
        payment_request_id=payment_request_id,
        payment_id=payment_id,
        dispute_time=_time(data, "disputeTime"),
        amount=_money(data, "disputeAmount"),
        reason_message=_str(data, "disputeReasonMsg"),
        reason_code=_str(data, "disputeReasonCode"),
        source=_str(data, "disputeSource"),
        judged_time=_time(data, "disputeJudgedTime"),
        judged_amount=_money(data, "disputeJudgedAmount"),
        judged_result=_enum(DisputeJudgedResult, data, "disputeJudgedResult"),
        defense_due_time=_time(data, "defenseDueTime"),
        accept_reason=_str(data, "disputeAcceptReason"),
        accept_time=_time(data, "disputeAcceptTime"),
        dispute_type=_str(data, "disputeType"),
        defendable=_flag(data, "defendable"),
        arn=_str(data, "arn"),
    )


Notification = PaymentNotification | RefundNotification | AuthorizationNotification | DisputeNotification

_PAYMENT_TYPES = frozenset({NotifyType.PAYMENT_RESULT, NotifyType.PAYMENT_PENDING})
_AUTHORIZATION_TYPES = frozenset(
    {NotifyType.AUTHCODE_CREATED, NotifyType.TOKEN_CREATED, NotifyType.TOKEN_CANCELED}
)


def identify_notification(body: bytes | str) -> NotificationIdentity:
    """Return an Antom body's kind, reference and dedup key: notify type + paymentId/refundId +
    status; AUTHCODE_CREATED by its authCode, TOKEN_* by the accessToken (both secrets); a dispute's
    by its type + disputeId (+ judged result), naming its payment. Its event time is the time the
    body gives for what it reports (paymentTime, refundTime, disputeTime or disputeJudgedTime)."""
    # Unverified input: nothing here may raise, whatever the body holds.
    data = json_object(body)
    dispute_kind = _loose(data, "disputeNotificationType")
    if dispute_kind:
        # notifyDispute: one per step of one dispute; a judgement also by its result.
        dispute_id = _loose(data, "disputeId")
        judged = _loose(data, "disputeJudgedResult")
        key = ":".join(part for part in (dispute_kind, dispute_id, judged) if part) if dispute_id else None
        return NotificationIdentity(
            dispute_kind,
            _loose(data, "paymentId") or _loose(data, "paymentRequestId"),
            key,
            event_at=_loose_time(data, _DISPUTE_EVENT_TIMES.get(dispute_kind)),
        )
    auth_kind = _loose(data, "authorizationNotifyType")
    if auth_kind:
        secret = _loose(data, "authCode") if auth_kind == NotifyType.AUTHCODE_CREATED else None
        secret = secret or _loose(data, "accessToken")
        return NotificationIdentity(
            auth_kind, _loose(data, "authState"), auth_kind if secret else None, secret
        )
    kind = _loose(data, "notifyType")
    if kind is None:
        return NotificationIdentity(UNPARSEABLE)
    result = data.get("result") if isinstance(data.get("result"), Mapping) else {}
    if kind == NotifyType.REFUND_RESULT:
        named = _loose(data, "refundId") or _loose(data, "refundRequestId")
        status = _loose(data, "refundStatus") or _loose(result, "resultStatus")
        event_at = _loose_time(data, "refundTime")
    else:
        named = _loose(data, "paymentId") or _loose(data, "paymentRequestId")
        status = _loose(data, "paymentStatus") or _loose(result, "resultStatus")
        event_at = _loose_time(data, "paymentTime")
    return NotificationIdentity(kind, named, f"{kind}:{named}:{status}" if named else None, event_at=event_at)


#: The field giving when the step a dispute notification reports happened; other steps give none.
_DISPUTE_EVENT_TIMES: Mapping[str, str] = MappingProxyType(
    {
        DisputeNotificationType.DISPUTE_CREATED: "disputeTime",
        DisputeNotificationType.DISPUTE_JUDGED: "disputeJudgedTime",
    }
)


def _loose_time(data: Mapping[str, Any], key: str | None) -> datetime | None:
    """Return a time field, or None when it is missing or unreadable (never raises)."""
    try:
        return _time(data, key) if key else None
    except MappingError:
        return None


def request_time(headers: Mapping[str, str]) -> datetime | None:
    """Return the ``Request-Time`` Antom signs on what it sends (epoch milliseconds or ISO-8601 with
    an offset, antom.md §1.2), or None when it is missing or unreadable (never raises)."""
    wanted = HEADER_REQUEST_TIME.lower()
    text = next((value for name, value in headers.items() if name.lower() == wanted), None)
    if not text:
        return None
    if text.isascii() and text.isdigit():
        try:
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            return None
    try:
        return parse_time(text)
    except MappingError:
        return None


#: What each notify type's reference names; any other kind names a payment.
_SUBJECTS: Mapping[str, Subject] = MappingProxyType(
    {
        NotifyType.REFUND_RESULT: Subject.REFUND,
        NotifyType.AUTHCODE_CREATED: Subject.AUTHORIZATION,
        NotifyType.TOKEN_CREATED: Subject.AGREEMENT,
        NotifyType.TOKEN_CANCELED: Subject.AGREEMENT,
    }
)


def notification_subject(kind: str) -> Subject:
    """Return what a notification of ``kind`` is about: a refund, an authorisation, a token, or a payment."""
    return _SUBJECTS.get(kind, Subject.PAYMENT)


def parse_notification(body: bytes | str) -> Notification:
    """Parse a verified notification body, dispatching on its (authorization)NotifyType or
    disputeNotificationType."""
    try:
        data = parse_json(body)
    except ValueError:
        raise MappingError("the notification is not JSON") from None
    if not isinstance(data, Mapping):
        raise MappingError("the notification is not a JSON object")
    if "disputeNotificationType" in data:
        return _dispute_notification(data)
    if "authorizationNotifyType" in data:
        kind = _enum(NotifyType, data, "authorizationNotifyType")
        if kind not in _AUTHORIZATION_TYPES:
            raise MappingError(f"unexpected authorizationNotifyType {kind!r}")
        return AuthorizationNotification(
            notify_type=kind,
            auth_code=_str(data, "authCode"),
            auth_state=_str(data, "authState"),
            access_token=_str(data, "accessToken"),
            reason=_str(data, "reason"),
            auth_client_id=_str(data, "authClientId"),
            user_login_id=_str(data, "userLoginId"),
        )
    kind = _enum(NotifyType, data, "notifyType")
    outcome, code, message = parse_result(data)
    if kind in _PAYMENT_TYPES:
        return PaymentNotification(
            kind, outcome, code, message, **_payment_fields(data), psp_customer_info=_psp_customer_info(data)
        )
    if kind is NotifyType.REFUND_RESULT:
        return RefundNotification(
            kind,
            outcome,
            code,
            message,
            refund_status=_enum(RefundStatus, data, "refundStatus"),
            **_refund_fields(data),
            payment_id=_str(data, "paymentId"),
        )
    raise MappingError(f"unexpected notifyType {kind!r}")


def notification_news(body: bytes | str) -> News:
    """Return what a verified notification body says, in the domain's words."""
    return parse_notification(body).news
