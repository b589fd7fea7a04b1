"""The storefront API at ``/api/v1``: JSON in and out, an API key as ``Authorization: Bearer``.

No staff session, cookie or CSRF token is involved: each request presents its key, which the
blueprint checks (and rate-limits) before the view runs, with the scope the OpenAPI document
gives the operation. Views call the services the pages call, so an API refund follows the
same rules, locks and approval thresholds as one asked for on the payment's page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import json
from flask import request
from limits import parse
from werkzeug.exceptions import HTTPException

from dashboard.agreements import service as agreements
from dashboard.agreements.models import Agreement
from dashboard.api import idempotency
from dashboard.api import openapi
from dashboard.api import service
from dashboard.api.problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from dashboard.api.problems import Problem
from dashboard.api.problems import body_pointer
from dashboard.api.problems import for_status
from dashboard.api.problems import query_parameter
from dashboard.api.shapes import FEED_KINDS
from dashboard.api.shapes import agreement_json
from dashboard.api.shapes import event_json
from dashboard.api.shapes import listed_payment_json
from dashboard.api.shapes import payment_json
from dashboard.api.shapes import refund_json
from dashboard.audit.service import API_ACTOR
from dashboard.auth.access import BEARER
from dashboard.auth.access import bearer
from dashboard.auth.access import public
from dashboard.events.kinds import ObjectType
from dashboard.events.service import feed
from dashboard.extensions import csrf
from dashboard.extensions import db
from dashboard.extensions import limiter
from dashboard.listing import Cursor
from dashboard.listing import valid_filters
from dashboard.money import EXPONENTS
from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.payments.forms import NOTE_MISSING
from dashboard.payments.forms import PaymentFilterForm
from dashboard.payments.forms import note_missing
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.queries import PaymentFilter
from dashboard.payments.queries import payment_page
from dashboard.payments.states import RefundRefused
from dashboard.providers.worldpay.mapping import ResultUrls

bp = Blueprint("api", __name__, url_prefix=openapi.PREFIX)
csrf.exempt(bp)

#: Calls refused for their key that one address may make before it is refused with 429 unheard.
REFUSED_LIMIT = parse("60 per minute")
#: The largest id any object has (BIGINT).
MAX_ID = 2**63 - 1
#: Most events one read of the feed returns.
EVENTS_PER_READ = 200
#: A failed object means the provider refused; its problem carries the object.
_FAILED = "failed"


# --- the key, its scope, its rate ----------------------------------------------------------------


def _bearer_secret() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def _hit(item, scope: str, identity: str) -> None:
    """Count a call against ``item``; refuse it with 429 and Retry-After once it is over."""
    wait = limiter.count_call(item, scope, identity)
    if wait is None:
        return
    raise Problem(
        "rate-limited", f"Too many calls; try again in {wait} seconds.", headers={"Retry-After": str(wait)}
    )


@bp.before_request
def check_key():
    """Accept the request's API key for the operation's scope, or answer 401/403/429."""
    if current_app.extensions["access_table"].get(request.endpoint) != BEARER or request.method == "OPTIONS":
        return
    method = "GET" if request.method == "HEAD" else request.method
    scope = openapi.scope_of(openapi.operation_for(request.url_rule.rule, method))
    try:
        key = service.authenticate(_bearer_secret(), request.remote_addr)
        if scope not in key.scope_list:
            raise service.KeyRefused("insufficient_scope", key)
    except service.KeyRefused as refused:
        _hit(REFUSED_LIMIT, "api.refused", request.remote_addr or "")
        service.record_refusal(refused, request.method, request.path, scope)
        if refused.reason == "insufficient_scope":
            raise Problem("insufficient-scope", f"This key does not have the {scope} scope.") from None
        raise Problem(
            "unauthorized",
            _REFUSALS.get(refused.reason, "The API key is not valid."),
            headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
        ) from None
    # Counted by the key's hash: unique for ever, where ids restart with a fresh database.
    _hit(parse(current_app.config["API_RATE_LIMIT"]), "api", key.secret_hash)
    g.api_key_id = key.id
    setattr(g, API_ACTOR, f"api-key:{key.prefix}")


_REFUSALS = {
    "missing": "Send the API key as Authorization: Bearer <key>.",
    "revoked": "This API key was revoked.",
    "expired": "This API key has expired.",
    "wrong_environment": "A bo_test_ key works only with the sandbox, a bo_live_ key only without it.",
}


# --- answers ----------------------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    mimetype = PROBLEM_MEDIA_TYPE if status >= 400 else "application/json"
    response = Response(json.dumps(body), status, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(Problem)
def problem_answer(problem: Problem):
    """Answer a problem raised by a view or the key check."""
    return problem.response()


@bp.errorhandler(HTTPException)
def http_problem(error: HTTPException):
    """Answer an HTTP error (a body too large, a missing object) as a problem."""
    if error.code is None or error.code < 400:
        return error
    if error.code == 500:
        db.session.rollback()
    return for_status(error.code).response()


@bp.errorhandler(Exception)
def crash_problem(error: Exception):
    """Log a crash and answer it as a problem (nothing is kept for its idempotency key)."""
    current_app.logger.exception("API request failed", exc_info=error)
    db.session.rollback()
    return for_status(500).response()


def _found(model: type, object_id: int) -> Any:
    # An id past BIGINT names nothing (the database would refuse to compare with it).
    found = db.session.get(model, object_id) if object_id <= MAX_ID else None
    if found is None:
        raise Problem("not-found", f"There is no {model.__name__.lower()} {object_id}.")
    return found


#: A view's own checks of a body that met its schema: the field errors it finds.
Check = Callable[[dict[str, Any]], list[dict[str, str]]]


def _body(operation_id: str, check: Check | None) -> dict[str, Any]:
    """Return the request's JSON object after checking it against the operation's schema (and
    ``check``)."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise Problem("unsupported-media-type", "Send the body as JSON (Content-Type: application/json).")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem("invalid-body", "The body must be a JSON object.")
    errors = [_field_error(error) for error in openapi.validator(operation_id, body=True).iter_errors(body)]
    errors += [
        {**body_pointer(*path), "detail": "This field holds a NUL character (\\0), which no field accepts."}
        for path in _paths_holding_nul(body)
    ]
    if "currency" in body and isinstance(body["currency"], str) and body["currency"] not in EXPONENTS:
        errors.append(
            {**body_pointer("currency"), "detail": f"{body['currency']} is not a currency we know."}
        )
    if not errors and check is not None:
        errors = check(body)
    if errors:
        raise Problem("validation", "Some fields are missing or invalid; see errors.", errors=errors)
    return body


