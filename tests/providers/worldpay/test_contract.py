"""Contract: the Worldpay client against the sandbox simulator over real HTTP (loopback only).

Every client call runs end to end, following the ``_actions`` hrefs; every documented error body
(worldpay_hkach.md §1.2, §1.8, §1.9) is produced and read back as the matching typed error.
"""

from __future__ import annotations

import pytest

from dashboard.money import Money
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.worldpay import WorldpayAuthError
from dashboard.providers.worldpay import WorldpayClient
from dashboard.providers.worldpay import WorldpayDuplicateReference
from dashboard.providers.worldpay import WorldpayNotFound
from dashboard.providers.worldpay import WorldpayRejected
from tests.sandbox import worldpay_helpers as wh


def test_every_client_call_end_to_end(sandbox, worldpay, run_due, fake_clock):
    created = wh.create(worldpay, sandbox.url, minor=20000)
    assert created.outcome is CallOutcome.UNKNOWN and created.last_event == "pending"
    assert created.command_id.startswith("cmd") and created.record.status == 201
    assert created.self_href.endswith(created.payment_id)

    queried = worldpay.query_payment(created.self_href)
    assert queried.last_event == "pending" and queried.actions == {}
    assert wh.choose(created.redirect_url, "capture").status_code == 303
    fake_clock.advance(seconds=1)
    run_due()
    settled = worldpay.query_payment(created.payment_id)
    assert settled.last_event == "sentForSettlement" and settled.outcome is CallOutcome.SUCCEEDED
    assert settled.actions["partialReverse"].endswith("/partialReversals")

    partial = worldpay.partial_reverse(
        settled.actions["partialReverse"], amount=Money(5000, "HKD"), reference="RFND-C-1"
    )
    assert partial.record.status == 202 and partial.last_event == "sentForRefund"
    assert partial.outcome is CallOutcome.UNKNOWN and partial.actions == {}
    fake_clock.advance(seconds=1)
    run_due()
    after = worldpay.query_payment(created.payment_id)
    full = worldpay.reverse(after.actions["reverse"], amount=Money(15000, "HKD"), reference="RFND-C-2")
    assert full.last_event == "sentForRefund"
    fake_clock.advance(seconds=1)
    run_due()
    assert worldpay.query_payment(created.payment_id).actions == {}
    assert sandbox.receiver.event_types() == [
        "authorized",
        "sentForSettlement",
        "sentForRefund",
        "refunded",
        "sentForRefund",
        "refunded",
    ]


def test_wrong_credentials_give_401_unauthorized(sandbox):
    settings = sandbox.app.extensions["sandbox"].worldpay
    client = WorldpayClient(settings.base_url, settings.username, "wrong", settings.entity)
    with pytest.raises(WorldpayAuthError) as refused:
        wh.create(client, sandbox.url)
    assert refused.value.status == 401 and refused.value.error_name == "unauthorized"
    assert refused.value.api_error.message == "Invalid authentication"
    assert wh.raw(sandbox.app, "GET", "/apmPayments/x", auth=None).json()["errorName"] == "unauthorized"


def test_api_version_header_is_required_and_checked(sandbox):
    body = wh.create_body(sandbox.url)
    missing = wh.raw(sandbox.app, "POST", "/apmPayments", body, version=False)
    assert (missing.status_code, missing.json()["errorName"]) == (400, "headerIsMissing")
    wrong = wh.raw(sandbox.app, "POST", "/apmPayments", body, version="2023-06-01")
    assert (wrong.status_code, wrong.json()["errorName"]) == (400, "headerHasInvalidValue")


@pytest.mark.parametrize(
    ("changes", "path", "child"),
    [
        ({"instruction__value": {"currency": "HKD"}}, "$.instruction.value.amount", "fieldHasInvalidValue"),
        ({"instruction__value": {"amount": 100, "currency": "USD"}}, "$.instruction.value.currency", None),
        (
            {"instruction__value": {"amount": 5_000_001, "currency": "HKD"}},
            "$.instruction.value.amount",
            None,
        ),
        ({"instruction__value": {"amount": 600_000, "currency": "EUR"}}, "$.instruction.value.amount", None),
        ({"instruction__narrative": {"line1": "A" * 25}}, "$.instruction.narrative.line1", "stringIsTooLong"),
        (
            {"instruction__narrative": {"line1": "Acme & Sons"}},
            "$.instruction.narrative.line1",
            "stringFailedRegexCheck",
        ),
        ({"transactionReference": "bad ref"}, "$.transactionReference", "stringFailedRegexCheck"),
        ({"transactionReference": None}, "$.transactionReference", "fieldIsMissing"),
        ({"instruction__method": "paypal"}, "$.instruction.method", "fieldHasInvalidValue"),
        ({"instruction__resultUrls": {"success": "x"}}, "$.instruction.resultUrls.pending", "fieldIsMissing"),
    ],
)
def test_schema_errors_name_the_field(sandbox, changes, path, child):
    answer = wh.raw(sandbox.app, "POST", "/apmPayments", wh.create_body(sandbox.url, **changes))
    assert answer.status_code == 400
    body = answer.json()
    assert body["errorName"] == "bodyDoesNotMatchSchema"
    assert body["message"] == "The json body provided does not match the expected schema"
    paths = [issue["jsonPath"] for issue in body["validationErrors"]]
    assert path in paths
    if child:
        assert child in [issue["errorName"] for issue in body["validationErrors"]]


def test_the_cap_uses_the_configured_rates(sandbox):
    # EUR 5,882.35 at 8.5 HKD/EUR is just under HKD 50,000.
    answer = wh.raw(
        sandbox.app,
        "POST",
        "/apmPayments",
        wh.create_body(sandbox.url, instruction__value={"amount": 588235, "currency": "EUR"}),
    )
    assert answer.status_code == 201


