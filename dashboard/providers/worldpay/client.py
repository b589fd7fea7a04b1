"""HTTP client for Worldpay Access APM payments (AlipayHK), API version 2024-07-01.

The client never retries: a timed-out sale or reversal has an unknown outcome, and only the
caller (a recorded job) may decide to query or try again.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from typing import TypeVar
from urllib.parse import quote
from urllib.parse import urlsplit

import requests
from requests.auth import HTTPBasicAuth

from dashboard import clock as default_clock
from dashboard.money import Money
from dashboard.providers.base import CallRecord
from dashboard.providers.base import CallTimer
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import ProviderRejected
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.http import DEFAULT_CONNECT_TIMEOUT
from dashboard.providers.http import DEFAULT_READ_TIMEOUT
from dashboard.providers.http import build_session
from dashboard.providers.http import require_http_url
from dashboard.providers.worldpay import consts
from dashboard.providers.worldpay.errors import rejection
from dashboard.providers.worldpay.mapping import CreatePaymentRequest
from dashboard.providers.worldpay.mapping import MalformedPayload
from dashboard.providers.worldpay.mapping import PaymentHistory
from dashboard.providers.worldpay.mapping import PaymentLookup
from dashboard.providers.worldpay.mapping import PaymentResult
from dashboard.providers.worldpay.mapping import ReversalResult
from dashboard.providers.worldpay.mapping import build_payment_body
from dashboard.providers.worldpay.mapping import build_reversal_body
from dashboard.providers.worldpay.mapping import parse_api_error
from dashboard.providers.worldpay.mapping import parse_history
from dashboard.providers.worldpay.mapping import parse_lookup
from dashboard.providers.worldpay.mapping import parse_payment
from dashboard.providers.worldpay.mapping import parse_reversal
from dashboard.providers.worldpay.mapping import refund_action

_Result = TypeVar("_Result")


class WorldpayClient:
    """Create, query and reverse AlipayHK payments; every answer and error carries a CallRecord."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        entity: str,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ):
        require_http_url(base_url, "Worldpay")
        if not username or not password:
            raise ProviderConfigError("Worldpay needs a username and a password")
        low, high = consts.ENTITY_LENGTH
        if not low <= len(entity) <= high or not consts.ENTITY_PATTERN.fullmatch(entity):
            raise ProviderConfigError(f"Worldpay merchant entity {entity!r} is not valid")
        self.base_url = base_url.rstrip("/")
        self.entity = entity
        self._auth = HTTPBasicAuth(username, password)
        self._session = session or build_session(connect_timeout=connect_timeout, read_timeout=read_timeout)
        self._timeout = (connect_timeout, read_timeout)
        self._clock = clock or default_clock.now

    def create_payment(self, request: CreatePaymentRequest) -> PaymentResult:
        """Create an AlipayHK sale; the answer is ``pending`` with a redirect for the customer."""
        body = build_payment_body(request, self.entity)
        payload, record = self._exchange("create_payment", "POST", self.base_url + consts.PAYMENTS_PATH, body)
        return self._parsed(parse_payment, payload, record)

    def query_payment(self, payment: str) -> PaymentResult:
        """Fetch the latest event and actions of a payment, by paymentId or its self href."""
        url = self._target(payment, consts.PAYMENT_PATH)
        payload, record = self._exchange("query_payment", "GET", url)
        return self._parsed(parse_payment, payload, record)

    def lookup_payment(self, transaction_reference: str) -> PaymentLookup:
        """Find a payment by our ``transactionReference`` (Payment Queries), e.g. after a create
        whose answer never came; not found yet is an answer too (the API may lag by a minute)."""
        url = (
            f"{self.base_url}{consts.PAYMENT_QUERIES_PATH}"
            f"?transactionReference={quote(transaction_reference, safe='')}"
        )
        payload, record = self._exchange(
            "lookup_payment", "GET", url, accept=consts.PAYMENT_QUERIES_CONTENT_TYPE, versioned=False
        )
        return self._parsed(parse_lookup, payload, record, transaction_reference=transaction_reference)

    def retrieve_payment(self, payment_id: str) -> PaymentHistory:
        """Read one payment's value and event history (Payment Queries), e.g. its refunds' fates."""
        url = self.base_url + consts.PAYMENT_QUERY_PATH.format(payment_id=quote(payment_id, safe=""))
        payload, record = self._exchange(
            "retrieve_payment", "GET", url, accept=consts.PAYMENT_QUERIES_CONTENT_TYPE, versioned=False
        )
        return self._parsed(parse_history, payload, record)

    def reverse(
        self, target: str, *, amount: Money | None = None, reference: str | None = None
    ) -> ReversalResult:
        """Reverse (refund) a whole payment via its ``reverse`` action href or its paymentId.

        The body is optional, but once sent it needs the amount too (§1.8): pass both the full
        amount and a reference to have the reference echoed on the refund webhooks, or neither.
        """
        if amount is None and reference is None:
            body = None
        elif amount is not None and reference is not None:
            body = build_reversal_body(amount, reference)
        else:
            raise ValueError("a full reversal takes both amount and reference, or neither")
        url = self._target(target, consts.REVERSALS_PATH)
        payload, record = self._exchange("reverse", "POST", url, body)
        return self._parsed(parse_reversal, payload, record, reference=reference, amount=amount)

    def partial_reverse(self, target: str, *, amount: Money, reference: str) -> ReversalResult:
        """Refund part of a payment via its ``partialReverse`` action href or its paymentId."""
        body = build_reversal_body(amount, reference)
        url = self._target(target, consts.PARTIAL_REVERSALS_PATH)
        payload, record = self._exchange("partial_reverse", "POST", url, body)
        return self._parsed(parse_reversal, payload, record, reference=reference, amount=amount)

    def refund(
        self, actions: Mapping[str, str], *, amount: Money, reference: str, whole_payment: bool
    ) -> ReversalResult:
        """Refund ``amount`` through the reversal a payment's freshly queried ``_actions`` offer.

        A whole, untouched payment is reversed in full when ``reverse`` is offered, anything else
        partially (§1.8). Reversals have no idempotency key: ``reference`` (unique per refund)
        is what the refund's events echo, and a reversal that timed out must never be sent again.

        :raises ProviderRejected: the actions offer no reversal for this refund now (nothing is sent)
        """
        action = refund_action(actions, whole_payment)
        if action is None:
            # Our code, not Worldpay's: the payment's actions offered no reversal, so nothing was sent.
            raise ProviderRejected(
                "Worldpay offers no reversal for this payment now", code=consts.REVERSAL_NOT_OFFERED
            )
        if action == consts.ACTION_REVERSE:
            return self.reverse(actions[action], amount=amount, reference=reference)
        return self.partial_reverse(actions[action], amount=amount, reference=reference)

    def _target(self, target: str, path_template: str) -> str:
        # Action hrefs are followed as given (§1.6: the spec's own examples disagree with its
        # paths), but only on our base URL, so the credentials never go anywhere else.
        if target.startswith(("https://", "http://")):
            if not target.startswith(self.base_url + "/"):
                raise ValueError(f"refusing to send Worldpay credentials to {target!r}")
            return target
        if not target:
            raise ValueError("a paymentId or an href is needed")
        return self.base_url + path_template.format(payment_id=quote(target, safe=""))

    def _exchange(
        self,
        operation: str,
        method: str,
        url: str,
        body: dict[str, Any] | None = None,
        *,
        accept: str = consts.JSON_CONTENT_TYPE,
        versioned: bool = True,
    ) -> tuple[Any, CallRecord]:
        """Send one request; ``versioned`` adds ``WP-Api-Version`` (the APM API's, not Payment Queries')."""
        correlation_id = str(uuid.uuid4())
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        headers = {"Accept": accept, consts.CORRELATION_HEADER: correlation_id}
        if versioned:
            headers[consts.API_VERSION_HEADER] = consts.API_VERSION
        if data is not None:
            headers["Content-Type"] = consts.JSON_CONTENT_TYPE
        timer = CallTimer(
            consts.PROVIDER, operation, method, urlsplit(url).path, self._clock(), correlation_id, data
        )
        record = timer.record

        try:
            answer = self._session.request(
                method,
                url,
                data=data,
                headers=headers,
                auth=self._auth,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise ProviderUnavailable(
                "Worldpay did not answer in time", record=record(error=repr(exc))
            ) from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                "Worldpay could not be reached", record=record(error=repr(exc))
            ) from exc

        status = answer.status_code
        if 400 <= status < 500:
            raise rejection(parse_api_error(status, answer.text), record(status, answer.text))
        if not 200 <= status < 300:
            api_error = parse_api_error(status, answer.text)
            raise ProviderUnavailable(
                f"Worldpay answered {status}",
                record=record(status, answer.text, error=f"HTTP {status}"),
                code=api_error.error_name,
            )
        try:
            return answer.json(), record(status, answer.text)
        except ValueError as exc:
            raise ProviderUnavailable(
                "Worldpay's answer is not JSON",
                record=record(status, answer.text, error="answer is not JSON"),
            ) from exc

    @staticmethod
    def _parsed(parse: Callable[..., _Result], payload: Any, record: CallRecord, **extra: Any) -> _Result:
        try:
            return parse(payload, record, **extra)
        except MalformedPayload as exc:
            raise ProviderUnavailable(
                f"Worldpay's answer is unreadable: {exc}", record=dataclasses.replace(record, error=str(exc))
            ) from exc
