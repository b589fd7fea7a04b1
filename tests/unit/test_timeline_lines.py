"""Timeline lines: each event kind the services record reads well; anything else still shows."""

from __future__ import annotations

import pytest

from dashboard.events.models import Event
from dashboard.events.queries import describe
from dashboard.providers.registry import guidance

CALL = {
    "provider": "antom",
    "operation": "pay",
    "method": "POST",
    "path": "/ams/api/v1/payments/pay",
    "started_at": "2026-03-02T06:30:00Z",
    "duration_ms": 412,
    "status": 200,
    "correlation_id": "c0ffee",
    "request_body": {"paymentRequestId": "PAY-1", "paymentMethodId": "[redacted]"},
    "response_body": '{"result": {"resultStatus": "S"}}',
    "error": None,
    "outcome": "S",
}


def event(kind: str, summary, **fields) -> Event:
    return Event(
        **{"id": 7, "object_type": "payment", "object_id": "1", "kind": kind, "summary": summary, **fields}
    )


@pytest.mark.parametrize(
    ("kind", "summary", "title", "text"),
    [
        (
            "created",
            {"status": "pending", "amount_minor": 12345, "currency": "HKD"},
            "Created",
            "pending · HK$123.45",
        ),
        (
            "status_changed",
            {"status": ["pending", "succeeded"], "result_code": "SUCCESS", "result_message": "Success."},
            "Status changed",
            "pending → succeeded · SUCCESS: Success.",
        ),
        ("status_changed", {"status": [None, "pending"]}, "Status changed", "none → pending"),
        (
            "notification",
            {"notification_id": 9, "kind": "PAYMENT_RESULT", "outcome": "late"},
            "Notification",
            "PAYMENT_RESULT · late",
        ),
        (
            "refund_status_changed",
            {"refund_id": 3, "status": ["submitted", "succeeded"], "amount_minor": 500, "currency": "HKD"},
            "Refund status changed",
            "refund #3 · submitted → succeeded · HK$5.00",
        ),
        (
            "refund_requested",
            {"refund_id": 3, "amount_minor": 500, "currency": "HKD"},
            "Refund requested",
            "refund #3 · HK$5.00",
        ),
        ("cancel_requested", {"cancel_id": 4}, "Cancel requested", "cancel #4"),
        (
            "cancel_status_changed",
            {"cancel_id": 4, "status": ["submitted", "failed"]},
            "Cancel status changed",
            "cancel #4 · submitted → failed",
        ),
        (
            "declaration_requested",
            {"declaration_id": 5, "customs_code": "ZONGSHU", "amount_minor": 500, "currency": "HKD"},
            "Declared to customs",
            "declaration #5 · HK$5.00 · to ZONGSHU",
        ),
        (
            "declaration_status_changed",
            {"declaration_id": 5, "status": ["pending", "refused"], "result_code": "CUSTOMS_NOT_SUPPORT"},
            "Declaration status changed",
            "declaration #5 · pending → refused · CUSTOMS_NOT_SUPPORT",
        ),
        (
            "cancel_awaits_support",
            {"cancel_id": 4, "result_code": "UNKNOWN_EXCEPTION", "guidance": "Ask support."},
            "Cancel left unknown",
            "cancel #4 · UNKNOWN_EXCEPTION · Ask support.",
        ),
        (
            "dispute",
            {
                "dispute_id": "D1",
                "stage": "opened",
                "amount_minor": 500,
                "currency": "HKD",
                "reason": "unwanted",
            },
            "Dispute",
            "dispute D1 · opened · HK$5.00 · unwanted",
        ),
        ("revoke_requested", {"reason": "customer asked"}, "Revoke requested", "customer asked"),
        (
            "job_failed",
            {"job": "inquire_payment", "error": "ReadTimeout"},
            "Job failed",
            "inquire_payment: ReadTimeout",
        ),
    ],
)
def test_each_recorded_kind_reads_as_one_line_with_nothing_left_over(kind, summary, title, text):
    line = describe(event(kind, summary))
    assert (line.title, line.text, line.fields) == (title, text, [])


