"""A storefront with a key drives the product over HTTP against the sandbox providers: agreements,
charges, AlipayHK payments, refunds (large ones wait for a manager) and the status feed."""

from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import select

from dashboard.api.openapi import document
from dashboard.approvals.service import waiting
from dashboard.audit.models import AuditLog
from dashboard.extensions import db
from dashboard.payments.refunds import approve_refund
from dashboard.users import service as users
from tests.api.conftest import Storefront
from tests.conftest import TEST_PASSWORD
from tests.sandbox import worldpay_helpers as wh
from tests.sandbox.helpers import answer_consent

OPERATION_IDS = {op["operationId"] for methods in document()["paths"].values() for op in methods.values()}


@pytest.fixture
def shop(sandboxed, make_key) -> Storefront:
    """A storefront with a key of every scope, calling the sandboxed app over HTTP."""
    return Storefront(None, make_key(on=sandboxed.app), base_url=sandboxed.url)


def active_agreement(shop: Storefront, sandboxed, customer: str = "cust-9") -> dict:
    """Start an agreement, let the customer approve it on the stand-in page, and read it again."""
    started = shop.post("/agreements", {"wallet": "ALIPAY_HK", "customer_reference": customer})
    assert started.status_code == 201, started.get_json()
    agreement = started.get_json()
    assert agreement["status"] == "pending" and agreement["authorization_url"].startswith("http")
    assert answer_consent(agreement["authorization_url"]).status_code == 303
    sandboxed.settle()
    read = shop.get(f"/agreements/{agreement['id']}").get_json()
    assert read["status"] == "active" and read["activated_at"].endswith("Z")
    return read


def feed(shop: Storefront, after: int = 0) -> tuple[set[tuple[str, int, str | None]], int]:
    answer = shop.get("/events", after=after).get_json()
    seen = {(event["subject"]["object"], event["subject"]["id"], event["status"]) for event in answer["data"]}
    return seen, answer["next_cursor"]


def test_a_storefront_charges_sells_refunds_and_follows_every_status(sandboxed, shop, fake_clock):
    agreement = active_agreement(shop, sandboxed)

    charged = shop.post(
        f"/agreements/{agreement['id']}/charges",
        {"amount": 800001, "currency": "HKD", "order_description": "Sofa", "merchant_reference": "order-17"},
    )
    assert charged.status_code == 201
    charge = charged.get_json()
    assert (charge["status"], charge["amount"], charge["currency"]) == ("succeeded", 800001, "HKD")
    assert (charge["agreement_id"], charge["merchant_reference"]) == (agreement["id"], "order-17")

    sold = shop.post("/payments", {"amount": 12345, "currency": "HKD", "narrative": "Order 42"})
    assert sold.status_code == 201
    sale = sold.get_json()
    assert sale["status"] == "processing" and sale["redirect_url"]
    assert wh.choose(sale["redirect_url"], "capture").status_code == 303
    fake_clock.advance(seconds=1)
    sandboxed.settle()
    assert shop.get(f"/payments/{sale['id']}").get_json()["status"] == "settled"

    small = shop.post(f"/payments/{charge['id']}/refunds", {"amount": 1001, "reason": "Customer request"})
    assert small.status_code == 201 and small.get_json()["status"] == "succeeded"
    large = shop.post(
        f"/payments/{charge['id']}/refunds", {"amount": 500001, "reason": "Other", "note": "Sofa came broken"}
    )
    assert large.status_code == 201
    big = large.get_json()
    assert (big["status"], big["note"]) == ("awaiting_approval", "Sofa came broken")
    assert [item.id for item in waiting(db.session)] == [big["id"]]

    seen, cursor = feed(shop)
    assert {
        ("agreement", agreement["id"], "pending"),
        ("agreement", agreement["id"], "active"),
        ("payment", charge["id"], "succeeded"),
        ("payment", sale["id"], "settled"),
        ("refund", small.get_json()["id"], "succeeded"),
        ("refund", big["id"], "awaiting_approval"),
    } <= seen

    manager = users.create_user(
        "mei@staff.example", "Mei", "manager", TEST_PASSWORD, must_change_password=False
    )
    approve_refund(big["id"], actor_id=manager.id)
    sandboxed.settle()
    assert shop.get(f"/refunds/{big['id']}").get_json()["status"] == "succeeded"
    later, _cursor = feed(shop, cursor)
    assert ("refund", big["id"], "succeeded") in later
    assert all(
        event_id > cursor
        for event_id in (e["id"] for e in shop.get("/events", after=cursor).get_json()["data"])
    )
    assert shop.get(f"/payments/{charge['id']}").get_json()["amount_refunded"] == 1001 + 500001

    listed = shop.get("/payments", provider="worldpay").get_json()
    assert [row["id"] for row in listed["data"]] == [sale["id"]] and listed["next_cursor"] is None

    revoked = shop.post(f"/agreements/{agreement['id']}/revoke", {"reason": "Customer closed the account"})
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    refused = shop.post(
        f"/agreements/{agreement['id']}/charges",
        {"amount": 1001, "currency": "HKD", "order_description": "July"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["type"] == "urn:back-office:problem:refused"
    # Every operation answered for real, and each answer met its schema in the OpenAPI document.
    assert shop.succeeded == OPERATION_IDS
    db.session.rollback()
    audited = {(row.action, row.actor_label) for row in db.session.scalars(select(AuditLog))}
    by_key = f"api-key:{shop.secret[:12]}"
    assert {
        ("agreement.consulted", by_key),
        ("payment.charge_requested", by_key),
        ("payment.refund_requested", by_key),
        ("agreement.revoke_requested", by_key),
    } <= audited


def test_the_customer_comes_back_to_the_storefront_s_own_page(sandboxed, shop):
    started = shop.post(
        "/agreements",
        {
            "wallet": "ALIPAY_HK",
            "customer_reference": "cust-back",
            "return_url": "https://shop.example/linked?c=1",
        },
    )
    assert (
        started.status_code == 201 and started.get_json()["return_url"] == "https://shop.example/linked?c=1"
    )

    from_wallet = answer_consent(started.get_json()["authorization_url"])
    assert from_wallet.status_code == 303
    landing = requests.get(from_wallet.headers["Location"], allow_redirects=False, timeout=5)

    assert landing.status_code == 303
    assert landing.headers["Location"] == "https://shop.example/linked?c=1"
    sandboxed.settle()
    assert shop.get(f"/agreements/{started.get_json()['id']}").get_json()["status"] == "active"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "/relative/page", "https://", "https://shop.example/\\x"]
)
def test_a_return_url_that_is_no_web_address_is_refused(shop, url):
    answer = shop.post(
        "/agreements", {"wallet": "ALIPAY_HK", "customer_reference": "cust-x", "return_url": url}
    )
    assert answer.status_code == 422
    assert "return URL" in answer.get_json()["detail"]


