"""Antom (Alipay AMS) wire constants: paths, headers, result codes and defaults.

Sources are the Antom API reference pages (docs.antom.com/ac/ams/...) and the official SDKs,
summarised with citations in the project's provider notes (``antom.md``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from dashboard.providers.base import SECRET_FIELDS as BASE_SECRET_FIELDS
from dashboard.providers.base import CallOutcome
from dashboard.providers.http import DEFAULT_CONNECT_TIMEOUT
from dashboard.providers.http import DEFAULT_READ_TIMEOUT

PROVIDER = "antom"

#: Connect and read timeouts in seconds; Auto Debit payments expire one minute after the
#: request (pay, "paymentExpiryTime"), so a read timeout well under that leaves room to inquire.
DEFAULT_TIMEOUTS: tuple[float, float] = (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)

# Client ids issued for the sandbox start with this prefix; the SDKs then rewrite the first
# "/ams/api" of the path to "/ams/sandbox/api" before signing (api_fund "Sandbox").
SANDBOX_CLIENT_PREFIX = "SANDBOX_"
LIVE_PATH_PREFIX = "/ams/api"
SANDBOX_PATH_PREFIX = "/ams/sandbox/api"

HEADER_CLIENT_ID = "Client-Id"
HEADER_REQUEST_TIME = "Request-Time"
HEADER_RESPONSE_TIME = "Response-Time"
HEADER_SIGNATURE = "Signature"
CONTENT_TYPE = "application/json; charset=UTF-8"

#: pay's settlementStrategy.settlementCurrency is the currency the merchant's contract settles in
#: (not the payment's); a Hong Kong merchant's contract settles in HKD unless configured otherwise.
DEFAULT_SETTLEMENT_CURRENCY = "HKD"

SIGNATURE_ALGORITHM = "RSA256"
DEFAULT_KEY_VERSION = 1

#: Request IDs (paymentRequestId, refundRequestId) are at most 64 characters.
MAX_REQUEST_ID_LENGTH = 64

#: Auto Debit uses one fixed product code (pay (Auto Debit), "productCode").
PRODUCT_CODE_AGREEMENT_PAYMENT = "AGREEMENT_PAYMENT"
#: The consult scope that grants Auto Debit.
SCOPE_AGREEMENT_PAY = "AGREEMENT_PAY"

#: Fields masked in call records: the base set plus pay's paymentMethodId, which is the access token.
SECRET_FIELDS = BASE_SECRET_FIELDS | {"paymentMethodId"}

#: The fixed acknowledgement a notification endpoint returns (notification "Acknowledgement"); unsigned.
NOTIFICATION_ACK = b'{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}'

# Amounts: Antom's currency table (ref/cc) gives the same minor-unit exponents as ISO 4217 for
# every currency it lists (HKD 2, IDR 2, TWD 2, JPY 0, KRW 0, ...), so dashboard.money.EXPONENTS
# applies unchanged. Per-method rounding rules (IDR multiples of 100, HKD Octopus multiples of 10)
# are payment-method limits, not exponent differences, and are left to Antom to enforce.


class Operation(enum.StrEnum):
    """An Antom API this client calls; the value is the name Antom's docs use."""

    CONSULT = "consult"
    APPLY_TOKEN = "applyToken"  # noqa: S105 - an API name, not a secret
    REVOKE = "revoke"
    PAY = "pay"
    INQUIRY_PAYMENT = "inquiryPayment"
    CANCEL = "cancel"
    REFUND = "refund"
    INQUIRY_REFUND = "inquiryRefund"
    DECLARE = "declare"
    INQUIRY_DECLARATION = "inquiryDeclarationRequests"


