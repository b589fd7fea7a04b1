"""Step-up before money moves: every money-moving form's confirmation step asks a user with an
authenticator app for a fresh code once their last one is older than STEP_UP_MINUTES, and sends
nothing until a right one is given — against the served app and its simulators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func
from sqlalchemy import select

from dashboard.ach.models import AchBatch
from dashboard.agreements.models import Agreement
from dashboard.audit.models import AuditLog
from dashboard.auth.service import MAX_FAILED_LOGINS
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.users.models import User
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import upload
from tests.agreements.test_agreement_service import authorised
from tests.conftest import TEST_PASSWORD
from tests.factories import code_now
from tests.factories import make_second_factor
from tests.web.test_declaration_forms import declaration_form
from tests.web.test_declaration_forms import declarations_of
from tests.web.test_declaration_forms import paid_by
from tests.web.test_money_forms import _LOGIN_CSRF
from tests.web.test_money_forms import _PAGE_CSRF
from tests.web.test_money_forms import HTMX
from tests.web.test_money_forms import Desk
from tests.web.test_money_forms import _at_once
from tests.web.test_money_forms import refund_form
from tests.web.test_money_forms import refunds_of
from tests.web.test_money_forms import text

#: The setting's default: a check older than this asks for a fresh code.
STEP_UP_MINUTES = 15


class EnrolledDesk(Desk):
    """Staff with an authenticator app, signed in with their password and a code (a fresh check)."""

    def __init__(self, sandboxed, role: str, name: str = "Kit"):
        super().__init__(sandboxed, role, name)  # the password alone: the app is not set up yet
        self.secret = make_second_factor(db.session, self.user.id)
        self.post("/logout", {})
        login = self.get("/login").text
        form = {
            "csrf_token": _LOGIN_CSRF.search(login)[1],
            "email": self.user.email,
            "password": TEST_PASSWORD,
        }
        code_page = self.browser.post(f"{self.url}/login", data=form, timeout=5)
        assert code_page.url.endswith("/login/code"), code_page.url
        form = {"csrf_token": _LOGIN_CSRF.search(code_page.text)[1], "code": code_now(self.secret)}
        home = self.browser.post(f"{self.url}/login/code", data=form, timeout=5)
        assert home.url == f"{self.url}/", home.url
        self.csrf_token = _PAGE_CSRF.search(home.text)[1]


@dataclass
class MoneyForm:
    """One money-moving form, opened and filled in by ``desk``."""

    url: str
    data: dict[str, str]
    moved: Callable[[], bool]
    #: The prefix of the form's field names (the approvals queue holds one form per request).
    prefix: str = ""


def refund(sandboxed, desk: Desk) -> MoneyForm:
    paid = service.charge_agreement(authorised(sandboxed).id, Money(40001, "HKD"), "Plan")
    data = refund_form(desk, paid.id, amount="100.00")
    return MoneyForm(f"/payments/{paid.id}/refund", data, lambda: refunds_of(paid.id) != [])


def cancel(sandboxed, desk: Desk) -> MoneyForm:
    paid = service.charge_agreement(authorised(sandboxed).id, Money(40001, "HKD"), "Plan")
    url = f"/payments/{paid.id}/cancel"
    data = {"request_id": desk.request_id(url), "reason": "Duplicate order"}

    def moved() -> bool:
        db.session.rollback()
        return db.session.scalar(select(func.count(Cancel.id)).where(Cancel.payment_id == paid.id)) > 0

    return MoneyForm(url, data, moved)


def revoke(sandboxed, desk: Desk) -> MoneyForm:
    agreement = authorised(sandboxed)

    def moved() -> bool:
        db.session.rollback()
        return db.session.get(Agreement, agreement.id).status != "active"

    return MoneyForm(f"/agreements/{agreement.id}/revoke", {"reason": "Customer asked by phone"}, moved)


def charge(sandboxed, desk: Desk) -> MoneyForm:
    agreement = authorised(sandboxed)
    url = f"/agreements/{agreement.id}/charge"
    data = {"request_id": desk.request_id(url), "amount": "100.01", "currency": "HKD", "description": "Plan"}

    def moved() -> bool:
        db.session.rollback()
        charged = select(func.count(Payment.id)).where(Payment.agreement_id == agreement.id)
        return db.session.scalar(charged) > 0

    return MoneyForm(url, data, moved)


def _decision(sandboxed, decision: str) -> MoneyForm:
    large = service.charge_agreement(authorised(sandboxed).id, Money(700001, "HKD"), "Sofa")
    requester = Desk(sandboxed, "manager", "Mei")
    form = refund_form(requester, large.id, amount="6000.01", reason="Goodwill")
    requester.post(f"/payments/{large.id}/refund", {**form, "confirmed": "yes"})
    [waiting] = refunds_of(large.id)
    prefix = f"refund-{waiting.id}-"
    data = {prefix + "decision": decision, prefix + "comment": "Checked with the customer"}
    return MoneyForm(
        f"/approvals/refund/{waiting.id}",
        data,
        lambda: refunds_of(large.id)[0].status != "awaiting_approval",
        prefix,
    )


def approve(sandboxed, desk: Desk) -> MoneyForm:
    return _decision(sandboxed, "approve")


def reject(sandboxed, desk: Desk) -> MoneyForm:
    return _decision(sandboxed, "reject")


def submit_payroll(sandboxed, desk: Desk) -> MoneyForm:
    batch_id = upload([payee(1)], desk.user.id).batch_id
    db.session.commit()
    sha256 = db.session.get(AchBatch, batch_id).sha256

    def moved() -> bool:
        db.session.rollback()
        return db.session.get(AchBatch, batch_id).status == "awaiting_approval"

    return MoneyForm(f"/ach/batches/{batch_id}/submit", {"acknowledge": "y", "sha256": sha256}, moved)


def declare(sandboxed, desk: Desk) -> MoneyForm:
    paid = paid_by(sandboxed, "ALIPAY_CN")
    data = declaration_form(desk, paid.id)
    return MoneyForm(f"/payments/{paid.id}/declare", data, lambda: declarations_of(paid.id) != [])


#: Every money-moving form and the role that sends it.
ACTIONS = {
    "refund": ("manager", refund),
    "cancel": ("manager", cancel),
    "revoke": ("support", revoke),
    "charge": ("support", charge),
    "approve": ("manager", approve),
    "reject": ("manager", reject),
    "submit payroll": ("finance", submit_payroll),
    "declare to customs": ("finance", declare),
}
EACH_ACTION = pytest.mark.parametrize("action", ACTIONS)


def opened(sandboxed, action: str) -> tuple[EnrolledDesk, MoneyForm]:
    role, prepare = ACTIONS[action]
    desk = EnrolledDesk(sandboxed, role)
    return desk, prepare(sandboxed, desk)


def step_up_failures(user: User) -> int:
    db.session.rollback()
    failed = select(func.count(AuditLog.seq)).where(
        AuditLog.action == "auth.step_up_failed", AuditLog.object_id == str(user.id)
    )
    return db.session.scalar(failed)


@EACH_ACTION
def test_a_fresh_check_confirms_without_asking_again(sandboxed, action):
    desk, form = opened(sandboxed, action)

    confirming = desk.post(form.url, form.data, headers=HTMX)
    assert confirming.status_code == 200 and 'class="confirm-step"' in confirming.text
    assert "step-up-code" not in confirming.text

    done = desk.post(form.url, {**form.data, form.prefix + "confirmed": "yes"}, headers=HTMX)
    assert "HX-Redirect" in done.headers, done.status_code
    assert form.moved()


@EACH_ACTION
def test_a_stale_check_asks_for_a_code_and_sends_nothing_until_a_right_one(sandboxed, fake_clock, action):
    desk, form = opened(sandboxed, action)
    fake_clock.advance(minutes=STEP_UP_MINUTES, seconds=1)
    confirmed = {**form.data, form.prefix + "confirmed": "yes"}
    code_field = form.prefix + "step_up_code"

    confirming = text(desk.post(form.url, form.data, headers=HTMX))
    assert "Authenticator code" in confirming and "step-up-code" in confirming
    assert "Your last code was given more than 15 minutes ago" in confirming

    missing = desk.post(form.url, confirmed, headers=HTMX)
    assert missing.status_code == 422
    assert "Enter the 6-digit code from your authenticator app." in text(missing)
    assert 'class="confirm-step"' in missing.text and 'class="error-summary"' in missing.text
    assert not form.moved() and step_up_failures(desk.user) == 0

    wrong = desk.post(form.url, {**confirmed, code_field: code_now(desk.secret, steps=5)}, headers=HTMX)
    assert wrong.status_code == 422 and "That code is wrong" in text(wrong)
    assert not form.moved() and step_up_failures(desk.user) == 1

    done = desk.post(form.url, {**confirmed, code_field: code_now(desk.secret)}, headers=HTMX)
    assert "HX-Redirect" in done.headers, done.status_code
    assert form.moved()


def test_a_right_code_keeps_the_check_fresh_for_the_next_form(sandboxed, fake_clock):
    desk, first = opened(sandboxed, "refund")
    fake_clock.advance(minutes=STEP_UP_MINUTES + 1)
    confirmed = {**first.data, "confirmed": "yes", "step_up_code": code_now(desk.secret)}
    assert "HX-Redirect" in desk.post(first.url, confirmed, headers=HTMX).headers

    fake_clock.advance(minutes=STEP_UP_MINUTES - 1)
    second = cancel(sandboxed, desk)

    assert "step-up-code" not in desk.post(second.url, second.data, headers=HTMX).text
    desk.post(second.url, {**second.data, "confirmed": "yes"}, headers=HTMX)
    assert second.moved()


def test_support_without_an_app_refunds_without_a_code(sandboxed, fake_clock, monkeypatch):
    monkeypatch.setitem(sandboxed.app.config, "TWO_FACTOR_REQUIRED_ROLES", frozenset({"manager", "finance"}))
    desk = Desk(sandboxed, "support", "Sam")
    form = refund(sandboxed, desk)
    fake_clock.advance(minutes=STEP_UP_MINUTES + 1)

    assert "step-up-code" not in desk.post(form.url, form.data, headers=HTMX).text
    done = desk.post(form.url, {**form.data, "confirmed": "yes"}, headers=HTMX)

    assert "HX-Redirect" in done.headers and form.moved()


def test_discarding_a_draft_batch_moves_no_money_and_asks_no_code(sandboxed, fake_clock):
    desk = EnrolledDesk(sandboxed, "finance")
    batch_id = upload([payee(1)], desk.user.id).batch_id
    db.session.commit()
    fake_clock.advance(minutes=STEP_UP_MINUTES + 1)

    done = desk.post(f"/ach/batches/{batch_id}/discard", {"confirmed": "yes"}, headers=HTMX)

    assert "HX-Redirect" in done.headers
    db.session.rollback()
    assert db.session.get(AchBatch, batch_id).status == "discarded"


def test_wrong_step_up_codes_lock_the_account_and_sign_out(sandboxed, fake_clock):
    desk, form = opened(sandboxed, "cancel")
    fake_clock.advance(minutes=STEP_UP_MINUTES + 1)
    confirmed = {**form.data, "confirmed": "yes"}
    for steps in range(5, 5 + MAX_FAILED_LOGINS - 1):
        refused = desk.post(
            form.url, {**confirmed, "step_up_code": code_now(desk.secret, steps)}, headers=HTMX
        )
        assert refused.status_code == 422

    locked = desk.post(form.url, {**confirmed, "step_up_code": code_now(desk.secret, 20)}, headers=HTMX)

    assert locked.headers["HX-Redirect"] == "/login"
    assert not form.moved()
    assert "Too many wrong codes: you are signed out" in text(desk.get("/login"))
    assert desk.get("/payments/").url.startswith(f"{sandboxed.url}/login")


def test_one_code_sent_with_two_forms_at_once_lets_one_through(sandboxed, fake_clock):
    desk, first = opened(sandboxed, "cancel")
    second = cancel(sandboxed, desk)
    fake_clock.advance(minutes=STEP_UP_MINUTES + 1)
    code = code_now(desk.secret)

    def confirm(form: MoneyForm) -> Callable[[], object]:
        return lambda: desk.post(
            form.url, {**form.data, "confirmed": "yes", "step_up_code": code}, headers=HTMX
        )

    answers = _at_once([confirm(first), confirm(second)])

    assert sorted("HX-Redirect" in answer.headers for answer in answers) == [False, True]
    assert sorted(answer.status_code for answer in answers) == [200, 422]
    assert [first.moved(), second.moved()].count(True) == 1
