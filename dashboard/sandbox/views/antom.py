"""The Antom API of the simulator: ``/sandbox/antom/ams/...`` (signed JSON, no CSRF) and its public key."""

from __future__ import annotations

import json
from datetime import datetime

from flask import Blueprint
from flask import Response
from flask import abort
from flask import request
from sqlalchemy import func
from sqlalchemy import select

from dashboard import clock
from dashboard.auth.access import public
from dashboard.providers.antom import signatures
from dashboard.providers.antom.consts import CONTENT_TYPE
from dashboard.providers.antom.consts import HEADER_CLIENT_ID
from dashboard.providers.antom.consts import HEADER_REQUEST_TIME
from dashboard.providers.antom.consts import HEADER_RESPONSE_TIME
from dashboard.providers.antom.consts import HEADER_SIGNATURE
from dashboard.providers.antom.consts import Operation
from dashboard.sandbox import antom
from dashboard.sandbox import antom_declarations
from dashboard.sandbox import antom_reports
from dashboard.sandbox import sender
from dashboard.sandbox.core import FAULT_HEADER
from dashboard.sandbox.core import ActiveFaults
from dashboard.sandbox.core import get_sandbox
from dashboard.sandbox.core import hold_answer
from dashboard.sandbox.core import take_faults
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import transaction

#: Machine to machine, verified by signature: no CSRF.
bp = Blueprint("sandbox_antom_api", __name__, url_prefix="/sandbox/antom")

bp.before_request(sender.ensure_started)

#: Every simulated API by its path after /v1/, and its handler.
API_PATHS = {**antom.API_PATHS, **antom_declarations.API_PATHS}
HANDLERS = {**antom.HANDLERS, **antom_declarations.HANDLERS}


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
    hold_answer(get_sandbox(), faults)
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
    # Without keyVersion Antom uses the client id's latest key (api_fund), which is the only one here.
    if key_version is not None and key_version != str(sandbox.antom.key_version):
        return "KEY_NOT_FOUND"
    merchant = sandbox.keys.merchant.public_key
    if not signatures.verify(merchant, "POST", uri, client_id, request_time, raw, header):
        return "INVALID_SIGNATURE"
    return None


@bp.post("/ams/api/v1/<path:api>")
@bp.post("/ams/sandbox/api/v1/<path:api>")
@public
def api(api: str):
    """Every Antom API: verify, apply faults, run the operation, sign the answer."""
    sandbox = get_sandbox()
    uri = request.script_root + request.path
    raw = request.get_data(cache=False)
    operation = API_PATHS.get(api)
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
    if "unknown_exception" in faults:
        return _answer(uri, operation, {"result": antom.result(operation, "UNKNOWN_EXCEPTION", "U")}, faults)
    now = clock.now()
    with transaction(sandbox.engine) as session:
        antom.tick(sandbox, session, now)
        antom_declarations.advance(sandbox, session, now)
        first_new = (session.scalar(select(func.max(Delivery.id))) or 0) + 1
        try:
            with session.begin_nested():
                payload = HANDLERS[operation](sandbox, session, body, now, faults)
        except antom.Reject as reject:
            payload = {"result": antom.result(operation, reject.code, reject.status), **reject.fields}
        new = session.scalars(select(Delivery.id).where(Delivery.id >= first_new)).all()
    if "notify_before_response" in faults:
        sender.deliver_now(sandbox, new)
    return _answer(uri, operation, payload, faults)


@bp.get("/public-key")
@public
def public_key():
    """Download the simulator's Antom public key (what ANTOM_PUBLIC_KEY would hold)."""
    response = Response(get_sandbox().keys.antom.public_pem, content_type="application/x-pem-file")
    response.headers["Content-Disposition"] = "attachment; filename=antom-sandbox-public-key.pem"
    return response


def _day_files(merchant: str, day: str) -> dict[str, bytes]:
    sandbox = get_sandbox()
    try:
        when = datetime.strptime(day, "%Y%m%d").date()
    except ValueError:
        abort(404)
    if merchant != antom_reports.merchant_id(sandbox):
        abort(404)
    with transaction(sandbox.engine) as session:
        files = antom_reports.day_files(sandbox, session, when, clock.now())
    if files is None:
        abort(404)
    return files


@bp.get("/v1/settlements/<merchant>/<day>/")
@public
def settlement_folder(merchant: str, day: str):
    """List a day's settlement reports, one file name a line (stands in for Antom's SFTP folder)."""
    return Response("".join(f"{name}\n" for name in _day_files(merchant, day)), content_type="text/plain")


@bp.get("/v1/settlements/<merchant>/<day>/<name>")
@public
def settlement_file(merchant: str, day: str, name: str):
    """Download one of a day's settlement reports (UTF-8 CSV ending with <END>)."""
    body = _day_files(merchant, day).get(name)
    if body is None:
        abort(404)
    response = Response(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response
