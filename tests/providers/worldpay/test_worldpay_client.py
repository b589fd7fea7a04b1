"""The Worldpay APM client against mocked HTTP: bodies, headers, answers, errors, records."""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
import requests
import responses
from responses import matchers

from dashboard.money import Money
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import ProviderRejected
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.worldpay import WorldpayAuthError
from dashboard.providers.worldpay import WorldpayClient
from dashboard.providers.worldpay import WorldpayDuplicateReference
from dashboard.providers.worldpay import WorldpayNotFound
from dashboard.providers.worldpay import WorldpayRejected
from dashboard.providers.worldpay import WorldpayValidationError
from dashboard.providers.worldpay.consts import TRY_BASE_URL

from .samples import PASSWORD
from .samples import USERNAME
from .samples import documented_request
from .samples import payload

PAYMENTS_URL = f"{TRY_BASE_URL}/apmPayments"
PAYMENT_ID = "HZ75WBkfRwmD9YzLSZFnQ_demoSandboxToken_0001"
PAYMENT_URL = f"{PAYMENTS_URL}/{PAYMENT_ID}"
BASIC = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()


def sent(http: responses.RequestsMock, index: int = 0) -> requests.PreparedRequest:
    """Return the request the client sent."""
    return http.calls[index].request


def assert_common_headers(request: requests.PreparedRequest) -> None:
    assert request.headers["WP-Api-Version"] == "2024-07-01"
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Accept"] == "application/json"
    assert uuid.UUID(request.headers["WP-CorrelationId"]).version == 4


def assert_record_is_clean(record) -> None:
    text = json.dumps(record.as_dict())
    assert PASSWORD not in text
    assert BASIC.split()[1] not in text
    assert "Authorization" not in text


# -- create -------------------------------------------------------------------------------


def test_create_sends_the_documented_body_and_headers(client, http, clock) -> None:
    http.post(PAYMENTS_URL, status=201, json=payload("create_response_pending"))

    result = client.create_payment(documented_request())

    request = sent(http)
    assert json.loads(request.body) == payload("create_request_alipayhk")
    assert request.headers["Content-Type"] == "application/json"
    assert_common_headers(request)
    record = result.record
    assert record.correlation_id == request.headers["WP-CorrelationId"]
    assert (record.provider, record.operation, record.method, record.path, record.status) == (
        "worldpay",
        "create_payment",
        "POST",
        "/apmPayments",
        201,
    )
    assert record.started_at == clock.now()
    assert record.duration_ms >= 0
    assert json.loads(record.request_body) == payload("create_request_alipayhk")
    assert_record_is_clean(record)


def test_create_parses_the_pending_answer_and_redirect(client, http) -> None:
    answer = payload("create_response_pending")
    http.post(PAYMENTS_URL, status=201, json=answer)

    result = client.create_payment(documented_request())

    assert result.payment_id == answer["paymentId"]
    assert result.last_event == result.result_code == "pending"
    assert result.outcome is CallOutcome.UNKNOWN
    assert result.redirect_url == answer["redirect"]
    assert result.self_href == answer["_links"]["self"]["href"]
    assert result.actions == {}
    assert result.command_id == "cmdEy5vwB0krLe9eMwAcE66c0"
    assert result.raw == answer


def test_sale_error_answer_is_a_failed_payment(client, http) -> None:
    # Seed "Simulation": magic amount 500 gives an error in the sale response.
    answer = payload("create_response_pending") | {"lastEvent": "error"}
    del answer["redirect"]
    http.post(PAYMENTS_URL, status=201, json=answer)

    result = client.create_payment(documented_request(amount=Money(500, "HKD")))

    assert result.outcome is CallOutcome.FAILED
    assert result.redirect_url is None


def test_each_call_gets_a_fresh_correlation_id(client, http) -> None:
    http.post(PAYMENTS_URL, status=201, json=payload("create_response_pending"))
    http.post(PAYMENTS_URL, status=201, json=payload("create_response_pending"))

    first = client.create_payment(documented_request())
    second = client.create_payment(documented_request())

    assert first.record.correlation_id != second.record.correlation_id


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "sample", "kind", "error_name", "paths"),
    [
        (400, "error_body_does_not_match_schema", WorldpayValidationError, "bodyDoesNotMatchSchema",
         ("$.instruction.value.amount",)),
        (400, "error_transaction_reference_duplicate", WorldpayDuplicateReference,
         "transactionReferenceIsADuplicate", ()),
        (401, "error_unauthorized", WorldpayAuthError, "unauthorized", ()),
        (404, "error_payment_not_found", WorldpayNotFound, "paymentNotFound", ()),
        (400, "error_payment_not_found", WorldpayNotFound, "paymentNotFound", ()),
        (400, "error_order_not_ready", WorldpayRejected, "orderNotReady", ()),
    ],
)  # fmt: skip
def test_documented_error_bodies_become_typed_refusals(client, http, status, sample, kind, error_name, paths):
    http.post(PAYMENTS_URL, status=status, json=payload(sample))

    with pytest.raises(kind) as caught:
        client.create_payment(documented_request())

    error = caught.value
    assert isinstance(error, ProviderRejected)
    assert error.outcome is CallOutcome.FAILED
    assert (error.status, error.error_name, error.code, error.field_paths) == (
        status,
        error_name,
        error_name,
        paths,
    )
    assert error.api_error.message == payload(sample)["message"]
    assert error.record.status == status
    assert error.record.response_body is not None
    assert_record_is_clean(error.record)


