"""What the API answers about agreements, payments, refunds and events (JSON, in domain words).

Money is an integer of minor units beside its ISO 4217 code; times are ISO 8601 in UTC; ids are
the ones the pages use (``/payments/42`` is payment 42). A provider's refusal carries its code and
message with what it means and what to do (the guidance staff read on the pages).
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from dashboard.agreements.models import Agreement
from dashboard.events.kinds import EventKind
from dashboard.events.models import Event
from dashboard.i18n import in_language
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.providers.guidance import About
from dashboard.providers.registry import guidance

#: Statuses whose kept result code says why the provider refused.
_REFUSED = frozenset({"failed"})
#: Event kinds the feed shows, each naming an object's new status.
FEED_KINDS = (
    EventKind.CREATED,
    EventKind.STATUS_CHANGED,
    EventKind.REFUND_REQUESTED,
    EventKind.REFUND_STATUS_CHANGED,
    EventKind.CANCEL_STATUS_CHANGED,
)


def utc(value: datetime | None) -> str | None:
    """Return ``value`` as ISO 8601 in UTC (``2026-11-30T01:02:03Z``), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def failure(provider: str, status: str, code: str | None, message: str | None, about: About) -> dict | None:
    """Return why the provider refused (its code and message, our guidance), or None when it did not."""
    if status not in _REFUSED or not (code or message):
        return None
    known = guidance(provider, code, about)
    with in_language("en"):  # the API speaks English whatever the caller's Accept-Language
        return {
            "code": code,
            "message": message,
            "meaning": str(known.meaning) if known is not None else None,
            "next_step": str(known.next_step) if known is not None else None,
        }


def agreement_json(agreement: Agreement) -> dict[str, Any]:
    """Return an agreement as the API shows it (its tokens never)."""
    return {
        "object": "agreement",
        "id": agreement.id,
        "status": agreement.status,
        "wallet": agreement.wallet,
        "customer_reference": agreement.customer_ref,
        "authorization_url": agreement.auth_url,
        "return_url": agreement.return_url,
        "created_at": utc(agreement.created_at),
        "activated_at": utc(agreement.activated_at),
        "expires_at": utc(agreement.expires_at),
        "revoke_requested_at": utc(agreement.revoke_requested_at),
        "revoked_at": utc(agreement.revoked_at),
        "cancelled_at": utc(agreement.cancelled_at),
        "failure": failure(
            "antom", agreement.status, agreement.result_code, agreement.result_message, About.AGREEMENT
        ),
    }


def payment_json(payment: Payment) -> dict[str, Any]:
    """Return a payment as the API shows it."""
    return {
        "object": "payment",
        "id": payment.id,
        "provider": payment.provider,
        "status": payment.status,
        "amount": payment.amount_minor,
        "currency": payment.currency,
        "amount_refunded": payment.refunded_minor or 0,
        "agreement_id": payment.agreement_id,
        "payment_method": payment.payment_method,
        "order_description": payment.order_description,
        "merchant_reference": payment.merchant_reference,
        "redirect_url": payment.redirect_url,
        "created_at": utc(payment.created_at),
        "paid_at": utc(payment.paid_at),
        "failure": failure(
            payment.provider, payment.status, payment.result_code, payment.result_message, About.PAYMENT
        ),
    }


def listed_payment_json(row: Any) -> dict[str, Any]:
    """Return a row of the payments list (its listed columns) as the API lists it."""
    return {
        "object": "payment",
        "id": row.id,
        "provider": row.provider,
        "status": row.status,
        "amount": row.amount_minor,
        "currency": row.currency,
        "amount_refunded": row.refunded_minor or 0,
        "created_at": utc(row.created_at),
    }


def refund_json(refund: Refund, provider: str) -> dict[str, Any]:
    """Return a refund as the API shows it; ``provider`` is its payment's."""
    return {
        "object": "refund",
        "id": refund.id,
        "payment_id": refund.payment_id,
        "status": refund.status,
        "amount": refund.amount_minor,
        "currency": refund.currency,
        "reason": refund.reason,
        "note": refund.note,
        "created_at": utc(refund.created_at),
        "decided_at": utc(refund.decided_at),
        "refunded_at": utc(refund.refunded_at),
        "failure": failure(provider, refund.status, refund.result_code, refund.result_message, About.REFUND),
    }


def _subject(event: Event) -> tuple[str, int]:
    summary = event.summary or {}
    for kind in ("refund", "cancel"):
        if f"{kind}_id" in summary:
            return kind, int(summary[f"{kind}_id"])
    return event.object_type, int(event.object_id)


def _new_status(event: Event) -> str | None:
    summary = event.summary or {}
    status = summary.get("status")
    if isinstance(status, list):
        return status[-1]
    if isinstance(status, str):
        return status
    if event.kind == EventKind.REFUND_REQUESTED:
        return "awaiting_approval" if summary.get("awaiting_approval") else "submitted"
    return None


def event_json(event: Event) -> dict[str, Any]:
    """Return a feed event: which object changed, to which status (a refund's name the refund)."""
    object_type, object_id = _subject(event)
    return {
        "object": "event",
        "id": event.id,
        "created_at": utc(event.created_at),
        "kind": event.kind,
        "subject": {"object": object_type, "id": object_id},
        "payment_id": int(event.object_id) if event.object_type == "payment" else None,
        "status": _new_status(event),
    }
