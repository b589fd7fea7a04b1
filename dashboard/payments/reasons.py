"""How refund reasons read: the default ones (``REFUND_REASONS``) in the reader's language, a
merchant's own as they configured them. The stored reason stays as chosen."""

from __future__ import annotations

from dashboard.i18n import LazyText
from dashboard.i18n import lazy_gettext as _l

#: The default reasons, as the setting writes them.
REASON_LABELS: dict[str, LazyText] = {
    "Duplicate payment": _l("Duplicate payment"),
    "Customer request": _l("Customer request"),
    "Product not delivered": _l("Product not delivered"),
    "Goodwill": _l("Goodwill"),
    "Other": _l("Other"),
}


def reason_label(reason: str) -> str | LazyText:
    """Name a stored refund reason for the reader."""
    return REASON_LABELS.get(reason, reason)
