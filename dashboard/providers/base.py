"""Shared provider boundary: call records, outcomes and typed errors.

Every provider client returns frozen dataclasses and raises the errors below. Each
result and each error carries a :class:`CallRecord` — a redacted, trimmed record of
the HTTP exchange — that the calling service stores on the object's timeline.
"""

from __future__ import annotations

import contextlib
import enum
import json
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from typing import Generic
from typing import TypeVar

R = TypeVar("R", bound="ProviderResult")

#: Our request ids are at most this long: Antom's paymentRequestId/refundRequestId limit, which is
#: also Worldpay's transactionReference limit.
MAX_REQUEST_ID_LENGTH = 64

#: Bodies stored on a call record are cut to this many characters.
MAX_RECORDED_BODY = 4000

#: Field names whose values never leave the client unmasked.
SECRET_FIELDS = frozenset(
    {
        "accessToken",
        "refreshToken",
        "authCode",
        "password",
        "client_secret",
        "access_token",
        "refresh_token",
        "accountNumber",
        "cardNumber",
    }
)


class CallOutcome(enum.StrEnum):
    """What a provider call means for the object it concerns."""

    #: The provider says the operation succeeded.
    SUCCEEDED = "S"
    #: The provider says the operation definitely failed; nothing happened.
    FAILED = "F"
    #: Nobody knows yet: in process, timeout, 5xx, malformed or unverifiable answer.
    UNKNOWN = "U"


@dataclass(frozen=True)
class CallRecord:
    """A redacted record of one HTTP exchange with a provider."""

    provider: str
    operation: str
    method: str
    path: str
    started_at: datetime
    duration_ms: int
    status: int | None = None
    correlation_id: str | None = None
    request_body: str | None = None
    response_body: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable view for the timeline."""
        return {
            "provider": self.provider,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "started_at": self.started_at.isoformat(),
            "duration_ms": self.duration_ms,
            "status": self.status,
            "correlation_id": self.correlation_id,
            "request_body": self.request_body,
            "response_body": self.response_body,
            "error": self.error,
        }


class ProviderError(Exception):
    """Base of every error a provider client raises; carries the call record."""

    outcome: CallOutcome = CallOutcome.UNKNOWN

    def __init__(self, message: str, *, record: CallRecord | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.record = record
        self.code = code


class ProviderUnavailable(ProviderError):
    """Timeout, connection failure, 5xx or unreadable answer: the outcome is unknown."""

    outcome = CallOutcome.UNKNOWN


class ProviderUnverified(ProviderError):
    """The answer's signature did not verify: treat it as if no answer came."""

    outcome = CallOutcome.UNKNOWN


class ProviderRejected(ProviderError):
    """The provider refused the request definitively (validation, auth, business rule)."""

    outcome = CallOutcome.FAILED


class MalformedMessage(ValueError):
    """A provider's answer or notification does not have the documented shape."""


class ProviderConfigError(Exception):
    """A client was built with unusable settings (missing key, bad URL)."""


#: ``app.extensions`` key under which the sandbox offers each provider's defaults (its keys and
#: credentials) while ``SANDBOX=1``; the sandbox puts them there, the settings read them.
SANDBOX_OFFERS = "provider_sandbox_offers"


def sandbox_offer(extensions: Mapping[str, Any], provider: str) -> Any:
    """Return what the sandbox offers ``provider``'s settings, or None without a sandbox."""
    return extensions.get(SANDBOX_OFFERS, {}).get(provider)


def new_request_id(prefix: str = "") -> str:
    """Return a fresh request id; store it before the call so a retry can reuse it."""
    request_id = f"{prefix}{uuid.uuid4().hex}"
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise ValueError(f"request ids are at most {MAX_REQUEST_ID_LENGTH} characters")
    return request_id