#: Live paths as signed; sandbox clients rewrite them (see SANDBOX_PATH_PREFIX).
PATHS: Mapping[Operation, str] = MappingProxyType(
    {
        Operation.CONSULT: "/ams/api/v1/authorizations/consult",
        Operation.APPLY_TOKEN: "/ams/api/v1/authorizations/applyToken",
        Operation.REVOKE: "/ams/api/v1/authorizations/revoke",
        Operation.PAY: "/ams/api/v1/payments/pay",
        Operation.INQUIRY_PAYMENT: "/ams/api/v1/payments/inquiryPayment",
        Operation.CANCEL: "/ams/api/v1/payments/cancel",
        Operation.REFUND: "/ams/api/v1/payments/refund",
        Operation.INQUIRY_REFUND: "/ams/api/v1/payments/inquiryRefund",
        # SDK AntomPathConstants DECLARE_PATH / INQUIRY_DECLARE_PATH (ams/declare, ams/inquirydeclare).
        Operation.DECLARE: "/ams/api/v1/customs/declare",
        Operation.INQUIRY_DECLARATION: "/ams/api/v1/customs/inquiryDeclarationRequests",
    }
)


class GrantType(enum.StrEnum):
    """applyToken grant types."""

    AUTHORIZATION_CODE = "AUTHORIZATION_CODE"
    REFRESH_TOKEN = "REFRESH_TOKEN"  # noqa: S105 - a grant type, not a secret


class PaymentStatus(enum.StrEnum):
    """inquiryPayment ``paymentStatus`` values."""

    SUCCESS = "SUCCESS"
    FAIL = "FAIL"
    PROCESSING = "PROCESSING"
    CANCELLED = "CANCELLED"
    # "Payment completed, waiting for the final result" (a few methods only).
    PENDING = "PENDING"


class RefundStatus(enum.StrEnum):
    """inquiryRefund and notifyRefund ``refundStatus`` values."""

    SUCCESS = "SUCCESS"
    PROCESSING = "PROCESSING"
    FAIL = "FAIL"


class NotifyType(enum.StrEnum):
    """``notifyType`` (notifyPayment, notifyRefund) or ``authorizationNotifyType`` (notifyAuthorization)."""

    PAYMENT_RESULT = "PAYMENT_RESULT"
    PAYMENT_PENDING = "PAYMENT_PENDING"
    REFUND_RESULT = "REFUND_RESULT"
    AUTHCODE_CREATED = "AUTHCODE_CREATED"
    TOKEN_CREATED = "TOKEN_CREATED"  # noqa: S105 - a notification type, not a secret
    TOKEN_CANCELED = "TOKEN_CANCELED"  # noqa: S105 - a notification type, not a secret


class DisputeNotificationType(enum.StrEnum):
    """notifyDispute ``disputeNotificationType`` (ams/notify_dispute; SDK DisputeNotificationType)."""

    #: A dispute (chargeback, retrieval request) was opened; the disputed funds are frozen.
    DISPUTE_CREATED = "DISPUTE_CREATED"
    #: The dispute was judged; ``disputeJudgedResult`` says for whom.
    DISPUTE_JUDGED = "DISPUTE_JUDGED"
    #: The customer cancelled the dispute.
    DISPUTE_CANCELLED = "DISPUTE_CANCELLED"
    #: The merchant's defence documents were submitted.
    DEFENSE_SUPPLIED = "DEFENSE_SUPPLIED"
    #: The defence is due within 24 hours of ``defenseDueTime``.
    DEFENSE_DUE_ALERT = "DEFENSE_DUE_ALERT"
    #: The dispute was accepted (by the merchant, by a missed defence deadline, or by Antom's staff;
    #: ``disputeAcceptReason``).
    DISPUTE_ACCEPTED = "DISPUTE_ACCEPTED"
    #: The dispute was settled by Visa's Rapid Dispute Resolution.
    RDR_RESOLVED = "RDR_RESOLVED"


class DisputeJudgedResult(enum.StrEnum):
    """notifyDispute ``disputeJudgedResult``."""

    #: The customer is liable: the frozen funds are released to the merchant.
    ACCEPT_BY_CUSTOMER = "ACCEPT_BY_CUSTOMER"
    #: The merchant is liable: the funds are deducted from the settlement and returned to the customer.
    ACCEPT_BY_MERCHANT = "ACCEPT_BY_MERCHANT"
    #: Compliance retrieval documents were uploaded and validated.
    VALIDATE_SUCCESS = "VALIDATE_SUCCESS"
    #: Compliance retrieval documents were uploaded and failed validation.
    VALIDATE_FAIL = "VALIDATE_FAIL"


