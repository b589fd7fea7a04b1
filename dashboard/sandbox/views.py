"""Sandbox pages (``/sandbox``), the Antom API (``/sandbox/antom/ams/...``), the Worldpay API
(``/sandbox/worldpay/apmPayments...``), the Antom stand-in page and the Worldpay shopper page."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from sqlalchemy import func
from sqlalchemy import select

from dashboard import clock
from dashboard.auth.access import public
from dashboard.htmx import render_page
from dashboard.providers.antom import signatures
from dashboard.providers.antom.consts import CONTENT_TYPE
from dashboard.providers.antom.consts import HEADER_CLIENT_ID
from dashboard.providers.antom.consts import HEADER_REQUEST_TIME
from dashboard.providers.antom.consts import HEADER_RESPONSE_TIME
from dashboard.providers.antom.consts import HEADER_SIGNATURE
from dashboard.providers.antom.consts import Operation
from dashboard.providers.worldpay import consts as wp_consts
from dashboard.sandbox import antom
from dashboard.sandbox import sender
from dashboard.sandbox import worldpay
from dashboard.sandbox.core import FAULT_HEADER
from dashboard.sandbox.core import FAULTS
from dashboard.sandbox.core import ActiveFaults
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.core import get_sandbox
from dashboard.sandbox.core import take_faults
from dashboard.sandbox.store import Authorization
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import DeliveryAttempt
from dashboard.sandbox.store import FaultSwitch
from dashboard.sandbox.store import Payment
from dashboard.sandbox.store import Refund
from dashboard.sandbox.store import Token
from dashboard.sandbox.store import WorldpayPayment
from dashboard.sandbox.store import WorldpayReversal
from dashboard.sandbox.store import transaction
from dashboard.security import CONTENT_SECURITY_POLICY

#: /sandbox pages: HTML forms with CSRF.
pages = Blueprint("sandbox", __name__, url_prefix="/sandbox")
#: the Antom API: signed JSON, no CSRF (it is machine-to-machine, verified by signature).
antom_api = Blueprint("sandbox_antom_api", __name__, url_prefix="/sandbox/antom")
#: the Worldpay APM API: Basic auth, JSON, no CSRF.
worldpay_api = Blueprint("sandbox_worldpay_api", __name__, url_prefix="/sandbox/worldpay")


def _ensure_sender() -> None:
    sandbox = get_sandbox()
    if current_app.config.get("SANDBOX_SENDER", not current_app.testing):
        sender.start_sender(sandbox)


pages.before_request(_ensure_sender)
antom_api.before_request(_ensure_sender)
worldpay_api.before_request(_ensure_sender)


# -- the Antom API --------------------------------------------------------------------------------


def _signed(uri: str, body: bytes, status: int = 200, corrupt: bool = False) -> Response:
    sandbox = get_sandbox()
    response_time = antom.at(clock.now())
    signature = signatures.sign(
        sandbox.keys.antom.private_key, "POST", uri, sandbox.antom.client_id, response_time, body
    )
    if corrupt:
        # Flip one base64 character: the header parses but the signature no longer verifies.
        head, tail = signature[:10], signature[10:]
        signature = head + ("A" if tail[0] != "A" else "B") + tail[1:]
    response = Response(body, status=status, content_type=CONTENT_TYPE)
    response.headers[HEADER_CLIENT_ID] = sandbox.antom.client_id
    response.headers[HEADER_RESPONSE_TIME] = response_time
    response.headers[HEADER_SIGNATURE] = signatures.build_signature_header(
        signature, sandbox.antom.key_version
    )
    return response


def _answer(uri: str, operation: Operation | None, payload: dict, faults: ActiveFaults) -> Response:
    sandbox = get_sandbox()
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if "timeout" in faults:
        time.sleep(sandbox.timeout_seconds)
    if "http_500" in faults:
        return Response("Internal Server Error", status=500, content_type="text/plain")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if "malformed_json" in faults:
        body = body[: max(1, len(body) // 2)]
    return _signed(uri, body, corrupt="bad_signature" in faults)


def _check_request(uri: str, raw: bytes) -> str | None:
    """Return the result code that refuses this request, or None when its signature verifies."""
    sandbox = get_sandbox()
    client_id = request.headers.get(HEADER_CLIENT_ID)
    request_time = request.headers.get(HEADER_REQUEST_TIME)
    header = request.headers.get(HEADER_SIGNATURE)
    if client_id != sandbox.antom.client_id:
        return "CLIENT_INVALID"
    if not header:
        return "INVALID_SIGNATURE"
    if not request_time:
        return "PARAM_ILLEGAL"
    try:
        _algorithm, key_version, _value = signatures.parse_signature_header(header)
    except ValueError:
        return "INVALID_SIGNATURE"
    if key_version.strip() != str(sandbox.antom.key_version):
        return "KEY_NOT_FOUND"
    merchant = sandbox.keys.merchant.public_key
    if not signatures.verify(merchant, "POST", uri, client_id, request_time, raw, header):
        return "INVALID_SIGNATURE"
    return None


@antom_api.post("/ams/api/v1/<path:api>")
@antom_api.post("/ams/sandbox/api/v1/<path:api>")
@public
def api(api: str):
    """Every Antom API: verify, apply faults, run the operation, sign the answer."""
    sandbox = get_sandbox()
    uri = request.script_root + request.path
    raw = request.get_data(cache=False)
    operation = antom.API_PATHS.get(api)
    with transaction(sandbox.engine) as session:
        faults = take_faults(session, str(operation or api), request.headers.get(FAULT_HEADER))
    if "http_503" in faults:
        return Response("Service Unavailable", status=503, content_type="text/plain")
    refused = _check_request(uri, raw)
    if refused is None and operation is None:
        refused = "NO_INTERFACE_DEF"
    body = None
    if refused is None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            refused = "PARAM_ILLEGAL"
    if refused is not None:
        return _answer(uri, operation, {"result": antom.result(operation, refused, "F")}, faults)
    now = clock.now()
    with transaction(sandbox.engine) as session:
        antom.tick(sandbox, session, now)
        first_new = (session.scalar(select(func.max(Delivery.id))) or 0) + 1
        try:
            with session.begin_nested():
                payload = antom.HANDLERS[operation](sandbox, session, body, now, faults)
        except antom.Reject as reject:
            payload = {"result": antom.result(operation, reject.code, reject.status), **reject.fields}
        new = session.scalars(select(Delivery.id).where(Delivery.id >= first_new)).all()
    if "notify_before_response" in faults:
        sender.deliver_now(sandbox, new)
    return _answer(uri, operation, payload, faults)


@antom_api.get("/public-key")
@public
def public_key():
    """Download the simulator's Antom public key (what ANTOM_PUBLIC_KEY would hold)."""
    response = Response(get_sandbox().keys.antom.public_pem, content_type="application/x-pem-file")
    response.headers["Content-Disposition"] = "attachment; filename=antom-sandbox-public-key.pem"
    return response