def test_validation_issues_are_kept_whole(client, http) -> None:
    http.post(PAYMENTS_URL, status=400, json=payload("error_body_does_not_match_schema"))

    with pytest.raises(WorldpayValidationError) as caught:
        client.create_payment(documented_request())

    (issue,) = caught.value.api_error.validation_errors
    assert (issue.error_name, issue.message, issue.json_path) == (
        "fieldHasInvalidValue",
        "Field is mandatory",
        "$.instruction.value.amount",
    )


def test_refusal_without_a_readable_body_is_still_a_refusal(client, http) -> None:
    http.post(PAYMENTS_URL, status=405, body="<html>Method Not Allowed</html>")

    with pytest.raises(WorldpayRejected) as caught:
        client.create_payment(documented_request())

    assert (caught.value.status, caught.value.error_name, caught.value.field_paths) == (405, None, ())


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError("connection refused"),
    ],
)
def test_transport_failures_are_unknown_and_not_retried(client, http, failure) -> None:
    http.post(PAYMENTS_URL, body=failure)

    with pytest.raises(ProviderUnavailable) as caught:
        client.create_payment(documented_request())

    assert caught.value.outcome is CallOutcome.UNKNOWN
    assert len(http.calls) == 1
    record = caught.value.record
    assert record.status is None and record.error
    assert record.correlation_id == sent(http).headers["WP-CorrelationId"]
    assert json.loads(record.request_body) == payload("create_request_alipayhk")


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (500, json.dumps(payload("error_internal")), "internalErrorOccurred"),
        (503, "<html>Service Unavailable</html>", None),
        (302, "", None),
        (201, "<html>not json</html>", None),
        (201, '{"lastEvent": "pending"}', None),
        (201, '["pending"]', None),
        (201, "", None),
    ],
)
def test_server_errors_and_unreadable_answers_are_unknown(client, http, status, body, code) -> None:
    http.post(PAYMENTS_URL, status=status, body=body, headers={"Location": f"{TRY_BASE_URL}/elsewhere"})

    with pytest.raises(ProviderUnavailable) as caught:
        client.create_payment(documented_request())

    assert caught.value.outcome is CallOutcome.UNKNOWN
    assert caught.value.code == code
    assert caught.value.record.status == status
    assert caught.value.record.error
    assert len(http.calls) == 1


def test_long_answers_are_trimmed_on_the_record(client, http) -> None:
    http.post(PAYMENTS_URL, status=502, body="x" * 10_000)

    with pytest.raises(ProviderUnavailable) as caught:
        client.create_payment(documented_request())

    assert len(caught.value.record.response_body) < 5000


# -- query --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [PAYMENT_ID, PAYMENT_URL])
def test_query_by_id_or_self_href(client, http, target) -> None:
    http.get(PAYMENT_URL, status=200, json=payload("query_sent_for_settlement"))

    result = client.query_payment(target)

    request = sent(http)
    assert request.body is None
    assert "Content-Type" not in request.headers
    assert_common_headers(request)
    assert result.last_event == "sentForSettlement"
    assert result.outcome is CallOutcome.SUCCEEDED
    assert result.command_id is None
    assert result.actions == {
        "reverse": f"{PAYMENT_URL}/reversals",
        "partialReverse": f"{PAYMENT_URL}/partialReversals",
    }
    assert result.record.operation == "query_payment"
    assert result.record.path == f"/apmPayments/{PAYMENT_ID}"


def test_query_of_unknown_payment_is_not_found(client, http) -> None:
    http.get(PAYMENT_URL, status=404, json=payload("error_payment_not_found"))

    with pytest.raises(WorldpayNotFound):
        client.query_payment(PAYMENT_ID)


@pytest.mark.parametrize(
    "target", ["https://evil.example/apmPayments/x", "http://try.access.worldpay.com/apmPayments/x", ""]
)
def test_credentials_never_follow_a_foreign_href(client, http, target) -> None:
    with pytest.raises(ValueError):
        client.query_payment(target)
    assert len(http.calls) == 0


# -- reversals ----------------------------------------------------------------------------


def test_full_reversal_follows_the_action_href_without_a_body(client, http) -> None:
    action = payload("query_sent_for_settlement")["_actions"]["reverse"]["href"]
    http.post(action, status=202, json=payload("reversal_response_sent_for_refund"))

    result = client.reverse(action)

    request = sent(http)
    assert request.body is None
    assert "Content-Type" not in request.headers
    assert_common_headers(request)
    assert result.last_event == "sentForRefund"
    assert result.outcome is CallOutcome.UNKNOWN
    assert result.actions == {}
    assert result.command_id == "cmdQ9w8E7r6T5y4U3i2O1p0A9"
    assert (result.reference, result.amount) == (None, None)
    assert result.record.operation == "reverse"


