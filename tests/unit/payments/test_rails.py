"""Each payment provider has one rail, and the rails say consistently what they can do."""

from __future__ import annotations

import pytest

from dashboard.payments.models import PROVIDERS
from dashboard.payments.rail import PaymentRail
from dashboard.payments.rails import RAILS
from dashboard.providers.registry import CODES


def test_every_payment_provider_has_a_rail_and_an_entry_in_the_registry():
    assert set(RAILS) == set(PROVIDERS) and set(PROVIDERS) <= set(CODES)


def test_a_rail_either_sends_cancels_or_says_why_it_cannot():
    with pytest.raises(ValueError, match="sends cancels or says why"):
        PaymentRail(provider="other", inquire=lambda *args: "x", refund_call=lambda refund: lambda: None)
    assert RAILS["worldpay"].send_cancel is None and "refund them instead" in RAILS["worldpay"].cancel_refusal
    assert RAILS["antom"].send_cancel is not None and RAILS["antom"].cancel_refusal is None
