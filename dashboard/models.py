"""Import every model module, so ``create_app`` (and Alembic autogenerate) sees all tables."""

from __future__ import annotations

from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.ach.models import AchSubmission
from dashboard.agreements.models import Agreement
from dashboard.api.models import ApiKey
from dashboard.api.models import IdempotentRequest
from dashboard.audit.models import AuditChainHead
from dashboard.audit.models import AuditLog
from dashboard.auth.models import RecoveryCode
from dashboard.auth.models import SecondFactor
from dashboard.declarations.models import Declaration
from dashboard.events.models import Event
from dashboard.notifications.models import Notification
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.reports.models import DailyFailure
from dashboard.reports.models import DailyTotal
from dashboard.reports.models import DailyWallet
from dashboard.reports.models import FinishTime
from dashboard.reports.notification_rollups import NotificationTally
from dashboard.reports.refund_rollups import RefundApprovalWait
from dashboard.reports.refund_rollups import RefundDailyTotal
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.models import SettlementEntry
from dashboard.settlements.models import SettlementFile
from dashboard.settlements.models import SettlementResult
from dashboard.settlements.models import SettlementTotal
from dashboard.users.models import User

__all__ = [
    "AchBatch",
    "AchItem",
    "AchSubmission",
    "Agreement",
    "ApiKey",
    "AuditChainHead",
    "AuditLog",
    "Cancel",
    "DailyFailure",
    "DailyTotal",
    "DailyWallet",
    "Declaration",
    "Event",
    "FinishTime",
    "IdempotentRequest",
    "Notification",
    "NotificationTally",
    "Payment",
    "RecoveryCode",
    "Refund",
    "RefundApprovalWait",
    "RefundDailyTotal",
    "SecondFactor",
    "SettlementBatch",
    "SettlementEntry",
    "SettlementFile",
    "SettlementResult",
    "SettlementTotal",
    "User",
]
