"""Demo data: weeks of history written through the real services, then a light trickle of activity.

History is written on an offset clock (DESIGN §8 "One clock"), one simulated day at a time, against
the sandbox simulators over HTTP: the services call them, their notifications come back through
the real webhooks, and the seeding drives the sender and the jobs itself so every day is settled
before the next begins. The customer's and the shopper's choices are made in-process on the
simulators' own state, as their stand-in pages would. Every other day a customer disputes one of
the day's Auto Debits (the Antom simulator raises the dispute and runs its course), so the history
has disputed, charged-back and given-back payments. The last week's Antom settlement reports are
then imported and reconciled: balanced, except one day whose reports carry the simulator's
differences.
"""

from __future__ import annotations

import io
import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

from flask import Flask
from flask import render_template
from flask import request
from sqlalchemy import func
from sqlalchemy import select

from dashboard import clock
from dashboard import jobs
from dashboard.ach import samples
from dashboard.ach import service as payroll
from dashboard.ach.models import AchBatch
from dashboard.ach.rules import first_value_date
from dashboard.ach.sending import bank_client
from dashboard.agreements import service as agreements
from dashboard.agreements.models import Agreement
from dashboard.agreements.states import AgreementStatus
from dashboard.declarations import service as declarations
from dashboard.extensions import db
from dashboard.htmx import is_htmx
from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.refunds import approval_threshold
from dashboard.payments.states import NotRefundable
from dashboard.payments.states import RefundRefused
from dashboard.payments.states import RefundStatus
from dashboard.providers.antom.provider import ANTOM
from dashboard.sandbox import antom as antom_sim
from dashboard.sandbox import sender
from dashboard.sandbox import worldpay as worldpay_sim
from dashboard.sandbox.core import take_faults
from dashboard.sandbox.store import Authorization
from dashboard.sandbox.store import Token
from dashboard.sandbox.store import transaction
from dashboard.sandbox.traffic import SHOPPER_CHOICES
from dashboard.sandbox.traffic import WALLETS
from dashboard.settlements import service as settlements

log = logging.getLogger(__name__)

#: How the demo's disputes end (``dashboard.sandbox.antom.DISPUTE_COURSES``), weighted.
DISPUTE_COURSES = (("won", 3), ("lost", 3), ("withdrawn", 2), ("unanswered", 1), ("open", 1))
#: Amount endings the Antom simulator answers specially (see ``dashboard.sandbox.antom``): in process
#: then paid (02) or failed (03), never resolved (04), an unknown answer that succeeded (05).
SPECIAL_ENDINGS = (2, 2, 3, 4, 5, 12, 11)
#: The demo merchant's registration code and name at China's customs.
DEMO_MERCHANT_CUSTOMS = ("4403960HKX", "Harbour Goods Trading Ltd")


#: Days of history a new demo writes.
HISTORY_DAYS = 21
#: Endpoints that answer while the demo writes its history (and every path under /sandbox/).
_ANSWERED_WHILE_WRITING = frozenset({"static", "home.healthz", "auth.choose_language"})
#: The query argument that asks for the progress (the page's own URL otherwise).
PROGRESS_ARG = "demo_progress"


class HistoryProgress:
    """How far a new demo has written its history; staff pages wait until it is done."""

    def __init__(self, days: int = HISTORY_DAYS) -> None:
        self.days = days
        self.written = 0
        self.done = threading.Event()


def has_history() -> bool:
    """Return True when the demo's database holds its history already (a restart)."""
    return bool(db.session.scalar(select(func.count(Payment.id))))


def hold_pages_until_written(app: Flask, progress: HistoryProgress) -> None:
    """Answer staff pages with one that says the demo is getting ready, and how far, until
    ``progress.done`` is set.

    The history is written on a clock set days back for the whole process: the sandbox and the
    webhooks stamp what they do with it too. A sign-in meanwhile was stamped days ago, and its next
    page signed the user out as idle. The sandbox, static files, the health check and the choice of
    language answer as always. The page asks for its progress again every two seconds (htmx) and
    reloads itself once the history is written; any other htmx request reloads the whole page.
    """

    @app.before_request
    def hold_while_writing():
        polled = is_htmx() and PROGRESS_ARG in request.args
        if progress.done.is_set():
            return ("", 204, {"HX-Refresh": "true"}) if polled else None
        if request.endpoint in _ANSWERED_WHILE_WRITING or request.path.startswith("/sandbox/"):
            return None
        if is_htmx() and not polled:
            return "", 503, {"HX-Refresh": "true", "Retry-After": "2"}
        page = render_template(
            "demo/preparing.html", written=progress.written, days=progress.days, progress_arg=PROGRESS_ARG
        )
        return page, 200 if polled else 503, {"Retry-After": "2"}


