"""Idempotency-Key: the first answer again for the same request, a refusal for another, one action
for concurrent requests, a free key after a refused body, and the answers forgotten after a day."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from dashboard.api.idempotency import fingerprint
from dashboard.api.idempotency import once
from dashboard.api.idempotency import purge_expired
from dashboard.api.models import ApiKey
from dashboard.api.models import IdempotentRequest
from dashboard.extensions import db
from dashboard.payments.models import Payment
from tests.api.conftest import Storefront

SALE = {"amount": 12345, "currency": "HKD", "narrative": "Order 42"}


@pytest.fixture
def shop(sandboxed, make_key) -> Storefront:
    return Storefront(None, make_key(on=sandboxed.app), base_url=sandboxed.url)


def payments() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Payment))


def test_the_same_key_and_body_answer_the_first_answer_again(shop):
    key = str(uuid.uuid4())
    first = shop.post("/payments", SALE, key=key)
    again = shop.post("/payments", dict(reversed(list(SALE.items()))), key=key)  # same body, keys reordered

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert payments() == 1


def test_the_same_key_with_another_body_or_path_is_refused(shop):
    key = str(uuid.uuid4())
    assert shop.post("/payments", SALE, key=key).status_code == 201

    other_body = shop.post("/payments", {**SALE, "amount": 12346}, key=key)
    other_path = shop.post("/agreements", {"wallet": "ALIPAY_HK", "customer_reference": "c-1"}, key=key)

    for answer in (other_body, other_path):
        assert answer.status_code == 422
        assert answer.get_json()["type"] == "urn:back-office:problem:idempotency-key-reused"
    assert payments() == 1


def test_a_post_without_a_key_is_refused_and_does_nothing(shop):
    answer = shop.send("POST", "/payments", json=SALE, headers=shop.headers())

    assert answer.status_code == 400
    assert answer.get_json()["type"] == "urn:back-office:problem:idempotency-key-required"
    assert payments() == 0


def test_a_refused_body_leaves_the_key_free_for_the_corrected_request(shop):
    key = str(uuid.uuid4())
    refused = shop.post("/payments", {**SALE, "amount": "123.45"}, key=key)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["pointer"] == "/amount"

    assert shop.post("/payments", SALE, key=key).status_code == 201
    assert payments() == 1


def test_concurrent_requests_with_one_key_act_once(shop):
    key, start, answers = str(uuid.uuid4()), threading.Barrier(4), []

    def send() -> None:
        start.wait()
        answers.append(shop.post("/payments", SALE, key=key))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert payments() == 1
    created = [answer.get_json() for answer in answers if answer.status_code == 201]
    in_progress = [answer for answer in answers if answer.status_code == 409]
    assert len(created) + len(in_progress) == 4 and created
    assert all(body == created[0] for body in created)
    assert all(a.get_json()["type"].endswith(":idempotency-key-in-progress") for a in in_progress)
    assert all(a.headers["Retry-After"] == "1" for a in in_progress)
    assert shop.post("/payments", SALE, key=key).get_json() == created[0]


def test_a_request_while_the_first_is_being_answered_gets_409_and_then_the_answer(shop):
    key, print_ = str(uuid.uuid4()), fingerprint("POST", "/api/v1/payments", SALE)
    api_key_id = db.session.scalar(select(ApiKey.id))
    during = []

    def act():
        during.append(shop.post("/payments", SALE, key=key))  # arrives while this one is in progress
        return 201, {"answered": "first"}

    assert once(api_key_id, key, print_, act) == ((201, {"answered": "first"}), False)
    [answer] = during
    assert answer.status_code == 409
    assert answer.get_json()["type"] == "urn:back-office:problem:idempotency-key-in-progress"
    assert once(api_key_id, key, print_, act) == ((201, {"answered": "first"}), True)
    assert len(during) == 1 and payments() == 0


def test_keys_belong_to_their_api_key(sandboxed, shop, make_key):
    other_shop = Storefront(None, make_key(on=sandboxed.app), base_url=sandboxed.url)
    key = str(uuid.uuid4())

    first, second = shop.post("/payments", SALE, key=key), other_shop.post("/payments", SALE, key=key)

    assert first.get_json()["id"] != second.get_json()["id"]
    assert payments() == 2


def test_answers_are_kept_for_a_day_then_purged(shop, fake_clock):
    key = str(uuid.uuid4())
    first = shop.post("/payments", SALE, key=key).get_json()
    fake_clock.advance(hours=23)
    assert purge_expired() == 0
    assert shop.post("/payments", SALE, key=key).get_json() == first

    fake_clock.advance(timedelta(hours=1, seconds=1))
    assert purge_expired() == 1
    assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0
    assert shop.post("/payments", {**SALE, "amount": 12346}, key=key).status_code == 201
    assert payments() == 2
