"""Payment methods and wallets as staff and customers call them (Antom ``customerBelongsTo`` /
``paymentMethodType`` values, Worldpay APM method names)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Method code → its everyday name; a code not listed shows as it is.
METHOD_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "ALIPAY_HK": "AlipayHK",
        "alipay_hk": "AlipayHK",
        "ALIPAY_CN": "Alipay",
        "GCASH": "GCash",
        "KAKAOPAY": "KakaoPay",
        "DANA": "DANA",
        "TRUEMONEY": "TrueMoney",
        "TNG": "Touch 'n Go eWallet",
        "BOOST": "Boost",
        "GRABPAY_MY": "GrabPay",
        "BPI": "BPI",
        "KPLUS": "K PLUS",
    }
)


def method_label(method: str | None) -> str:
    """Return what staff call payment method ``method`` (the code itself when unknown)."""
    if not method:
        return "—"
    return METHOD_LABELS.get(method, method)
