"""Disputes raised on demand in the Antom simulator: the notifications and the course they follow."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from dashboard.sandbox import antom as simulator
from dashboard.sandbox.core import ActiveFaults
from dashboard.sandbox.store import Dispute
from dashboard.sandbox.store import Payment
from dashboard.sandbox.store import transaction
from tests.sandbox import helpers


@pytest.fixture
def paid(sandbox, antom, run_due):
    token = helpers.token(antom, sandbox.url).access_token
    payment = helpers.pay(antom, token, 12301)
    run_due()
    sandbox.receiver.reset()
    return payment


def press_dispute(sandbox, payment_id: str, course: str) -> requests.Response:
    """Press "Customer disputes" on /sandbox for the payment, as a browser would."""
    with transaction(sandbox.sandbox.engine) as session:
        row_id = session.scalar(select(Payment.id).where(Payment.payment_id == payment_id))
    with requests.Session() as browser:
        page = browser.get(f"{sandbox.url}/sandbox/", timeout=5)
        assert f'id="course-{row_id}"' in page.text
        token = helpers._CSRF.search(page.text).group(1)
        return browser.post(
            f"{sandbox.url}/sandbox/antom/payments/{row_id}/dispute",
            data={"csrf_token": token, "course": course},
            timeout=5,
        )


def test_a_dispute_raised_on_the_page_is_notified_as_antom_documents_it(sandbox, antom, paid, run_due):
    answer = press_dispute(sandbox, paid.payment_id, "lost")
    run_due()

    assert answer.status_code == 200 and "DISPUTE_CREATED is on its way" in answer.text
    [notice] = sandbox.receiver.received
    assert antom.verify_notification(notice.headers, notice.body, path="/webhooks/antom")
    body = notice.json
    assert "notifyType" not in body and "result" not in body
    assert body["disputeNotificationType"] == "DISPUTE_CREATED"
    assert (body["paymentId"], body["paymentRequestId"]) == (paid.payment_id, paid.payment_request_id)
    assert body["disputeAmount"] == {"currency": "HKD", "value": "12301"}
    assert body["defendable"] is True and body["defenseDueTime"] and body["disputeTime"]
    assert body["disputeId"] and body["disputeReasonMsg"]


@pytest.mark.parametrize(
    ("course", "kinds", "last"),
    [
        (
            "won",
            ["DISPUTE_CREATED", "DEFENSE_SUPPLIED", "DISPUTE_JUDGED"],
            {"disputeJudgedResult": "ACCEPT_BY_CUSTOMER"},
        ),
        (
            "lost",
            ["DISPUTE_CREATED", "DEFENSE_SUPPLIED", "DISPUTE_JUDGED"],
            {"disputeJudgedResult": "ACCEPT_BY_MERCHANT"},
        ),
        ("withdrawn", ["DISPUTE_CREATED", "DISPUTE_CANCELLED"], {}),
        (
            "unanswered",
            ["DISPUTE_CREATED", "DEFENSE_DUE_ALERT", "DISPUTE_ACCEPTED"],
            {"disputeAcceptReason": "TIMEOUT"},
        ),
        ("open", ["DISPUTE_CREATED", "DEFENSE_DUE_ALERT"], {}),
    ],
)
def test_each_course_runs_on_the_simulators_time(sandbox, paid, run_due, fake_clock, course, kinds, last):
    press_dispute(sandbox, paid.payment_id, course)
    run_due()
    assert sandbox.receiver.kinds() == [None]  # notifyDispute has neither notifyType nor result
    for _ in range(4):  # seven documented days, compressed by SANDBOX_TIME_SCALE
        fake_clock.advance(minutes=3)
        run_due()

    received = [notice.json for notice in sandbox.receiver.received]
    assert [body["disputeNotificationType"] for body in received] == kinds
    assert len({body["disputeId"] for body in received}) == 1
    assert {key: received[-1][key] for key in last} == last
    if "disputeJudgedResult" in last:
        assert received[-1]["disputeJudgedAmount"] == {"currency": "HKD", "value": "12301"}
    with transaction(sandbox.sandbox.engine) as session:
        dispute = session.scalars(select(Dispute)).one()
        assert dispute.next_step_at is None and dispute.steps_sent == len(kinds) - 1


def test_only_a_paid_payment_without_an_open_dispute_can_be_disputed(sandbox, antom, paid, fake_clock):
    refused = helpers.pay(antom, helpers.token(antom, sandbox.url).access_token, 12311)
    assert refused.payment_id  # a failed payment exists at Antom
    press_dispute(sandbox, paid.payment_id, "open")

    again = press_dispute(sandbox, paid.payment_id, "won")
    codes = []
    for payment_id, course in ((refused.payment_id, "won"), ("nope", "won"), (paid.payment_id, "maybe")):
        with transaction(sandbox.sandbox.engine) as session, pytest.raises(simulator.Reject) as raised:
            simulator.raise_dispute(
                sandbox.sandbox, session, payment_id, course, fake_clock.now(), ActiveFaults()
            )
        codes.append(raised.value.code)

    assert "Only a paid payment" in again.text
    assert codes == ["ORDER_STATUS_INVALID", "ORDER_NOT_EXIST", "PARAM_ILLEGAL"]
