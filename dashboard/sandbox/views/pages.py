"""The sandbox pages: ``/sandbox`` (objects, deliveries, faults), the Antom stand-in page and the
Worldpay shopper page (HTML forms with CSRF)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from sqlalchemy import func
from sqlalchemy import select

from dashboard import clock
from dashboard.auth.access import public
from dashboard.htmx import render_page
from dashboard.providers.antom.consts import Operation
from dashboard.sandbox import antom
from dashboard.sandbox import hkach
from dashboard.sandbox import sender
from dashboard.sandbox import worldpay
from dashboard.sandbox.core import FAULTS
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.core import get_sandbox
from dashboard.sandbox.core import take_faults
from dashboard.sandbox.store import Authorization
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import DeliveryAttempt
from dashboard.sandbox.store import Dispute
from dashboard.sandbox.store import FaultSwitch
from dashboard.sandbox.store import HkachBatch
from dashboard.sandbox.store import Payment
from dashboard.sandbox.store import Refund
from dashboard.sandbox.store import Token
from dashboard.sandbox.store import WorldpayPayment
from dashboard.sandbox.store import WorldpayReversal
from dashboard.sandbox.store import transaction
from dashboard.security import CONTENT_SECURITY_POLICY

#: HTML forms with CSRF.
bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

bp.before_request(sender.ensure_started)


# -- the Worldpay shopper page --------------------------------------------------------------------


def _allow_form_targets(response: Response, urls: list[str]) -> Response:
    origins = sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in urls if urlsplit(u).netloc})
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", " ".join(["form-action 'self'", *origins])
    )
    return response


@bp.get("/worldpay/shopper/<token>")
@public
def shopper(token: str):
    """The AlipayHK wallet page of the simulator: the shopper picks the outcome."""
    with transaction(get_sandbox().engine) as session:
        payment = worldpay.find_shopper(session, token)
    if payment is None:
        abort(404)
    urls = json.loads(payment.result_urls)
    status = 200 if payment.last_event == "pending" else 410
    response = render_page("sandbox/worldpay_shopper.html", status=status, payment=payment)
    return _allow_form_targets(response, list(urls.values()))


@bp.post("/worldpay/shopper/<token>")
@public
def shopper_choice(token: str):
    """Apply the choice and send the shopper to the matching resultUrl."""
    sandbox = get_sandbox()
    new: list[int] = []
    try:
        with transaction(sandbox.engine) as session:
            faults = take_faults(session, "shopper")
            first_new = (session.scalar(select(func.max(Delivery.id))) or 0) + 1
            target = worldpay.choose(
                sandbox, session, token, request.form.get("choice", ""), clock.now(), faults
            )
            new = session.scalars(select(Delivery.id).where(Delivery.id >= first_new)).all()
    except worldpay.Reject:
        with transaction(sandbox.engine) as session:
            payment = worldpay.find_shopper(session, token)
        if payment is None:
            abort(404)
        return render_page("sandbox/worldpay_shopper.html", status=410, payment=payment)
    if "notify_before_response" in faults:
        sender.deliver_now(sandbox, new)
    return redirect(target, code=303)


# -- the customer stand-in page -------------------------------------------------------------------


@bp.get("/antom/authorize/<link>")
@public
def authorize(link: str):
    """The wallet's consent page: approve or decline."""
    with transaction(get_sandbox().engine) as session:
        auth = antom.find_consult(session, link)
    if auth is None:
        abort(404)
    response = render_page("sandbox/authorize.html", auth=auth, scopes=auth.scopes.split(","))
    # The approve form ends in a redirect to the merchant: allow that origin as a form target.
    target = urlsplit(auth.redirect_url)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {target.scheme}://{target.netloc}"
    )
    return response


@bp.post("/antom/authorize/<link>")
@public
def authorize_answer(link: str):
    """Approve (auth code, AUTHCODE_CREATED, redirect with authCode/authState) or decline."""
    sandbox = get_sandbox()
    approve = request.form.get("decision") == "approve"
    new: list[int] = []
    try:
        with transaction(sandbox.engine) as session:
            faults = take_faults(session, "authorize")
            if approve:
                first_new = (session.scalar(select(func.max(Delivery.id))) or 0) + 1
                target = antom.approve(sandbox, session, link, clock.now(), faults)
                new = session.scalars(select(Delivery.id).where(Delivery.id >= first_new)).all()
            else:
                auth = antom.decline(session, link)
    except antom.Reject:
        return render_page("sandbox/authorize_done.html", status=410, used=True, auth=None)
    if approve:
        if "notify_before_response" in faults:
            sender.deliver_now(sandbox, new)
        return redirect(target, code=303)
    return render_page("sandbox/authorize_done.html", used=False, auth=auth)


# -- the /sandbox page ----------------------------------------------------------------------------


