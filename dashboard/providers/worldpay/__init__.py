"""Worldpay Access APM payments (AlipayHK): client, typed requests and answers, webhook events."""

from dashboard.providers.worldpay.client import WorldpayClient
from dashboard.providers.worldpay.errors import WorldpayAuthError
from dashboard.providers.worldpay.errors import WorldpayDuplicateReference
from dashboard.providers.worldpay.errors import WorldpayNotFound
from dashboard.providers.worldpay.errors import WorldpayRejected
from dashboard.providers.worldpay.errors import WorldpayValidationError
from dashboard.providers.worldpay.mapping import ApmResource
from dashboard.providers.worldpay.mapping import CreatePaymentRequest
from dashboard.providers.worldpay.mapping import Customer
from dashboard.providers.worldpay.mapping import DeviceData
from dashboard.providers.worldpay.mapping import MalformedPayload
from dashboard.providers.worldpay.mapping import PaymentResult
from dashboard.providers.worldpay.mapping import ResultUrls
from dashboard.providers.worldpay.mapping import ReversalResult
from dashboard.providers.worldpay.mapping import ValidationIssue
from dashboard.providers.worldpay.mapping import WorldpayApiError
from dashboard.providers.worldpay.mapping import WorldpayEvent
from dashboard.providers.worldpay.mapping import parse_event
from dashboard.providers.worldpay.signatures import parse_secrets
from dashboard.providers.worldpay.signatures import sign_event
from dashboard.providers.worldpay.signatures import verify_event

__all__ = [
    "ApmResource",
    "CreatePaymentRequest",
    "Customer",
    "DeviceData",
    "MalformedPayload",
    "PaymentResult",
    "ResultUrls",
    "ReversalResult",
    "ValidationIssue",
    "WorldpayApiError",
    "WorldpayAuthError",
    "WorldpayClient",
    "WorldpayDuplicateReference",
    "WorldpayEvent",
    "WorldpayNotFound",
    "WorldpayRejected",
    "WorldpayValidationError",
    "parse_event",
    "parse_secrets",
    "sign_event",
    "verify_event",
]
