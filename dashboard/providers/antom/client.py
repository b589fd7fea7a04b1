"""HTTP client for Antom's Auto Debit APIs: signs requests, verifies answers, maps outcomes.

How answers come back:

* Antom answered with a verified ``result``: a typed result whose ``outcome`` is the
  ``resultStatus`` — S, F or U — with ``result_code`` and ``result_message`` to store. A definite
  failure (F) is returned, never raised, so every answer is stored the same way. An F whose code
  Antom documents as U for that API (e.g. PAYMENT_IN_PROCESS) is reported as UNKNOWN.
* No trustworthy answer — timeout, connection error, a status other than 200, a body that is not
  the documented JSON: :class:`ProviderUnavailable`; a missing or bad response signature:
  :class:`ProviderUnverified`. Both mean "unknown": retry with the same request id or inquire.

Every result and every error carries a redacted :class:`CallRecord`; a result's ``raw`` is the
redacted answer too, while its typed fields (e.g. ``access_token``) keep the real values. The
caller owns request ids (paymentRequestId, refundRequestId): a retry passes the same id again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from functools import partial
from typing import Any
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from dashboard import clock as clock_module
from dashboard.providers.antom import declarations
from dashboard.providers.antom import mapping
from dashboard.providers.antom import signatures
from dashboard.providers.antom.consts import CONTENT_TYPE
from dashboard.providers.antom.consts import DEFAULT_KEY_VERSION
from dashboard.providers.antom.consts import DEFAULT_SETTLEMENT_CURRENCY
from dashboard.providers.antom.consts import DEFAULT_TIMEOUTS
from dashboard.providers.antom.consts import HEADER_CLIENT_ID
from dashboard.providers.antom.consts import HEADER_REQUEST_TIME
from dashboard.providers.antom.consts import HEADER_RESPONSE_TIME
from dashboard.providers.antom.consts import HEADER_SIGNATURE
from dashboard.providers.antom.consts import LIVE_PATH_PREFIX
from dashboard.providers.antom.consts import PATHS
from dashboard.providers.antom.consts import PROVIDER
from dashboard.providers.antom.consts import SANDBOX_CLIENT_PREFIX
from dashboard.providers.antom.consts import SANDBOX_PATH_PREFIX
from dashboard.providers.antom.consts import SECRET_FIELDS
from dashboard.providers.antom.consts import Operation
from dashboard.providers.antom.consts import describe
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import CallRecord
from dashboard.providers.base import CallTimer
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import ProviderResult
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.base import ProviderUnverified
from dashboard.providers.base import mask_secret_fields
from dashboard.providers.http import build_session

R = TypeVar("R", bound=ProviderResult)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_millis(moment: datetime) -> int:
    """Return an aware datetime as whole milliseconds since the Unix epoch (Request-Time)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _record(exchange: CallTimer, response: requests.Response, error: str | None = None) -> CallRecord:
    return exchange.record(response.status_code, response.content, error)


