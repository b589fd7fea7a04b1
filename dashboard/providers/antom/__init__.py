"""Antom (Alipay) Auto Debit: a signed, verifying client with typed requests and results."""

from dashboard.providers.antom.client import AntomClient
from dashboard.providers.antom.consts import DisputeJudgedResult
from dashboard.providers.antom.consts import DisputeNotificationType
from dashboard.providers.antom.consts import GrantType
from dashboard.providers.antom.consts import NotifyType
from dashboard.providers.antom.consts import Operation
from dashboard.providers.antom.consts import PaymentStatus
from dashboard.providers.antom.consts import RefundStatus
from dashboard.providers.antom.consts import ResultCode
from dashboard.providers.antom.consts import describe
from dashboard.providers.antom.mapping import ApplyTokenRequest
from dashboard.providers.antom.mapping import ApplyTokenResult
from dashboard.providers.antom.mapping import AuthCodeDetail
from dashboard.providers.antom.mapping import AuthorizationNotification
from dashboard.providers.antom.mapping import CancelResult
from dashboard.providers.antom.mapping import ConsultRequest
from dashboard.providers.antom.mapping import ConsultResult
from dashboard.providers.antom.mapping import DisputeNotification
from dashboard.providers.antom.mapping import Env
from dashboard.providers.antom.mapping import InquiryPaymentResult
from dashboard.providers.antom.mapping import InquiryRefundResult
from dashboard.providers.antom.mapping import MappingError
from dashboard.providers.antom.mapping import Notification
from dashboard.providers.antom.mapping import PaymentNotification
from dashboard.providers.antom.mapping import PayRequest
from dashboard.providers.antom.mapping import PayResult
from dashboard.providers.antom.mapping import PspCustomerInfo
from dashboard.providers.antom.mapping import RefundNotification
from dashboard.providers.antom.mapping import RefundRequest
from dashboard.providers.antom.mapping import RefundResult
from dashboard.providers.antom.mapping import RevokeResult
from dashboard.providers.antom.mapping import Transaction
from dashboard.providers.antom.mapping import parse_notification

__all__ = [
    "AntomClient",
    "ApplyTokenRequest",
    "ApplyTokenResult",
    "AuthCodeDetail",
    "AuthorizationNotification",
    "CancelResult",
    "ConsultRequest",
    "ConsultResult",
    "DisputeJudgedResult",
    "DisputeNotification",
    "DisputeNotificationType",
    "Env",
    "GrantType",
    "InquiryPaymentResult",
    "InquiryRefundResult",
    "MappingError",
    "Notification",
    "NotifyType",
    "Operation",
    "PayRequest",
    "PayResult",
    "PaymentNotification",
    "PaymentStatus",
    "PspCustomerInfo",
    "RefundNotification",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "ResultCode",
    "RevokeResult",
    "Transaction",
    "describe",
    "parse_notification",
]