@bp.get("/")
@public
def index():
    """Simulator objects, the delivery log and the fault switches."""
    sandbox = get_sandbox()
    now = clock.now()
    with transaction(sandbox.engine) as session:
        data = {
            "authorizations": session.scalars(
                select(Authorization).order_by(Authorization.id.desc()).limit(50)
            ).all(),
            "tokens": session.scalars(select(Token).order_by(Token.id.desc()).limit(50)).all(),
            "payments": session.scalars(select(Payment).order_by(Payment.id.desc()).limit(50)).all(),
            "refunds": session.scalars(select(Refund).order_by(Refund.id.desc()).limit(50)).all(),
            "disputes": session.scalars(select(Dispute).order_by(Dispute.id.desc()).limit(50)).all(),
            "deliveries": session.scalars(select(Delivery).order_by(Delivery.id.desc()).limit(50)).all(),
            "attempts": session.scalars(
                select(DeliveryAttempt).order_by(DeliveryAttempt.id.desc()).limit(100)
            ).all(),
            "switches": session.scalars(select(FaultSwitch).order_by(FaultSwitch.id)).all(),
            "wp_payments": session.scalars(
                select(WorldpayPayment).order_by(WorldpayPayment.id.desc()).limit(50)
            ).all(),
            "wp_reversals": session.scalars(
                select(WorldpayReversal).order_by(WorldpayReversal.id.desc()).limit(50)
            ).all(),
            "hk_batches": [
                (batch, hkach.status_report(batch, now))
                for batch in session.scalars(select(HkachBatch).order_by(HkachBatch.id.desc()).limit(50))
            ],
        }
    return render_page(
        "sandbox/index.html",
        sandbox=sandbox,
        faults=FAULTS,
        operations=[
            "*",
            *[str(op) for op in Operation],
            "authorize",
            "unbind",
            "dispute",
            *worldpay.OPERATIONS,
            *hkach.OPERATIONS,
        ],
        now=now,
        dispute_courses=list(antom.DISPUTE_COURSES),
        **data,
    )


@bp.post("/faults")
@public
def add_fault():
    """Turn a global fault switch on."""
    fault = request.form.get("fault", "")
    operation = request.form.get("operation") or "*"
    try:
        remaining = int(request.form["remaining"]) if request.form.get("remaining") else None
        latency = int(request.form["latency_ms"]) if request.form.get("latency_ms") else None
        if (remaining is not None and remaining < 1) or (latency is not None and latency < 0):
            raise ValueError
        with transaction(get_sandbox().engine) as session:
            add_switch(session, fault, operation, remaining, latency)
    except ValueError:
        flash("Choose a known fault; calls and latency are whole numbers.", "error")
    else:
        flash(f"Fault {fault} is on for {operation}.", "success")
    return redirect(url_for("sandbox.index"))


@bp.post("/faults/<int:switch_id>/clear")
@public
def clear_fault(switch_id: int):
    """Turn a fault switch off."""
    with transaction(get_sandbox().engine) as session:
        switch = session.get(FaultSwitch, switch_id)
        if switch is not None:
            session.delete(switch)
    flash("Fault cleared.", "success")
    return redirect(url_for("sandbox.index"))


@bp.post("/antom/tokens/<int:token_id>/unbind")
@public
def unbind(token_id: int):
    """The customer unbinds the merchant in the wallet: TOKEN_CANCELED is sent."""
    sandbox = get_sandbox()
    try:
        with transaction(sandbox.engine) as session:
            antom.unbind(sandbox, session, token_id, take_faults(session, "unbind"))
    except antom.Reject:
        flash("That token is no longer active.", "error")
    else:
        flash("The customer unbound the merchant; TOKEN_CANCELED is on its way.", "success")
    return redirect(url_for("sandbox.index"))


@bp.post("/antom/payments/<int:row_id>/dispute")
@public
def dispute(row_id: int):
    """The customer disputes a paid Auto Debit payment: DISPUTE_CREATED now, the chosen course later."""
    sandbox = get_sandbox()
    course = request.form.get("course", "")
    try:
        with transaction(sandbox.engine) as session:
            payment = session.get(Payment, row_id)
            if payment is None:
                abort(404)
            antom.raise_dispute(
                sandbox, session, payment.payment_id, course, clock.now(), take_faults(session, "dispute")
            )
    except antom.Reject:
        flash("Only a paid payment without an open dispute can be disputed, along a known course.", "error")
    else:
        flash(f"The customer disputes the payment ({course}); DISPUTE_CREATED is on its way.", "success")
    return redirect(url_for("sandbox.index"))


@bp.post("/run-due")
@public
def run_due():
    """Resolve due payments and refunds and deliver due notifications now."""
    made = sender.run_due(get_sandbox())
    flash(f"{made} delivery attempt(s) made.", "success")
    return redirect(url_for("sandbox.index"))