def test_full_reversal_by_id_with_reference_sends_amount_too(client, http) -> None:
    http.post(
        f"{PAYMENT_URL}/reversals",
        status=202,
        json=payload("reversal_response_sent_for_refund"),
        match=[
            matchers.json_params_matcher(
                {"reference": "RFND-1", "value": {"amount": 12850, "currency": "HKD"}}
            )
        ],
    )

    result = client.reverse(PAYMENT_ID, amount=Money(12850, "HKD"), reference="RFND-1")

    assert sent(http).headers["Content-Type"] == "application/json"
    assert (result.reference, result.amount) == ("RFND-1", Money(12850, "HKD"))


@pytest.mark.parametrize("kwargs", [{"amount": Money(100, "HKD")}, {"reference": "RFND-1"}])
def test_full_reversal_body_needs_both_amount_and_reference(client, http, kwargs) -> None:
    with pytest.raises(ValueError):
        client.reverse(PAYMENT_ID, **kwargs)
    assert len(http.calls) == 0


def test_partial_reversal_sends_the_documented_body(client, http) -> None:
    action = payload("query_sent_for_settlement")["_actions"]["partialReverse"]["href"]
    http.post(action, status=202, json=payload("reversal_response_sent_for_refund"))

    result = client.partial_reverse(action, amount=Money(5000, "HKD"), reference="RFND-000123-1")

    request = sent(http)
    assert json.loads(request.body) == payload("partial_reversal_request")
    assert request.headers["Content-Type"] == "application/json"
    assert_common_headers(request)
    assert result.last_event == "sentForRefund"
    assert result.outcome is CallOutcome.UNKNOWN
    assert (result.reference, result.amount) == ("RFND-000123-1", Money(5000, "HKD"))
    assert result.record.operation == "partial_reverse"
    assert_record_is_clean(result.record)


def test_partial_reversal_by_id_builds_the_documented_path(client, http) -> None:
    http.post(
        f"{PAYMENT_URL}/partialReversals", status=202, json=payload("reversal_response_sent_for_refund")
    )
    client.partial_reverse(PAYMENT_ID, amount=Money(5000, "HKD"), reference="RFND-2")


def test_partial_reversal_posts_to_the_given_href_even_if_it_names_reversals(client, http) -> None:
    # §1.6: the spec's own examples give partialReverse an href ending in /reversals.
    http.post(f"{PAYMENT_URL}/reversals", status=202, json=payload("reversal_response_sent_for_refund"))
    client.partial_reverse(f"{PAYMENT_URL}/reversals", amount=Money(5000, "HKD"), reference="RFND-3")
    assert json.loads(sent(http).body)["value"] == {"amount": 5000, "currency": "HKD"}


def test_timed_out_reversal_is_unknown_and_sent_once(client, http) -> None:
    http.post(f"{PAYMENT_URL}/partialReversals", body=requests.exceptions.ReadTimeout())

    with pytest.raises(ProviderUnavailable) as caught:
        client.partial_reverse(PAYMENT_ID, amount=Money(5000, "HKD"), reference="RFND-4")

    assert caught.value.outcome is CallOutcome.UNKNOWN
    assert len(http.calls) == 1


def test_reversal_in_the_wrong_state_is_refused(client, http) -> None:
    http.post(f"{PAYMENT_URL}/reversals", status=400, json=payload("error_order_not_ready"))

    with pytest.raises(WorldpayRejected) as caught:
        client.reverse(PAYMENT_ID)

    assert caught.value.error_name == "orderNotReady"


# -- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "username", "password", "entity"),
    [
        ("try.access.worldpay.com", "u", "p", "default"),
        (TRY_BASE_URL, "", "p", "default"),
        (TRY_BASE_URL, "u", "", "default"),
        (TRY_BASE_URL, "u", "p", "ab"),
        (TRY_BASE_URL, "u", "p", "entity_with_underscore"),
    ],
)
def test_unusable_settings_are_refused(base_url, username, password, entity) -> None:
    with pytest.raises(ProviderConfigError):
        WorldpayClient(base_url, username, password, entity)


def test_base_url_with_a_path_prefix_and_trailing_slash(clock, http) -> None:
    client = WorldpayClient(
        "http://localhost:5000/sandbox/worldpay/", USERNAME, PASSWORD, "default", clock=clock.now
    )
    http.get(
        re.compile(r"http://localhost:5000/sandbox/worldpay/apmPayments/.+"),
        status=200,
        json=payload("query_sent_for_settlement"),
    )

    client.query_payment(PAYMENT_ID)

    assert sent(http).url == f"http://localhost:5000/sandbox/worldpay/apmPayments/{PAYMENT_ID}"
