"""Worldpay Access APM API (2024-07-01) facts for AlipayHK: paths, headers, names and limits.

Section numbers (§) refer to /work/shared/providers/worldpay_hkach.md, PART 1.
"""

from __future__ import annotations

import enum
import re

from dashboard.money import Money

PROVIDER = "worldpay"

API_VERSION = "2024-07-01"
TRY_BASE_URL = "https://try.access.worldpay.com"

API_VERSION_HEADER = "WP-Api-Version"
CORRELATION_HEADER = "WP-CorrelationId"
SIGNATURE_HEADER = "Event-Signature"

#: Requests and answers of the APM API; no vendor media type exists for it (§1.1).
JSON_CONTENT_TYPE = "application/json"
#: Content type of webhook (event) bodies (§1.10.1).
EVENTS_CONTENT_TYPE = "application/vnd.worldpay.events-v1.hal+json"

PAYMENTS_PATH = "/apmPayments"
PAYMENT_PATH = "/apmPayments/{payment_id}"
REVERSALS_PATH = "/apmPayments/{payment_id}/reversals"
PARTIAL_REVERSALS_PATH = "/apmPayments/{payment_id}/partialReversals"

# Payment Queries API (developer.worldpay.com/products/payment-queries, v1): find a payment by our
# transactionReference, and read one payment's value and event history. Its pages say it covers
# card payments and that "APM payments ... will be added in the near future": that APM sales are
# found there, under their APM paymentId, is an assumption the simulator shares (uncertain).
PAYMENT_QUERIES_PATH = "/paymentQueries/payments"
PAYMENT_QUERY_PATH = "/paymentQueries/payments/{payment_id}"
#: The ``Accept`` value the Payment Queries API requires, and the content type of its answers.
PAYMENT_QUERIES_CONTENT_TYPE = "application/vnd.worldpay.payment-queries-v1.hal+json"

METHOD_ALIPAY_HK = "alipay_hk"
INSTRUMENT_DIRECT = "direct"

#: Names of the ``_actions`` a payment resource may offer (§1.6).
ACTION_REVERSE = "reverse"
ACTION_PARTIAL_REVERSE = "partialReverse"

#: HMAC hash function named in the ``Event-Signature`` header (§1.10.4).
SIGNATURE_HASH = "SHA256"


class SignatureEncoding(enum.StrEnum):
    """How the HMAC bytes of an ``Event-Signature`` are written. The event signature page does not
    say (§1.10.4; the Account Payouts page says hex), so both are accepted."""

    HEX = "hex"
    BASE64 = "base64"


class EventName(enum.StrEnum):
    """Every ``lastEvent`` value (§1.7) and webhook payment event type (§1.10.3)."""

    AUTHORIZED = "authorized"
    CANCEL_FAILED = "cancelFailed"
    CANCELLED = "cancelled"
    CANCEL_REQUESTED = "cancelRequested"
    CANCELLED_BY_CUSTOMER = "cancelledByCustomer"
    CHARGEBACK_REVERSED = "chargebackReversed"
    CHARGED_BACK = "chargedBack"
    DISPUTE_EXPIRED = "disputeExpired"
    DISPUTE_FUNDS_HELD = "disputeFundsHeld"
    DISPUTE_FUNDS_RELEASED = "disputeFundsReleased"
    DISPUTE_INFORMATION_REQUESTED = "disputeInformationRequested"
    # Spelled as in the spec's enum, typo included (§1.7).
    DISPUTE_INFORMATION_SUPPLIED = "disputInformationSupplied"
    DISPUTE_RESERVE_RELEASED = "disputeReserveReleased"
    ERROR = "error"
    EXPIRED = "expired"
    MANUALLY_AMENDED = "manuallyAmended"
    MISCELLANEOUS = "miscellaneous"
    PENDING = "pending"
    REFUNDED = "refunded"
    REFUND_EXPIRED = "refundExpired"
    REFUND_FAILED = "refundFailed"
    REFUND_REVERSED = "refundReversed"
    REFUSED = "refused"
    REFUSED_BY_ISSUER = "refusedByIssuer"
    REQUEST_EXPIRED = "requestExpired"
    SENT_FOR_AUTHORIZATION = "sentForAuthorization"
    SENT_FOR_REFUND = "sentForRefund"
    SENT_FOR_SETTLEMENT = "sentForSettlement"
    SETTLED = "settled"
    SETTLEMENT_FAILED = "settlementFailed"
    SETTLEMENT_INSTRUCTED = "settlementInstructed"
    SETTLEMENT_REJECTED = "settlementRejected"
    SETTLEMENT_REVERSED = "settlementReversed"
    SIGNED_FORM_RECEIVED = "signedFormReceived"
    TOKEN_CREATED = "tokenCreated"  # noqa: S105 - an event name, not a secret
    TOP_UP_ACCEPTED = "topUpAccepted"
    TOP_UP_REJECTED = "topUpRejected"
    UNKNOWN = "unknown"