class Demo:
    """Drive the services and the simulators for the demo."""

    def __init__(
        self, app: Flask, seed: int = 2026, drive: bool = True, pause: Callable[[float], object] | None = None
    ):
        """:param drive: deliver notifications and run jobs here (seeding); off once the workers run
        :param pause: wait this many seconds between a step and the customer's answer (the trickle)
        """
        self.app = app
        self.drive = drive
        self.pause = pause
        self.rng = random.Random(seed)
        self.sandbox = app.extensions["sandbox"]
        self.huey = app.extensions["huey"]
        self.customers = 0

    # --- the customer's and the shopper's side -------------------------------------------------

    def approve(self, agreement: Agreement, code_expired: bool = False) -> None:
        """Approve a consult on the stand-in page (optionally too late for its auth code), then come
        back to the landing page the wallet redirects to, as the customer's browser does."""
        link = urlsplit(agreement.auth_url).path.rsplit("/", 1)[-1]
        with transaction(self.sandbox.engine) as session:
            back = antom_sim.approve(
                self.sandbox, session, link, clock.now(), take_faults(session, "authorize")
            )
            if code_expired:
                auth = session.scalars(select(Authorization).where(Authorization.link_token == link)).one()
                auth.auth_code_expires_at = clock.now() - timedelta(seconds=1)
        query = dict(parse_qsl(urlsplit(back).query))
        agreements.customer_returned(query.get("authCode"), query.get("authState"))

    def unbind(self, agreement: Agreement) -> None:
        """The customer unbinds the merchant in the wallet app."""
        with transaction(self.sandbox.engine) as session:
            token_id = session.scalar(select(Token.id).where(Token.access_token == agreement.access_token))
            antom_sim.unbind(self.sandbox, session, token_id, take_faults(session, "unbind"))

    def dispute(self, payment: Payment) -> None:
        """The customer disputes a paid Auto Debit payment in the wallet; the simulator runs its course."""
        courses, weights = zip(*DISPUTE_COURSES, strict=True)
        with transaction(self.sandbox.engine) as session:
            antom_sim.raise_dispute(
                self.sandbox,
                session,
                payment.provider_payment_id,
                self.rng.choices(courses, weights)[0],
                clock.now(),
                take_faults(session, "dispute"),
            )

    def shop(self, payment: Payment, choice: str) -> None:
        """Pick an outcome on the AlipayHK shopper page."""
        token = urlsplit(payment.redirect_url).path.rsplit("/", 1)[-1]
        with transaction(self.sandbox.engine) as session:
            worldpay_sim.choose(
                self.sandbox, session, token, choice, clock.now(), take_faults(session, "shopper")
            )

    def settle(self) -> None:
        """Deliver due notifications and run the jobs they cause until quiet (only when driving)."""
        if not self.drive:
            return
        for _ in range(20):
            if not sender.run_due(self.sandbox) + jobs.run_pending(self.huey):
                break
        db.session.rollback()

    def _wait(self) -> None:
        if self.pause is not None:
            self.pause(self.rng.uniform(2.0, 5.0))

    # --- actions ---------------------------------------------------------------------------------

    def new_agreement(self, outcome: str) -> Agreement:
        """Consult and let the customer act: ``active``, ``pending`` (never answers) or ``failed``."""
        self.customers += 1
        agreement = agreements.start_consult(self.rng.choice(WALLETS), f"CUST-{self.customers:05d}")
        if outcome != "pending" and agreement.auth_url:
            self._wait()
            self.approve(agreement, code_expired=outcome == "failed")
        self.settle()
        return db.session.get(Agreement, agreement.id)

    def charge(self, agreement_id: int) -> Payment | None:
        """Debit an agreement with the realistic mix, now and then a special case."""
        if self.rng.random() < 0.12:
            minor = self.rng.randint(5, 800) * 100 + self.rng.choice(SPECIAL_ENDINGS)
        else:
            minor = self.rng.randint(5, 800) * 100 + self.rng.choice((40, 50, 60, 70, 80, 90, 99))
        try:
            payment = payments.charge_agreement(agreement_id, Money(minor, "HKD"), "Monthly plan")
        except payments.PaymentRefused:
            return None
        self.settle()
        return payment

    def sale(self) -> Payment:
        """Start an AlipayHK sale and let the shopper choose."""
        draw = self.rng.random()
        if draw < 0.03:
            minor = 500
        elif draw < 0.07:  # a large order: refunding most of it needs a manager's approval
            minor = self.rng.randint(5200, 12000) * 100
        else:
            minor = self.rng.randint(20, 3000) * 100
        payment = payments.create_alipayhk_payment(
            Money(minor, "HKD"), f"Order {self.rng.randint(10000, 99999)}"
        )
        if payment.redirect_url:
            self._wait()
            choice = self.rng.choices(list(SHOPPER_CHOICES), list(SHOPPER_CHOICES.values()))[0]
            self.shop(payment, choice)
        self.settle()
        return payment

    def refund(self, payment_id: int) -> None:
        """Refund part of a paid payment (a Worldpay 700 refund fails by webhook)."""
        payment = db.session.get(Payment, payment_id)
        if payment is None or payment.status not in ("succeeded", "settled"):
            return
        left = payment.amount_minor - payment.refunded_minor
        if left <= 200:
            return
        minor = (
            700
            if payment.provider == "worldpay" and self.rng.random() < 0.2
            else self.rng.randint(1, left // 100) * 100 + 1
        )
        # Below the approval threshold: these refunds are sent; one waits for approval on purpose.
        threshold = approval_threshold(payment.currency)
        below_approval = left if threshold is None else threshold.minor - 1
        try:
            payments.refund_payment(
                payment_id,
                Money(min(minor, left, below_approval), payment.currency),
                "Customer request",
                payments.new_refund_request_id(),
            )
        except RefundRefused:
            return
        self.settle()

    def ask_for_approval(self, requested_by_id: int) -> None:
        """Leave one large refund waiting for a manager, asked for by ``requested_by_id`` (once)."""
        if db.session.scalar(
            select(Refund.id).where(Refund.status == RefundStatus.AWAITING_APPROVAL).limit(1)
        ):
            return
        threshold = approval_threshold("HKD")
        if threshold is None:
            threshold = Money(520000, "HKD")  # every HKD refund waits: any large one will do
        candidates = db.session.scalars(
            select(Payment.id)
            .where(
                Payment.status.in_(("succeeded", "settled")),
                Payment.currency == "HKD",
                Payment.refunded_minor == 0,
                Payment.amount_minor >= threshold.minor,
            )
            .order_by(Payment.id.desc())
            .limit(20)
        ).all()
        for payment_id in candidates:
            try:
                payments.refund_payment(
                    payment_id,
                    threshold,
                    "Product not delivered",
                    payments.new_refund_request_id(),
                    note="Courier lost the parcel; the customer sent the tracking record.",
                    actor_id=requested_by_id,
                )
            except NotRefundable:
                continue  # e.g. a sale Worldpay has not captured yet offers no reversal
            return

    def declare(self) -> None:
        """Declare the latest paid Alipay (mainland) payment to customs, and, as a colleague's slip,
        the latest paid AlipayHK one, which Antom refuses (its guidance shows on the payment)."""
        for method, customs in (("ALIPAY_CN", "ZONGSHU"), ("ALIPAY_HK", "SHANGHAI_CBT")):
            payment = db.session.scalar(
                select(Payment)
                .where(Payment.status == "succeeded", Payment.payment_method == method)
                .order_by(Payment.id.desc())
                .limit(1)
            )
            db.session.rollback()
            if payment is not None:
                declarations.declare_payment(
                    payment.id,
                    declarations.new_declaration_request_id(),
                    customs,
                    DEMO_MERCHANT_CUSTOMS[0],
                    DEMO_MERCHANT_CUSTOMS[1],
                    payment.amount,
                )
        self.settle()

    def pay_payroll(self, finance_id: int, manager_id: int) -> int | None:
        """Pay the demo payroll (its corrected file) through HK ACH once: uploaded by ``finance_id``,
        approved by ``manager_id``, sent by the jobs; return the batch id (None: one exists).

        It ends ``completed with failures`` (the simulator's deterministic rejects) once the workers
        have followed it, a few seconds later on the simulator's compressed clock.
        """
        if db.session.scalar(select(AchBatch.id).limit(1)):
            db.session.rollback()
            return None
        day = first_value_date(clock.now())
        # Last month's file (its own names and references), so the file the demo offers for this
        # month is not taken for one uploaded before.
        last_month = day.replace(day=1) - timedelta(days=1)
        uploaded = payroll.upload(
            io.BytesIO(samples.demo_payroll_csv(value_date=last_month, fixed=True)),
            f"payroll-{last_month:%Y-%m}.csv",
            value_date=day,
            debtor_account=bank_client().debtor_account,
            uploader_id=finance_id,
        )
        payroll.submit_for_approval(uploaded.batch_id, finance_id, warnings_acknowledged=True)
        payroll.approve_batch(
            uploaded.batch_id, actor_id=manager_id, comment="Checked against the HR export."
        )
        self.settle()
        return uploaded.batch_id

    # --- history ---------------------------------------------------------------------------------

    def seed_history(
        self,
        days: int = HISTORY_DAYS,
        report: Callable[[str], None] = print,
        progress: HistoryProgress | None = None,
    ) -> None:
        """Write ``days`` of history ending now, unless it exists already; count the days written
        on ``progress``."""
        if has_history():
            report("demo history exists; not seeding again")
            return
        if progress is not None:
            progress.days = days
        # History ends at the current clock's now (the real one, or a test's fake one).
        shift = clock.now() - datetime.now(UTC)
        previous = clock.use(clock.OffsetClock(shift))
        try:
            active: list[int] = []
            for back in range(days, 0, -1):
                hours = timedelta(hours=self.rng.randint(1, 10))
                clock.use(clock.OffsetClock(shift - timedelta(days=back) + hours))
                self._one_day(active, final=back == 1, disputes=1 if back % 2 == 0 else 0)
                report(f"  seeded {days - back + 1}/{days} days")
                if progress is not None:
                    progress.written = days - back + 1
        finally:
            clock.use(previous)
        # Consults nobody answered, older than a day, expire; everything else stays as it ended.
        agreements.expire_due(clock.now())
        db.session.rollback()

    def _one_day(self, active: list[int], final: bool, disputes: int = 0) -> None:
        outcomes = ["active", "active", "active", "pending"] + (["failed"] if self.rng.random() < 0.2 else [])
        for outcome in outcomes:
            agreement = self.new_agreement(outcome)
            if agreement.status == AgreementStatus.ACTIVE:
                active.append(agreement.id)
        for _ in range(self.rng.randint(10, 16)):
            payment = self.charge(self.rng.choice(active)) if active else None
            if payment is not None and self.rng.random() < 0.12:
                self.refund(payment.id)
            elif payment is not None and payment.status == "succeeded" and disputes:
                self.dispute(payment)
                disputes -= 1
        for _ in range(self.rng.randint(4, 8)):
            payment = self.sale()
            if self.rng.random() < 0.25:
                self.refund(payment.id)
        if active and self.rng.random() < 0.5:
            agreements.revoke(active.pop(self.rng.randrange(len(active))), "Customer closed the account")
        if active and self.rng.random() < 0.3:
            agreement = db.session.get(Agreement, active.pop(self.rng.randrange(len(active))))
            self.unbind(agreement)
        if final:
            self.declare()
        self.settle()

    def settle_reports(
        self, days: int = 7, differences_back: int = 3, report: Callable[[str], None] = print
    ) -> None:
        """Import and reconcile the Antom settlement reports of the last ``days`` days.

        Unless ``SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES`` names days, the simulator's reports of the day
        ``differences_back`` days ago disagree with ours, so finance has something to resolve.
        """
        today = clock.now().astimezone(ANTOM.settlement_reports.day_zone).date()
        options = self.sandbox.options
        if not options.get("SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES"):
            options["SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES"] = (
                today - timedelta(days=differences_back)
            ).isoformat()
        for back in range(days, 0, -1):
            settlements.fetch_day(ANTOM.code, today - timedelta(days=back))
        report(f"  settled the last {days} days")

    # --- trickle ---------------------------------------------------------------------------------

    def trickle_once(self) -> None:
        """Do one small thing, as a busy shop would."""
        draw = self.rng.random()
        active = db.session.scalars(
            select(Agreement.id).where(Agreement.status == AgreementStatus.ACTIVE.value).limit(200)
        ).all()
        db.session.rollback()
        if draw < 0.45 and active:
            self.charge(self.rng.choice(active))
        elif draw < 0.8:
            self.sale()
        elif draw < 0.9:
            recent = db.session.scalar(
                select(Payment.id).where(Payment.status == "succeeded").order_by(Payment.id.desc()).limit(1)
            )
            if recent is not None:
                self.refund(recent)
        else:
            self.new_agreement("active")


def start_trickle(app: Flask, every: tuple[float, float] = (3.0, 8.0)) -> threading.Event:
    """Start a daemon thread doing one demo action every few seconds; set the returned event to stop it."""
    stop = threading.Event()
    demo = Demo(app, seed=random.randrange(1 << 30), drive=False, pause=stop.wait)

    def loop() -> None:
        while not stop.wait(demo.rng.uniform(*every)):
            with app.app_context():
                try:
                    demo.trickle_once()
                except Exception:
                    log.exception("demo trickle step failed")
                finally:
                    db.session.remove()

    threading.Thread(target=loop, name="demo-trickle", daemon=True).start()
    return stop
