"""Refund, cancel and approval forms as staff use them: roles, bad input, the confirmation step, one
request per form, and the approvals queue — against the served app and its simulators."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html import unescape

import pytest
import requests
from sqlalchemy import func
from sqlalchemy import select

from dashboard.audit.models import AuditLog
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.users import service as users
from dashboard.users.models import User
from tests.agreements.test_agreement_service import authorised
from tests.conftest import TEST_PASSWORD
from tests.conftest import skip_unless_postgresql

HTMX = {"HX-Request": "true"}
_REQUEST_ID = re.compile(r'name="request_id" type="hidden" value="([^"]+)"')
_LOGIN_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_PAGE_CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')


class Desk:
    """One member of staff's browser on the served app (over HTTP, as a browser would call it)."""

    def __init__(self, sandboxed, role: str, name: str):
        self.url = sandboxed.url
        email = f"{name.lower()}.{role}@staff.example"
        self.user: User = users.create_user(email, name, role, TEST_PASSWORD, must_change_password=False)
        db.session.commit()
        self.browser = requests.Session()
        login = self.browser.get(f"{self.url}/login", timeout=5).text
        form = {"csrf_token": _LOGIN_CSRF.search(login).group(1), "email": email, "password": TEST_PASSWORD}
        home = self.browser.post(f"{self.url}/login", data=form, timeout=5)
        self.csrf_token = _PAGE_CSRF.search(home.text).group(1)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.browser.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        form = {"csrf_token": self.csrf_token, **data}
        return self.browser.post(self.url + path, data=form, timeout=10, **kwargs)

    def request_id(self, path: str) -> str:
        """Open a form and return the request id it was given."""
        page = self.get(path)
        assert page.status_code == 200, page.status_code
        return _REQUEST_ID.search(page.text).group(1)


@pytest.fixture
def desk(sandboxed) -> Callable[[str, str], Desk]:
    return lambda role, name="Sam": Desk(sandboxed, role, name)


@pytest.fixture
def paid(sandboxed) -> Payment:
    """An Auto Debit of HK$400.01 that Antom took at once."""
    agreement = authorised(sandboxed)
    return service.charge_agreement(agreement.id, Money(40001, "HKD"), "Plan")


def refunds_of(payment_id: int) -> list[Refund]:
    db.session.rollback()
    return list(db.session.scalars(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)))


def text(response: requests.Response) -> str:
    return unescape(response.text)


