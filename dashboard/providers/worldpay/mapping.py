"""Typed requests, answers and events of the Worldpay APM API, and their JSON shapes.

Money crosses the wire as integer minor units, in two shapes: the API's ``value``
``{"amount", "currency"}`` (§1.4.1) and the webhook's ``amount`` ``{"value", "currencyCode"}``
(§1.10.2). Both conversions live here and nowhere else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from types import MappingProxyType
from typing import Any

from dashboard.i18n import LazyText
from dashboard.i18n import lazy_gettext as _l
from dashboard.money import Money
from dashboard.money import UnknownCurrency
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import RefundEvent
from dashboard.providers.base import UNPARSEABLE
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import CallRecord
from dashboard.providers.base import MalformedMessage
from dashboard.providers.base import NotificationIdentity
from dashboard.providers.base import ProviderResult
from dashboard.providers.base import Subject
from dashboard.providers.base import json_object
from dashboard.providers.base import parse_json
from dashboard.providers.news import PaymentNews
from dashboard.providers.news import RefundNews
from dashboard.providers.news import RefundsOnRecord
from dashboard.providers.worldpay import consts
from dashboard.providers.worldpay.consts import EventName


class MalformedPayload(MalformedMessage):
    """An answer or event body does not have the documented shape."""


W = EventName
PE = PaymentEvent

#: Every ``lastEvent`` / webhook event type → payment event (worldpay_hkach.md §1.7, §1.10.3).
PAYMENT_MEANINGS: Mapping[EventName, PaymentEvent] = MappingProxyType(
    {
        W.PENDING: PE.PROCESSING,
        W.SENT_FOR_AUTHORIZATION: PE.PROCESSING,
        W.AUTHORIZED: PE.SUCCEEDED,
        W.SENT_FOR_SETTLEMENT: PE.SUCCEEDED,
        W.SETTLEMENT_INSTRUCTED: PE.NOTE,
        W.SETTLED: PE.SETTLED,
        W.SETTLEMENT_FAILED: PE.SETTLEMENT_FAILED,
        W.SETTLEMENT_REJECTED: PE.SETTLEMENT_FAILED,
        # Funds taken back after settlement: recorded for staff; not a documented AlipayHK path.
        W.SETTLEMENT_REVERSED: PE.NOTE,
        W.REFUSED: PE.FAILED,
        W.REFUSED_BY_ISSUER: PE.FAILED,
        W.ERROR: PE.FAILED,
        # Seed 000 calls the shopper's cancel "cancelled"; the API says cancelledByCustomer: accept both.
        W.CANCELLED: PE.CANCELLED,
        W.CANCELLED_BY_CUSTOMER: PE.CANCELLED,
        W.CANCEL_REQUESTED: PE.NOTE,
        W.CANCEL_FAILED: PE.NOTE,
        W.EXPIRED: PE.EXPIRED,
        W.REQUEST_EXPIRED: PE.EXPIRED,
        # Refund activity lives on refunds (REFUND_MEANINGS below); the payment only records it.
        W.SENT_FOR_REFUND: PE.NOTE,
        W.REFUNDED: PE.NOTE,
        W.REFUND_FAILED: PE.NOTE,
        W.REFUND_EXPIRED: PE.NOTE,
        W.REFUND_REVERSED: PE.NOTE,
        W.CHARGED_BACK: PE.CHARGED_BACK,
        W.CHARGEBACK_REVERSED: PE.DISPUTE_RESOLVED,
        W.DISPUTE_INFORMATION_REQUESTED: PE.DISPUTE_OPENED,
        W.DISPUTE_INFORMATION_SUPPLIED: PE.DISPUTE_OPENED,
        W.DISPUTE_FUNDS_HELD: PE.DISPUTE_OPENED,
        W.DISPUTE_FUNDS_RELEASED: PE.DISPUTE_RESOLVED,
        W.DISPUTE_RESERVE_RELEASED: PE.DISPUTE_RESOLVED,
        W.DISPUTE_EXPIRED: PE.DISPUTE_RESOLVED,
        W.MANUALLY_AMENDED: PE.NOTE,
        W.MISCELLANEOUS: PE.NOTE,
        W.SIGNED_FORM_RECEIVED: PE.NOTE,
        W.TOKEN_CREATED: PE.NOTE,
        W.TOP_UP_ACCEPTED: PE.NOTE,
        W.TOP_UP_REJECTED: PE.NOTE,
        W.UNKNOWN: PE.NOTE,
    }
)

#: Events about a reversal (matched to a refund by ``eventDetails.reference``) → refund event.
REFUND_MEANINGS: Mapping[EventName, RefundEvent] = MappingProxyType(
    {
        W.SENT_FOR_REFUND: RefundEvent.PROCESSING,
        W.REFUNDED: RefundEvent.SUCCEEDED,
        W.REFUND_FAILED: RefundEvent.FAILED,
        W.REFUND_EXPIRED: RefundEvent.FAILED,
    }
)


def payment_event(event_name: str) -> PaymentEvent:
    """Map a ``lastEvent`` / event type; an undocumented name is recorded as a NOTE."""
    try:
        return PAYMENT_MEANINGS[EventName(event_name)]
    except ValueError:
        return PE.NOTE


def refund_event(event_name: str) -> RefundEvent | None:
    """Return the refund event an event type carries, or None if it is not about a reversal."""
    try:
        return REFUND_MEANINGS.get(EventName(event_name))
    except ValueError:
        return None


def refund_action(actions: Mapping[str, str], whole_payment: bool) -> str | None:
    """Return the action that refunds now: a full ``reverse`` of an untouched payment, else
    ``partialReverse``; None when the payment's ``_actions`` offer neither (§1.6, §1.8)."""
    if whole_payment and consts.ACTION_REVERSE in actions:
        return consts.ACTION_REVERSE
    return consts.ACTION_PARTIAL_REVERSE if consts.ACTION_PARTIAL_REVERSE in actions else None


