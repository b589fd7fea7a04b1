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
        "PAYPAY": "PayPay",
    }
)

#: The wallets an Antom Auto Debit agreement binds (``customerBelongsTo``), in the order staff pick them.
AUTO_DEBIT_WALLETS: tuple[str, ...] = (
    "ALIPAY_HK",
    "ALIPAY_CN",
    "GCASH",
    "KAKAOPAY",
    "TNG",
    "TRUEMONEY",
    "DANA",
    "BOOST",
    "GRABPAY_MY",
    "PAYPAY",
    "BPI",
    "KPLUS",
)


def method_label(method: str | None) -> str:
    """Return what staff call payment method ``method`` (the code itself when unknown)."""
    if not method:
        return "—"
    return METHOD_LABELS.get(method, method)
