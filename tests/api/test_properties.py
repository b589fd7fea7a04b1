"""A property-based run of the API against its own OpenAPI document: whatever ids, query
parameters and bodies a storefront sends, the answer is one the document describes, never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from dashboard.api.openapi import BODIES
from dashboard.api.openapi import document
from tests.api.conftest import Storefront
from tests.api.test_storefront import active_agreement

OPERATIONS = [
    (method, path, operation)
    for path, methods in document()["paths"].items()
    for method, operation in methods.items()
]
#: Any JSON value, small.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
#: Values a field is likely to be given: plausible ones mostly, anything now and then.
FIELD_VALUES = st.one_of(
    st.integers(min_value=-5, max_value=10**20),
    st.sampled_from(
        [
            "HKD",
            "USD",
            "JPY",
            "XYZ",
            "hkd",
            "ALIPAY_HK",
            "GCASH",
            "Other",
            "Goodwill",
            "https://shop.example/ok",
        ]
    ),
    st.text(max_size=40),
    JSON_VALUES,
)
IDS = st.one_of(st.sampled_from([1, 1, 1, 2]), st.integers(min_value=0, max_value=10**30))
AMOUNTS = st.integers(min_value=1, max_value=10**8)
CURRENCIES = st.sampled_from(["HKD", "USD", "JPY", "EUR", "KWD"])
#: Bodies that meet each operation's schema, so the services behind it are reached too.
PLAUSIBLE = {
    "createAgreement": st.fixed_dictionaries(
        {
            "wallet": st.sampled_from(["ALIPAY_HK", "GCASH", "NOWALLET"]),
            "customer_reference": st.text(min_size=1, max_size=64),
        }
    ),
    "revokeAgreement": st.fixed_dictionaries({}, optional={"reason": st.text(max_size=256)}),
    "chargeAgreement": st.fixed_dictionaries(
        {"amount": AMOUNTS, "currency": CURRENCIES, "order_description": st.text(min_size=1, max_size=256)},
        optional={"merchant_reference": st.text(min_size=1, max_size=64)},
    ),
    "createPayment": st.fixed_dictionaries(
        {"amount": AMOUNTS, "currency": CURRENCIES, "narrative": st.text(min_size=1, max_size=24)}
    ),
    "refundPayment": st.fixed_dictionaries(
        {"amount": AMOUNTS, "reason": st.sampled_from(["Goodwill", "Other", "Customer request", "nope"])},
        optional={"note": st.text(max_size=1000)},
    ),
}


def bodies(operation_id: str):
    """Return a strategy of bodies: valid ones, objects with some of the operation's fields (and
    strangers), any JSON."""
    fields = list(BODIES[operation_id]["properties"])
    known = st.dictionaries(st.sampled_from(fields), FIELD_VALUES, max_size=len(fields))
    return st.one_of(
        PLAUSIBLE[operation_id],
        known,
        st.builds(
            lambda body, extra: {**body, **extra},
            known,
            st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=2),
        ),
        JSON_VALUES,
    )


QUERIES = st.dictionaries(
    st.sampled_from(
        [
            "provider",
            "status",
            "code",
            "method",
            "currency",
            "amount_min",
            "amount_max",
            "q",
            "day_from",
            "day_to",
            "has_refunds",
            "cursor",
            "after",
        ]
    ),
    st.one_of(
        st.text(max_size=25),
        st.integers(min_value=-10, max_value=10**22).map(str),
        st.sampled_from(["2026-11-30", "antom", "succeeded", "HKD", "1.5", "y"]),
    ),
    max_size=4,
)


@pytest.fixture
def shop(sandboxed, make_key) -> Storefront:
    """A storefront whose agreement 1 is active, payment 1 an Auto Debit charge, payment 2 a sale."""
    shop = Storefront(None, make_key(on=sandboxed.app), base_url=sandboxed.url)
    agreement = active_agreement(shop, sandboxed)
    shop.post(
        f"/agreements/{agreement['id']}/charges",
        {"amount": 500001, "currency": "HKD", "order_description": "Sofa"},
    )
    shop.post("/payments", {"amount": 12345, "currency": "HKD", "narrative": "Order 1"})
    return shop


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[op["operationId"] for *_x, op in OPERATIONS]
)
def test_no_request_gets_an_undocumented_answer_or_a_500(shop, method, path, operation):
    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(ids=IDS, query=QUERIES, body=bodies(operation["operationId"]) if method == "post" else st.none())
    def check(ids, query, body):
        url = (
            path.replace("{agreement_id}", str(ids))
            .replace("{payment_id}", str(ids))
            .replace("{refund_id}", str(ids))
        )
        if method == "get":
            answer = shop.get(url, **query)
        else:
            answer = shop.send(
                "POST",
                url,
                data=json.dumps(body),
                headers=shop.headers(
                    **{"Content-Type": "application/json", "Idempotency-Key": json.dumps(body)[:200] or "k"}
                ),
            )
        assert answer.status_code < 500, (method, url, query, body, answer.get_json())

    check()