class ResultCode(NamedTuple):
    """What a documented ``result.resultCode`` means and the ``resultStatus`` it comes with."""

    status: CallOutcome
    meaning: str


def _table(*rows: tuple[str, str, str]) -> Mapping[str, ResultCode]:
    return MappingProxyType(
        {code: ResultCode(CallOutcome(status), meaning) for code, status, meaning in rows}
    )


#: Codes that any API may answer (antom.md §4.4; authrevocation, paymentc tables).
COMMON_RESULT_CODES = _table(
    ("SUCCESS", "S", "Success."),
    ("ACCESS_DENIED", "F", "Access is denied."),
    ("CLIENT_FORBIDDEN_ACCESS_API", "F", "The client is not allowed to use this API."),
    ("CLIENT_INVALID", "F", "The client ID is invalid."),
    ("INVALID_API", "F", "The API is invalid or not activated."),
    ("INVALID_CLIENT_STATUS", "F", "The client status is invalid."),
    ("INVALID_SIGNATURE", "F", "The request signature did not verify."),
    ("KEY_NOT_FOUND", "F", "The private key or public key of Antom or the merchant is not found."),
    ("NO_INTERFACE_DEF", "F", "API is not defined."),
    ("PARAM_ILLEGAL", "F", "The required parameters are not passed, or illegal parameters exist."),
    ("PROCESS_FAIL", "F", "A general business failure occurred."),
    ("REQUEST_TRAFFIC_EXCEED_LIMIT", "U", "The request traffic exceeds the limit."),
    ("UNKNOWN_EXCEPTION", "U", "An API call has failed, which is caused by unknown reasons."),
)

#: pay (Auto Debit) "Result/Error codes", complete (docs.antom.com/ac/ams/payment_agreement).
PAY_RESULT_CODES = _table(
    ("SUCCESS", "S", "Success."),
    ("ACCESS_DENIED", "F", "Access is denied."),
    ("CURRENCY_NOT_SUPPORT", "F", "The currency is not supported."),
    ("EXPIRED_CODE", "F", "The payment code is expired."),
    ("INVALID_ACCESS_TOKEN", "F", "The access token is expired, revoked, or does not exist."),
    ("INVALID_CONTRACT", "F", "The contract parameters do not match this transaction."),
    ("INVALID_MERCHANT_STATUS", "F", "The merchant status is abnormal because restrictions exist."),
    ("INVALID_PAYMENT_CODE", "F", "The payment code cannot be accepted."),
    ("INVALID_PAYMENT_METHOD_META_DATA", "F", "The payment method metadata is invalid."),
    ("KEY_NOT_FOUND", "F", "The private key or public key of Antom or the merchant is not found."),
    ("MERCHANT_KYB_NOT_QUALIFIED", "F", "The payment failed because of the merchant's KYB status."),
    ("MERCHANT_NOT_REGISTERED", "F", "The merchant is not registered."),
    ("NO_INTERFACE_DEF", "F", "API is not defined."),
    ("NO_PAY_OPTIONS", "F", "No payment options are available."),
    ("ORDER_IS_CANCELED", "F", "The paymentRequestId belongs to a transaction that was canceled."),
    ("ORDER_IS_CLOSED", "F", "The paymentRequestId belongs to a transaction that is closed."),
    ("ORDER_NOT_EXIST", "F", "The order does not exist."),
    ("PARAM_ILLEGAL", "F", "The required parameters are not passed, or illegal parameters exist."),
    ("PAYMENT_AMOUNT_EXCEED_LIMIT", "F", "The payment amount is greater than the contract or wallet allows."),
    ("PAYMENT_COUNT_EXCEED_LIMIT", "F", "The number of payments exceeds the wallet's limit."),
    ("PAYMENT_NOT_QUALIFIED", "F", "The merchant may not pay (no contract, unregistered or forbidden)."),
    ("PROCESS_FAIL", "F", "A general business failure occurred. Do not retry."),
    ("REPEAT_REQ_INCONSISTENT", "F", "The amount or currency is different from the previous request."),
    ("RISK_REJECT", "F", "The request is rejected because of the risk control."),
    ("SETTLE_CONTRACT_NOT_MATCH", "F", "No matched settlement contract can be found."),
    ("SYSTEM_ERROR", "F", "A system error occurred. Do not retry."),
    ("USER_AMOUNT_EXCEED_LIMIT", "F", "The payment amount exceeds the user payment limit."),
    ("USER_BALANCE_NOT_ENOUGH", "F", "The user balance in the payment method is not enough."),
    ("USER_KYC_NOT_QUALIFIED", "F", "The payment failed because of the user's KYC status."),
    ("USER_NOT_EXIST", "F", "The user does not exist on the wallet side."),
    ("USER_PAYMENT_VERIFICATION_FAILED", "F", "The user failed the payment verification (OTP, PIN)."),
    ("USER_STATUS_ABNORMAL", "F", "The user status is abnormal on the wallet side."),
    ("PAYMENT_IN_PROCESS", "U", "The payment is being processed."),
    ("REQUEST_TRAFFIC_EXCEED_LIMIT", "U", "The request traffic exceeds the limit."),
    ("UNKNOWN_EXCEPTION", "U", "An API call has failed, which is caused by unknown reasons."),
    ("VERIFY_TIMES_EXCEED_LIMIT", "F", "The verification code failed too many times."),
    ("VERIFY_UNMATCHED", "F", "The verification code is invalid."),
)