#: Why a payment whose last event is this offers no reversal, and when to try again (§1.6, §1.7.1).
_NO_REVERSAL_BECAUSE: Mapping[EventName, LazyText] = MappingProxyType(
    {
        **dict.fromkeys(
            (W.PENDING, W.SENT_FOR_AUTHORIZATION, W.AUTHORIZED),
            _l(
                "the sale is authorised but not captured (sent for settlement), and AlipayHK has no "
                "cancel; try again once it is captured"
            ),
        ),
        W.SENT_FOR_REFUND: _l(
            "a refund of it is in process at Worldpay; try again once that refund has finished"
        ),
        W.REFUNDED: _l("nothing is left that Worldpay would refund"),
        W.SETTLEMENT_FAILED: _l("its settlement failed, so no money is held to refund"),
    }
)


def why_no_reversal(last_event: str | None) -> str | LazyText:
    """Say why a payment with ``last_event`` offers no reversal now, and when one may be offered."""
    try:
        reason = _NO_REVERSAL_BECAUSE.get(EventName(last_event or ""))
    except ValueError:
        reason = None
    return reason or _l("its last event is %(event)s; try again later", event=last_event or _l("unknown"))


# -- money --------------------------------------------------------------------------------


def money_to_value(amount: Money) -> dict[str, Any]:
    """Return the API ``value`` object for ``amount``."""
    return {"amount": amount.minor, "currency": amount.currency}


def money_from_value(value: Any) -> Money:
    """Read an API ``value`` object (``amount`` + ``currency``)."""
    if not isinstance(value, Mapping):
        raise MalformedPayload("value is not an object")
    return _money(value.get("amount"), value.get("currency"))


def money_to_event_amount(amount: Money) -> dict[str, Any]:
    """Return the webhook ``amount`` object for ``amount``."""
    return {"value": amount.minor, "currencyCode": amount.currency}


def money_from_event_amount(amount: Any) -> Money:
    """Read a webhook ``amount`` object (``value`` + ``currencyCode``)."""
    if not isinstance(amount, Mapping):
        raise MalformedPayload("amount is not an object")
    return _money(amount.get("value"), amount.get("currencyCode"))


def _money(minor: Any, currency: Any) -> Money:
    if isinstance(minor, bool) or not isinstance(minor, int) or not isinstance(currency, str):
        raise MalformedPayload(f"not an amount: {minor!r} {currency!r}")
    try:
        return Money(minor, currency)
    except UnknownCurrency as exc:
        raise MalformedPayload(str(exc)) from None


# -- outcomes -----------------------------------------------------------------------------