class AntomClient:
    """Antom Auto Debit: consult, applyToken, revoke, pay, inquiryPayment, cancel, refund, inquiryRefund;
    customs declaration: declare, inquiryDeclarationRequests."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        private_key: signatures.KeySource | rsa.RSAPrivateKey,
        antom_public_key: signatures.KeySource | rsa.RSAPublicKey,
        key_version: int = DEFAULT_KEY_VERSION,
        notify_url: str | None = None,
        settlement_currency: str = DEFAULT_SETTLEMENT_CURRENCY,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] | None = None,
        connect_timeout: float = DEFAULT_TIMEOUTS[0],
        read_timeout: float = DEFAULT_TIMEOUTS[1],
    ):
        parts = urlsplit(base_url)
        if parts.scheme not in {"https", "http"} or not parts.netloc or parts.query or parts.fragment:
            raise ProviderConfigError(f"Antom base URL {base_url!r} must be http(s)://host[/prefix]")
        if not client_id:
            raise ProviderConfigError("the Antom client id is empty")
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.key_version = key_version
        self.notify_url = notify_url
        #: The contract's settlement currency: pay's settlementStrategy unless a request names one.
        self.settlement_currency = settlement_currency
        self._private_key = signatures.load_private_key(private_key)
        self._public_key = signatures.load_public_key(antom_public_key)
        self._timeout = (connect_timeout, read_timeout)
        self._session = session or build_session(connect_timeout=connect_timeout, read_timeout=read_timeout)
        self._clock = clock or clock_module.now

    @property
    def is_sandbox(self) -> bool:
        """Return whether the client id is a sandbox one."""
        return self.client_id.startswith(SANDBOX_CLIENT_PREFIX)

    def url(self, operation: Operation) -> str:
        """Return the URL of ``operation``, rewritten to the sandbox path for sandbox client ids."""
        path = PATHS[operation]
        if self.is_sandbox:
            path = path.replace(LIVE_PATH_PREFIX, SANDBOX_PATH_PREFIX, 1)
        return self.base_url + path

    def consult(self, request: mapping.ConsultRequest) -> mapping.ConsultResult:
        """Ask for a one-time authorization URL; a timeout is answered by consulting again."""
        return self._call(
            Operation.CONSULT,
            mapping.consult_body(request, self.notify_url),
            request.auth_state,
            partial(mapping.consult_result, request=request),
        )

    def apply_token(self, request: mapping.ApplyTokenRequest) -> mapping.ApplyTokenResult:
        """Exchange an auth code (AUTHORIZATION_CODE) or refresh token (REFRESH_TOKEN) for an access token."""
        return self._call(
            Operation.APPLY_TOKEN, mapping.apply_token_body(request), None, mapping.apply_token_result
        )

    def revoke(self, access_token: str) -> mapping.RevokeResult:
        """Invalidate an access token and its refresh token."""
        return self._call(Operation.REVOKE, mapping.revoke_body(access_token), None, mapping.revoke_result)

    def pay(self, request: mapping.PayRequest) -> mapping.PayResult:
        """Debit the buyer with an Auto Debit token (productCode AGREEMENT_PAYMENT)."""
        return self._call(
            Operation.PAY,
            mapping.pay_body(request, self.notify_url, self.settlement_currency),
            request.payment_request_id,
            mapping.pay_result,
        )

    def inquiry_payment(
        self, *, payment_request_id: str | None = None, payment_id: str | None = None
    ) -> mapping.InquiryPaymentResult:
        """Ask for a payment's status by paymentRequestId (known even after a timeout) or paymentId."""
        return self._call(
            Operation.INQUIRY_PAYMENT,
            mapping.payment_lookup_body(payment_request_id, payment_id),
            payment_request_id or payment_id,
            mapping.inquiry_payment_result,
        )

    def cancel(
        self, *, payment_request_id: str | None = None, payment_id: str | None = None
    ) -> mapping.CancelResult:
        """Cancel a payment (refunding it in full if it was paid) within the cancel window."""
        return self._call(
            Operation.CANCEL,
            mapping.payment_lookup_body(payment_request_id, payment_id),
            payment_request_id or payment_id,
            mapping.cancel_result,
        )

    def refund(self, request: mapping.RefundRequest) -> mapping.RefundResult:
        """Refund all or part of a successful payment."""
        return self._call(
            Operation.REFUND,
            mapping.refund_body(request, self.notify_url),
            request.refund_request_id,
            mapping.refund_result,
        )

    def inquiry_refund(
        self, *, refund_request_id: str | None = None, refund_id: str | None = None
    ) -> mapping.InquiryRefundResult:
        """Ask for a refund's status by refundRequestId or refundId."""
        return self._call(
            Operation.INQUIRY_REFUND,
            mapping.refund_lookup_body(refund_request_id, refund_id),
            refund_request_id or refund_id,
            mapping.inquiry_refund_result,
        )

    def declare(self, request: declarations.DeclareRequest) -> declarations.DeclareResult:
        """Declare a successful payment to customs; the same declarationRequestId re-sent is safe."""
        return self._call(
            Operation.DECLARE,
            declarations.declare_body(request),
            request.declaration_request_id,
            declarations.declare_result,
        )

    def inquiry_declarations(
        self, declaration_request_ids: list[str]
    ) -> declarations.InquiryDeclarationsResult:
        """Ask where up to 10 declarations stand, by our declarationRequestIds."""
        return self._call(
            Operation.INQUIRY_DECLARATION,
            declarations.inquiry_body(declaration_request_ids),
            ",".join(declaration_request_ids),
            declarations.inquiry_result,
        )

    def verify_notification(self, headers: Mapping[str, str], body: bytes, path: str | None = None) -> bool:
        """Return whether a notification POSTed to ``path`` (default: notify_url's path) is Antom's."""
        notify_path = path or urlsplit(self.notify_url or "").path
        if not notify_path:
            raise ProviderConfigError("verifying a notification needs its public path or notify_url")
        lowered = {name.lower(): value for name, value in headers.items()}
        request_time = lowered.get(HEADER_REQUEST_TIME.lower())
        if lowered.get(HEADER_CLIENT_ID.lower()) != self.client_id or not request_time:
            return False
        return signatures.verify_notification(
            self._public_key,
            notify_path,
            self.client_id,
            request_time,
            body,
            lowered.get(HEADER_SIGNATURE.lower()),
        )

    def _call(
        self,
        operation: Operation,
        payload: dict[str, Any],
        correlation_id: str | None,
        build: Callable[..., R],
    ) -> R:
        url = self.url(operation)
        uri = urlsplit(url).path
        # Serialised once: these exact bytes are signed and sent.
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        started_at = self._clock()
        request_time = str(epoch_millis(started_at))
        signature = signatures.sign(self._private_key, "POST", uri, self.client_id, request_time, body)
        headers = {
            "Content-Type": CONTENT_TYPE,
            HEADER_CLIENT_ID: self.client_id,
            HEADER_REQUEST_TIME: request_time,
            HEADER_SIGNATURE: signatures.build_signature_header(signature, self.key_version),
        }
        exchange = CallTimer(
            PROVIDER, str(operation), "POST", uri, started_at, correlation_id, body, SECRET_FIELDS
        )
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise ProviderUnavailable(
                f"Antom {operation} got no answer", record=exchange.record(error=error)
            ) from exc
        if response.status_code != 200:
            error = f"HTTP {response.status_code}"
            raise ProviderUnavailable(
                f"Antom {operation} answered {error}", record=_record(exchange, response, error)
            )
        if not self._response_verified(uri, response):
            error = "response signature missing or invalid"
            raise ProviderUnverified(f"Antom {operation}: {error}", record=_record(exchange, response, error))
        code = None
        try:
            data = json.loads(response.content)
            outcome, code, message = mapping.parse_result(data)
            envelope = {
                "outcome": self._outcome(operation, outcome, code),
                "record": _record(exchange, response),
                "result_code": code,
                "result_message": message,
                "raw": mask_secret_fields(data, SECRET_FIELDS),
            }
            return build(data, **envelope)
        except ValueError as exc:
            error = f"unreadable answer: {exc}"
            raise ProviderUnavailable(
                f"Antom {operation}: {error}", record=_record(exchange, response, error), code=code
            ) from None

    def _response_verified(self, uri: str, response: requests.Response) -> bool:
        # Antom signs "<method> <request URI>\n<client-id>.<response-time>.<body>" (antom.md §3.4);
        # the Java SDK uses the request's Client-Id, so a different client-id header is refused.
        response_time = response.headers.get(HEADER_RESPONSE_TIME)
        if not response_time or response.headers.get(HEADER_CLIENT_ID, self.client_id) != self.client_id:
            return False
        return signatures.verify(
            self._public_key,
            "POST",
            uri,
            self.client_id,
            response_time,
            response.content,
            response.headers.get(HEADER_SIGNATURE),
        )

    @staticmethod
    def _outcome(operation: Operation, status: CallOutcome, code: str | None) -> CallOutcome:
        # A definite failure makes a caller start over with a new request id; when the code says
        # "in process" or "unknown" that could debit twice, so the documented U wins.
        documented = describe(operation, code)
        if (
            status is CallOutcome.FAILED
            and documented is not None
            and documented.status is CallOutcome.UNKNOWN
        ):
            return CallOutcome.UNKNOWN
        return status