def test_a_provider_refusal_names_its_code_and_what_to_do(sandboxed, shop):
    agreement = active_agreement(shop, sandboxed)

    answer = shop.post(
        f"/agreements/{agreement['id']}/charges",
        {"amount": 20012, "currency": "HKD", "order_description": "Plan"},
    )

    assert answer.status_code == 422
    problem = answer.get_json()
    assert problem["type"] == "urn:back-office:problem:provider-refused"
    assert problem["provider_code"] == "RISK_REJECT" and problem["guidance"]
    assert problem["payment"]["status"] == "failed"
    assert problem["payment"]["failure"]["code"] == "RISK_REJECT"
    assert problem["payment"]["failure"]["meaning"]
    assert (
        shop.get(f"/payments/{problem['payment']['id']}").get_json()["failure"]
        == problem["payment"]["failure"]
    )


def test_refunds_keep_the_pages_rules(sandboxed, shop):
    agreement = active_agreement(shop, sandboxed)
    charge = shop.post(
        f"/agreements/{agreement['id']}/charges",
        {"amount": 10001, "currency": "HKD", "order_description": "Mug"},
    ).get_json()

    too_much = shop.post(f"/payments/{charge['id']}/refunds", {"amount": 10002, "reason": "Goodwill"})
    no_note = shop.post(f"/payments/{charge['id']}/refunds", {"amount": 101, "reason": "Other"})
    unknown_reason = shop.post(f"/payments/{charge['id']}/refunds", {"amount": 101, "reason": "Because"})

    assert too_much.status_code == 422 and too_much.get_json()["type"].endswith(":refused")
    assert too_much.get_json()["detail"] == "Only 10001 minor units are left to refund."
    assert no_note.get_json()["errors"] == [{"pointer": "/note", "detail": 'Say why: "Other" needs a note.'}]
    assert unknown_reason.get_json()["errors"][0]["pointer"] == "/reason"
    assert shop.get(f"/payments/{charge['id']}").get_json()["amount_refunded"] == 0


def test_concurrent_sales_through_the_api_all_succeed(shop):
    """Many storefront requests at once start their payments side by side (on PostgreSQL they
    once deadlocked: a new payment took its rollup row before the timeline's lock)."""
    answers, start = [], threading.Barrier(6)

    def sell(worker: int) -> None:
        start.wait()
        for n in range(3):
            answers.append(
                shop.post(
                    "/payments", {"amount": 10000 + worker * 10 + n, "currency": "HKD", "narrative": "Order"}
                )
            )

    threads = [threading.Thread(target=sell, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answer.status_code for answer in answers) == [201] * 18
    assert len({answer.get_json()["id"] for answer in answers}) == 18