# A refund or chargeback only ever follows a successful sale, so for the sale they mean success.
_PAYMENT_OUTCOMES: dict[str, CallOutcome] = {
    EventName.AUTHORIZED: CallOutcome.SUCCEEDED,
    EventName.SENT_FOR_SETTLEMENT: CallOutcome.SUCCEEDED,
    EventName.SETTLED: CallOutcome.SUCCEEDED,
    EventName.SENT_FOR_REFUND: CallOutcome.SUCCEEDED,
    EventName.REFUNDED: CallOutcome.SUCCEEDED,
    EventName.REFUND_FAILED: CallOutcome.SUCCEEDED,
    EventName.CHARGED_BACK: CallOutcome.SUCCEEDED,
    EventName.REFUSED: CallOutcome.FAILED,
    EventName.ERROR: CallOutcome.FAILED,
    EventName.CANCELLED: CallOutcome.FAILED,
    EventName.CANCELLED_BY_CUSTOMER: CallOutcome.FAILED,
    EventName.EXPIRED: CallOutcome.FAILED,
    EventName.REQUEST_EXPIRED: CallOutcome.FAILED,
}

_REVERSAL_OUTCOMES: dict[str, CallOutcome] = {
    EventName.REFUNDED: CallOutcome.SUCCEEDED,
    EventName.REFUND_FAILED: CallOutcome.FAILED,
}


def payment_outcome(event: str) -> CallOutcome:
    """Return what ``event`` (a ``lastEvent`` or webhook type) means for the sale."""
    return _PAYMENT_OUTCOMES.get(event, CallOutcome.UNKNOWN)


def reversal_outcome(event: str) -> CallOutcome:
    """Return what ``event`` means for a reversal; ``sentForRefund`` is still unknown."""
    return _REVERSAL_OUTCOMES.get(event, CallOutcome.UNKNOWN)


# -- create request -----------------------------------------------------------------------


@dataclass(frozen=True)
class ResultUrls:
    """Where the customer returns after the wallet page; ``cancel`` is optional (§1.4.1)."""

    success: str
    pending: str
    failure: str
    cancel: str | None = None


@dataclass(frozen=True)
class Customer:
    """Optional shopper details of an AlipayHK instruction."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class DeviceData:
    """Optional shopper device of an AlipayHK instruction."""

    device: str | None = None
    operating_system: str | None = None


@dataclass(frozen=True)
class CreatePaymentRequest:
    """An AlipayHK sale, checked against the documented field rules on construction."""

    transaction_reference: str
    amount: Money
    narrative: str
    result_urls: ResultUrls
    order_reference: str | None = None
    country: str | None = None
    customer: Customer | None = None
    device_data: DeviceData | None = None

    def __post_init__(self) -> None:
        _check_text(
            "transactionReference",
            self.transaction_reference,
            consts.TRANSACTION_REFERENCE_PATTERN,
            consts.TRANSACTION_REFERENCE_MAX_LENGTH,
        )
        if self.order_reference is not None:
            _check_text(
                "orderReference",
                self.order_reference,
                consts.TRANSACTION_REFERENCE_PATTERN,
                consts.TRANSACTION_REFERENCE_MAX_LENGTH,
            )
        _check_text("narrative.line1", self.narrative, consts.NARRATIVE_PATTERN, consts.NARRATIVE_MAX_LENGTH)
        _check_amount(self.amount)
        if self.amount.currency not in consts.ALIPAY_HK_CURRENCIES:
            raise ValueError(f"AlipayHK does not accept {self.amount.currency}")
        if self.amount.currency == "HKD" and self.amount > consts.ALIPAY_HK_MAX_HKD:
            raise ValueError(f"AlipayHK accepts at most {consts.ALIPAY_HK_MAX_HKD}")
        if self.customer is not None:
            _check_customer(self.customer)
        if self.device_data is not None:
            _check_device(self.device_data)


def _check_text(name: str, value: str, pattern: re.Pattern[str], max_length: int) -> None:
    """Raise ValueError unless ``value`` has the documented length and characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise ValueError(f"{name} must be 1 to {max_length} characters")
    if not pattern.fullmatch(value):
        raise ValueError(f"{name} contains characters Worldpay does not allow")


def _check_amount(amount: Money) -> None:
    """Raise ValueError unless ``amount`` fits the API's integer range."""
    if not consts.AMOUNT_MIN <= amount.minor <= consts.AMOUNT_MAX:
        raise ValueError(f"amount must be between {consts.AMOUNT_MIN} and {consts.AMOUNT_MAX} minor units")


