"""The Worldpay APM API of the simulator: ``/sandbox/worldpay/apmPayments...`` (Basic auth, JSON, no CSRF)."""

from __future__ import annotations

import json

from flask import Blueprint
from flask import Response
from flask import request
from sqlalchemy import func
from sqlalchemy import select

from dashboard import clock
from dashboard.auth.access import public
from dashboard.providers.worldpay import consts as wp_consts
from dashboard.sandbox import sender
from dashboard.sandbox import worldpay
from dashboard.sandbox.core import FAULT_HEADER
from dashboard.sandbox.core import ActiveFaults
from dashboard.sandbox.core import get_sandbox
from dashboard.sandbox.core import hold_answer
from dashboard.sandbox.core import take_faults
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import transaction

#: Machine to machine, Basic auth: no CSRF.
bp = Blueprint("sandbox_worldpay_api", __name__, url_prefix="/sandbox/worldpay")

bp.before_request(sender.ensure_started)


def _wp_json(payload: dict, status: int, content_type: str = wp_consts.JSON_CONTENT_TYPE) -> Response:
    body = json.dumps(payload, separators=(",", ":"))
    return Response(body, status=status, content_type=content_type)


def _wp_answer(payload: dict, status: int, faults: ActiveFaults, content_type: str) -> Response:
    hold_answer(get_sandbox(), faults)
    if "http_500" in faults:
        error = worldpay.Reject(500, wp_consts.ErrorName.INTERNAL_ERROR_OCCURRED).body
        return _wp_json(error, 500, content_type)
    response = _wp_json(payload, status, content_type)
    if "malformed_json" in faults:
        response.set_data(response.get_data()[: max(1, len(response.get_data()) // 2)])
    return response


def _wp_check_request(version_optional: bool, queries: bool = False) -> None:
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
    if queries:
        # Payment Queries is versioned by its Accept media type, which it requires.
        accept = request.headers.get("Accept")
        if accept is None:
            raise worldpay.Reject(400, wp_consts.ErrorName.HEADER_IS_MISSING)
        if accept != wp_consts.PAYMENT_QUERIES_CONTENT_TYPE:
            raise worldpay.Reject(400, wp_consts.ErrorName.HEADER_HAS_INVALID_VALUE)
        return
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


def _wp_run(operation: str, work, version_optional: bool = False, queries: bool = False) -> Response:
    """Authenticate, apply faults, run ``work(session, now, faults)`` and answer (status, payload).

    :param queries: a Payment Queries call (its own media type instead of ``WP-Api-Version``)
    """
    sandbox = get_sandbox()
    content_type = wp_consts.PAYMENT_QUERIES_CONTENT_TYPE if queries else wp_consts.JSON_CONTENT_TYPE
    with transaction(sandbox.engine) as session:
        faults = take_faults(session, operation, request.headers.get(FAULT_HEADER))
    if "http_503" in faults:
        unavailable = {"errorName": "serviceUnavailable", "message": "Service unavailable"}
        return _wp_json(unavailable, 503, content_type)
    new: list[int] = []
    try:
        _wp_check_request(version_optional, queries)
        now = clock.now()
        with transaction(sandbox.engine) as session:
            worldpay.tick(sandbox, session, now)
            first_new = (session.scalar(select(func.max(Delivery.id))) or 0) + 1
            with session.begin_nested():
                status, payload = work(session, now, faults)
            new = session.scalars(select(Delivery.id).where(Delivery.id >= first_new)).all()
    except worldpay.Reject as reject:
        return _wp_answer(reject.body, reject.status, faults, content_type)
    if "notify_before_response" in faults:
        sender.deliver_now(sandbox, new)
    return _wp_answer(payload, status, faults, content_type)


@bp.post("/apmPayments")
@public
def wp_create():
    """Create an AlipayHK sale."""
    sandbox = get_sandbox()

    def work(session, now, faults):
        return 201, worldpay.create(sandbox, session, _wp_body(required=True), now, faults)

    return _wp_run("create_payment", work)


@bp.get("/apmPayments/<payment_id>")
@public
def wp_query(payment_id: str):
    """Query a payment's lastEvent and actions."""
    sandbox = get_sandbox()
    return _wp_run(
        "query_payment", lambda session, now, faults: (200, worldpay.query(sandbox, session, payment_id))
    )


@bp.post("/apmPayments/<payment_id>/reversals")
@public
def wp_reverse(payment_id: str):
    """Full reversal (refund); the body and the version header are optional (§1.2, §1.8)."""
    sandbox = get_sandbox()

    def work(session, now, faults):
        body = _wp_body(required=False)
        return 202, worldpay.reverse(sandbox, session, payment_id, body, now, faults, partial=False)

    return _wp_run("reverse", work, version_optional=True)


@bp.post("/apmPayments/<payment_id>/partialReversals")
@public
def wp_partial_reverse(payment_id: str):
    """Partial reversal (partial refund); the body is required."""
    sandbox = get_sandbox()

    def work(session, now, faults):
        body = _wp_body(required=True)
        return 202, worldpay.reverse(sandbox, session, payment_id, body, now, faults, partial=True)

    return _wp_run("partial_reverse", work)


@bp.get("/paymentQueries/payments")
@public
def wp_lookup():
    """Payment Queries: find a payment by our transactionReference."""
    reference = request.args.get("transactionReference")
    return _wp_run(
        "lookup_payment",
        lambda session, now, faults: (200, worldpay.lookup(session, reference)),
        queries=True,
    )


@bp.get("/paymentQueries/payments/<payment_id>")
@public
def wp_history(payment_id: str):
    """Payment Queries: one payment's value and event history."""
    sandbox = get_sandbox()
    return _wp_run(
        "retrieve_payment",
        lambda session, now, faults: (200, worldpay.history(sandbox, session, payment_id)),
        queries=True,
    )


@bp.post("/apmPayments/<payment_id>/<any(settlements, partialSettlements, cancellations):action>")
@public
def wp_not_for_alipay(payment_id: str, action: str):
    """Settle and cancel do not apply to AlipayHK: never offered, so never ready."""

    def work(session, now, faults):
        worldpay.find(session, payment_id)
        raise worldpay.Reject(400, wp_consts.ErrorName.ORDER_NOT_READY)

    return _wp_run(action, work, version_optional=True)