#: inquiryPayment / inquiryRefund answer F with this code when Antom never received the pay or
#: refund asked about: nothing was charged or refunded, and it may be sent again (antom.md §5.3).
ORDER_NOT_EXIST = "ORDER_NOT_EXIST"
_ORDER_NOT_EXIST = (ORDER_NOT_EXIST, "F", "The order does not exist.")
#: revoke (and pay, refund) answer F with this code when the access token is expired, revoked or
#: unknown at Antom (authrevocation): nothing can be charged with it any more.
INVALID_ACCESS_TOKEN = "INVALID_ACCESS_TOKEN"  # noqa: S105 - a result code, not a secret
_INVALID_ACCESS_TOKEN = (INVALID_ACCESS_TOKEN, "F", "The access token is expired, revoked, or unknown.")
_PAYMENT_IN_PROCESS = ("PAYMENT_IN_PROCESS", "U", "The payment is being processed.")

#: revoke: the visible part of the authrevocation table.
REVOKE_RESULT_CODES = _table(_INVALID_ACCESS_TOKEN)

#: applyToken: its code table could not be read (antom.md §2.3), which expects codes for a bad, used
#: or expired auth code or refresh token under these Alipay+-family names (uncertain: names to check
#: against Antom; the simulator answers them).
APPLY_TOKEN_RESULT_CODES = _table(
    ("INVALID_CODE", "F", "The auth code is invalid."),
    ("USED_CODE", "F", "The auth code has already been used."),
    ("EXPIRED_CODE", "F", "The auth code is expired."),
    ("INVALID_REFRESH_TOKEN", "F", "The refresh token is invalid, used or revoked."),
    ("EXPIRED_REFRESH_TOKEN", "F", "The refresh token is expired."),
)

#: cancel: the visible part of the paymentc table (ORDER_STATUS_INVALID is truncated there).
CANCEL_RESULT_CODES = _table(
    ("CANCEL_WINDOW_EXCEED", "F", "The payment is outside the cancel window; refund it instead."),
    _ORDER_NOT_EXIST,
    ("ORDER_STATUS_INVALID", "F", "The payment status does not allow cancellation."),
    ("PROCESS_FAIL", "F", "The payment cannot be cancelled, e.g. it was already refunded."),
)