def test_a_disputes_defence_deadline_reads_in_the_display_zone(app_ctx):
    summary = {"dispute_id": "D1", "stage": "opened", "defend_by": "2026-01-13T01:41:32+00:00"}
    line = describe(event("dispute", summary))
    assert (line.text, line.fields) == ("dispute D1 · opened · defend by 2026-01-13 09:41:32 HKT", [])


def test_a_provider_call_shows_its_outcome_and_keeps_the_bodies_for_the_details():
    line = describe(event("provider_call", CALL))
    assert line.text == "antom pay · HTTP 200 · 412 ms · succeeded (S)"
    assert line.fields == []
    assert (line.call.method, line.call.path, line.call.correlation_id) == ("POST", CALL["path"], "c0ffee")
    assert '"paymentMethodId": "[redacted]"' in line.call.request_body
    assert line.call.response_body == CALL["response_body"]


def test_a_call_that_got_no_answer_says_so_with_its_error():
    summary = {**CALL, "status": None, "response_body": None, "error": "ReadTimeout", "outcome": "U"}
    line = describe(event("provider_call", summary))
    assert line.text == "antom pay · no HTTP answer · 412 ms · unknown (U) · ReadTimeout"
    assert line.call.response_body == "(none)"


def test_extra_keys_of_a_known_kind_show_as_fields():
    line = describe(event("status_changed", {"status": ["pending", "failed"], "source": "inquiry"}))
    assert line.text == "pending → failed"
    assert line.fields == [("source", "inquiry")]


def test_an_unknown_kind_shows_its_name_and_every_key():
    line = describe(event("dispute_opened", {"case": {"id": 42}, "reason": "not received", "empty": None}))
    assert (line.title, line.text) == ("Dispute opened", "")
    assert line.fields == [("case", '{"id": 42}'), ("reason", "not received")]


@pytest.mark.parametrize(
    ("summary", "fields"),
    [
        ({"status": "succeeded"}, [("status", "succeeded")]),
        ({"status": ["a", "b", "c"]}, [("status", '["a", "b", "c"]')]),
        ("just text", [("summary", "just text")]),
        (None, []),
    ],
)
def test_an_odd_summary_of_a_known_kind_falls_back_to_fields_instead_of_failing(summary, fields):
    line = describe(event("status_changed", summary))
    assert (line.title, line.text, line.fields) == ("Status changed", "", fields)


def test_the_notification_and_the_actor_are_kept_for_the_by_column():
    line = describe(
        event("notification", {"notification_id": 9, "kind": "x", "outcome": "applied"}, notification_id=9)
    )
    assert line.notification_id == 9
    assert describe(event("created", {"status": "pending"}), actor="Ann").actor == "Ann"
    assert describe(event("notification", {"notification_id": 11})).notification_id == 11


@pytest.mark.parametrize(
    ("object_type", "summary", "provider", "about"),
    [
        ("payment", {"status": ["pending", "failed"], "result_code": "refundFailed"}, "worldpay", "payment"),
        ("payment", {"refund_id": 3, "result_code": "refundFailed"}, "worldpay", "refund"),
        ("payment", {"cancel_id": 4, "result_code": "PROCESS_FAIL"}, "antom", "cancel"),
        (
            "agreement",
            {"status": ["active", "revoked"], "result_code": "INVALID_ACCESS_TOKEN"},
            "antom",
            "agreement",
        ),
    ],
)
def test_a_line_with_a_result_code_explains_it_as_kept_on_its_payment_refund_cancel_or_agreement(
    object_type, summary, provider, about
):
    line = describe(event("status_changed", summary, object_type=object_type), provider=provider)
    code = summary["result_code"]
    assert line.code_note.code == code
    assert line.code_note.guidance == guidance(provider, code, about)
    if about != "payment":  # the row for what it is kept on, not the payment's
        assert line.code_note.guidance != guidance(provider, code, "payment")


def test_a_line_without_a_code_has_no_note_and_one_of_an_unknown_provider_has_no_guidance():
    assert describe(event("created", {"status": "pending"}), provider="antom").code_note is None
    line = describe(event("status_changed", {"status": ["a", "b"], "result_code": "SUCCESS"}))
    assert (line.code_note.code, line.code_note.guidance) == ("SUCCESS", None)