def _check_customer(customer: Customer) -> None:
    names = (("customer.firstName", customer.first_name), ("customer.lastName", customer.last_name))
    for name, value in names:
        if value is not None and not 1 <= len(value) <= consts.CUSTOMER_NAME_MAX_LENGTH:
            raise ValueError(f"{name} must be 1 to {consts.CUSTOMER_NAME_MAX_LENGTH} characters")
    if customer.email is not None:
        _check_text(
            "customer.email", customer.email, consts.CUSTOMER_EMAIL_PATTERN, consts.CUSTOMER_EMAIL_MAX_LENGTH
        )


def _check_device(device: DeviceData) -> None:
    if device.device is not None and device.device not in consts.DEVICES:
        raise ValueError(f"unknown device {device.device!r}")
    if device.operating_system is not None and device.operating_system not in consts.OPERATING_SYSTEMS:
        raise ValueError(f"unknown operating system {device.operating_system!r}")


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def build_payment_body(request: CreatePaymentRequest, entity: str) -> dict[str, Any]:
    """Return the ``POST /apmPayments`` body for an AlipayHK direct sale (§1.4.1, §1.4.3)."""
    urls = request.result_urls
    instrument = _without_none({"type": consts.INSTRUMENT_DIRECT, "country": request.country})
    instruction: dict[str, Any] = {
        "method": consts.METHOD_ALIPAY_HK,
        "value": money_to_value(request.amount),
        "narrative": {"line1": request.narrative},
        "paymentInstrument": instrument,
        "resultUrls": _without_none(
            {"success": urls.success, "pending": urls.pending, "failure": urls.failure, "cancel": urls.cancel}
        ),
    }
    if request.device_data is not None:
        instruction["deviceData"] = _without_none(
            {"device": request.device_data.device, "operatingSystem": request.device_data.operating_system}
        )
    if request.customer is not None:
        instruction["customer"] = _without_none(
            {
                "firstName": request.customer.first_name,
                "lastName": request.customer.last_name,
                "email": request.customer.email,
            }
        )
    return _without_none(
        {
            "transactionReference": request.transaction_reference,
            "orderReference": request.order_reference,
            "merchant": {"entity": entity},
            "instruction": instruction,
        }
    )


def build_reversal_body(amount: Money, reference: str) -> dict[str, Any]:
    """Return a ``reversals`` / ``partialReversals`` body (§1.8)."""
    _check_amount(amount)
    _check_text(
        "reference", reference, consts.REVERSAL_REFERENCE_PATTERN, consts.REVERSAL_REFERENCE_MAX_LENGTH
    )
    return {"reference": reference, "value": money_to_value(amount)}


# -- answers ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ApmResource(ProviderResult):
    """A payment resource as any APM answer returns it, with its links and actions."""

    payment_id: str
    last_event: str
    #: Action name (``reverse``, ``partialReverse``) → href to POST to; only what was offered.
    actions: Mapping[str, str] = field(default_factory=dict)
    #: Link name (``self``) → href.
    links: Mapping[str, str] = field(default_factory=dict)
    command_id: str | None = None

    @property
    def self_href(self) -> str | None:
        """Return the query URL of this payment."""
        return self.links.get("self")


@dataclass(frozen=True, kw_only=True)
class PaymentResult(ApmResource):
    """The answer to a create or query; ``outcome`` is the sale's."""

    redirect_url: str | None = None

    @property
    def news(self) -> PaymentNews:
        """Return the sale's news: its last event, its id, the shopper's page and the actions offered."""
        return PaymentNews(
            payment_event(self.last_event),
            self.last_event,
            provider_payment_id=self.payment_id,
            redirect_url=self.redirect_url,
            next_actions=dict(self.actions),
        )


@dataclass(frozen=True, kw_only=True)
class ReversalResult(ApmResource):
    """The answer to a (partial) reversal; ``outcome`` is the refund's."""

    reference: str | None = None
    amount: Money | None = None

    @property
    def news(self) -> RefundNews:
        """Return what the reversal's answer means for the refund (``sentForRefund``: in process)."""
        return RefundNews.answered(self.outcome, self.result_code, self.result_message)


