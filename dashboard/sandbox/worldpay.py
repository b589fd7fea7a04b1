"""The Worldpay simulator: AlipayHK APM payments, the shopper page's outcomes, reversals, events.

Behaviour follows worldpay_hkach.md PART 1 (§ numbers below), seed 000 and the Events spec. The
shopper's Cancel gives ``cancelledByCustomer`` (seed 000's ``cancelled`` with the richer event
shapes). Events have the spec's shapes (no ``reference`` on ``refunded``, no
``downstreamReference`` on ``cancelledByCustomer`` or ``requestExpired``) unless
``SANDBOX_WORLDPAY_EVENT_SHAPE=rich`` keeps the shapes the simulator first sent. Amount 500 makes
the sale an ``error`` in the create answer; a reversal of a 700 sale (or a reversal of 700) is
accepted as ``sentForRefund`` and then fails by a ``refundFailed`` event; a captured sale settles
(``settled``) when its T+1 batch runs, except a sale of 900, whose settlement fails
(``settlementFailed``). Events are signed with every configured webhook secret and queued per
payment (``worldpay:<transactionReference>``) so they arrive in order.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.money import Money
from dashboard.providers.worldpay import consts
from dashboard.providers.worldpay.consts import ErrorName
from dashboard.providers.worldpay.consts import EventName
from dashboard.providers.worldpay.consts import QueryEventName
from dashboard.providers.worldpay.consts import SignatureEncoding
from dashboard.providers.worldpay.mapping import build_event
from dashboard.providers.worldpay.signatures import sign_event
from dashboard.sandbox import sender
from dashboard.sandbox.core import ActiveFaults
from dashboard.sandbox.core import Sandbox
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import WorldpayPayment
from dashboard.sandbox.store import WorldpayReversal

PROVIDER = consts.PROVIDER

#: Documented retry waits (§1.10.1/§1.10.4): 30 s → 1 m → 5 m → 15 m → 30 m → 1 h → 2 h, then every
#: 2 h until a week has passed. The first entry is the wait before the first attempt.
_RAMP = (0, 30, 60, 300, 900, 1800, 3600, 7200)
WORLDPAY_SCHEDULE: tuple[int, ...] = _RAMP + (7200,) * ((7 * 24 * 3600 - sum(_RAMP)) // 7200)
#: Documented seconds between ``authorized`` and ``sentForSettlement`` ("a few seconds", §1.7.1).
SETTLE_AFTER_SECONDS = 5
#: Documented seconds until a reversal's ``refunded`` / ``refundFailed`` event.
REFUND_AFTER_SECONDS = 60
#: Seconds from ``sentForSettlement`` to the settlement batch (T+1, §1.7.1): ``settled``, or
#: ``settlementFailed`` for the magic amount 900.
SETTLED_AFTER_SECONDS = 24 * 3600

#: Operation names for fault switches (the client's operation names, plus the shopper page).
OPERATIONS = (
    "create_payment",
    "query_payment",
    "reverse",
    "partial_reverse",
    "lookup_payment",
    "retrieve_payment",
    "shopper",
)
#: Shopper page choice → (resulting lastEvent, which resultUrls entry the shopper returns to).
#: Seed 000's outcomes: "Authorised" stays ``authorized``; "Authorised and captured" goes on to
#: ``sentForSettlement``.
SHOPPER_CHOICES: dict[str, tuple[str | None, str]] = {
    "authorise": (EventName.AUTHORIZED, "success"),
    "capture": (EventName.AUTHORIZED, "success"),
    "refuse": (EventName.REFUSED, "failure"),
    "error": (EventName.ERROR, "failure"),
    # The Events spec's name; with SANDBOX_WORLDPAY_EVENT_SHAPE=rich, seed 000's "cancelled".
    "cancel": (EventName.CANCELLED_BY_CUSTOMER, "cancel"),
    "pending": (None, "pending"),
    "expire": (EventName.REQUEST_EXPIRED, "failure"),
}
#: The choices after which the sale is captured (sent for settlement) a few seconds later.
CAPTURING = frozenset({"capture"})
#: States whose payment can be reversed (refunded) while a balance remains (§1.7.1).
REVERSIBLE = frozenset(
    {
        EventName.SENT_FOR_SETTLEMENT,
        EventName.SETTLED,
        EventName.SENT_FOR_REFUND,
        EventName.REFUNDED,
        EventName.REFUND_FAILED,
    }
)

MESSAGES = {
    ErrorName.BODY_DOES_NOT_MATCH_SCHEMA: "The json body provided does not match the expected schema",
    ErrorName.TRANSACTION_REFERENCE_IS_A_DUPLICATE: (
        "The transaction reference (while valid as a reference) is a duplicate already used in another "
        "transaction."
    ),
    ErrorName.PAYMENT_NOT_FOUND: "Payment resource not found.",
    ErrorName.ORDER_NOT_READY: "Transaction not ready",
    ErrorName.UNAUTHORIZED: "Invalid authentication",
    ErrorName.INTERNAL_ERROR_OCCURRED: "An internal problem occurred with your request, please try again.",
    ErrorName.HEADER_IS_MISSING: "A required header is missing",
    ErrorName.HEADER_HAS_INVALID_VALUE: "A header has an invalid value",
    ErrorName.BODY_IS_EMPTY: "The body is empty",
    ErrorName.BODY_IS_NOT_JSON: "The body is not JSON",
    ErrorName.ENTITY_IS_NOT_CONFIGURED: "The entity is not configured for this merchant",
    ErrorName.ENDPOINT_NOT_FOUND: "The requested endpoint was not found",
}


class Reject(Exception):
    """A refusal: HTTP status plus the documented error body (§1.9)."""

    def __init__(self, status: int, error_name: str, issues: list[dict[str, str]] | None = None):
        super().__init__(error_name)
        self.status = status
        self.body: dict[str, Any] = {"errorName": str(error_name), "message": MESSAGES.get(error_name, "")}
        if issues:
            self.body["validationErrors"] = issues


def _issue(name: str, message: str, path: str) -> dict[str, str]:
    return {"errorName": str(name), "message": message, "jsonPath": path}


# -- validation -------------------------------------------------------------------------


class _Checker:
    """Collects validationErrors while reading a body."""

    def __init__(self) -> None:
        self.issues: list[dict[str, str]] = []

    def obj(self, data: Any, key: str, path: str, required: bool = True) -> dict | None:
        value = data.get(key) if isinstance(data, Mapping) else None
        if value is None:
            if required:
                self.issues.append(_issue(ErrorName.FIELD_IS_MISSING, "Field is mandatory", path))
            return None
        if not isinstance(value, Mapping):
            self.issues.append(_issue(ErrorName.FIELD_HAS_INVALID_VALUE, "Field must be an object", path))
            return None
        return dict(value)

    def text(
        self, data: Any, key: str, path: str, *, max_length: int, pattern=None, required: bool = True, low=1
    ) -> str | None:
        value = data.get(key) if isinstance(data, Mapping) else None
        if value is None:
            if required:
                self.issues.append(_issue(ErrorName.FIELD_IS_MISSING, "Field is mandatory", path))
            return None
        if not isinstance(value, str):
            self.issues.append(_issue(ErrorName.FIELD_MUST_BE_STRING, "Field must be a string", path))
            return None
        if len(value) < low:
            self.issues.append(_issue(ErrorName.STRING_IS_TOO_SHORT, f"At least {low} characters", path))
        elif len(value) > max_length:
            self.issues.append(_issue(ErrorName.STRING_IS_TOO_LONG, f"At most {max_length} characters", path))
        elif pattern is not None and not pattern.fullmatch(value):
            self.issues.append(
                _issue(ErrorName.STRING_FAILED_REGEX_CHECK, f"Must match {pattern.pattern}", path)
            )
        else:
            return value
        return None

    def amount(self, data: Any, path: str) -> int | None:
        value = data.get("amount") if isinstance(data, Mapping) else None
        if value is None:
            self.issues.append(_issue(ErrorName.FIELD_HAS_INVALID_VALUE, "Field is mandatory", path))
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.issues.append(_issue(ErrorName.FIELD_HAS_INVALID_VALUE, "Field must be an integer", path))
            return None
        if value < consts.AMOUNT_MIN:
            self.issues.append(_issue(ErrorName.FIELD_HAS_INVALID_VALUE, "Must be at least 1", path))
            return None
        if value > consts.AMOUNT_MAX:
            self.issues.append(_issue(ErrorName.NUMBER_IS_TOO_LARGE, "Number is too large", path))
            return None
        return value

    def invalid(self, message: str, path: str) -> None:
        self.issues.append(_issue(ErrorName.FIELD_HAS_INVALID_VALUE, message, path))

    def raise_if_any(self) -> None:
        if self.issues:
            raise Reject(400, ErrorName.BODY_DOES_NOT_MATCH_SCHEMA, self.issues)


def hkd_rates(options: Mapping[str, Any]) -> dict[str, Decimal]:
    """Return HKD per unit of each AlipayHK currency (``SANDBOX_WORLDPAY_HKD_RATES``)."""
    rates = {"HKD": Decimal(1)}
    for item in str(options.get("SANDBOX_WORLDPAY_HKD_RATES") or "").split(","):
        code, _, rate = item.strip().partition(":")
        if code and rate:
            rates[code.strip().upper()] = Decimal(rate.strip())
    return rates


def over_cap(amount: Money, options: Mapping[str, Any]) -> bool:
    """Return whether ``amount`` is above the HKD 50,000 AlipayHK cap, converted at the sandbox rates."""
    rate = hkd_rates(options).get(amount.currency)
    if rate is None:
        return False
    return amount.decimal * rate > consts.ALIPAY_HK_MAX_HKD.decimal


def _check_create(body: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    check = _Checker()
    reference_pattern = consts.TRANSACTION_REFERENCE_PATTERN
    max_ref = consts.TRANSACTION_REFERENCE_MAX_LENGTH
    reference = check.text(
        body, "transactionReference", "$.transactionReference", max_length=max_ref, pattern=reference_pattern
    )
    order = check.text(
        body,
        "orderReference",
        "$.orderReference",
        max_length=max_ref,
        pattern=reference_pattern,
        required=False,
    )
    merchant = check.obj(body, "merchant", "$.merchant")
    low, high = consts.ENTITY_LENGTH
    entity = (
        check.text(
            merchant or {},
            "entity",
            "$.merchant.entity",
            max_length=high,
            low=low,
            pattern=consts.ENTITY_PATTERN,
        )
        if merchant is not None
        else None
    )
    instruction = check.obj(body, "instruction", "$.instruction")
    result: dict[str, Any] = {"transaction_reference": reference, "order_reference": order, "entity": entity}
    if instruction is not None:
        if instruction.get("method") is None:
            check.issues.append(
                _issue(ErrorName.FIELD_IS_MISSING, "Field is mandatory", "$.instruction.method")
            )
        elif instruction.get("method") != consts.METHOD_ALIPAY_HK:
            check.invalid("Only alipay_hk is simulated", "$.instruction.method")
        value = check.obj(instruction, "value", "$.instruction.value")
        if value is not None:
            result["amount"] = check.amount(value, "$.instruction.value.amount")
            currency = check.text(value, "currency", "$.instruction.value.currency", max_length=3, low=3)
            if currency is not None and currency not in consts.ALIPAY_HK_CURRENCIES:
                check.invalid("AlipayHK accepts EUR, HKD, GBP and SGD only", "$.instruction.value.currency")
                currency = None
            result["currency"] = currency
            if (
                result["amount"] is not None
                and currency is not None
                and over_cap(Money(result["amount"], currency), options)
            ):
                check.invalid("Above the AlipayHK maximum of HKD 50,000", "$.instruction.value.amount")
        narrative = check.obj(instruction, "narrative", "$.instruction.narrative")
        if narrative is not None:
            result["narrative"] = check.text(
                narrative,
                "line1",
                "$.instruction.narrative.line1",
                max_length=consts.NARRATIVE_MAX_LENGTH,
                pattern=consts.NARRATIVE_PATTERN,
            )
        instrument = check.obj(instruction, "paymentInstrument", "$.instruction.paymentInstrument")
        if instrument is not None and instrument.get("type") != consts.INSTRUMENT_DIRECT:
            check.invalid("Only the direct type is simulated", "$.instruction.paymentInstrument.type")
        urls = check.obj(instruction, "resultUrls", "$.instruction.resultUrls")
        if urls is not None:
            for name in ("success", "pending", "failure", "cancel"):
                check.text(
                    urls, name, f"$.instruction.resultUrls.{name}", max_length=2048, required=name != "cancel"
                )
            result["result_urls"] = {k: v for k, v in urls.items() if isinstance(v, str)}
    check.raise_if_any()
    return result


# -- helpers ------------------------------------------------------------------------------


def _payment_id() -> str:
    # Long opaque URL-safe token, like Worldpay's (§1.5).
    return secrets.token_urlsafe(120)


def _command_id() -> str:
    return "cmd" + secrets.token_hex(11)


def resource(sandbox: Sandbox, payment: WorldpayPayment, session: Session) -> dict[str, Any]:
    """Return the query answer of a payment (§1.6)."""
    href = f"{sandbox.worldpay.base_url}{consts.PAYMENT_PATH.format(payment_id=payment.payment_id)}"
    actions: dict[str, Any] = {}
    if reversible(session, payment):
        actions = {
            consts.ACTION_REVERSE: {"href": href + "/reversals", "method": "POST"},
            consts.ACTION_PARTIAL_REVERSE: {"href": href + "/partialReversals", "method": "POST"},
        }
    return {
        "paymentId": payment.payment_id,
        "lastEvent": payment.last_event,
        "_links": {"self": {"href": href}},
        "_actions": actions,
    }


def in_flight(session: Session, payment: WorldpayPayment) -> bool:
    """Return whether a reversal of ``payment`` is still ``sentForRefund`` (not finished)."""
    return (
        session.scalar(
            select(WorldpayReversal.id)
            .where(
                WorldpayReversal.payment_id == payment.payment_id,
                WorldpayReversal.status == EventName.SENT_FOR_REFUND,
            )
            .limit(1)
        )
        is not None
    )


def reversible(session: Session, payment: WorldpayPayment) -> bool:
    """Return whether ``_actions`` offer a reversal now: a captured sale with a balance left and no
    reversal in flight (the spec's answers show no actions while one is, §1.6, §1.8)."""
    return (
        payment.last_event in REVERSIBLE and balance(session, payment) > 0 and not in_flight(session, payment)
    )


def balance(session: Session, payment: WorldpayPayment) -> int:
    """Return the refundable balance in minor units (failed reversals give their amount back)."""
    taken = session.scalars(
        select(WorldpayReversal.amount_minor).where(
            WorldpayReversal.payment_id == payment.payment_id,
            WorldpayReversal.status != EventName.REFUND_FAILED,
        )
    ).all()
    return payment.amount_minor - sum(taken)


#: Events whose schema in the Events spec has no ``downstreamReference`` (and names the method).
_WITHOUT_DOWNSTREAM_REFERENCE = frozenset({EventName.CANCELLED_BY_CUSTOMER, EventName.REQUEST_EXPIRED})
#: Events whose schema carries the reversal's ``reference``: not ``refunded`` (WP-EVT-OAS).
_WITH_REFERENCE = frozenset({EventName.SENT_FOR_REFUND, EventName.REFUND_FAILED})


def rich_events(sandbox: Sandbox) -> bool:
    """Return whether events keep the richer shapes the simulator first sent (``reference`` on
    ``refunded``, a ``downstreamReference`` on every event, the seed's ``cancelled`` for the
    shopper's cancel) instead of the Events spec's (``SANDBOX_WORLDPAY_EVENT_SHAPE``)."""
    return sandbox.options.get("SANDBOX_WORLDPAY_EVENT_SHAPE") == "rich"


def _event(
    sandbox: Sandbox,
    session: Session,
    payment: WorldpayPayment,
    event_type: str,
    now: datetime,
    faults: ActiveFaults,
    *,
    amount_minor: int | None = None,
    reference: str | None = None,
) -> list[Delivery]:
    if rich_events(sandbox):
        downstream_reference = payment.downstream_reference
        method = consts.METHOD_ALIPAY_HK if event_type == EventName.REQUEST_EXPIRED else None
    else:
        spec_less = event_type in _WITHOUT_DOWNSTREAM_REFERENCE
        downstream_reference = None if spec_less else payment.downstream_reference
        method = consts.METHOD_ALIPAY_HK if spec_less else None
        reference = reference if event_type in _WITH_REFERENCE else None
    payload = build_event(
        event_id=str(uuid.uuid4()),
        timestamp=now,
        event_type=event_type,
        transaction_reference=payment.transaction_reference,
        downstream_reference=downstream_reference,
        payment_date=payment.created_at.date(),
        amount=Money(payment.amount_minor if amount_minor is None else amount_minor, payment.currency),
        reference=reference,
        payment_method=method,
    )
    copies = 2 if "duplicate_notification" in faults else 1
    return sender.enqueue(
        session,
        sandbox,
        PROVIDER,
        event_type,
        sandbox.worldpay.webhook_url,
        payload,
        copies,
        queue=f"{PROVIDER}:{payment.transaction_reference}",
    )


def event_headers(sandbox: Sandbox, url: str, body: bytes) -> dict[str, str]:
    """Sign an event with every configured secret (several during a rotation, §1.10.4), writing the
    HMACs as ``SANDBOX_WORLDPAY_SIGNATURE_ENCODING`` says (hex or base64)."""
    encoding = sandbox.options.get("SANDBOX_WORLDPAY_SIGNATURE_ENCODING") or SignatureEncoding.HEX
    signatures = [
        sign_event(body, key_id, secret, encoding)
        for key_id, secret in sandbox.worldpay.webhook_secrets.items()
    ]
    headers = {"Content-Type": consts.EVENTS_CONTENT_TYPE}
    if signatures:
        headers[consts.SIGNATURE_HEADER] = ",".join(signatures)
    return headers


def acknowledged(response: requests.Response) -> bool:
    """Worldpay stops retrying on HTTP 200 (§1.10.1)."""
    return response.status_code == 200


def find(session: Session, payment_id: str) -> WorldpayPayment:
    """Return a payment by id or raise 404 ``paymentNotFound``."""
    payment = session.scalar(select(WorldpayPayment).where(WorldpayPayment.payment_id == payment_id))
    if payment is None:
        raise Reject(404, ErrorName.PAYMENT_NOT_FOUND)
    return payment


# -- operations ---------------------------------------------------------------------------


def create(sandbox: Sandbox, session: Session, body: Any, now: datetime, faults: ActiveFaults) -> dict:
    """``POST /apmPayments``: validate, then 201 ``pending`` with a shopper redirect (500: ``error``)."""
    fields = _check_create(body, sandbox.options)
    if fields["entity"] != sandbox.worldpay.entity:
        raise Reject(400, ErrorName.ENTITY_IS_NOT_CONFIGURED)
    taken = session.scalar(
        select(WorldpayPayment.id).where(
            WorldpayPayment.transaction_reference == fields["transaction_reference"]
        )
    )
    if taken is not None:
        raise Reject(400, ErrorName.TRANSACTION_REFERENCE_IS_A_DUPLICATE)
    magic_error = fields["amount"] == consts.MAGIC_SALE_ERROR_AMOUNT
    payment = WorldpayPayment(
        payment_id=_payment_id(),
        transaction_reference=fields["transaction_reference"],
        order_reference=fields["order_reference"],
        entity=fields["entity"],
        amount_minor=fields["amount"],
        currency=fields["currency"],
        narrative=fields["narrative"],
        result_urls=json.dumps(fields["result_urls"]),
        shopper_token=secrets.token_urlsafe(24),
        downstream_reference=str(secrets.randbelow(9_000_000_000) + 1_000_000_000),
        last_event=EventName.ERROR if magic_error else EventName.PENDING,
        created_at=now,
    )
    session.add(payment)
    session.flush()
    answer = resource(sandbox, payment, session)
    if magic_error:
        _event(sandbox, session, payment, EventName.ERROR, now, faults)
    else:
        answer["redirect"] = f"{sandbox.base_url}/worldpay/shopper/{payment.shopper_token}"
    answer["paymentInstrument"] = {"method": consts.METHOD_ALIPAY_HK, "type": consts.INSTRUMENT_DIRECT}
    answer["commandId"] = _command_id()
    return answer


def query(sandbox: Sandbox, session: Session, payment_id: str) -> dict:
    """``GET /apmPayments/{id}``: lastEvent, links and the actions offered now."""
    return resource(sandbox, find(session, payment_id), session)


def reverse(
    sandbox: Sandbox,
    session: Session,
    payment_id: str,
    body: Any,
    now: datetime,
    faults: ActiveFaults,
    *,
    partial: bool,
) -> dict:
    """A full or partial reversal: only when ``_actions`` offers it, never above the balance."""
    payment = find(session, payment_id)
    remaining = balance(session, payment)
    if not reversible(session, payment):
        # AlipayHK has no cancel: nothing is offered before sentForSettlement (§1.4.2, §1.7.1),
        # nor while another reversal is in flight.
        raise Reject(400, ErrorName.ORDER_NOT_READY)
    reference, amount = None, None
    if body is not None or partial:
        check = _Checker()
        if not isinstance(body, Mapping):
            raise Reject(400, ErrorName.BODY_IS_EMPTY)
        reference = check.text(
            body,
            "reference",
            "$.reference",
            max_length=consts.REVERSAL_REFERENCE_MAX_LENGTH,
            pattern=consts.REVERSAL_REFERENCE_PATTERN,
            required=False,
        )
        value = check.obj(body, "value", "$.value")
        if value is not None:
            amount = check.amount(value, "$.value.amount")
            currency = check.text(value, "currency", "$.value.currency", max_length=3, low=3)
            if currency is not None and currency != payment.currency:
                check.invalid(f"The payment is in {payment.currency}", "$.value.currency")
            if amount is not None and amount > remaining:
                check.invalid(f"Above the refundable balance of {remaining}", "$.value.amount")
            elif amount is not None and not partial and amount != remaining:
                check.invalid(f"A full reversal is for the balance of {remaining}", "$.value.amount")
        check.raise_if_any()
    amount = remaining if amount is None else amount
    reversal = WorldpayReversal(
        payment_id=payment.payment_id,
        kind=consts.ACTION_PARTIAL_REVERSE if partial else consts.ACTION_REVERSE,
        reference=reference,
        amount_minor=amount,
        currency=payment.currency,
        command_id=_command_id(),
        status=EventName.SENT_FOR_REFUND,
        resolve_at=now + sandbox.delay(REFUND_AFTER_SECONDS),
        created_at=now,
    )
    session.add(reversal)
    payment.last_event = EventName.SENT_FOR_REFUND
    session.flush()
    _event(
        sandbox,
        session,
        payment,
        EventName.SENT_FOR_REFUND,
        now,
        faults,
        amount_minor=amount,
        reference=reference,
    )
    answer = resource(sandbox, payment, session)
    answer["_actions"] = {}  # ApmPaymentResourceNoActions (§1.8)
    answer["commandId"] = reversal.command_id
    return answer


# -- Payment Queries ----------------------------------------------------------------------------


def _queries_time(moment: datetime) -> str:
    """Return a Payment Queries timestamp: ISO 8601 UTC with milliseconds and a Z."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _summary(payment: WorldpayPayment) -> dict[str, Any]:
    """Return a payment as a Payment Queries search lists it (summary fields only)."""
    return {
        "timestamp": _queries_time(payment.created_at),
        "paymentId": payment.payment_id,
        "transactionReference": payment.transaction_reference,
        "entity": payment.entity,
        # The API shows card instruments only so far; how it will show an APM's is a guess.
        "paymentInstrument": {"method": consts.METHOD_ALIPAY_HK},
        "value": {"currency": payment.currency, "amount": payment.amount_minor},
        "_links": {"self": {"href": consts.PAYMENT_QUERY_PATH.format(payment_id=payment.payment_id)}},
    }


def lookup(session: Session, transaction_reference: str | None) -> dict:
    """``GET /paymentQueries/payments?transactionReference=``: the payment with our reference, if any.

    Only the search by ``transactionReference`` is simulated (not the date-range search).
    """
    if not transaction_reference:
        raise Reject(
            400,
            ErrorName.BODY_DOES_NOT_MATCH_SCHEMA,
            [
                _issue(
                    ErrorName.FIELD_IS_MISSING,
                    "Only transactionReference queries are simulated",
                    "$.transactionReference",
                )
            ],
        )
    payment = session.scalar(
        select(WorldpayPayment).where(WorldpayPayment.transaction_reference == transaction_reference)
    )
    href = f"{consts.PAYMENT_QUERIES_PATH}?{urlencode({'transactionReference': transaction_reference})}"
    return {
        "_links": {"self": {"href": href}},
        "_embedded": {"payments": [] if payment is None else [_summary(payment)]},
    }


#: lastEvent → how the sale ended in a Payment Queries history (None: no outcome yet).
_SALE_OUTCOMES = {
    EventName.PENDING: None,
    EventName.REFUSED: QueryEventName.SALE_REFUSED,
    **dict.fromkeys(
        (EventName.ERROR, EventName.CANCELLED, EventName.CANCELLED_BY_CUSTOMER, EventName.REQUEST_EXPIRED),
        QueryEventName.SALE_FAILED,
    ),
}


def history(sandbox: Sandbox, session: Session, payment_id: str) -> dict:
    """``GET /paymentQueries/payments/{paymentId}``: the payment's value and event history, whose
    refunds a dashboard reads when no ``refunded`` event came (each reversal is ``refundRequested``
    with our reference, then ``refundRequestSubmitted`` or ``refundRequestSubmissionFailed``)."""
    payment = find(session, payment_id)
    events: list[dict[str, Any]] = [
        {"eventName": QueryEventName.SALE_REQUESTED, "timestamp": _queries_time(payment.created_at)}
    ]
    outcome = _SALE_OUTCOMES.get(payment.last_event, QueryEventName.SALE_SUCCEEDED)
    if outcome is not None:
        events.append({"eventName": outcome, "timestamp": _queries_time(payment.created_at)})
    reversals = session.scalars(
        select(WorldpayReversal)
        .where(WorldpayReversal.payment_id == payment.payment_id)
        .order_by(WorldpayReversal.id)
    ).all()
    for reversal in reversals:
        requested: dict[str, Any] = {
            "eventName": QueryEventName.REFUND_REQUESTED,
            "timestamp": _queries_time(reversal.created_at),
            "type": "partialRefund" if reversal.kind == consts.ACTION_PARTIAL_REVERSE else "fullRefund",
            "value": {"currency": reversal.currency, "amount": reversal.amount_minor},
            "commandId": reversal.command_id,
        }
        if reversal.reference:
            requested["refundReference"] = reversal.reference
        events.append(requested)
        if reversal.resolved_at is not None:
            failed = reversal.status == EventName.REFUND_FAILED
            ended = (
                QueryEventName.REFUND_REQUEST_SUBMISSION_FAILED
                if failed
                else QueryEventName.REFUND_REQUEST_SUBMITTED
            )
            events.append(
                {
                    "eventName": ended,
                    "timestamp": _queries_time(reversal.resolved_at),
                    "commandId": reversal.command_id,
                }
            )
    return {
        **_summary(payment),
        "narrative": {"line1": payment.narrative},
        "lastEvent": events[-1]["eventName"],
        "events": events,
    }


def find_shopper(session: Session, token: str) -> WorldpayPayment | None:
    """Return the payment of a shopper page token."""
    return session.scalar(select(WorldpayPayment).where(WorldpayPayment.shopper_token == token))


def choose(
    sandbox: Sandbox, session: Session, token: str, choice: str, now: datetime, faults: ActiveFaults
) -> str:
    """Apply the shopper's choice; return the resultUrl to send the shopper to."""
    payment = find_shopper(session, token)
    if payment is None or choice not in SHOPPER_CHOICES or payment.last_event != EventName.PENDING:
        raise Reject(410, ErrorName.ORDER_NOT_READY)
    event_type, target = SHOPPER_CHOICES[choice]
    if event_type == EventName.CANCELLED_BY_CUSTOMER and rich_events(sandbox):
        event_type = EventName.CANCELLED
    if event_type is not None:
        payment.last_event = event_type
        _event(sandbox, session, payment, event_type, now, faults)
        if choice in CAPTURING:
            payment.settle_at = now + sandbox.delay(SETTLE_AFTER_SECONDS)
    urls = json.loads(payment.result_urls)
    return urls.get(target) or urls["failure"]


def tick(sandbox: Sandbox, session: Session, now: datetime) -> None:
    """Move captured payments to ``sentForSettlement``, run due settlement batches (``settled`` or
    ``settlementFailed``) and settle due reversals, with events."""
    due = session.scalars(
        select(WorldpayPayment).where(
            WorldpayPayment.settle_at.is_not(None), WorldpayPayment.settle_at <= now
        )
    ).all()
    for payment in due:
        payment.settle_at = None
        if payment.last_event == EventName.AUTHORIZED:
            payment.last_event = EventName.SENT_FOR_SETTLEMENT
            payment.settlement_due_at = now + sandbox.delay(SETTLED_AFTER_SECONDS)
            _event(sandbox, session, payment, EventName.SENT_FOR_SETTLEMENT, now, ActiveFaults())
    batch = session.scalars(
        select(WorldpayPayment).where(
            WorldpayPayment.settlement_due_at.is_not(None), WorldpayPayment.settlement_due_at <= now
        )
    ).all()
    for payment in batch:
        failed = payment.amount_minor == consts.MAGIC_SETTLEMENT_FAILED_AMOUNT
        payment.settlement = EventName.SETTLEMENT_FAILED if failed else EventName.SETTLED
        payment.settlement_due_at = None
        # A refund made before the batch keeps its own lastEvent; the settlement is told either way.
        if payment.last_event == EventName.SENT_FOR_SETTLEMENT:
            payment.last_event = payment.settlement
        _event(sandbox, session, payment, payment.settlement, now, ActiveFaults())
    reversals = session.scalars(
        select(WorldpayReversal)
        .where(WorldpayReversal.resolve_at.is_not(None), WorldpayReversal.resolve_at <= now)
        .order_by(WorldpayReversal.id)
    ).all()
    for reversal in reversals:
        payment = find(session, reversal.payment_id)
        magic = consts.MAGIC_REVERSAL_ERROR_AMOUNT in (payment.amount_minor, reversal.amount_minor)
        reversal.status = EventName.REFUND_FAILED if magic else EventName.REFUNDED
        reversal.resolve_at = None
        reversal.resolved_at = now
        payment.last_event = reversal.status
        if reversal.status == EventName.REFUNDED and not sandbox.options.get(
            "SANDBOX_WORLDPAY_REFUNDED_EVENTS", True
        ):
            continue  # refunded is sent "only in certain use cases": this merchant is not one
        _event(
            sandbox,
            session,
            payment,
            reversal.status,
            now,
            ActiveFaults(),
            amount_minor=reversal.amount_minor,
            reference=reversal.reference,
        )


sender.register(
    PROVIDER, sign=event_headers, schedule=WORLDPAY_SCHEDULE, acknowledged=acknowledged, tick=tick
)
