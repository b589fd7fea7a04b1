"""Payments made and moved through the real change functions at set times, for the reports' tests."""

from __future__ import annotations

import itertools
from datetime import UTC
from datetime import datetime
from typing import Any

from dashboard import clock
from dashboard.extensions import db
from dashboard.payments import changes
from dashboard.payments.models import Payment
from dashboard.payments.states import PaymentEvent

_numbers = itertools.count(1)


def at(text: str) -> datetime:
    """Return the UTC moment written ``YYYY-MM-DD HH:MM:SS[.ffffff]``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def created(fake_clock: clock.FakeClock, when: str, **fields: Any) -> Payment:
    """Create a pending payment at ``when`` (UTC) the way the services do (Antom, HK$10.00, ALIPAY_HK)."""
    fake_clock.set(at(when))
    values = {
        "provider": "antom",
        "request_id": f"REP-{next(_numbers):06d}",
        "amount_minor": 1000,
        "currency": "HKD",
        "payment_method": "ALIPAY_HK",
    }
    return changes.new_payment(db.session, None, **{**values, **fields})


def moved(
    fake_clock: clock.FakeClock, payment: Payment, when: str, event: PaymentEvent, code: str | None = None
) -> None:
    """Move ``payment`` by ``event`` at ``when`` (UTC), with the provider's result ``code``."""
    fake_clock.set(at(when))
    changes.change_payment(db.session, payment, event, result_code=code, result_message=code and "said so")


def a_day_of_payments(fake_clock: clock.FakeClock) -> dict[str, Payment]:
    """Make the payments the reports' figures are checked against (times UTC; Hong Kong is UTC+8).

    ========  ==========================  =========================  ====================================
    name      created (Hong Kong)         what                       then
    ========  ==========================  =========================  ====================================
    late      1 Mar 23:59:59.999999       Antom HK$10.00 ALIPAY_HK   processing, succeeded 4 s on (2 Mar
                                                                     00:00:03), settled on 3 Mar
    midnight  2 Mar 00:00:00              Antom HK$20.00 GCASH       failed USER_BALANCE_NOT_ENOUGH 30 s on
    usd       2 Mar 00:00:05              Worldpay US$5.00 alipay_hk failed REFUSED, then a note says
                                                                     ERROR (the code it keeps), 60 s on
    stuck     2 Mar 00:00:10              Antom HK$7.00, no method   still pending
    yen       2 Mar 09:00:00              Antom ¥300 ALIPAY_HK       expired 65 s on
    nocode    2 Mar 10:00:00              Antom HK$1.00 GCASH        failed without a code 1 s on
    paid      2 Mar 11:00:00              Antom HK$30.00 ALIPAY_HK   succeeded 200 s on
    ========  ==========================  =========================  ====================================
    """
    made = {"late": created(fake_clock, "2026-03-01 15:59:59.999999")}
    made["midnight"] = created(fake_clock, "2026-03-01 16:00:00", amount_minor=2000, payment_method="GCASH")
    moved(fake_clock, made["late"], "2026-03-01 16:00:01", PaymentEvent.PROCESSING)
    moved(fake_clock, made["late"], "2026-03-01 16:00:03", PaymentEvent.SUCCEEDED, "SUCCESS")
    made["usd"] = created(
        fake_clock,
        "2026-03-01 16:00:05",
        provider="worldpay",
        amount_minor=500,
        currency="USD",
        payment_method="alipay_hk",
    )
    made["stuck"] = created(fake_clock, "2026-03-01 16:00:10", amount_minor=700, payment_method=None)
    moved(fake_clock, made["midnight"], "2026-03-01 16:00:30", PaymentEvent.FAILED, "USER_BALANCE_NOT_ENOUGH")
    moved(fake_clock, made["usd"], "2026-03-01 16:01:05", PaymentEvent.FAILED, "REFUSED")
    moved(fake_clock, made["usd"], "2026-03-01 16:02:00", PaymentEvent.NOTE, "ERROR")
    made["yen"] = created(fake_clock, "2026-03-02 01:00:00", amount_minor=300, currency="JPY")
    moved(fake_clock, made["yen"], "2026-03-02 01:01:05", PaymentEvent.EXPIRED)
    made["nocode"] = created(fake_clock, "2026-03-02 02:00:00", amount_minor=100, payment_method="GCASH")
    moved(fake_clock, made["nocode"], "2026-03-02 02:00:01", PaymentEvent.FAILED)
    made["paid"] = created(fake_clock, "2026-03-02 03:00:00", amount_minor=3000)
    moved(fake_clock, made["paid"], "2026-03-02 03:03:20", PaymentEvent.SUCCEEDED, "SUCCESS")
    moved(fake_clock, made["late"], "2026-03-03 04:00:00", PaymentEvent.SETTLED)
    return made