@dataclass(frozen=True, kw_only=True)
class PaymentLookup(ProviderResult):
    """The answer to a Payment Queries search by ``transactionReference``: the payment's id, if found."""

    transaction_reference: str
    payment_id: str | None = None
    amount: Money | None = None

    @property
    def news(self) -> PaymentNews | None:
        """Return the sale's id as news (its status unchanged), or None when it was not found."""
        if self.payment_id is None:
            return None
        return PaymentNews(
            PE.NOTE, provider_payment_id=self.payment_id, request_id=self.transaction_reference
        )


def _hrefs(section: Any) -> dict[str, str]:
    if not isinstance(section, Mapping):
        return {}
    return {
        name: entry["href"]
        for name, entry in section.items()
        if isinstance(entry, Mapping) and isinstance(entry.get("href"), str)
    }


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _resource_fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise MalformedPayload("answer is not a JSON object")
    payment_id, last_event = body.get("paymentId"), body.get("lastEvent")
    if not isinstance(payment_id, str) or not payment_id:
        raise MalformedPayload("answer has no paymentId")
    if not isinstance(last_event, str) or not last_event:
        raise MalformedPayload("answer has no lastEvent")
    return {
        "payment_id": payment_id,
        "last_event": last_event,
        "result_code": last_event,
        "actions": _hrefs(body.get("_actions")),
        "links": _hrefs(body.get("_links")),
        "command_id": _optional_str(body.get("commandId")),
        "raw": body,
    }


def parse_payment(body: Any, record: CallRecord) -> PaymentResult:
    """Build a PaymentResult from a create (201) or query (200) answer."""
    fields = _resource_fields(body)
    return PaymentResult(
        outcome=payment_outcome(fields["last_event"]),
        record=record,
        redirect_url=_optional_str(body.get("redirect")),
        **fields,
    )


def parse_reversal(
    body: Any, record: CallRecord, *, reference: str | None, amount: Money | None
) -> ReversalResult:
    """Build a ReversalResult from a 202 answer, keeping what was asked for."""
    fields = _resource_fields(body)
    return ReversalResult(
        outcome=reversal_outcome(fields["last_event"]),
        record=record,
        reference=reference,
        amount=amount,
        **fields,
    )


@dataclass(frozen=True, kw_only=True)
class PaymentHistory(ProviderResult):
    """One payment as Payment Queries retrieves it: its value and the refunds in its history."""

    payment_id: str
    amount: Money
    #: What its history says of its refunds.
    refunds: RefundsOnRecord

    @property
    def news(self) -> RefundsOnRecord:
        """Return what the payment's records say of its refunds."""
        return self.refunds


def _history_refunds(amount: Money, events: list[Any]) -> RefundsOnRecord:
    """Read the refunds of a payment's history: each ``refundRequested`` (with our ``refundReference``
    and its value) is taken unless its command later failed or timed out."""
    requested: list[tuple[str | None, str | None, Money]] = []
    ended: dict[str, str] = {}
    for entry in events:
        if not isinstance(entry, Mapping):
            continue
        name, command = entry.get("eventName"), _optional_str(entry.get("commandId"))
        if name == consts.QueryEventName.REFUND_REQUESTED:
            requested.append(
                (command, _optional_str(entry.get("refundReference")), money_from_value(entry.get("value")))
            )
        elif name in consts.QUERY_REFUND_FAILURES and command is not None:
            ended[command] = name
    taken = [(reference, value) for command, reference, value in requested if command not in ended]
    failed = {
        reference: ended[command]
        for command, reference, _ in requested
        if reference is not None and command in ended
    }
    balance = amount.minor - sum(value.minor for _, value in taken if value.currency == amount.currency)
    return RefundsOnRecord(
        balance=Money(balance, amount.currency),
        taken=frozenset(reference for reference, _ in taken if reference is not None),
        failed=failed,
    )


def parse_history(body: Any, record: CallRecord) -> PaymentHistory:
    """Read a Payment Queries ``GET /paymentQueries/payments/{paymentId}`` answer."""
    if not isinstance(body, Mapping):
        raise MalformedPayload("answer is not a JSON object")
    payment_id = body.get("paymentId")
    if not isinstance(payment_id, str) or not payment_id:
        raise MalformedPayload("answer has no paymentId")
    amount = money_from_value(body.get("value"))
    events = body.get("events")
    return PaymentHistory(
        outcome=CallOutcome.SUCCEEDED,
        record=record,
        payment_id=payment_id,
        amount=amount,
        refunds=_history_refunds(amount, events if isinstance(events, list) else []),
        raw=body,
    )