#: refund: codes confirmed on the refund_online, scantopay_cn/refund and aba/notifydirectrefund pages.
REFUND_RESULT_CODES = _table(
    ("REFUND_IN_PROCESS", "U", "The refund is accepted and being processed."),
    ("ORDER_STATUS_INVALID", "F", "The payment did not succeed (in process or failed)."),
    ("REFUND_WINDOW_EXCEED", "F", "The refund is outside the refund period."),
    ("REFUND_AMOUNT_EXCEED", "F", "The total refund amount exceeds the payment amount."),
    ("PAYMENT_METHOD_NOT_SUPPORTED", "F", "The payment method does not support refunds."),
    ("PARTIAL_REFUND_NOT_SUPPORTED", "F", "The payment method does not support partial refunds."),
    ("MERCHANT_BALANCE_NOT_ENOUGH", "F", "The merchant balance is not enough."),
    _ORDER_NOT_EXIST,
    _INVALID_ACCESS_TOKEN,
    _PAYMENT_IN_PROCESS,
    ("REPEAT_REQ_INCONSISTENT", "F", "The refundRequestId was used with a different amount or currency."),
    ("ORDER_IS_CANCELED", "F", "A cancelled payment cannot be refunded."),
    ("ORDER_IS_CLOSED", "F", "A closed payment cannot be refunded."),
    ("CURRENCY_NOT_SUPPORT", "F", "The currency is not supported."),
)

#: inquiryPayment / inquiryRefund: the query itself fails this way for an unknown ID.
INQUIRY_RESULT_CODES = _table(_ORDER_NOT_EXIST)

#: declare: only the table's head (SUCCESS, ACCESS_DENIED, INV…) could be read (ams/declare); the
#: refusals below follow the payment APIs' names for the same situations and are uncertain — names
#: to check against Antom (the simulator answers them). Its ``result`` says whether the request
#: was accepted, never what customs decided (that is inquiryDeclarationRequests' record).
DECLARE_RESULT_CODES = _table(
    _ORDER_NOT_EXIST,
    ("ORDER_STATUS_INVALID", "F", "The payment did not succeed, so it cannot be declared."),
    ("PAYMENT_METHOD_NOT_SUPPORTED", "F", "The payment method does not support customs declaration."),
    ("DECLARE_AMOUNT_EXCEED", "F", "The declaration amount is greater than the payment amount."),
    ("CUSTOMS_NOT_SUPPORT", "F", "The customs code is not supported."),
    ("REPEAT_REQ_INCONSISTENT", "F", "The declarationRequestId was used with a different request."),
)
#: inquiryDeclarationRequests: unknown ids are listed in the answer, not refused (ams/inquirydeclare).
INQUIRY_DECLARATION_RESULT_CODES = _table()

_SPECIFIC: Mapping[Operation, Mapping[str, ResultCode]] = {
    Operation.CONSULT: {},
    Operation.APPLY_TOKEN: APPLY_TOKEN_RESULT_CODES,
    Operation.REVOKE: REVOKE_RESULT_CODES,
    Operation.PAY: PAY_RESULT_CODES,
    Operation.INQUIRY_PAYMENT: INQUIRY_RESULT_CODES,
    Operation.CANCEL: CANCEL_RESULT_CODES,
    Operation.REFUND: REFUND_RESULT_CODES,
    Operation.INQUIRY_REFUND: INQUIRY_RESULT_CODES,
    Operation.DECLARE: DECLARE_RESULT_CODES,
    Operation.INQUIRY_DECLARATION: INQUIRY_DECLARATION_RESULT_CODES,
}

#: Every documented code per operation: the common codes, overridden by the operation's own table.
RESULT_CODES: Mapping[Operation, Mapping[str, ResultCode]] = MappingProxyType(
    {operation: MappingProxyType({**COMMON_RESULT_CODES, **codes}) for operation, codes in _SPECIFIC.items()}
)


def describe(operation: Operation, code: str | None) -> ResultCode | None:
    """Return the documented meaning of ``code`` for ``operation``, or None if undocumented."""
    if code is None:
        return None
    return RESULT_CODES[operation].get(code)
