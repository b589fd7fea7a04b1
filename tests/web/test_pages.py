"""Health check, security headers, error pages, fragments rendered alone, navigation by role."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask_sqlalchemy.session import Session as FlaskSession
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from dashboard.ach.forms import BatchFilterForm
from dashboard.ach.forms import DiscardForm
from dashboard.ach.forms import SubmitForm
from dashboard.ach.forms import UploadForm
from dashboard.ach.models import AchBatch
from dashboard.agreements.forms import AgreementFilterForm
from dashboard.agreements.forms import ChargeForm
from dashboard.agreements.forms import RevokeForm
from dashboard.agreements.models import Agreement
from dashboard.agreements.queries import AgreementDetail
from dashboard.api.forms import ApiKeyForm
from dashboard.approvals.forms import DecisionForm
from dashboard.approvals.kinds import Waiting
from dashboard.audit.forms import AuditFilterForm
from dashboard.auth.access import build_access_table
from dashboard.auth.access import public
from dashboard.auth.forms import CodeForm
from dashboard.auth.forms import EmptyForm
from dashboard.auth.forms import LoginForm
from dashboard.auth.forms import PasswordChangeForm
from dashboard.auth.forms import SignInCodeForm
from dashboard.auth.second_factor import Enrolment
from dashboard.declarations.forms import DeclarationForm
from dashboard.events.queries import Timeline
from dashboard.extensions import db
from dashboard.listing import Cursor
from dashboard.listing import Page
from dashboard.money import Money
from dashboard.notifications.forms import NotificationFilterForm
from dashboard.notifications.models import Notification
from dashboard.notifications.queries import NotificationDetail
from dashboard.payments.forms import CancelForm
from dashboard.payments.forms import PaymentFilterForm
from dashboard.payments.forms import RefundForm
from dashboard.payments.models import Payment
from dashboard.payments.queries import PaymentDetail
from dashboard.payments.refunds import RefundEligibility
from dashboard.reports.forms import ReportFilterForm
from dashboard.reports.payroll_figures import SECTION as PAYROLL
from dashboard.reports.payroll_figures import PayrollFigures
from dashboard.reports.ranges import RangeKey
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.ranges import ReportRange
from dashboard.reports.sections import SECTIONS
from dashboard.settlements.forms import BatchFilterForm as SettlementFilterForm
from dashboard.settlements.forms import ImportForm
from dashboard.settlements.forms import NoteForm
from dashboard.settlements.models import SettlementResult
from dashboard.users.forms import DisableForm
from dashboard.users.forms import UserCreateForm
from dashboard.users.models import User
from tests.factories import make_payment
from tests.factories import make_refund

ROOT = Path(__file__).resolve().parents[2]
NOON = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)

# --- health ------------------------------------------------------------------------------------


def test_healthz_reports_database_queue_and_worker(client, run_jobs):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["queue_depth"] == 0
    assert body["worker"] in {"ok", "stale", "never"}
    assert "worker_last_heartbeat" in body


def test_healthz_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable(self, *args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(FlaskSession, "execute", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["database"] == "error: OperationalError"
    assert "refused" not in response.get_data(as_text=True)  # no internals leak


def test_overview_shows_system_health(client, login_as):
    login_as("viewer")
    page = client.get("/").get_data(as_text=True)
    assert "<dt>Database</dt><dd>reachable</dd>" in page
    assert "never started" in page


# --- security headers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login", 200), ("/healthz", 200), ("/", 302), ("/no/such/page", 404), ("/static/css/app.css", 200)],
)
def test_security_headers_on_every_response(client, path, status):
    response = client.get(path)
    response.close()
    assert response.status_code == status
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert not re.search(r"https?://", csp), "CSP names a third-party origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_html_pages_are_not_cached(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_http_only_and_same_site_lax(client, create_user, post):
    user = create_user("viewer")
    response = post("/login", {"email": user.email, "password": "correct horse battery"})
    cookie = response.headers["Set-Cookie"]
    assert "back_office_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# --- error pages -------------------------------------------------------------------------------


def test_404_is_a_full_page_for_browsers(client, login_as):
    login_as("viewer")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<html" in page and "<h1>Not found</h1>" in page
    assert "HX-Retarget" not in response.headers


def test_404_is_a_flash_fragment_for_htmx(client, login_as):
    login_as("viewer")
    response = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#flash"
    assert response.headers["HX-Reswap"] == "innerHTML"
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "There is nothing here." in body
    assert "HX-Request" in response.headers["Vary"]


def test_405_page_names_the_methods_the_address_takes(client, login_as):
    login_as("viewer")
    response = client.delete("/payments/")
    assert response.status_code == 405
    assert "That action is not available here." in response.get_data(as_text=True)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}


def test_403_for_htmx_is_a_flash_fragment(client, login_as):
    login_as("viewer")
    response = client.get("/admin/users/", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#flash"
    assert "You do not have access to this." in response.get_data(as_text=True)


def test_a_crash_rolls_back_and_renders_the_error_page(app, client, monkeypatch):
    def crashing_view():
        db.session.add(User(email="half@staff.example", name="Half", role="viewer", password_hash="x"))
        db.session.flush()
        raise RuntimeError("the view fell over")

    monkeypatch.setitem(app.view_functions, "home.healthz", crashing_view)
    response = client.get("/healthz")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "the view fell over" not in page
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "half@staff.example")) is None

    htmx = client.get("/healthz", headers={"HX-Request": "true"})
    assert htmx.status_code == 500
    assert htmx.headers["HX-Retarget"] == "#flash"


@pytest.fixture
def racing_app(make_app):
    """An app with one more page: it saves a payment that a colleague changed after it was read."""
    application = make_app()

    @public
    def cancel_as_read(payment_id: int):
        payment = db.session.get(Payment, payment_id)
        db.session.expunge(payment)
        db.session.rollback()  # the read is over, as between showing a page and posting its form
        with Session(db.engine) as colleague:
            colleague.get(Payment, payment_id).status = "failed"
            colleague.commit()
        db.session.add(User(email="half@staff.example", name="Half", role="viewer", password_hash="x"))
        db.session.add(payment)
        payment.status = "cancelled"
        db.session.flush()  # UPDATE … WHERE version = the version read: no row matches
        return "saved"

    application.add_url_rule("/race/<int:payment_id>", view_func=cancel_as_read)
    application.extensions["access_table"] = build_access_table(application)
    return application


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_concurrent_update_answers_409_and_stores_nothing(racing_app, htmx):
    with racing_app.app_context():
        payment_id = make_payment(db.session).id
        db.session.commit()

    headers = {"HX-Request": "true"} if htmx else {}
    response = racing_app.test_client().get(f"/race/{payment_id}", headers=headers)

    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Somebody changed this at the same time. Reload to see the latest state." in body
    assert ("<html" in body) is not htmx
    assert response.headers.get("HX-Retarget") == ("#flash" if htmx else None)
    with racing_app.app_context():
        assert db.session.get(Payment, payment_id).status == "failed"  # the colleague's change stands
        assert db.session.scalar(select(User).where(User.email == "half@staff.example")) is None


# --- fragments ---------------------------------------------------------------------------------


def declared_fragments() -> set[tuple[str, str]]:
    """Find every render_page/render_form("template", "block", …) call in the package."""
    pattern = re.compile(r'render_(?:page|form)\(\s*"([^"]+)",\s*"([^"]+)"')
    found = set()
    for source in (ROOT / "dashboard").rglob("*.py"):
        found.update(pattern.findall(source.read_text()))
    return found


REPORT_FILTERS = ReportFilters(
    ReportRange(RangeKey.TODAY, NOON.date(), NOON.date(), ZoneInfo("Asia/Hong_Kong")), currency="HKD"
)

FRAGMENT_CONTEXT = {
    ("auth/login.html", "login_form"): lambda: {"form": LoginForm()},
    ("auth/password.html", "password_form"): lambda: {"form": PasswordChangeForm()},
    ("auth/login_code.html", "code_form"): lambda: {"form": SignInCodeForm()},
    ("auth/two_factor.html", "two_factor"): lambda: {
        "form": CodeForm(),
        "enrolment": Enrolment(
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"
        ),
    },
    ("users/index.html", "create_user"): lambda: {"create_form": UserCreateForm(), "users": []},
    ("users/detail.html", "account_status"): lambda: {
        "user": User(
            id=3,
            email="locked@staff.example",
            name="Locked",
            role="viewer",
            active=True,
            locked_until=datetime(2099, 1, 1, tzinfo=UTC),
        ),
        "toggle_form": EmptyForm(),
        "disable_form": DisableForm(),
        "confirming": True,
    },
    ("audit/index.html", "results"): lambda: {
        "form": AuditFilterForm(),
        "entries": [],
        "next_cursor": 7,
        "query_args": {"action": "auth."},
    },
    ("payments/index.html", "results"): lambda: {
        "form": PaymentFilterForm(),
        "page": Page([], Cursor(NOON, 7), prefix_too_broad=True),
        "deeper": True,
        "query_args": {"status": "failed"},
        "latest_event_id": 3,
    },
    ("payments/detail.html", "detail"): lambda: {
        "detail": PaymentDetail(
            payment=Payment(
                id=7,
                provider="worldpay",
                request_id="pay-7",
                amount_minor=1000,
                currency="HKD",
                status="succeeded",
                refunded_minor=0,
                created_at=NOON,
            ),
            refunds=[],
            cancels=[],
            timeline=Timeline([], truncated=False),
            refundable=Money(1000, "HKD"),
            names={},
            cancel_refusal="no cancel",
            offers_cancel=False,
            shows_next_actions=True,
            refund_note="no reversal offered now",
        ),
        "settlement": None,
        "latest_event_id": 3,
    },
    ("payments/refund.html", "refund_form"): lambda: {
        "payment": Payment(id=7, provider="antom", request_id="pay-7", amount_minor=1000, currency="HKD"),
        "eligibility": RefundEligibility(
            paid=Money(1000, "HKD"),
            refunded=Money(0, "HKD"),
            in_flight=Money(0, "HKD"),
            refundable=Money(1000, "HKD"),
            why_not=None,
            window_ends=NOON,
            partial=True,
            open_refunds=(),
        ),
        "form": RefundForm(),
        "confirming": False,
        "threshold": Money(500000, "HKD"),
        "waits": False,
    },
    ("declarations/declare.html", "declare_form"): lambda: {
        "payment": Payment(id=7, provider="antom", request_id="pay-7", amount_minor=1000, currency="HKD"),
        "form": DeclarationForm(),
        "refusal": None,
        "authorities": {"ZONGSHU": "General Administration of Customs"},
        "confirming": False,
    },
    ("payments/cancel.html", "cancel_form"): lambda: {
        "payment": Payment(id=7, provider="antom", request_id="pay-7", amount_minor=1000, currency="HKD"),
        "form": CancelForm(),
        "refusal": None,
        "confirming": False,
        "window_ends": NOON,
    },
    ("approvals/index.html", "approval"): lambda: {
        "item": Waiting(
            kind="refund",
            id=3,
            summary="Refund HK$6,000.00 of HK$8,000.00 to the customer's AlipayHK wallet via Antom.",
            subject="payment pay-7",
            subject_endpoint="payments.detail",
            subject_args={"payment_id": 7},
            amount=Money(600000, "HKD"),
            requested_by_id=2,
            requested_at=NOON,
            reason="Goodwill",
            note=None,
        ),
        "form": DecisionForm(prefix="refund-3"),
        "confirming": False,
        "names": {2: "Sam Support"},
    },
    ("agreements/index.html", "results"): lambda: {
        "form": AgreementFilterForm(),
        "page": Page([], None),
        "deeper": False,
        "query_args": {},
        "latest_event_id": 3,
    },
    ("notifications/index.html", "results"): lambda: {
        "form": NotificationFilterForm(),
        "page": Page([], Cursor(None, 7), prefix_too_broad=True),
        "deeper": True,
        "query_args": {"provider": "antom"},
    },
    ("notifications/detail.html", "detail"): lambda: {
        "detail": NotificationDetail(
            notification=Notification(
                id=9,
                provider="antom",
                kind="PAYMENT_RESULT",
                verdict="valid",
                outcome="applied",
                attempts=1,
                received_at=NOON,
                processed_at=NOON,
                object_type="payment",
                object_id="7",
            ),
            duplicates=[],
            events=[],
            headers={"Content-Type": "application/json"},
            body="{}",
        ),
        "latest_event_id": 3,
    },
    ("agreements/detail.html", "detail"): lambda: {
        "detail": AgreementDetail(
            agreement=Agreement(
                id=5,
                wallet="ALIPAY_HK",
                customer_ref="cust-5",
                auth_state="state-5",
                status="active",
                access_token_last4="wxyz",
                created_at=NOON,
            ),
            payments=[],
            timeline=Timeline([], truncated=False),
            revoked_by=None,
        ),
        "latest_event_id": 3,
    },
    ("agreements/revoke.html", "revoke_form"): lambda: {
        "agreement": Agreement(id=5, wallet="ALIPAY_HK", customer_ref="cust-5", status="active"),
        "form": RevokeForm(),
        "refusal": None,
        "confirming": False,
        "asked_before": False,
        "refused_before": False,
    },
    ("ach/index.html", "results"): lambda: {
        "form": BatchFilterForm(),
        "page": Page([], Cursor(NOON, 7), prefix_too_broad=True),
        "deeper": True,
        "query_args": {"status": "draft"},
        "latest_event_id": 3,
        "names": {},
        "topic": "ach_batch",
    },
    ("ach/upload.html", "upload_form"): lambda: {
        "form": UploadForm(),
        "batch": None,
        "duplicate_of": "PAY00000001",
        "accepted_amounts": "digits with at most 2 decimals.",
    },
    ("ach/detail.html", "actions"): lambda: {
        "batch": AchBatch(
            id=4,
            reference="PAY00000004",
            status="draft",
            item_count=2,
            total_minor=1000,
            currency="HKD",
            value_date=NOON.date(),
        ),
        "acts": True,
        "submit_form": SubmitForm(),
        "discard_form": DiscardForm(),
        "confirming": "submit",
        "errors": 0,
        "warnings": 1,
    },
    ("settlements/index.html", "results"): lambda: {
        "form": SettlementFilterForm(),
        "page": Page([], Cursor(None, 7)),
        "deeper": True,
        "query_args": {"state": "differences"},
    },
    ("settlements/import.html", "import_form"): lambda: {"form": ImportForm()},
    ("settlements/batch.html", "note_form"): lambda: {
        "result": SettlementResult(
            id=3, batch_id=2, outcome="fee", kind="fee_adjustment", currency="HKD", fee_minor=500, note="Fee"
        ),
        "note_forms": {3: NoteForm(prefix="result-3")},
        "note_form_for": lambda result: NoteForm(prefix=f"result-{result.id}"),
        "names": {},
        "may_resolve": True,
    },
    ("reports/index.html", "results"): lambda: {
        "form": ReportFilterForm(),
        "filters": REPORT_FILTERS,
        "sections": SECTIONS,
    },
    ("reports/index.html", "section"): lambda: {
        "form": ReportFilterForm(),
        "filters": REPORT_FILTERS,
        "sections": SECTIONS,
        "section": PAYROLL,
        "shown": PAYROLL.name,
        "figures": (payroll := PayrollFigures(NOON.date(), NOON.date(), (), (), ())),
        "tables": PAYROLL.tables(payroll),
        "latest_event_id": 3,
        "live_every": 5000,
    },
    ("api_keys/index.html", "create_key"): lambda: {"form": ApiKeyForm(), "new_key": None},
    ("agreements/charge.html", "charge_form"): lambda: {
        "agreement": Agreement(id=5, wallet="ALIPAY_HK", customer_ref="cust-5", status="active"),
        "form": ChargeForm(),
        "refusal": None,
        "confirming": False,
    },
}


def test_every_declared_fragment_has_a_render_test():
    assert declared_fragments() == set(FRAGMENT_CONTEXT)


@pytest.mark.parametrize(("template", "block"), sorted(FRAGMENT_CONTEXT))
def test_fragment_block_renders_on_its_own(app, template, block):
    with app.test_request_context("/"):
        html = render_block(template, block, **FRAGMENT_CONTEXT[(template, block)]())
    assert html.strip().startswith("<")
    assert "<html" not in html and "<nav" not in html.split("<section")[0]
    assert "{{" not in html and "{%" not in html


# --- navigation --------------------------------------------------------------------------------

NAVIGATION = {
    "viewer": [
        "Overview",
        "Payments",
        "Agreements",
        "Payroll",
        "Settlements",
        "Notifications",
        "Reports",
        "Audit log",
    ],
    "support": ["Overview", "Payments", "Agreements", "Payroll", "Settlements", "Notifications"],
    "finance": ["Overview", "Payments", "Agreements", "Payroll", "Settlements", "Notifications"],
    "manager": [
        "Overview",
        "Payments",
        "Agreements",
        "Payroll",
        "Settlements",
        "Approvals",
        "Notifications",
        "Reports",
    ],
    "admin": [
        "Overview",
        "Payments",
        "Agreements",
        "Payroll",
        "Settlements",
        "Notifications",
        "Reports",
        "Audit log",
        "Users",
        "API keys",
    ],
}


@pytest.mark.parametrize(("role", "expected"), NAVIGATION.items())
def test_navigation_shows_what_the_role_may_open(client, login_as, role, expected):
    login_as(role)
    page = client.get("/").get_data(as_text=True)
    nav = re.search(r'<nav id="main-nav" aria-label="Main">(.*?)</nav>', page, re.S)
    assert nav, "no main navigation"
    assert re.findall(r"<a [^>]*>([^<]+)</a>", nav.group(1)) == expected
    assert f'<span class="role-badge">{role}</span>' in page


def test_navigation_follows_the_section_open_the_count_waiting_and_the_language(app, client, login_as):
    def navigation(url: str, headers: dict[str, str] | None = None) -> str:
        page = client.get(url, headers=headers).get_data(as_text=True)
        return re.search(r'<nav id="main-nav" aria-label="[^"]+">(.*?)</nav>', page, re.S).group(1)

    def current(nav: str) -> list[str]:
        return re.findall(r'<a [^>]*aria-current="page">([^<]+)', nav)

    login_as("manager")
    assert current(navigation("/payments/")) == ["Payments"]
    assert current(navigation("/payments/?status=failed")) == ["Payments"]
    assert current(navigation("/approvals/")) == ["Approvals"]
    assert "nav-count" not in navigation("/payments/")
    with app.app_context():
        payment = make_payment(db.session, amount_minor=900000)
        make_refund(db.session, payment, amount_minor=800000, status="awaiting_approval")
        db.session.commit()
    assert '<span class="nav-count" id="nav-count-approvals">1<span' in navigation("/payments/")
    chinese = navigation("/payments/", {"Accept-Language": "zh-HK"})
    assert current(chinese) == ["付款"] and "等待中" in chinese
    assert current(navigation("/payments/")) == ["Payments"]


def test_anonymous_pages_have_no_navigation(client):
    assert '<nav id="main-nav" aria-label="Main">' not in client.get("/login").get_data(as_text=True)