def words(response: requests.Response) -> str:
    """Return what a reader sees: the text without tags, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split()).replace(" .", ".")


def refund_form(desk: Desk, payment_id: int, **fields: str) -> dict[str, str]:
    url = f"/payments/{payment_id}/refund"
    return {"request_id": desk.request_id(url), "currency": "HKD", "reason": "Customer request", **fields}


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "finance", "admin"])
def test_only_support_and_managers_move_money(sandboxed, desk, paid, role):
    outsider = desk(role)
    form = {
        "request_id": "rf-x",
        "currency": "HKD",
        "amount": "1.00",
        "reason": "Goodwill",
        "confirmed": "yes",
    }

    for method, url in (
        ("GET", f"/payments/{paid.id}/refund"),
        ("POST", f"/payments/{paid.id}/refund"),
        ("GET", f"/payments/{paid.id}/cancel"),
        ("POST", f"/payments/{paid.id}/cancel"),
        ("GET", "/approvals/"),
        ("POST", "/approvals/refund/1"),
    ):
        answer = outsider.get(url) if method == "GET" else outsider.post(url, form)
        assert answer.status_code == 403, (method, url)
    assert refunds_of(paid.id) == []
    assert db.session.scalar(select(func.count(Cancel.id))) == 0
    page = text(outsider.get(f"/payments/{paid.id}"))
    assert 'id="refund-action"' not in page and 'id="cancel-action"' not in page


def test_support_may_refund_and_cancel_but_not_approve(sandboxed, desk, paid):
    support = desk("support")
    page = text(support.get(f"/payments/{paid.id}"))

    assert f'href="/payments/{paid.id}/refund"' in page and f'href="/payments/{paid.id}/cancel"' in page
    assert support.get("/approvals/").status_code == 403
    assert "Approvals" not in page


# --- the refund form ----------------------------------------------------------------------------


def test_the_form_previews_the_refund_and_defaults_to_what_is_left(sandboxed, desk, paid):
    page = text(desk("support").get(f"/payments/{paid.id}/refund"))

    assert 'value="400.01"' in page  # the refundable remainder, in major units
    assert '<dd id="preview-refundable">HK$400.01</dd>' in page
    assert "365 days left" in page
    assert '<dd id="preview-partial">allowed</dd>' in page
    assert "from HK$5,000.00 a second manager approves" in page
    assert '<option value="Duplicate payment">' in page and '<option value="Other">' in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "0"}, "amount", "Enter an amount above zero."),
        ({"amount": "-5"}, "amount", "Enter an amount above zero."),
        ({"amount": "1.005"}, "amount", "HKD allows at most 2 decimal places"),
        ({"amount": "ten"}, "amount", "not an amount"),
        ({"amount": "400.02"}, "amount", "At most HK$400.01 can be refunded now."),
        ({"amount": ""}, "amount", "Enter the amount to refund."),
        ({"amount": "1.00", "currency": "USD"}, "currency", "Refunds are in the payment's currency, HKD."),
        ({"amount": "1.00", "reason": ""}, "reason", "Choose why the customer is refunded."),
        ({"amount": "1.00", "reason": "Because"}, "reason", "Not a valid choice"),
        ({"amount": "1.00", "reason": "Other"}, "note", 'Say why: "Other" needs a note.'),
        ({"amount": "1.00", "request_id": ""}, "request_id", "This form lost its request id"),
        (
            {"amount": "1.00", "request_id": "<meta http-equiv=refresh>"},
            "request_id",
            "This form lost its request id",
        ),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(
    sandboxed, desk, paid, changes, field, message
):
    support = desk("support")
    form = {**refund_form(support, paid.id), **changes}

    answer = support.post(f"/payments/{paid.id}/refund", {**form, "confirmed": "yes"}, headers=HTMX)

    assert answer.status_code == 422
    page = text(answer)
    assert f'id="error-{field}"' in page or field in ("currency", "request_id")
    assert message in page
    assert 'class="error-summary"' in page
    assert refunds_of(paid.id) == []


def test_a_refund_is_confirmed_before_it_is_sent_and_the_same_form_refunds_once(sandboxed, desk, paid):
    support = desk("support")
    form = refund_form(support, paid.id, amount="120.01", reason="Other", note="Returned one item")

    confirm = support.post(f"/payments/{paid.id}/refund", form, headers=HTMX)
    assert confirm.status_code == 200
    page = text(confirm)
    assert "Refund HK$120.01 of HK$400.01 to the customer's AlipayHK wallet via Antom." in page
    assert "It is sent to Antom at once and cannot be undone." in page
    assert refunds_of(paid.id) == []  # nothing moves before the confirmation

    done = support.post(f"/payments/{paid.id}/refund", {**form, "confirmed": "yes"}, headers=HTMX)
    assert done.headers["HX-Redirect"] == f"/payments/{paid.id}"
    [refund] = refunds_of(paid.id)
    assert (refund.status, refund.amount, refund.reason, refund.note) == (
        "succeeded",
        Money(12001, "HKD"),
        "Other",
        "Returned one item",
    )
    assert refund.request_id == form["request_id"] and refund.requested_by_id == support.user.id
    assert "Refunded HK$120.01 to the customer via Antom." in text(support.get(f"/payments/{paid.id}"))

    # A double click, a retry or the back button sends the same form again: the same refund.
    again = support.post(f"/payments/{paid.id}/refund", {**form, "confirmed": "yes"}, headers=HTMX)
    assert again.headers["HX-Redirect"] == f"/payments/{paid.id}"
    assert len(refunds_of(paid.id)) == 1
    assert "This form was sent already; nothing was sent again." in text(support.get(f"/payments/{paid.id}"))


def test_change_goes_back_to_the_fields_as_they_were(sandboxed, desk, paid):
    support = desk("support")
    form = refund_form(support, paid.id, amount="12.00")

    back = support.post(f"/payments/{paid.id}/refund", {**form, "confirmed": "change"}, headers=HTMX)

    assert back.status_code == 200
    assert 'value="12.00"' in text(back) and 'id="refund-continue"' in text(back)
    assert refunds_of(paid.id) == []


def test_a_refund_in_flight_must_be_acknowledged_before_another(sandboxed, desk, paid):
    support = desk("support")
    first = refund_form(support, paid.id, amount="100.02")  # 02: Antom answers later
    second = refund_form(support, paid.id, amount="50.01")
    support.post(f"/payments/{paid.id}/refund", {**first, "confirmed": "yes"})
    assert [r.status for r in refunds_of(paid.id)] == ["processing"]

    refused = support.post(f"/payments/{paid.id}/refund", {**second, "confirmed": "yes"}, headers=HTMX)
    assert refused.status_code == 422
    assert "Refunds of HK$100.02 are in flight or awaiting approval" in text(refused)
    assert len(refunds_of(paid.id)) == 1

    acknowledged = {**second, "also_in_flight": "y"}
    assert "Check the refund" in text(support.post(f"/payments/{paid.id}/refund", acknowledged, headers=HTMX))
    support.post(f"/payments/{paid.id}/refund", {**acknowledged, "confirmed": "yes"}, headers=HTMX)
    assert [r.amount_minor for r in refunds_of(paid.id)] == [10002, 5001]


def test_a_refused_refund_shows_the_provider_code_and_the_next_step(sandboxed, desk, paid):
    support = desk("support")
    form = refund_form(support, paid.id, amount="10.11")  # 11: Antom refuses for the merchant's balance

    support.post(f"/payments/{paid.id}/refund", {**form, "confirmed": "yes"}, headers=HTMX)

    [refund] = refunds_of(paid.id)
    assert (refund.status, refund.result_code) == ("failed", "MERCHANT_BALANCE_NOT_ENOUGH")
    page = text(support.get(f"/payments/{paid.id}"))
    assert "Antom refused the refund of HK$10.11: MERCHANT_BALANCE_NOT_ENOUGH" in page
    [audited] = db.session.scalars(select(AuditLog).where(AuditLog.action == "payment.refund_failed")).all()
    assert (audited.actor_id, audited.object_id) == (support.user.id, str(paid.id))
    assert audited.after["result_code"] == "MERCHANT_BALANCE_NOT_ENOUGH"


def test_a_payment_that_cannot_be_refunded_says_why_instead_of_a_form(sandboxed, desk):
    agreement = authorised(sandboxed)
    failed = service.charge_agreement(agreement.id, Money(10036, "HKD"), "Plan")
    support = desk("support")

    assert "No refund now: a failed payment holds no money to refund." in words(
        support.get(f"/payments/{failed.id}")
    )
    form_page = text(support.get(f"/payments/{failed.id}/refund"))
    assert "Nothing can be refunded now: a failed payment holds no money to refund." in form_page
    assert 'id="refund-form"' in form_page and 'id="amount"' not in form_page
    refused = support.post(
        f"/payments/{failed.id}/refund",
        {
            "request_id": "rf-late",
            "currency": "HKD",
            "amount": "1.00",
            "reason": "Goodwill",
            "confirmed": "yes",
        },
    )
    assert refused.status_code == 422 and refunds_of(failed.id) == []


def test_a_refund_at_the_threshold_says_it_waits_and_then_waits(sandboxed, desk):
    agreement = authorised(sandboxed)
    large = service.charge_agreement(agreement.id, Money(700001, "HKD"), "Sofa")
    support = desk("support")
    form = refund_form(support, large.id, amount="5000.00")

    confirm = text(support.post(f"/payments/{large.id}/refund", form, headers=HTMX))
    assert "It waits for a second manager's approval (refunds of HK$5,000.00 or more)" in confirm

    support.post(f"/payments/{large.id}/refund", {**form, "confirmed": "yes"}, headers=HTMX)
    [refund] = refunds_of(large.id)
    assert refund.status == "awaiting_approval"
    assert "waits for a second manager's approval" in text(support.get(f"/payments/{large.id}"))


# --- cancels ------------------------------------------------------------------------------------


def test_a_cancel_is_confirmed_then_sent_once(sandboxed, desk, paid):
    support = desk("support")
    request_id = support.request_id(f"/payments/{paid.id}/cancel")
    form = {"request_id": request_id, "reason": "Duplicate order"}

    confirm = words(support.post(f"/payments/{paid.id}/cancel", form, headers=HTMX))
    assert "Cancel the payment of HK$400.01 at Antom" in confirm
    assert db.session.scalar(select(func.count(Cancel.id))) == 0

    done = support.post(f"/payments/{paid.id}/cancel", {**form, "confirmed": "yes"}, headers=HTMX)
    assert done.headers["HX-Redirect"] == f"/payments/{paid.id}"
    db.session.rollback()
    assert db.session.get(Payment, paid.id).status == "cancelled"
    again = support.post(f"/payments/{paid.id}/cancel", {**form, "confirmed": "yes"}, headers=HTMX)
    assert again.headers["HX-Redirect"] == f"/payments/{paid.id}"
    assert db.session.scalar(select(func.count(Cancel.id))) == 1


def test_a_worldpay_sale_has_no_cancel_and_offers_a_refund_instead(sandboxed, desk):
    sale = service.create_alipayhk_payment(Money(5000, "HKD"), "Order 1")
    support = desk("support")

    page = words(support.get(f"/payments/{sale.id}"))
    assert "No cancel: Worldpay has no cancel for AlipayHK payments: refund them instead." in page
    assert "Cancel payment…" not in page
    refused = support.post(
        f"/payments/{sale.id}/cancel", {"request_id": "cx-wp", "reason": "Duplicate", "confirmed": "yes"}
    )
    assert refused.status_code == 422
    assert "refund them instead" in text(refused)
    assert db.session.scalar(select(func.count(Cancel.id))) == 0


# --- approvals ----------------------------------------------------------------------------------


@pytest.fixture
def waiting_refund(sandboxed, desk) -> tuple[Desk, Refund]:
    agreement = authorised(sandboxed)
    large = service.charge_agreement(agreement.id, Money(700001, "HKD"), "Sofa")
    requester = desk("manager", "Mei")
    form = refund_form(requester, large.id, amount="6000.01", reason="Goodwill")
    requester.post(f"/payments/{large.id}/refund", {**form, "confirmed": "yes"})
    [refund] = refunds_of(large.id)
    return requester, refund


def test_the_queue_shows_what_waits_and_the_requester_cannot_decide(sandboxed, desk, waiting_refund):
    requester, refund = waiting_refund

    page = text(requester.get("/approvals/"))
    assert "Refund HK$6,000.01 of HK$7,000.01 to the customer's AlipayHK wallet via Antom." in page
    assert "You asked for this: another manager decides on it." in page
    assert f'id="approve-refund-{refund.id}"' not in page
    assert '<span class="nav-count" id="nav-count-approvals">1<span class="visually-hidden"> waiting' in page

    refused = requester.post(
        f"/approvals/refund/{refund.id}",
        {f"refund-{refund.id}-decision": "approve", f"refund-{refund.id}-confirmed": "yes"},
        headers=HTMX,
    )
    assert refused.status_code == 422
    assert "You asked for this: another manager decides on it." in text(refused)
    assert refunds_of(refund.payment_id)[0].status == "awaiting_approval"


def test_a_second_manager_approves_after_confirming(sandboxed, desk, waiting_refund):
    _, refund = waiting_refund
    approver = desk("manager", "Max")
    prefix = f"refund-{refund.id}-"
    url = f"/approvals/refund/{refund.id}"

    confirm = text(
        approver.post(url, {prefix + "decision": "approve", prefix + "comment": "Fine"}, headers=HTMX)
    )
    assert "Approve and send HK$6,000.01" in confirm
    assert refunds_of(refund.payment_id)[0].status == "awaiting_approval"

    done = approver.post(
        url,
        {prefix + "decision": "approve", prefix + "comment": "Fine", prefix + "confirmed": "yes"},
        headers=HTMX,
    )
    assert done.headers["HX-Redirect"] == "/approvals/"
    [sent] = refunds_of(refund.payment_id)
    assert (sent.status, sent.approved_by_id, sent.decision_comment) == (
        "succeeded",
        approver.user.id,
        "Fine",
    )
    assert "Nothing waits for approval." in text(approver.get("/approvals/"))
    assert "approved by Max" in text(approver.get(f"/payments/{refund.payment_id}"))


def test_a_rejection_needs_a_comment(sandboxed, desk, waiting_refund):
    _, refund = waiting_refund
    approver = desk("manager", "Max")
    prefix = f"refund-{refund.id}-"
    url = f"/approvals/refund/{refund.id}"

    missing = approver.post(url, {prefix + "decision": "reject", prefix + "confirmed": "yes"}, headers=HTMX)
    assert missing.status_code == 422
    assert "Say why it is rejected" in text(missing)

    approver.post(
        url, {prefix + "decision": "reject", prefix + "comment": "Ask finance", prefix + "confirmed": "yes"}
    )
    [rejected] = refunds_of(refund.payment_id)
    assert (rejected.status, rejected.decision_comment) == ("rejected", "Ask finance")
    late = approver.post(url, {prefix + "decision": "approve", prefix + "confirmed": "yes"}, headers=HTMX)
    assert late.headers["HX-Redirect"] == "/approvals/"
    assert "another manager decided on it" in text(approver.get("/approvals/"))


# --- staff at the same payment at once (PostgreSQL: row locks, not a serialised writer) ----------


def _at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Send every call at the same moment from its own thread; return the answers in order."""
    start = threading.Barrier(len(calls))

    def send(call: Callable[[], requests.Response]) -> requests.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def test_twenty_staff_refunding_sixty_percent_at_once_never_refund_more_than_was_paid(sandboxed, desk, paid):
    skip_unless_postgresql(sandboxed.app, "concurrent refunds")
    desks = [desk("support", f"Desk{n}") for n in range(20)]
    forms = [refund_form(d, paid.id, amount="240.01", also_in_flight="y", confirmed="yes") for d in desks]

    answers = _at_once(
        [
            lambda d=d, f=f: d.post(f"/payments/{paid.id}/refund", f, headers=HTMX)
            for d, f in zip(desks, forms, strict=True)
        ]
    )

    refunds = refunds_of(paid.id)
    assert sum(r.amount_minor for r in refunds) <= paid.amount_minor
    assert [r.amount_minor for r in refunds] == [24001]
    assert sorted(a.status_code for a in answers) == [200] + [422] * 19
    refused = [words(a) for a in answers if a.status_code == 422]
    assert all("At most HK$160.00 can be refunded now." in page for page in refused)
    assert sum("HX-Redirect" in a.headers for a in answers) == 1


def test_the_same_form_sent_twice_at_once_refunds_once(sandboxed, desk, paid):
    skip_unless_postgresql(sandboxed.app, "concurrent refunds")
    support = desk("support")
    form = refund_form(support, paid.id, amount="100.01", confirmed="yes")
    second = requests.Session()
    second.cookies.update(support.browser.cookies)

    def again() -> requests.Response:
        data = {"csrf_token": support.csrf_token, **form}
        return second.post(f"{support.url}/payments/{paid.id}/refund", data=data, headers=HTMX, timeout=10)

    answers = _at_once([lambda: support.post(f"/payments/{paid.id}/refund", form, headers=HTMX), again])

    assert [r.request_id for r in refunds_of(paid.id)] == [form["request_id"]]
    assert [a.headers.get("HX-Redirect") for a in answers] == [f"/payments/{paid.id}"] * 2