#: Webhook event types of the "payment" tag (§1.10.3).
WEBHOOK_PAYMENT_EVENTS = frozenset(
    {
        EventName.SENT_FOR_AUTHORIZATION,
        EventName.AUTHORIZED,
        EventName.SENT_FOR_SETTLEMENT,
        EventName.SETTLED,
        EventName.SETTLEMENT_FAILED,
        EventName.CANCELLED,
        EventName.ERROR,
        EventName.EXPIRED,
        EventName.REFUSED,
        EventName.SENT_FOR_REFUND,
        EventName.REFUNDED,
        EventName.REFUND_FAILED,
        EventName.TOKEN_CREATED,
        EventName.SETTLEMENT_INSTRUCTED,
        EventName.SETTLEMENT_REJECTED,
        EventName.TOP_UP_ACCEPTED,
        EventName.TOP_UP_REJECTED,
        EventName.CHARGED_BACK,
        EventName.CANCELLED_BY_CUSTOMER,
        EventName.REQUEST_EXPIRED,
    }
)


class QueryEventName(enum.StrEnum):
    """Event names of a payment's history in the Payment Queries API (``events[].eventName``)."""

    SALE_REQUESTED = "saleRequested"
    SALE_SUCCEEDED = "saleSucceeded"
    SALE_REFUSED = "saleRefused"
    SALE_FAILED = "saleFailed"
    REFUND_REQUESTED = "refundRequested"
    REFUND_REQUEST_SUBMITTED = "refundRequestSubmitted"
    REFUND_REQUEST_SUBMISSION_FAILED = "refundRequestSubmissionFailed"
    REFUND_REQUEST_SUBMISSION_TIMED_OUT = "refundRequestSubmissionTimedOut"


#: History events that end a refund command without the refund being made.
QUERY_REFUND_FAILURES = frozenset(
    {QueryEventName.REFUND_REQUEST_SUBMISSION_FAILED, QueryEventName.REFUND_REQUEST_SUBMISSION_TIMED_OUT}
)