def test_duplicate_reference_and_other_error_bodies(sandbox, worldpay):
    first = wh.create(worldpay, sandbox.url, reference="DUP-REF-1")
    with pytest.raises(WorldpayDuplicateReference) as duplicate:
        wh.create(worldpay, sandbox.url, reference="DUP-REF-1")
    assert duplicate.value.error_name == "transactionReferenceIsADuplicate"

    with pytest.raises(WorldpayNotFound) as missing:
        worldpay.query_payment("no-such-payment")
    assert missing.value.status == 404 and missing.value.error_name == "paymentNotFound"

    with pytest.raises(WorldpayRejected) as not_ready:
        worldpay.reverse(first.payment_id)
    assert not_ready.value.error_name == "orderNotReady"

    not_json = wh.raw(
        sandbox.app, "POST", "/apmPayments", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.json()["errorName"] == "bodyIsNotJson"
    empty = wh.raw(sandbox.app, "POST", f"/apmPayments/{first.payment_id}/partialReversals")
    assert empty.json()["errorName"] == "bodyIsEmpty"
    entity = wh.raw(
        sandbox.app, "POST", "/apmPayments", wh.create_body(sandbox.url, merchant={"entity": "other"})
    )
    assert entity.json()["errorName"] == "entityIsNotConfigured"


def test_internal_error_and_timeout_faults_leave_the_outcome_unknown(sandbox, worldpay):
    from dashboard.sandbox.core import add_switch
    from dashboard.sandbox.store import transaction

    with transaction(sandbox.sandbox.engine) as session:
        add_switch(session, "http_500", "create_payment", remaining=1)
    with pytest.raises(ProviderUnavailable) as failed:
        wh.create(worldpay, sandbox.url, reference="FAULT-500")
    assert failed.value.code == "internalErrorOccurred"
    # The call was processed: the reference is now taken.
    with pytest.raises(WorldpayDuplicateReference):
        wh.create(worldpay, sandbox.url, reference="FAULT-500")

    with transaction(sandbox.sandbox.engine) as session:
        add_switch(session, "timeout", "query_payment", remaining=1)
    impatient = WorldpayClient(worldpay.base_url, *_credentials(sandbox), worldpay.entity, read_timeout=0.2)
    with pytest.raises(ProviderUnavailable):
        impatient.query_payment("anything")


def _credentials(sandbox):
    settings = sandbox.app.extensions["sandbox"].worldpay
    return settings.username, settings.password


def test_a_payment_is_found_by_its_transaction_reference(sandbox, worldpay):
    created = wh.create(worldpay, sandbox.url, reference="FIND-ME/1?#")

    found = worldpay.lookup_payment("FIND-ME/1?#")
    missing = worldpay.lookup_payment("NEVER-SENT-1")

    assert (found.payment_id, found.amount, found.outcome) == (
        created.payment_id,
        Money(12850, "HKD"),
        CallOutcome.SUCCEEDED,
    )
    assert found.record.status == 200 and found.record.path == "/sandbox/worldpay/paymentQueries/payments"
    assert (missing.payment_id, missing.outcome, missing.news) == (None, CallOutcome.UNKNOWN, None)
    assert found.news.provider_payment_id == created.payment_id and found.news.request_id == "FIND-ME/1?#"


def test_payment_queries_require_their_media_type_and_basic_auth(sandbox):
    path = "/paymentQueries/payments?transactionReference=X"
    media = {"Accept": "application/vnd.worldpay.payment-queries-v1.hal+json"}
    answered = wh.raw(sandbox.app, "GET", path, version=False, headers=media)
    assert answered.status_code == 200 and answered.json()["_embedded"]["payments"] == []
    assert answered.headers["Content-Type"] == media["Accept"]
    wrong = wh.raw(sandbox.app, "GET", path, version=False)  # Accept: application/json
    assert (wrong.status_code, wrong.json()["errorName"]) == (400, "headerHasInvalidValue")
    anonymous = wh.raw(sandbox.app, "GET", path, version=False, headers=media, auth=None)
    assert (anonymous.status_code, anonymous.json()["errorName"]) == (401, "unauthorized")
    no_reference = wh.raw(sandbox.app, "GET", "/paymentQueries/payments", version=False, headers=media)
    assert no_reference.status_code == 400


def test_a_payments_history_shows_each_refund_taken_or_failed(sandbox, worldpay, run_due, fake_clock):
    created = wh.create(worldpay, sandbox.url, minor=700)
    wh.choose(created.redirect_url, "capture")
    fake_clock.advance(seconds=1)
    run_due()
    failing = worldpay.query_payment(created.payment_id)
    worldpay.reverse(failing.actions["reverse"], amount=Money(700, "HKD"), reference="HIST-FAIL-1")

    during = worldpay.retrieve_payment(created.payment_id)
    fake_clock.advance(seconds=1)
    run_due()
    after = worldpay.retrieve_payment(created.payment_id)

    assert during.record.status == 200 and during.record.path.startswith("/sandbox/worldpay/paymentQueries/")
    assert (during.news.balance, during.news.taken, during.news.failed) == (
        Money(0, "HKD"),
        {"HIST-FAIL-1"},
        {},
    )
    assert (after.news.balance, after.news.taken) == (Money(700, "HKD"), frozenset())
    assert after.news.failed == {"HIST-FAIL-1": "refundRequestSubmissionFailed"}
    assert [event["eventName"] for event in after.raw["events"]] == [
        "saleRequested",
        "saleSucceeded",
        "refundRequested",
        "refundRequestSubmissionFailed",
    ]
    with pytest.raises(WorldpayNotFound):
        worldpay.retrieve_payment("no-such-payment")
