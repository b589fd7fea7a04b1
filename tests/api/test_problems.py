"""Errors as RFC 9457 problem details: field errors with JSON pointers, the query parameter at
fault, unknown routes and methods, and a crash that keeps nothing for its idempotency key."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from dashboard.api.models import IdempotentRequest
from dashboard.extensions import db
from dashboard.payments import service as payments


def problem(answer) -> dict:
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert body["status"] == answer.status_code and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"currency": "HKD", "narrative": "Order"}, [("/amount", "This field is required.")]),
        (
            {"amount": 1.5, "currency": "HKD", "narrative": "Order"},
            [("/amount", "1.5 is not of type 'integer'")],
        ),
        (
            {"amount": 0, "currency": "HKD", "narrative": "Order"},
            [("/amount", "0 is less than the minimum of 1")],
        ),
        (
            {"amount": 100, "currency": "XYZ", "narrative": "Order"},
            [("/currency", "XYZ is not a currency we know.")],
        ),
        (
            {"amount": 100, "currency": "HKD", "narrative": "Order", "colour": "red"},
            [("/colour", "This field is not known.")],
        ),
        (
            {
                "amount": 100,
                "currency": "HKD",
                "narrative": "Order",
                "result_urls": {"success": "ftp://x", "pending": "https://s/p"},
            },
            [
                ("/result_urls/failure", "This field is required."),
                ("/result_urls/success", "'ftp://x' does not match '^https?://'"),
            ],
        ),
    ],
)
def test_invalid_fields_are_named_by_json_pointer(storefront, body, errors):
    answer = storefront.post("/payments", body)

    assert answer.status_code == 422
    found = problem(answer)
    assert found["type"] == "urn:back-office:problem:validation"
    assert sorted((error["pointer"], error["detail"]) for error in found["errors"]) == sorted(errors)


def test_a_body_that_is_not_a_json_object_is_refused(storefront):
    not_json = storefront.send(
        "POST",
        "/payments",
        data="{",
        headers=storefront.headers(**{"Content-Type": "application/json", "Idempotency-Key": "k1"}),
    )
    a_list = storefront.post("/payments", [1, 2])
    form = storefront.send(
        "POST", "/payments", data={"amount": "1"}, headers=storefront.headers(**{"Idempotency-Key": "k2"})
    )

    assert (not_json.status_code, problem(not_json)["type"]) == (400, "urn:back-office:problem:invalid-body")
    assert (a_list.status_code, problem(a_list)["type"]) == (400, "urn:back-office:problem:invalid-body")
    assert (form.status_code, problem(form)["type"]) == (
        415,
        "urn:back-office:problem:unsupported-media-type",
    )


def test_invalid_filters_and_cursors_name_their_query_parameter(storefront):
    status = storefront.get("/payments", status="bogus")
    cursor = storefront.get("/payments", cursor="yesterday")
    after = storefront.get("/events", after="-1")

    assert [e["parameter"] for e in problem(status)["errors"]] == ["status"]
    assert [e["parameter"] for e in problem(cursor)["errors"]] == ["cursor"]
    assert [e["parameter"] for e in problem(after)["errors"]] == ["after"]
    assert {status.status_code, cursor.status_code, after.status_code} == {422}


def test_a_missing_object_is_a_404_problem(storefront):
    answer = storefront.get("/payments/424242")

    assert answer.status_code == 404
    assert problem(answer) == {
        "type": "urn:back-office:problem:not-found",
        "title": "There is no such object",
        "status": 404,
        "detail": "There is no payment 424242.",
    }


def test_unknown_routes_and_methods_under_the_api_are_problems_too(client):
    nowhere = client.get("/api/v1/nowhere")
    wrong_method = client.delete("/api/v1/payments")

    assert (nowhere.status_code, problem(nowhere)["type"]) == (404, "urn:back-office:problem:not-found")
    assert (wrong_method.status_code, problem(wrong_method)["type"]) == (
        405,
        "urn:back-office:problem:method-not-allowed",
    )
    allowed = set(wrong_method.headers["Allow"].replace(" ", "").split(","))
    assert allowed == {"GET", "HEAD", "OPTIONS", "POST"}


def test_a_crash_is_a_500_problem_and_frees_its_idempotency_key(app, storefront, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(payments, "create_alipayhk_payment", broken)
    answer = storefront.post(
        "/payments", {"amount": 100, "currency": "HKD", "narrative": "Order"}, key="k-crash"
    )

    assert answer.status_code == 500
    assert problem(answer)["type"] == "urn:back-office:problem:internal"
    assert "disk full" not in answer.get_json()["detail"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0


def test_a_nul_in_any_string_is_refused_by_its_pointer(storefront):
    answer = storefront.post("/agreements", {"wallet": "ALIPAY_HK", "customer_reference": "ab\x00c"})

    assert answer.status_code == 422
    assert [(e["pointer"], e["detail"]) for e in problem(answer)["errors"]] == [
        ("/customer_reference", "This field holds a NUL character (\\0), which no field accepts.")
    ]
