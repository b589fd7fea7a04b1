"""Revoking an agreement from its page: who may, the reason, the confirmation step, what is shown after."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from dashboard.agreements.models import Agreement
from dashboard.audit.models import AuditLog
from dashboard.events.models import Event
from dashboard.events.service import record_event
from dashboard.extensions import db
from tests.agreements.test_agreement_service import authorised
from tests.agreements.test_agreement_service import sign_with_a_stranger_key
from tests.factories import make_agreement
from tests.payments.test_payment_service import _CSRF_INPUT
from tests.payments.test_payment_service import staff_browser
from tests.web.test_code_guidance_pages import text_of

ACTIVATED = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)  # 14:30 in Hong Kong
HTMX = {"HX-Request": "true"}


def add_agreement(app, **fields) -> int:
    """Commit an agreement (active with a token unless ``fields`` say otherwise) and return its id."""
    with app.app_context():
        values = {"customer_ref": "CUST-HK-7", "status": "active", "activated_at": ACTIVATED, **fields}
        agreement = make_agreement(db.session, **values)
        if agreement.status == "active":
            agreement.set_access_token("token-of-cust-hk-7-wxyz", ACTIVATED + timedelta(days=30))
        db.session.commit()
        return agreement.id


def stored(app, agreement_id: int) -> tuple[Agreement, int, int]:
    """Return the agreement as stored, how many timeline events it has and how many audit rows exist."""
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        events = db.session.scalar(
            select(func.count(Event.id)).where(
                Event.object_type == "agreement", Event.object_id == str(agreement_id)
            )
        )
        audits = db.session.scalar(select(func.count(AuditLog.seq)))
        db.session.expunge_all()
        return agreement, events, audits


@pytest.fixture
def active(app) -> int:
    return add_agreement(app)


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_viewer_and_finance_may_neither_open_nor_send_the_revoke_form(client, login_as, post, active, role):
    login_as(role)
    assert client.get(f"/agreements/{active}/revoke").status_code == 403
    answer = post(f"/agreements/{active}/revoke", {"reason": "asked", "confirmed": "yes"}, headers=HTMX)
    assert answer.status_code == 403


@pytest.mark.parametrize("role", ["viewer", "finance", "admin"])
def test_the_agreement_page_offers_no_revoke_to_roles_that_may_not(client, login_as, active, role):
    login_as(role)
    page = client.get(f"/agreements/{active}").get_data(as_text=True)
    assert 'id="revoke-action"' not in page and f"/agreements/{active}/revoke" not in page


@pytest.mark.parametrize("role", ["support", "manager"])
def test_support_and_manager_are_offered_the_revoke_of_an_active_agreement(client, login_as, active, role):
    login_as(role)
    page = client.get(f"/agreements/{active}").get_data(as_text=True)
    assert re.search(rf'<a class="button" id="revoke-action" href="/agreements/{active}/revoke">', page)
    form = client.get(f"/agreements/{active}/revoke")
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert 'id="revoke-form"' in body and 'name="reason"' in body
    assert text_of(body, "revoke-subject").startswith("Customer ref CUST-HK-7 Wallet AlipayHK Status active")


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("pending", "the customer has not authorised it yet"),
        ("expired", "it has expired"),
        ("revoked", "it was revoked"),
        ("cancelled_by_customer", "the customer cancelled it in their wallet"),
        ("failed", "its authorisation failed, so it never became active"),
    ],
)
def test_where_no_revoke_is_possible_everybody_reads_why(app, client, login_as, status, why):
    agreement_id = add_agreement(app, status=status)
    login_as("viewer")
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert text_of(page, "no-revoke") == why and 'id="revoke-action"' not in page
    login_as("support")
    form = client.get(f"/agreements/{agreement_id}/revoke").get_data(as_text=True)
    assert text_of(form, "revoke-refused") == f"It cannot be revoked: {why}."
    assert 'name="reason"' not in form


# --- the form -------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_a_revoke_without_a_reason_is_refused_beside_the_field_and_nothing_is_stored(
    app, client, login_as, post, active, htmx
):
    login_as("support")
    before = stored(app, active)
    answer = post(f"/agreements/{active}/revoke", {"reason": "   "}, headers=HTMX if htmx else {})
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert text_of(body, "error-reason") == "Say why the agreement is revoked."
    assert 'aria-invalid="true"' in body and 'id="revoke-errors"' in body
    assert ("<html" in body) is not htmx
    assert stored(app, active)[1:] == before[1:]
    assert stored(app, active)[0].revoke_requested_at is None


def test_a_reason_first_shows_what_the_revoke_will_do_and_nothing_is_sent(
    app, client, login_as, post, active
):
    login_as("support")
    before = stored(app, active)
    answer = post(f"/agreements/{active}/revoke", {"reason": "Customer asked by phone"}, headers=HTMX)
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="revoke-area"')
    assert text_of(body, "revoke-summary") == (
        "Revoke the AlipayHK Auto Debit agreement of CUST-HK-7 at Antom: its token stops working at once."
    )
    assert '<input type="hidden" name="reason" value="Customer asked by phone">' in body
    assert 'name="confirmed" value="yes"' in body and 'name="confirmed" value="change"' in body
    after = stored(app, active)
    assert after[1:] == before[1:] and after[0].revoke_requested_at is None and after[0].status == "active"


def test_change_goes_back_to_the_form_with_the_reason_kept(client, login_as, post, active):
    login_as("support")
    answer = post(
        f"/agreements/{active}/revoke", {"reason": "Asked by phone", "confirmed": "change"}, headers=HTMX
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="revoke-confirm"' not in body
    assert re.search(r'<input[^>]*id="reason"[^>]*value="Asked by phone"', body)


def test_a_confirmed_revoke_of_an_agreement_revoked_meanwhile_is_refused_and_stores_nothing(
    app, client, login_as, post
):
    agreement_id = add_agreement(app, status="revoked", revoke_requested_at=ACTIVATED)
    login_as("support")
    before = stored(app, agreement_id)
    answer = post(f"/agreements/{agreement_id}/revoke", {"reason": "again", "confirmed": "yes"}, headers=HTMX)
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert text_of(body, "revoke-refused") == "It cannot be revoked: it was revoked."
    assert 'class="notice error-summary"' in body
    assert stored(app, agreement_id)[1:] == before[1:]


def test_a_revoke_asked_before_and_refused_is_said_on_the_form(app, client, login_as):
    agreement_id = add_agreement(app, revoke_requested_at=ACTIVATED, result_code="INVALID_SIGNATURE")
    with app.app_context():
        record_event(db.session, "agreement", agreement_id, "revoke_requested", {"reason": "asked"})
        record_event(
            db.session, "agreement", agreement_id, "revoke_failed", {"result_code": "INVALID_SIGNATURE"}
        )
        db.session.commit()
    login_as("support")
    body = client.get(f"/agreements/{agreement_id}/revoke").get_data(as_text=True)
    assert text_of(body, "revoke-asked-before") == (
        "A revoke was asked on 2026-03-02 14:30 HKT and Antom refused it (INVALID_SIGNATURE). "
        "Revoking again sends it again."
    )
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert text_of(page, "revoke-result") == (
        "refused: the agreement is still active. Antom answered INVALID_SIGNATURE"
    )


def test_the_customer_s_unbinding_shows_on_its_own_side_with_its_time_and_reason(app, client, login_as):
    agreement_id = add_agreement(
        app,
        status="cancelled_by_customer",
        cancelled_at=ACTIVATED + timedelta(days=2),
        cancel_reason="USER_UNBIND",
    )
    login_as("viewer")
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert text_of(page, "wallet-cancelled") == "2026-03-04 14:30:00"
    assert text_of(page, "wallet-cancel-reason") == "USER_UNBIND"
    assert text_of(page, "agreement-revoke") == "Nobody here has asked to revoke it."
    assert text_of(page, "no-revoke") == "the customer cancelled it in their wallet"


# --- through the simulator --------------------------------------------------------------------------


def revoke_over_http(sandboxed, agreement_id: int, reason: str, role: str = "support"):
    """Open the revoke form as staff of ``role``, send the reason, confirm; return the final answer."""
    browser = staff_browser(sandboxed, role)
    url = f"{sandboxed.url}/agreements/{agreement_id}/revoke"
    token = _CSRF_INPUT.search(browser.get(url, timeout=5).text).group(1)
    first = browser.post(url, data={"csrf_token": token, "reason": reason}, headers=HTMX, timeout=5)
    assert first.status_code == 200 and 'id="revoke-confirm"' in first.text
    done = browser.post(
        url, data={"csrf_token": token, "reason": reason, "confirmed": "yes"}, headers=HTMX, timeout=10
    )
    return browser, done


def test_a_confirmed_revoke_ends_the_agreement_and_the_page_says_who_when_and_why(sandboxed):
    agreement = authorised(sandboxed)

    browser, done = revoke_over_http(sandboxed, agreement.id, "Customer asked by phone")

    assert done.status_code == 200 and done.headers["HX-Redirect"] == f"/agreements/{agreement.id}"
    db.session.rollback()
    revoked = db.session.get(Agreement, agreement.id)
    assert (revoked.status, revoked.revoke_reason) == ("revoked", "Customer asked by phone")
    [audit] = db.session.scalars(select(AuditLog).where(AuditLog.action == "agreement.revoke_requested"))
    assert audit.actor_id == revoked.revoked_by_id and audit.object_id == str(agreement.id)
    page = browser.get(f"{sandboxed.url}/agreements/{agreement.id}", timeout=5).text
    assert "The agreement is revoked: it can no longer be charged." in page  # the flash
    assert (
        text_of(page, "revoke-by") == "Desk" and text_of(page, "revoke-reason") == "Customer asked by phone"
    )
    assert text_of(page, "revoke-result").startswith("revoked on ")
    assert text_of(page, "no-revoke") == "it was revoked"


def test_a_revoke_antom_refuses_says_so_and_leaves_the_agreement_active(sandboxed, monkeypatch):
    agreement = authorised(sandboxed)
    sign_with_a_stranger_key(sandboxed, monkeypatch)

    browser, done = revoke_over_http(sandboxed, agreement.id, "Customer asked by phone", role="manager")

    assert done.headers["HX-Redirect"] == f"/agreements/{agreement.id}"
    page = browser.get(f"{sandboxed.url}/agreements/{agreement.id}", timeout=5).text
    assert "Antom refused the revoke, so the agreement is still active: INVALID_SIGNATURE" in page
    assert text_of(page, "agreement-status") == "active"
    assert text_of(page, "revoke-result") == (
        "refused: the agreement is still active. Antom answered INVALID_SIGNATURE"
    )
    assert 'id="revoke-action"' in page  # it may be asked again