def parse_lookup(body: Any, record: CallRecord, *, transaction_reference: str) -> PaymentLookup:
    """Read a Payment Queries search answer (``_embedded.payments[]``) for our reference."""
    if not isinstance(body, Mapping):
        raise MalformedPayload("answer is not a JSON object")
    embedded = body.get("_embedded")
    found = embedded.get("payments") if isinstance(embedded, Mapping) else None
    if not isinstance(found, list):
        raise MalformedPayload("answer has no _embedded.payments list")
    for entry in found:
        if not isinstance(entry, Mapping) or entry.get("transactionReference") != transaction_reference:
            continue
        payment_id = entry.get("paymentId")
        if not isinstance(payment_id, str) or not payment_id:
            raise MalformedPayload("a payment found has no paymentId")
        value = entry.get("value")
        return PaymentLookup(
            outcome=CallOutcome.SUCCEEDED,
            record=record,
            transaction_reference=transaction_reference,
            payment_id=payment_id,
            amount=None if value is None else money_from_value(value),
            raw=body,
        )
    # Not (yet) known to Payment Queries: it may lag, so nothing is concluded from it.
    return PaymentLookup(
        outcome=CallOutcome.UNKNOWN, record=record, transaction_reference=transaction_reference, raw=body
    )


# -- errors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationIssue:
    """One entry of ``validationErrors`` (§1.9)."""

    error_name: str | None
    message: str | None
    json_path: str | None


@dataclass(frozen=True)
class WorldpayApiError:
    """An error answer: HTTP status plus the documented ``errorName``/``message`` body."""

    status: int
    error_name: str | None = None
    message: str | None = None
    validation_errors: tuple[ValidationIssue, ...] = ()

    @property
    def field_paths(self) -> tuple[str, ...]:
        """Return the ``jsonPath`` of every validation error, in order."""
        return tuple(issue.json_path for issue in self.validation_errors if issue.json_path)


def parse_api_error(status: int, text: str) -> WorldpayApiError:
    """Read an error body; anything unreadable yields just the status."""
    try:
        body = json.loads(text)
    except ValueError:
        return WorldpayApiError(status)
    if not isinstance(body, Mapping):
        return WorldpayApiError(status)
    entries = body.get("validationErrors")
    issues = tuple(
        ValidationIssue(
            _optional_str(entry.get("errorName")),
            _optional_str(entry.get("message")),
            _optional_str(entry.get("jsonPath")),
        )
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, Mapping)
    )
    return WorldpayApiError(
        status, _optional_str(body.get("errorName")), _optional_str(body.get("message")), issues
    )


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldpayEvent:
    """A webhook event (§1.10.2); ``transaction_reference`` is the only link to the payment."""

    event_id: str
    #: ``eventTimestamp``; it carries no zone, and is read as UTC (§1.10.2, uncertain).
    timestamp: datetime
    event_type: str
    transaction_reference: str
    classification: str | None = None
    downstream_reference: str | None = None
    #: ``eventDetails.date``: the day the payment was first submitted.
    payment_date: date | None = None
    #: The reference given on a (partial) reversal, echoed on refund events.
    reference: str | None = None
    amount: Money | None = None
    payment_method: str | None = None
    refusal_code: str | None = None
    refusal_description: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def concerns_refund(self) -> bool:
        """Return True when the event reports on a reversal rather than the sale."""
        return refund_event(self.event_type) is not None

    @property
    def outcome(self) -> CallOutcome:
        """Return what the event means for its subject: the refund or the sale."""
        if self.concerns_refund:
            return reversal_outcome(self.event_type)
        return payment_outcome(self.event_type)

    @property
    def news(self) -> PaymentNews | RefundNews:
        """Return the event's news: a refund's when it reports on a reversal, else the sale's.

        A reversal event names its refund by our ``reference``, except ``refunded``, which has none
        in the Events spec: its news names only the sale and the amount refunded.
        """
        code = self.refusal_code or self.event_type
        refund = refund_event(self.event_type)
        if refund is not None:
            return RefundNews(
                refund,
                code,
                self.refusal_description,
                refunded_at=self.timestamp,
                request_id=self.reference,
                amount=self.amount,
                payment_request_id=self.transaction_reference,
            )
        event = payment_event(self.event_type)
        return PaymentNews(
            event,
            code,
            self.refusal_description,
            paid_at=self.timestamp if event is PaymentEvent.SUCCEEDED else None,
            request_id=self.transaction_reference,
        )


