"""Typed refusals and failures of the HK ACH API."""

from __future__ import annotations

from dashboard.providers.base import CallRecord
from dashboard.providers.base import ProviderRejected
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.hkach.mapping import Problem


class HkachRejected(ProviderRejected):
    """The bank refused the request (4xx); nothing happened."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        record: CallRecord | None = None,
        code: str | None = None,
    ):
        super().__init__(message, record=record, code=code)
        self.status = status


class HkachAuthError(HkachRejected):
    """The token, assertion or API key was refused (401), or the token lacks the scope (403)."""


class InvalidBatch(HkachRejected):
    """The batch breaks a rule the bank checks; it was not sent."""

    def __init__(self, problems: list[Problem]):
        first = problems[0]
        super().__init__(f"the batch cannot be sent: {first.message}", code=first.code)
        self.problems = tuple(problems)


class HkachRateLimited(ProviderUnavailable):
    """Too many calls (429): nothing was processed; wait ``retry_after`` seconds before the next."""

    def __init__(self, message: str, *, retry_after: float, record: CallRecord | None = None):
        super().__init__(message, record=record, code="429")
        self.retry_after = retry_after
