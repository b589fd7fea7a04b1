"""HK ACH (Fileactive) bulk payments: client, wire formats and reason codes (hkach_contract.md)."""

from dashboard.providers.hkach.client import HkachClient
from dashboard.providers.hkach.errors import HkachAuthError
from dashboard.providers.hkach.errors import HkachRateLimited
from dashboard.providers.hkach.errors import HkachRejected
from dashboard.providers.hkach.errors import InvalidBatch
from dashboard.providers.hkach.mapping import BatchStatus
from dashboard.providers.hkach.mapping import CreditTransfer
from dashboard.providers.hkach.mapping import ItemStatus
from dashboard.providers.hkach.mapping import PaymentBatch
from dashboard.providers.hkach.mapping import PaymentStatus
from dashboard.providers.hkach.mapping import SubmitResult
from dashboard.providers.hkach.mapping import new_message_id

__all__ = [
    "BatchStatus",
    "CreditTransfer",
    "HkachAuthError",
    "HkachClient",
    "HkachRateLimited",
    "HkachRejected",
    "InvalidBatch",
    "ItemStatus",
    "PaymentBatch",
    "PaymentStatus",
    "SubmitResult",
    "new_message_id",
]