def _required_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"event has no {key}")
    return value


def _event_timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedPayload(f"bad eventTimestamp {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _event_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise MalformedPayload(f"bad eventDetails.date {value!r}") from None


def format_event_timestamp(moment: datetime) -> str:
    """Return ``eventTimestamp`` text: UTC, milliseconds, no zone (§1.10.2)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def build_event(
    *,
    event_id: str,
    timestamp: datetime,
    event_type: str,
    transaction_reference: str,
    downstream_reference: str | None,
    payment_date: date,
    amount: Money,
    reference: str | None = None,
    payment_method: str | None = None,
) -> dict[str, Any]:
    """Return a payment webhook body as Worldpay sends it (§1.10.2); the simulator's emitter."""
    details: dict[str, Any] = _without_none(
        {
            "classification": "payment",
            "downstreamReference": downstream_reference,
            "transactionReference": transaction_reference,
            "type": event_type,
            "date": payment_date.isoformat(),
            "amount": money_to_event_amount(amount),
            "_links": {"payment": {"href": ""}},
        }
    )
    if reference is not None:
        details["reference"] = reference
    if payment_method is not None:
        details["paymentInstrument"] = {"method": payment_method}
    return {"eventId": event_id, "eventTimestamp": format_event_timestamp(timestamp), "eventDetails": details}


def identify_event(body: bytes | str) -> NotificationIdentity:
    """Return an event's type, ``transactionReference``, dedup key (``eventId``) and
    ``eventTimestamp``; never raises."""
    data = json_object(body)
    details = data.get("eventDetails") if isinstance(data.get("eventDetails"), Mapping) else {}
    kind = _optional_str(details.get("type")) or UNPARSEABLE
    return NotificationIdentity(
        kind,
        _optional_str(details.get("transactionReference")) or None,
        _optional_str(data.get("eventId")) or None,
        event_at=_loose_event_timestamp(data.get("eventTimestamp")),
    )


def _loose_event_timestamp(value: Any) -> datetime | None:
    """Return ``eventTimestamp`` as UTC, or None when it is missing or unreadable (never raises)."""
    if not isinstance(value, str):
        return None
    try:
        return _event_timestamp(value)
    except MalformedPayload:
        return None


def event_subject(kind: str) -> Subject:
    """Return what an event is about: always a sale, named by our ``transactionReference``."""
    return Subject.PAYMENT


def parse_event(body: bytes | str) -> WorldpayEvent:
    """Parse a raw webhook body; raise MalformedPayload if it is not a documented event."""
    try:
        data = parse_json(body)
    except ValueError:
        raise MalformedPayload("event body is not JSON") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("eventDetails"), Mapping):
        raise MalformedPayload("event has no eventDetails")
    details = data["eventDetails"]
    instrument = details.get("paymentInstrument")
    refund = details.get("refund")
    refusal = refund.get("refusal") if isinstance(refund, Mapping) else None
    refusal = refusal if isinstance(refusal, Mapping) else {}
    return WorldpayEvent(
        event_id=_required_str(data, "eventId"),
        timestamp=_event_timestamp(_required_str(data, "eventTimestamp")),
        event_type=_required_str(details, "type"),
        transaction_reference=_required_str(details, "transactionReference"),
        classification=_optional_str(details.get("classification")),
        downstream_reference=_optional_str(details.get("downstreamReference")),
        payment_date=_event_date(details.get("date")),
        reference=_optional_str(details.get("reference")) or None,
        amount=None if details.get("amount") is None else money_from_event_amount(details["amount"]),
        payment_method=_optional_str(instrument.get("method")) if isinstance(instrument, Mapping) else None,
        refusal_code=_optional_str(refusal.get("code")),
        refusal_description=_optional_str(refusal.get("description")),
        raw=data,
    )


def event_news(body: bytes | str) -> PaymentNews | RefundNews:
    """Return what a verified webhook body says, in the domain's words."""
    return parse_event(body).news