def _paths_holding_nul(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Yield the path of every string in ``value`` holding a NUL (PostgreSQL's text cannot hold one)."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _paths_holding_nul(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths_holding_nul(item, (*path, index))


def _field_error(error) -> dict[str, str]:
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        return {**body_pointer(*path, missing), "detail": "This field is required."}
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return {**body_pointer(*path, extra[0]), "detail": "This field is not known."}
    return {**body_pointer(*path), "detail": error.message}


def _post(
    operation_id: str, act: Callable[[dict[str, Any]], idempotency.Answer], check: Check | None = None
) -> Response:
    """Answer a POST once per Idempotency-Key: check the body, act, keep and return the answer.

    A body that fails its checks is refused before the key is claimed, so the key stays free for
    the corrected request.
    """
    body = _body(operation_id, check)
    print_ = idempotency.fingerprint(request.method, request.path, body)
    key = request.headers.get(idempotency.HEADER)
    (status, answer), replayed = idempotency.once(g.api_key_id, key, print_, lambda: act(body))
    response = _json(answer, status)
    if replayed:
        response.headers[idempotency.REPLAYED_HEADER] = "true"
    return response


def _request_id(prefix: str) -> str:
    """Return the request id of this POST's refund or charge: the same for every retry under its key
    and Idempotency-Key, so a retry after a crash is the same request at the provider and at our
    refund rules (one request id, one refund), never a second one."""
    seed = f"{g.api_key_id}:{request.headers.get(idempotency.HEADER, '')}"
    return prefix + hashlib.sha256(seed.encode()).hexdigest()[:32]


def _created_or_refused(shown: dict[str, Any], noun: str, status: str) -> tuple[int, dict[str, Any]]:
    """Answer 201 with the object, or the provider's refusal with the object inside it."""
    if status != _FAILED:
        return 201, shown
    refused = shown["failure"] or {}
    said = " ".join(part for part in (refused.get("code"), refused.get("message")) if part)
    raise Problem(
        "provider-refused",
        f"The provider refused the {noun}: {said or 'no reason given'}.",
        **{noun: shown, "provider_code": refused.get("code"), "guidance": refused.get("next_step")},
    )


def _refused(error: Exception) -> Problem:
    text = str(error)
    return Problem("refused", text[:1].upper() + text[1:] + ".")


# --- agreements -------------------------------------------------------------------------------------


@bp.post("/agreements")
@bearer
def create_agreement():
    """Start an Auto Debit authorisation; answer the agreement with the customer's authorisation URL."""

    def act(body: dict[str, Any]):
        try:
            agreement = agreements.start_consult(
                body["wallet"], body["customer_reference"], return_url=body.get("return_url")
            )
        except agreements.AgreementRefused as refused:
            raise _refused(refused) from None
        return _created_or_refused(agreement_json(agreement), "agreement", agreement.status)

    return _post("createAgreement", act)


@bp.get("/agreements/<int:agreement_id>")
@bearer
def get_agreement(agreement_id: int):
    """Answer an agreement."""
    return _json(agreement_json(_found(Agreement, agreement_id)))


@bp.post("/agreements/<int:agreement_id>/revoke")
@bearer
def revoke_agreement(agreement_id: int):
    """Revoke an active agreement; answer it as it stands after the provider's answer."""
    _found(Agreement, agreement_id)

    def act(body: dict[str, Any]):
        try:
            agreement = agreements.revoke(agreement_id, body.get("reason"))
        except agreements.AgreementRefused as refused:
            raise _refused(refused) from None
        return 200, agreement_json(agreement)

    return _post("revokeAgreement", act)


@bp.post("/agreements/<int:agreement_id>/charges")
@bearer
def charge_agreement(agreement_id: int):
    """Charge an active agreement (Auto Debit); answer the payment."""
    _found(Agreement, agreement_id)

    def act(body: dict[str, Any]):
        try:
            payment = payments.charge_agreement(
                agreement_id,
                Money(body["amount"], body["currency"]),
                body["order_description"],
                request_id=_request_id("pay-"),
                merchant_reference=body.get("merchant_reference"),
            )
        except payments.PaymentRefused as refused:
            raise _refused(refused) from None
        return _created_or_refused(payment_json(payment), "payment", payment.status)

    return _post("chargeAgreement", act)


# --- payments and refunds -----------------------------------------------------------------------------


@bp.post("/payments")
@bearer
def create_payment():
    """Start an AlipayHK payment; answer it with the shopper's redirect URL."""

    def act(body: dict[str, Any]):
        urls = body.get("result_urls")
        try:
            payment = payments.create_alipayhk_payment(
                Money(body["amount"], body["currency"]),
                body["narrative"],
                order_description=body.get("order_description"),
                result_urls=ResultUrls(**urls) if urls else None,
            )
        except payments.PaymentRefused as refused:
            raise _refused(refused) from None
        return _created_or_refused(payment_json(payment), "payment", payment.status)

    return _post("createPayment", act)


@bp.get("/payments/<int:payment_id>")
@bearer
def get_payment(payment_id: int):
    """Answer a payment."""
    return _json(payment_json(_found(Payment, payment_id)))


@bp.get("/payments")
@bearer
def list_payments():
    """List payments matching the payments list's filters, newest first, a keyset page at a time."""
    form = PaymentFilterForm(request.args)
    filters = valid_filters(form, PaymentFilter)
    errors = [
        {**query_parameter(name), "detail": " ".join(map(str, messages))}
        for name, messages in form.errors.items()
    ]
    before = Cursor.parse(request.args.get("cursor"))
    if request.args.get("cursor") and before is None:
        errors.append({**query_parameter("cursor"), "detail": "Pass a next_cursor of an earlier page."})
    if errors or filters is None:
        raise Problem("validation", "Some filters are invalid; see errors.", errors=errors)
    page = payment_page(db.session, filters, current_app.config["DISPLAY_TIMEZONE"], before)
    return _json(
        {
            "object": "list",
            "data": [listed_payment_json(row) for row in page.rows],
            "next_cursor": str(page.next_cursor) if page.next_cursor is not None else None,
        }
    )


@bp.post("/payments/<int:payment_id>/refunds")
@bearer
def refund_payment(payment_id: int):
    """Refund (part of) a payment; from the approval threshold it waits for a manager."""
    payment = _found(Payment, payment_id)
    currency, provider = payment.currency, payment.provider
    reasons = current_app.config["REFUND_REASONS"]

    def check(body: dict[str, Any]) -> list[dict[str, str]]:
        errors = []
        if body["reason"] not in reasons:
            errors.append({**body_pointer("reason"), "detail": f"Choose one of: {', '.join(reasons)}."})
        if note_missing(body["reason"], body.get("note")):
            errors.append({**body_pointer("note"), "detail": str(NOTE_MISSING)})
        return errors

    def act(body: dict[str, Any]):
        try:
            refund = payments.refund_payment(
                payment_id,
                Money(body["amount"], currency),
                body["reason"],
                _request_id("rf-"),
                note=body.get("note") or None,
            )
        except RefundRefused as refused:
            raise _refused(refused) from None
        return _created_or_refused(refund_json(refund, provider), "refund", refund.status)

    return _post("refundPayment", act, check)


@bp.get("/refunds/<int:refund_id>")
@bearer
def get_refund(refund_id: int):
    """Answer a refund."""
    refund = _found(Refund, refund_id)
    return _json(refund_json(refund, refund.payment.provider))


# --- the feed and the document ---------------------------------------------------------------------


@bp.get("/events")
@bearer
def list_events():
    """Answer status changes of agreements, payments and their refunds after ``after``, oldest first."""
    raw = request.args.get("after", "0")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise Problem(
            "validation",
            "after must be a cursor: 0 or a next_cursor.",
            errors=[{**query_parameter("after"), "detail": "Pass 0 or the next_cursor of an earlier read."}],
        )
    after = int(raw)
    events = feed(db.session, after, (ObjectType.PAYMENT, ObjectType.AGREEMENT), FEED_KINDS, EVENTS_PER_READ)
    return _json(
        {
            "object": "list",
            "data": [event_json(event) for event in events],
            "next_cursor": events[-1].id if events else after,
        }
    )


@bp.get("/openapi.json")
@public
def openapi_document():
    """Answer the OpenAPI 3.1 document of this API (no key needed)."""
    return _json(openapi.document())
