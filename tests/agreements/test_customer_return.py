"""The customer's return from the wallet activates an agreement, with or without Antom's notification.

Over HTTP: the services call the simulator, the customer presses Approve on its stand-in page and
their browser follows the wallet's redirect to our public landing page; the simulator's
notifications (when its notification address is not switched off) come to the real webhook.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import func
from sqlalchemy import select

from dashboard.agreements import service
from dashboard.agreements.models import Agreement
from dashboard.audit.models import AuditLog
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.notifications.models import Notification
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import Authorization
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import transaction
from tests.sandbox import helpers


def consent(sandboxed, *, notify: bool = True) -> tuple[Agreement, str]:
    """Consult and approve; return the pending agreement and where the wallet sends the customer."""
    if not notify:
        with transaction(sandboxed.sandbox.engine) as session:  # no notification address at Antom
            add_switch(session, "no_notification", "authorize")
    agreement = service.start_consult("ALIPAY_HK", "cust-return")
    answer = helpers.answer_consent(agreement.auth_url)
    assert answer.status_code == 303
    return agreement, answer.headers["Location"]


def come_back(url: str) -> requests.Response:
    """The customer's browser follows the wallet's redirect."""
    return requests.get(url, allow_redirects=False, timeout=5)


def fresh(agreement_id: int) -> Agreement:
    db.session.rollback()
    return db.session.get(Agreement, agreement_id)


def timeline(agreement_id: int) -> list[Event]:
    db.session.rollback()
    statement = select(Event).where(Event.object_type == "agreement", Event.object_id == str(agreement_id))
    return list(db.session.scalars(statement.order_by(Event.id)))


def apply_token_calls(agreement_id: int) -> int:
    return sum(
        1
        for event in timeline(agreement_id)
        if event.kind == "provider_call" and event.summary["operation"] == "applyToken"
    )


def returns_audited() -> list[AuditLog]:
    db.session.rollback()
    return list(
        db.session.scalars(select(AuditLog).where(AuditLog.action == "agreement.authorised_by_customer"))
    )


def deliveries(sandboxed) -> int:
    with transaction(sandboxed.sandbox.engine) as session:
        return session.scalar(select(func.count(Delivery.id)))


def test_the_return_alone_activates_an_agreement_when_antom_sends_no_notification(sandboxed):
    agreement, back = consent(sandboxed, notify=False)
    assert back.startswith(f"{sandboxed.url}/checkout/authorized?authCode=")

    page = come_back(back)
    sandboxed.settle()

    assert page.status_code == 200 and "Wallet linked" in page.text
    assert "Set-Cookie" not in page.headers
    agreement = fresh(agreement.id)
    assert agreement.status == "active" and agreement.access_token and agreement.auth_code is None
    assert deliveries(sandboxed) == 0
    assert db.session.scalars(select(Notification)).all() == []
    events = timeline(agreement.id)
    assert [event.kind for event in events] == [
        "created",
        "provider_call",
        "auth_code_received",
        "provider_call",
        "status_changed",
    ]
    assert events[2].summary == {"via": "customer_return"}
    [audited] = returns_audited()
    assert (audited.actor_label, audited.object_id) == ("customer", str(agreement.id))


def test_the_return_as_antom_documents_it_activates_the_agreement(sandboxed):
    agreement, _ = consent(sandboxed, notify=False)
    with transaction(sandboxed.sandbox.engine) as session:
        code = session.scalar(select(Authorization.auth_code))
    # "…/authorizationResult?authCode=3AB2…&authState=663A…" (consult, authRedirectUrl)
    query = urlencode({"authCode": code, "authState": agreement.auth_state})

    come_back(f"{sandboxed.url}/checkout/authorized?{query}")
    sandboxed.settle()

    assert fresh(agreement.id).status == "active"


@pytest.mark.parametrize("first", ["return", "notification"])
def test_with_the_notification_on_whichever_comes_second_changes_nothing(sandboxed, first):
    agreement, back = consent(sandboxed, notify=True)

    if first == "return":
        come_back(back)
        sandboxed.settle()
    else:
        sandboxed.settle()
        assert fresh(agreement.id).status == "active"
        come_back(back)
        sandboxed.settle()

    assert fresh(agreement.id).status == "active"
    assert apply_token_calls(agreement.id) == 1
    assert [event.kind for event in timeline(agreement.id)].count("auth_code_received") == 1
    [notice] = db.session.scalars(select(Notification)).all()
    assert (notice.kind, notice.outcome) == ("AUTHCODE_CREATED", "applied")
    assert len(returns_audited()) == (1 if first == "return" else 0)


def test_the_landing_page_reads_the_same_whatever_it_is_given_and_a_state_works_once(sandboxed):
    agreement, back = consent(sandboxed, notify=False)
    base = f"{sandboxed.url}/checkout/authorized"
    made_up = come_back(f"{base}?{urlencode({'authCode': 'ABC', 'authState': 'as-' + '0' * 32})}")
    bare = come_back(base)
    oversized = come_back(f"{base}?{urlencode({'authCode': 'A' * 129, 'authState': agreement.auth_state})}")
    assert fresh(agreement.id).auth_code is None  # none of them named the agreement with a usable code

    used = come_back(back)
    replayed = come_back(back)
    other_code = come_back(f"{base}?{urlencode({'authCode': 'FORGED', 'authState': agreement.auth_state})}")
    sandboxed.settle()

    pages = [made_up, bare, oversized, used, replayed, other_code]
    assert {page.status_code for page in pages} == {200}
    assert len({page.text for page in pages}) == 1
    assert not any("Set-Cookie" in page.headers for page in pages)
    assert agreement.auth_state not in used.text
    assert fresh(agreement.id).status == "active"
    assert apply_token_calls(agreement.id) == 1
    assert len(returns_audited()) == 1


def test_a_return_for_an_agreement_that_is_over_changes_nothing(sandboxed, fake_clock):
    agreement, back = consent(sandboxed, notify=False)
    fake_clock.advance(hours=25)
    service.expire_due(fake_clock.now())

    come_back(back)
    sandboxed.settle()

    assert fresh(agreement.id).status == "expired"
    assert apply_token_calls(agreement.id) == 0
    assert returns_audited() == []


def test_a_state_is_found_by_its_digest_and_only_whole(sandboxed):
    agreement = service.start_consult("ALIPAY_HK", "cust-digest")

    assert service.find_by_auth_state(db.session, agreement.auth_state).id == agreement.id
    assert service.find_by_auth_state(db.session, agreement.auth_state[:-1]) is None
    assert service.find_by_auth_state(db.session, agreement.auth_state + "0") is None


@pytest.mark.browser
@pytest.mark.live
def test_in_a_browser_the_customer_approves_lands_on_our_page_and_the_agreement_activates(sandboxed, page):
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "no_notification", "authorize")
    agreement = service.start_consult("ALIPAY_HK", "cust-browser")

    page.goto(agreement.auth_url)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/checkout/authorized?**")
    heading = page.get_by_role("heading", name="Wallet linked")
    heading.wait_for()
    sandboxed.settle()

    assert heading.is_visible()
    assert fresh(agreement.id).status == "active"
    assert deliveries(sandboxed) == 0