class ErrorName(enum.StrEnum):
    """``errorName`` values: the APM spec's examples, then Access-wide ones (§1.9)."""

    BODY_DOES_NOT_MATCH_SCHEMA = "bodyDoesNotMatchSchema"
    TRANSACTION_REFERENCE_IS_A_DUPLICATE = "transactionReferenceIsADuplicate"
    PAYMENT_NOT_FOUND = "paymentNotFound"
    ORDER_NOT_READY = "orderNotReady"
    TOKEN_DOES_NOT_EXIST = "tokenDoesNotExist"  # noqa: S105 - an error name, not a secret
    INVALID_TRANSACTION_REFERENCE = "invalidTransactionReference"
    UNAUTHORIZED = "unauthorized"
    INTERNAL_ERROR_OCCURRED = "internalErrorOccurred"
    HEADER_IS_MISSING = "headerIsMissing"
    HEADER_HAS_INVALID_VALUE = "headerHasInvalidValue"
    FIELD_IS_MISSING = "fieldIsMissing"
    FIELD_HAS_INVALID_VALUE = "fieldHasInvalidValue"
    FIELD_MUST_BE_STRING = "fieldMustBeString"
    FIELD_IS_NOT_ALLOWED = "fieldIsNotAllowed"
    FIELD_IS_EMPTY = "fieldIsEmpty"
    FIELD_IS_NULL = "fieldIsNull"
    STRING_IS_TOO_SHORT = "stringIsTooShort"
    STRING_IS_TOO_LONG = "stringIsTooLong"
    STRING_FAILED_REGEX_CHECK = "stringFailedRegexCheck"
    NUMBER_IS_TOO_LARGE = "numberIsTooLarge"
    BODY_IS_EMPTY = "bodyIsEmpty"
    BODY_IS_NOT_JSON = "bodyIsNotJson"
    URL_CONTAINS_INVALID_VALUE = "urlContainsInvalidValue"
    ENDPOINT_NOT_FOUND = "endpointNotFound"
    METHOD_NOT_ALLOWED = "methodNotAllowed"
    RESOURCE_NOT_FOUND = "resourceNotFound"
    ACCESS_DENIED = "accessDenied"
    ENTITY_IS_NOT_CONFIGURED = "entityIsNotConfigured"
    SERVICE_UNAVAILABLE = "serviceUnavailable"


# Our own result codes, kept on refunds where Worldpay gives none (their guidance is in guidance.py).
#: A refund's reversal was never sent: the payment's freshly queried ``_actions`` offered none.
REVERSAL_NOT_OFFERED = "REVERSAL_NOT_OFFERED"
#: No refund event came in time, and Worldpay's records show the refund taken and not failed.
RESOLVED_FROM_RECORDS = "RESOLVED_FROM_RECORDS"
#: No refund event came in time, and Worldpay's records could not settle the refund's fate.
NO_FINAL_EVENT = "NO_FINAL_EVENT"

# Field constraints of the create request (§1.4.1) and of reversals (§1.8).
TRANSACTION_REFERENCE_PATTERN = re.compile(r"^[a-zA-Z0-9\-_/!@#$%()*=.:;?\[\]{}~+]*$")
TRANSACTION_REFERENCE_MAX_LENGTH = 64
ENTITY_PATTERN = re.compile(r"^([a-zA-Z0-9\- ]*)$")
ENTITY_LENGTH = (3, 32)
NARRATIVE_PATTERN = re.compile(r"^[a-zA-Z0-9\-., ]*$")
NARRATIVE_MAX_LENGTH = 24
CUSTOMER_NAME_MAX_LENGTH = 22
CUSTOMER_EMAIL_MAX_LENGTH = 128
CUSTOMER_EMAIL_PATTERN = re.compile(r"^(.+@.+\..+)?$")
REVERSAL_REFERENCE_PATTERN = re.compile(r"^[a-zA-Z0-9\-]*$")
REVERSAL_REFERENCE_MAX_LENGTH = 128
AMOUNT_MIN = 1
AMOUNT_MAX = 2_147_483_647
DEVICES = frozenset({"desktop", "mobile"})
OPERATING_SYSTEMS = frozenset({"android", "osx", "windows", "ios", "linux", "other"})

# AlipayHK product rules (§1.4.2). The cap is documented in HKD only; how it applies to the
# other currencies is not, so it is checked for HKD alone.
ALIPAY_HK_CURRENCIES = frozenset({"EUR", "HKD", "GBP", "SGD"})
ALIPAY_HK_MAX_HKD = Money(5_000_000, "HKD")

# Try simulator (seed page "AlipayHK", Simulation; §1.11): the magic minor-unit amounts.
MAGIC_SALE_ERROR_AMOUNT = 500
MAGIC_REVERSAL_ERROR_AMOUNT = 700
#: The APM testing page's 900 ("captureFailed", which the 2024-07-01 enum spells settlementFailed);
#: documented for PayPal only, applied to AlipayHK by the same project assumption as 500 and 700.
MAGIC_SETTLEMENT_FAILED_AMOUNT = 900