def require_set(config: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """Refuse to build a real provider client while one of ``names`` is unset."""
    for name in names:
        if not config.get(name):
            raise ProviderConfigError(f"{name} is not set (or turn SANDBOX on to use the simulator)")


def mask(value: str, keep: int = 4) -> str:
    """Mask a secret, keeping only its last ``keep`` characters."""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * min(len(value) - keep, 8) + value[-keep:]


def mask_secret_fields(data: Any, secret_fields: Iterable[str] = SECRET_FIELDS) -> Any:
    """Return a copy of parsed JSON with secret fields masked, recursively."""
    secrets = frozenset(secret_fields)
    if isinstance(data, Mapping):
        return {
            key: mask(str(value))
            if key in secrets and value is not None
            else mask_secret_fields(value, secrets)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [mask_secret_fields(item, secrets) for item in data]
    return data


def redact_body(body: bytes | str | None, secret_fields: Iterable[str] = SECRET_FIELDS) -> str | None:
    """Redact and trim a JSON body for a call record; non-JSON is trimmed only."""
    if body is None:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    with contextlib.suppress(ValueError):
        text = json.dumps(mask_secret_fields(json.loads(text), secret_fields), ensure_ascii=False)
    if len(text) > MAX_RECORDED_BODY:
        text = text[:MAX_RECORDED_BODY] + "…"
    return text


@dataclass(frozen=True)
class ProviderResult:
    """Base for a client's typed answer: the outcome plus the call record."""

    outcome: CallOutcome
    record: CallRecord
    result_code: str | None = None
    result_message: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def news(self) -> Any:
        """Return what this answer says in the domain's words; answers that carry none return None."""
        return None

    @property
    def never_received(self) -> bool:
        """Return True when the provider says it has no record of what was asked about."""
        return False

    @property
    def token_invalid(self) -> bool:
        """Return True when the provider says the customer's token is expired, revoked or unknown to it."""
        return False


class Subject(enum.StrEnum):
    """What a notification is about, for staff who ask the provider about it."""

    #: A payment, by our request id or the provider's payment id.
    PAYMENT = "payment"
    #: A refund, by our refund request id or the provider's refund id.
    REFUND = "refund"
    #: An authorisation the customer just gave (an auth code to exchange for a token).
    AUTHORIZATION = "authorization"
    #: An agreement's token (issued or cancelled).
    AGREEMENT = "agreement"


#: Kind given to a notification body that names no type.
UNPARSEABLE = "unparseable"


@dataclass(frozen=True)
class NotificationIdentity:
    """What a notification body says it is, read before — and without — trusting it.

    ``key`` is what makes it unique (DESIGN §8 dedup keys); when ``secret`` is set (an authCode or
    accessToken), the stored key is ``key`` plus a keyed hash of it, never the secret itself.
    ``event_at`` is when the body says what it reports happened (None when it does not say).
    """

    kind: str
    reference: str | None = None
    key: str | None = None
    secret: str | None = field(default=None, repr=False)
    event_at: datetime | None = None


def parse_json(body: bytes | str) -> Any:
    """Parse JSON from a provider or anybody posing as one.

    :raises ValueError: it is not JSON, or it is nested too deep for the parser (about 1,000 levels,
        where Python's parser runs out of stack: no provider nests more than a few)
    """
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deep to read") from None


def json_object(body: bytes | str) -> Mapping[str, Any]:
    """Return a body parsed as a JSON object, or an empty mapping when it is not one."""
    try:
        data = parse_json(body)
    except ValueError:
        return {}
    return data if isinstance(data, Mapping) else {}


class CallTimer:
    """Time one exchange with a provider and build its redacted :class:`CallRecord`."""

    def __init__(
        self,
        provider: str,
        operation: str,
        method: str,
        path: str,
        started_at: datetime,
        correlation_id: str | None,
        request_body: bytes | None,
        secret_fields: Iterable[str] = SECRET_FIELDS,
    ):
        self.provider = provider
        self.operation = operation
        self.method = method
        self.path = path
        self.started_at = started_at
        self.correlation_id = correlation_id
        self.request_body = request_body
        self.secret_fields = frozenset(secret_fields)
        self._started = time.perf_counter()

    def record(
        self, status: int | None = None, response_body: bytes | str | None = None, error: str | None = None
    ) -> CallRecord:
        """Return the record of this exchange, timed up to now."""
        return CallRecord(
            provider=self.provider,
            operation=self.operation,
            method=self.method,
            path=self.path,
            started_at=self.started_at,
            duration_ms=round((time.perf_counter() - self._started) * 1000),
            status=status,
            correlation_id=self.correlation_id,
            request_body=redact_body(self.request_body, self.secret_fields),
            response_body=redact_body(response_body, self.secret_fields),
            error=error,
        )


@dataclass(frozen=True)
class Call(Generic[R]):
    """What one provider call came back with, whether the client answered or raised.

    A definite refusal and an unknown outcome both come back as values, so the caller stores
    every answer the same way; ``result`` is None when the client raised.
    """

    result: R | None
    outcome: CallOutcome
    record: CallRecord | None
    code: str | None = None
    message: str | None = None

    @classmethod
    def run(cls, send: Callable[[], R]) -> Call[R]:
        """Send one request and return what came back."""
        try:
            result = send()
        except ProviderError as exc:
            return cls(None, exc.outcome, exc.record, exc.code, exc.message)
        return cls(result, result.outcome, result.record, result.result_code, result.result_message)

    @property
    def news(self) -> Any:
        """Return what the answer says in the domain's words (None when the client raised)."""
        return None if self.result is None else self.result.news

    @property
    def never_received(self) -> bool:
        """Return True when the provider answered that it never got what was asked about."""
        return self.result is not None and self.result.never_received

    @property
    def token_invalid(self) -> bool:
        """Return True when the provider answered that the token it was given no longer works there."""
        return self.result is not None and self.result.token_invalid
