"""Each provider's payment rail, by provider code (see :class:`dashboard.payments.rail.PaymentRail`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dashboard.payments import antom
from dashboard.payments import worldpay
from dashboard.payments.rail import PaymentRail

#: Provider code → its rail.
RAILS: Mapping[str, PaymentRail] = MappingProxyType(
    {rail.provider: rail for rail in (antom.RAIL, worldpay.RAIL)}
)


def rail_for(provider: str) -> PaymentRail:
    """Return the rail of the payments of ``provider``."""
    return RAILS[provider]
