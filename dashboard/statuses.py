"""How every status of every state machine reads to staff, in the page's language.

The stored value stays in URLs, forms and data attributes; only these words are shown.
"""

from __future__ import annotations

from flask_babel import LazyString

from dashboard.i18n import lazy_gettext as _l

#: Every machine's statuses (payments, refunds, cancels, agreements, declarations, payroll batches,
#: submissions and items, settlement batches and transactions) and the inbox's outcomes, in words.
STATUS_LABELS: dict[str, LazyString] = {
    "accepted": _l("accepted"),
    "active": _l("active"),
    "applied": _l("applied"),
    "approved": _l("approved"),
    "awaiting_approval": _l("awaiting approval"),
    "balanced": _l("balanced"),
    "cancelled": _l("cancelled"),
    "cancelled_by_customer": _l("cancelled by customer"),
    "charged_back": _l("charged back"),
    "completed": _l("completed"),
    "completed_with_failures": _l("completed with failures"),
    "declared": _l("declared"),
    "differences": _l("differences"),
    "discarded": _l("discarded"),
    "disputed": _l("disputed"),
    "draft": _l("draft"),
    "duplicate": _l("duplicate"),
    "expired": _l("expired"),
    "failed": _l("failed"),
    "invalid": _l("invalid"),
    "late": _l("late"),
    "paid": _l("paid"),
    "pending": _l("pending"),
    "processing": _l("processing"),
    "received": _l("received"),
    "refused": _l("refused"),
    "rejected": _l("rejected"),
    "resolved": _l("resolved"),
    "revoked": _l("revoked"),
    "settled": _l("settled"),
    "submitted": _l("submitted"),
    "submitting": _l("submitting"),
    "succeeded": _l("succeeded"),
    "unmatched": _l("unmatched"),
    "unresolved": _l("unresolved"),
    "valid": _l("valid"),
    "waiting": _l("waiting"),
}


def status_label(status: str) -> LazyString | str:
    """Return ``status`` in words, read in the language of the request that shows it (``charged_back``
    → ``charged back``); a status without a label reads as its value with spaces."""
    label = STATUS_LABELS.get(status)
    return label if label is not None else status.replace("_", " ")