# -- the Worldpay API ------------------------------------------------------------------------------


def _wp_json(payload: dict, status: int) -> Response:
    body = json.dumps(payload, separators=(",", ":"))
    return Response(body, status=status, content_type=wp_consts.JSON_CONTENT_TYPE)


def _wp_answer(payload: dict, status: int, faults: ActiveFaults) -> Response:
    sandbox = get_sandbox()
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if "timeout" in faults:
        time.sleep(sandbox.timeout_seconds)
    if "http_500" in faults:
        return _wp_json(worldpay.Reject(500, wp_consts.ErrorName.INTERNAL_ERROR_OCCURRED).body, 500)
    response = _wp_json(payload, status)
    if "malformed_json" in faults:
        response.set_data(response.get_data()[: max(1, len(response.get_data()) // 2)])
    return response


def _wp_check_request(version_optional: bool) -> None:
    settings = get_sandbox().worldpay
    auth = request.authorization
    if (
        auth is None
        or auth.type != "basic"
        or (auth.username, auth.password)
        != (
            settings.username,
            settings.password,
        )
    ):
        raise worldpay.Reject(401, wp_consts.ErrorName.UNAUTHORIZED)
    version = request.headers.get(wp_consts.API_VERSION_HEADER)
    if version is None and not version_optional:
        raise worldpay.Reject(400, wp_consts.ErrorName.HEADER_IS_MISSING)
    if version is not None and version != wp_consts.API_VERSION:
        raise worldpay.Reject(400, wp_consts.ErrorName.HEADER_HAS_INVALID_VALUE)


def _wp_body(required: bool) -> object | None:
    raw = request.get_data(cache=False)
    if not raw.strip():
        if required:
            raise worldpay.Reject(400, wp_consts.ErrorName.BODY_IS_EMPTY)
        return None
    if request.mimetype != wp_consts.JSON_CONTENT_TYPE:
        raise worldpay.Reject(400, wp_consts.ErrorName.HEADER_HAS_INVALID_VALUE)
    try:
        return json.loads(raw)
    except ValueError:
        raise worldpay.Reject(400, wp_consts.ErrorName.BODY_IS_NOT_JSON) from None


def _wp_run(operation: str, work, version_optional: bool = False) -> Response:
    """Authenticate, apply faults, run ``work(session, now, faults)`` and answer (status, payload)."""
    sandbox = get_sandbox()
    with transaction(sandbox.engine) as session:
        faults = take_faults(session, operation, request.headers.get(FAULT_HEADER))
    if "http_503" in faults:
        return _wp_json({"errorName": "serviceUnavailable", "message": "Service unavailable"}, 503)
    new: list[int] = []
    try:
        _wp_check_request(version_optional)
        now = clock.now()
        with transaction(sandbox.engine) as session:
            worldpay.tick(sandbox, session, now)
            first_new = (session.scalar(select(func.max(Delivery.id))) or 0) + 1
            with session.begin_nested():
                status, payload = work(session, now, faults)
            new = session.scalars(select(Delivery.id).where(Delivery.id >= first_new)).all()
    except worldpay.Reject as reject:
        return _wp_answer(reject.body, reject.status, faults)
    if "notify_before_response" in faults:
        sender.deliver_now(sandbox, new)
    return _wp_answer(payload, status, faults)


@worldpay_api.post("/apmPayments")
@public
def wp_create():
    """Create an AlipayHK sale."""
    sandbox = get_sandbox()

    def work(session, now, faults):
        return 201, worldpay.create(sandbox, session, _wp_body(required=True), now, faults)

    return _wp_run("create_payment", work)


@worldpay_api.get("/apmPayments/<payment_id>")
@public
def wp_query(payment_id: str):
    """Query a payment's lastEvent and actions."""
    sandbox = get_sandbox()
    return _wp_run(
        "query_payment", lambda session, now, faults: (200, worldpay.query(sandbox, session, payment_id))
    )


@worldpay_api.post("/apmPayments/<payment_id>/reversals")
@public
def wp_reverse(payment_id: str):
    """Full reversal (refund); the body and the version header are optional (§1.2, §1.8)."""
    sandbox = get_sandbox()

    def work(session, now, faults):
        body = _wp_body(required=False)
        return 202, worldpay.reverse(sandbox, session, payment_id, body, now, faults, partial=False)

    return _wp_run("reverse", work, version_optional=True)


@worldpay_api.post("/apmPayments/<payment_id>/partialReversals")
@public
def wp_partial_reverse(payment_id: str):
    """Partial reversal (partial refund); the body is required."""
    sandbox = get_sandbox()

    def work(session, now, faults):
        body = _wp_body(required=True)
        return 202, worldpay.reverse(sandbox, session, payment_id, body, now, faults, partial=True)

    return _wp_run("partial_reverse", work)


@worldpay_api.post("/apmPayments/<payment_id>/<any(settlements, partialSettlements, cancellations):action>")
@public
def wp_not_for_alipay(payment_id: str, action: str):
    """Settle and cancel do not apply to AlipayHK: never offered, so never ready."""

    def work(session, now, faults):
        worldpay.find(session, payment_id)
        raise worldpay.Reject(400, wp_consts.ErrorName.ORDER_NOT_READY)

    return _wp_run(action, work, version_optional=True)


# -- the Worldpay shopper page --------------------------------------------------------------------


def _allow_form_targets(response: Response, urls: list[str]) -> Response:
    origins = sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in urls if urlsplit(u).netloc})
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", " ".join(["form-action 'self'", *origins])
    )
    return response


