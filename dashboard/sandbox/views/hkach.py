"""The HK ACH API of the simulator: ``/sandbox/hkach/v1.0/auth`` and ``/payment/hk/v1.0/ach...``.

Machine to machine (bearer token and ``apikey``), no CSRF. With ``SANDBOX_HKACH_SEED_MODE`` on it
answers as the seed describes: 202 on submit; status 202 while pending, 200 when complete, 400
when failed, the report kept as the body.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from dashboard import clock
from dashboard.auth.access import public
from dashboard.providers.hkach import consts
from dashboard.sandbox import hkach
from dashboard.sandbox.core import FAULT_HEADER
from dashboard.sandbox.core import ActiveFaults
from dashboard.sandbox.core import get_sandbox
from dashboard.sandbox.core import hold_answer
from dashboard.sandbox.core import take_faults
from dashboard.sandbox.store import transaction

bp = Blueprint("sandbox_hkach_api", __name__, url_prefix="/sandbox/hkach")

#: Group status → the seed's HTTP status for the status call.
SEED_STATUS = {"RCVD": 202, "ACTC": 202, "PDNG": 202, "ACSC": 200, "PART": 200, "RJCT": 400}


def _seed_mode() -> bool:
    return bool(get_sandbox().options.get("SANDBOX_HKACH_SEED_MODE"))


def _answer(status: int, payload: dict[str, Any], headers: dict[str, str], faults: ActiveFaults) -> Response:
    hold_answer(get_sandbox(), faults)
    if "http_500" in faults:
        return _json(
            500, {"status": {"severity": "Transient", "code": "EC000_001", "text": "Internal error"}}, {}
        )
    response = _json(status, payload, headers)
    if "malformed_json" in faults:
        response.set_data(response.get_data()[: max(1, len(response.get_data()) // 2)])
    return response


def _json(status: int, payload: dict[str, Any], headers: dict[str, str]) -> Response:
    response = Response(
        json.dumps(payload, separators=(",", ":")), status=status, content_type="application/json"
    )
    response.headers["X-RequestKey"] = str(uuid.uuid4())
    if correlation := request.headers.get(consts.CORRELATION_HEADER):
        response.headers[consts.CORRELATION_HEADER] = correlation
    response.headers.extend(headers)
    return response


def _run(operation: str, work: Callable[..., tuple[int, dict[str, Any], dict[str, str]]]) -> Response:
    """Apply faults and rate limits, run ``work(session, now)`` in one transaction, answer it."""
    sandbox = get_sandbox()
    with transaction(sandbox.engine) as session:
        faults = take_faults(session, operation, request.headers.get(FAULT_HEADER))
    if "http_503" in faults:
        return _json(
            503, {"status": {"severity": "Transient", "code": "EC000_001", "text": "Unavailable"}}, {}
        )
    now = clock.now()
    try:
        if "http_429" in faults:
            raise hkach.Refusal(429, "EC000_429", "Too many requests", {"Retry-After": "1"})
        hkach.check_rate(sandbox, operation.removeprefix("hkach_"), now)
        with transaction(sandbox.engine) as session:
            status, payload, headers = work(session, now)
    except hkach.Refusal as refusal:
        return _answer(refusal.status, refusal.body, refusal.headers, faults)
    return _answer(status, payload, headers, faults)


@bp.post("/v1.0/auth")
@public
def hkach_auth():
    """Grant a 3,600 s bearer token for a verified client assertion."""
    sandbox = get_sandbox()

    def work(session, now):
        if request.mimetype != "application/x-www-form-urlencoded":
            raise hkach.Refusal(415, "EC000_006", "Unsupported media type")
        api_key = request.headers.get(consts.API_KEY_HEADER)
        return 200, hkach.grant_token(sandbox, session, request.form, api_key, now), {}

    return _run("hkach_auth", work)


def _check_access(session, now, scope: str) -> None:
    hkach.check_access(
        get_sandbox(),
        session,
        request.headers.get("Authorization"),
        request.headers.get(consts.API_KEY_HEADER),
        scope,
        now,
    )


@bp.post(consts.SUBMIT_PATH)
@public
def hkach_submit():
    """Receive a batch: validation failures are kept as RJCT, read through the status call."""
    sandbox = get_sandbox()

    def work(session, now):
        _check_access(session, now, consts.SCOPE_CREATE)
        message_id = hkach.check_message_id(request.headers.get(consts.MESSAGE_ID_HEADER))
        if request.mimetype != "application/json":
            raise hkach.Refusal(415, "EC000_006", "Unsupported media type")
        try:
            body = json.loads(request.get_data())
        except ValueError:
            raise hkach.Refusal(400, "EC000_003", "The body is not JSON") from None
        status = hkach.record_batch(sandbox, session, message_id, body, now)
        location = f"{sandbox.hkach.base_url}/payments/{message_id}"
        if _seed_mode():
            return 202, {"transaction_status": status, "paymentId": message_id}, {"Location": location}
        return 201, {"transaction_status": status}, {"Location": location}

    return _run("hkach_submit", work)


@bp.get(consts.SUBMIT_PATH + "/<message_id>")
@public
def hkach_status(message_id: str):
    """The status report of a batch (pain.002); 404 when no batch has this x-Message-Id."""

    def work(session, now):
        _check_access(session, now, consts.SCOPE_READ)
        report = hkach.status_report(hkach.find(session, message_id), now)
        return SEED_STATUS[report["group_status"]] if _seed_mode() else 200, report, {}

    return _run("hkach_status", work)
