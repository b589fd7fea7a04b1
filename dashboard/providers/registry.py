"""Every provider the back office talks to, by code: adding one is one entry here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dashboard.providers.antom.provider import ANTOM
from dashboard.providers.base import Provider
from dashboard.providers.worldpay.provider import WORLDPAY

#: Provider code → its entry, in the order pages list them.
REGISTRY: Mapping[str, Provider] = MappingProxyType({entry.code: entry for entry in (ANTOM, WORLDPAY)})
#: Every provider code (the values a payment's or a notification's ``provider`` column may hold).
CODES: tuple[str, ...] = tuple(REGISTRY)


def provider(code: str) -> Provider:
    """Return the entry of provider ``code``.

    :raises LookupError: no such provider
    """
    try:
        return REGISTRY[code]
    except KeyError:
        raise LookupError(f"unknown provider {code!r}") from None


def label(code: str) -> str:
    """Return what staff read for provider ``code`` (the code itself if unknown)."""
    entry = REGISTRY.get(code)
    return entry.label if entry is not None else code
