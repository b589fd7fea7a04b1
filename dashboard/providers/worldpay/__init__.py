"""Worldpay Access APM payments (AlipayHK): client, typed requests and answers, webhook events."""

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
    "WorldpayEvent",
    "parse_event",
]