@pages.get("/worldpay/shopper/<token>")
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


@pages.post("/worldpay/shopper/<token>")
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


@pages.get("/antom/authorize/<link>")
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


@pages.post("/antom/authorize/<link>")
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


@pages.get("/")
@public
def index():
    """Simulator objects, the delivery log and the fault switches."""
    sandbox = get_sandbox()
    with transaction(sandbox.engine) as session:
        data = {
            "authorizations": session.scalars(
                select(Authorization).order_by(Authorization.id.desc()).limit(50)
            ).all(),
            "tokens": session.scalars(select(Token).order_by(Token.id.desc()).limit(50)).all(),
            "payments": session.scalars(select(Payment).order_by(Payment.id.desc()).limit(50)).all(),
            "refunds": session.scalars(select(Refund).order_by(Refund.id.desc()).limit(50)).all(),
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
            *worldpay.OPERATIONS,
        ],
        now=clock.now(),
        **data,
    )


@pages.post("/faults")
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


@pages.post("/faults/<int:switch_id>/clear")
@public
def clear_fault(switch_id: int):
    """Turn a fault switch off."""
    with transaction(get_sandbox().engine) as session:
        switch = session.get(FaultSwitch, switch_id)
        if switch is not None:
            session.delete(switch)
    flash("Fault cleared.", "success")
    return redirect(url_for("sandbox.index"))


@pages.post("/antom/tokens/<int:token_id>/unbind")
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


@pages.post("/run-due")
@public
def run_due():
    """Resolve due payments and refunds and deliver due notifications now."""
    made = sender.run_due(get_sandbox())
    flash(f"{made} delivery attempt(s) made.", "success")
    return redirect(url_for("sandbox.index"))
