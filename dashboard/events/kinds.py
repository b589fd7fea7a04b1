"""Names of what the timeline and the audit log talk about: object types and event kinds."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field
from typing import Any


class ObjectType(enum.StrEnum):
    """What an event or an audit entry is about (``object_type`` columns)."""

    PAYMENT = "payment"
    #: A payment's refund; its events are on the payment's timeline, staff may ask about it.
    REFUND = "refund"
    AGREEMENT = "agreement"
    #: A payroll batch (HK ACH); its submissions' events are on its timeline.
    ACH_BATCH = "ach_batch"
    NOTIFICATION = "notification"
    USER = "user"
    #: A provider's settlement batch (its imports, notes and downloads are audited).
    SETTLEMENT_BATCH = "settlement_batch"
    #: The manager's report (its downloads are audited).
    REPORT = "report"
    #: A route somebody was refused (the audit log's access denials).
    ENDPOINT = "endpoint"
    #: A storefront API key (created, revoked, refused).
    API_KEY = "api_key"


class EventKind(enum.StrEnum):
    """What happened, as a timeline entry's ``kind`` (pages and ``static/js/app.js`` read these)."""

    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    PROVIDER_CALL = "provider_call"
    NOTIFICATION = "notification"
    JOB_FAILED = "job_failed"
    REFUND_REQUESTED = "refund_requested"
    REFUND_STATUS_CHANGED = "refund_status_changed"
    CANCEL_REQUESTED = "cancel_requested"
    CANCEL_STATUS_CHANGED = "cancel_status_changed"
    #: A cancel still unknown after the last retry: staff ask the provider's support.
    CANCEL_AWAITS_SUPPORT = "cancel_awaits_support"
    AUTH_CODE_RECEIVED = "auth_code_received"
    TOKEN_REFRESHED = "token_refreshed"  # noqa: S105 - an event name, not a secret
    TOKEN_REFRESH_FAILED = "token_refresh_failed"  # noqa: S105 - an event name, not a secret
    REVOKE_REQUESTED = "revoke_requested"
    #: Staff declared a payment to customs (a declaration was opened).
    DECLARATION_REQUESTED = "declaration_requested"
    #: A payment's customs declaration moved (accepted, refused, declared, rejected).
    DECLARATION_STATUS_CHANGED = "declaration_status_changed"
    #: A dispute about a payment (chargeback, retrieval request) opened, moved on or ended.
    DISPUTE = "dispute"
    REVOKE_FAILED = "revoke_failed"
    #: A payroll batch's file was replaced by a corrected one (its items with it).
    ACH_FILE_REPLACED = "ach_file_replaced"
    #: One request of a payroll batch moved (sent, answer lost, settled, rejected, refused).
    ACH_SUBMISSION_STATUS_CHANGED = "ach_submission_status_changed"
    #: A payroll batch's items moved at the bank: how many are final, paid (and their sum), rejected.
    ACH_PROGRESS = "ach_progress"


@dataclass(frozen=True)
class TimelineRef:
    """Where a row's events go: its own timeline, or its owner's (a refund's go on its payment's)."""

    object_type: ObjectType
    object_id: int
    #: What every event of the row carries to name it on the owner's timeline (``{"refund_id": 7}``).
    extra: dict[str, Any] = field(default_factory=dict)
    #: The kind of the row's status changes.
    status_kind: EventKind = EventKind.STATUS_CHANGED
