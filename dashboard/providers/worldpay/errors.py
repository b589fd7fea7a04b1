"""Typed refusals of the Worldpay APM API, chosen from the status and ``errorName`` (§1.9)."""

from __future__ import annotations

from dashboard.providers.base import CallRecord
from dashboard.providers.base import ProviderRejected
from dashboard.providers.worldpay.consts import ErrorName
from dashboard.providers.worldpay.mapping import WorldpayApiError


class WorldpayRejected(ProviderRejected):
    """Worldpay refused the request (4xx); nothing happened."""

    def __init__(self, message: str, *, api_error: WorldpayApiError, record: CallRecord | None = None):
        super().__init__(message, record=record, code=api_error.error_name)
        self.api_error = api_error

    @property
    def status(self) -> int:
        """Return the HTTP status of the refusal."""
        return self.api_error.status

    @property
    def error_name(self) -> str | None:
        """Return Worldpay's ``errorName``."""
        return self.api_error.error_name

    @property
    def field_paths(self) -> tuple[str, ...]:
        """Return the ``jsonPath`` of every field Worldpay objected to."""
        return self.api_error.field_paths


class WorldpayValidationError(WorldpayRejected):
    """The body failed Worldpay's schema or field rules."""


class WorldpayDuplicateReference(WorldpayRejected):
    """The transactionReference was already used; look the payment up by its stored paymentId."""


class WorldpayAuthError(WorldpayRejected):
    """The Basic credentials were missing or wrong (401)."""


class WorldpayNotFound(WorldpayRejected):
    """No such payment (404, or 400 ``paymentNotFound``)."""


def rejection(api_error: WorldpayApiError, record: CallRecord) -> WorldpayRejected:
    """Return the typed error for a 4xx answer."""
    name = api_error.error_name
    if api_error.status == 401 or name == ErrorName.UNAUTHORIZED:
        kind: type[WorldpayRejected] = WorldpayAuthError
    elif api_error.status == 404 or name == ErrorName.PAYMENT_NOT_FOUND:
        kind = WorldpayNotFound
    elif name == ErrorName.TRANSACTION_REFERENCE_IS_A_DUPLICATE:
        kind = WorldpayDuplicateReference
    elif name == ErrorName.BODY_DOES_NOT_MATCH_SCHEMA or api_error.validation_errors:
        kind = WorldpayValidationError
    else:
        kind = WorldpayRejected
    detail = api_error.message or name or "no error body"
    return kind(
        f"Worldpay refused the request ({api_error.status}): {detail}", api_error=api_error, record=record
    )
