"""Every provider the back office talks to, by code: adding one is an entry here and its package."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from dashboard.i18n import gettext as _
from dashboard.providers.antom.provider import ANTOM
from dashboard.providers.entry import Provider
from dashboard.providers.guidance import About
from dashboard.providers.guidance import Guidance
from dashboard.providers.hkach.provider import HKACH
from dashboard.providers.worldpay.provider import WORLDPAY

#: Provider code → its entry, in the order pages list them.
REGISTRY: Mapping[str, Provider] = MappingProxyType({entry.code: entry for entry in (ANTOM, WORLDPAY, HKACH)})
#: Every provider code.
CODES: tuple[str, ...] = tuple(REGISTRY)
#: The providers that send notifications (the values a notification's ``provider`` column may hold).
NOTIFYING: Mapping[str, Provider] = MappingProxyType(
    {code: entry for code, entry in REGISTRY.items() if entry.webhook is not None}
)


def check_settings(config: Mapping[str, Any]) -> None:
    """Check every provider's settings at start-up.

    :raises ConfigError: a provider's settings would leave it unusable (the message names the variable)
    """
    for entry in REGISTRY.values():
        if entry.check_settings is not None:
            entry.check_settings(config)


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


def guidance(
    provider_code: str | None, code: str | None, about: About | str | None = None
) -> Guidance | None:
    """Return what result ``code`` of provider ``provider_code`` means to staff and what they do next.

    :param about: what the code is kept on (a payment, refund, cancel or agreement), which can
        change its meaning; unknown or None uses the provider's general rows
    :returns: None for no code, an unknown provider, or a code without guidance yet (never raises)
    """
    entry = REGISTRY.get(provider_code or "")
    if entry is None or not code:
        return None
    try:
        kept_on = About(about) if about else None
    except ValueError:
        kept_on = None
    return entry.guidance(code, kept_on)


def refusal_words(provider_code: str, code: str | None, message: str | None, about: About) -> str:
    """Return a provider's refusal as staff read it: its code and message, then the next step if known."""
    said = " ".join(part for part in (code, message) if part) or _("no reason given")
    known = guidance(provider_code, code, about)
    if known is not None and known.act:
        return _("%(said)s. %(next_step)s", said=said, next_step=known.next_step)
    return _("%(said)s.", said=said)
