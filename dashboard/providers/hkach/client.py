"""HTTP client of the HK ACH (Fileactive) Payment API: token, submit, status (hkach_contract.md).

It never touches the database and never retries a submit whose outcome is unknown: a submit
whose answer was lost (timeout, 5xx) is sent again only by
:meth:`HkachClient.resubmit_if_never_received`. A 429 is different: the bank throttles before
processing, so every call, a submit included, is repeated after the ``Retry-After`` wait, as long
as the waits add up to at most ``max_rate_limit_wait`` seconds (a page never hangs on the bank's
limits). A repeated submit goes under the same ``x-Message-Id``, so even a 429 that followed
processing cannot pay twice: the bank answers EC004_102, read as "already received".
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

import requests

from dashboard import clock as default_clock
from dashboard.providers.base import SECRET_FIELDS
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import CallRecord
from dashboard.providers.base import CallTimer
from dashboard.providers.base import MalformedMessage
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.hkach import consts
from dashboard.providers.hkach.errors import HkachAuthError
from dashboard.providers.hkach.errors import HkachRateLimited
from dashboard.providers.hkach.errors import HkachRejected
from dashboard.providers.hkach.errors import InvalidBatch
from dashboard.providers.hkach.jose import client_assertion
from dashboard.providers.hkach.jose import load_key
from dashboard.providers.hkach.jose import seal
from dashboard.providers.hkach.mapping import BatchStatus
from dashboard.providers.hkach.mapping import PaymentBatch
from dashboard.providers.hkach.mapping import SubmitResult
from dashboard.providers.hkach.mapping import batch_problems
from dashboard.providers.hkach.mapping import build_payload
from dashboard.providers.hkach.mapping import error_code
from dashboard.providers.hkach.mapping import not_found
from dashboard.providers.hkach.mapping import parse_status
from dashboard.providers.http import DEFAULT_CONNECT_TIMEOUT
from dashboard.providers.http import DEFAULT_READ_TIMEOUT
from dashboard.providers.http import build_session
from dashboard.providers.http import require_http_url

#: Masked to their last 4 characters on call records: tokens, account numbers, identity numbers, and
#: end-to-end ids (a payroll row without a reference sends its employee id as one).
HKACH_SECRET_FIELDS = SECRET_FIELDS | {
    "client_assertion",
    "end_to_end_identification",
    "original_end_to_end_identification",
    "debtor_account_identification",
    "creditor_account_identification",
    "creditor_organisation_identification",
    "secured_payload",
}
#: Seconds to wait after a 429 that names no ``Retry-After``.
DEFAULT_RETRY_AFTER = 30.0
#: Most seconds one call spends waiting out 429s before it gives up (``HKACH_MAX_RATE_LIMIT_WAIT``).
DEFAULT_MAX_RATE_LIMIT_WAIT = 5.0


class HkachClient:
    """Submit HK ACH batches and read their status; every answer and error carries a CallRecord."""

    def __init__(
        self,
        base_url: str,
        customer_code: str,
        api_key: str,
        private_key_pem: str,
        bank_public_key_pem: str,
        debtor_name: str,
        debtor_account: str,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_rate_limit_wait: float = DEFAULT_MAX_RATE_LIMIT_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ):
        require_http_url(base_url, "HK ACH")
        if not customer_code or not api_key:
            raise ProviderConfigError("HK ACH needs a customer code and an API key")
        try:
            self._signing_key = load_key(private_key_pem)
            self._bank_key = load_key(bank_public_key_pem)
        except ValueError as exc:
            raise ProviderConfigError(f"HK ACH key: {exc}") from None
        self.base_url = base_url.rstrip("/")
        self.customer_code = customer_code.upper()
        self.debtor_name = debtor_name
        self.debtor_account = debtor_account
        self._api_key = api_key
        self._session = session or build_session(connect_timeout=connect_timeout, read_timeout=read_timeout)
        self._timeout = (connect_timeout, read_timeout)
        self._clock = clock or default_clock.now
        self._max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._token_lock = threading.Lock()
        self._token: tuple[str, datetime] | None = None

    @property
    def audience(self) -> str:
        """Return the client assertion's ``aud``: the bank's auth URL."""
        return self.base_url + consts.AUDIENCE_PATH

    def access_token(self) -> str:
        """Return the process's bearer token, asking for a new one only when it is about to expire.

        The bank grants 10 tokens an hour: one token (both scopes) serves every call until
        ``TOKEN_REFRESH_MARGIN_SECONDS`` before it expires.
        """
        with self._token_lock:
            now = self._clock()
            if self._token is None or self._token[1] <= now:
                self._token = self._new_token(now)
            return self._token[0]

    def forget_token(self) -> None:
        """Drop the cached token (the bank refused it); the next call asks for a new one."""
        with self._token_lock:
            self._token = None

    def _new_token(self, now: datetime) -> tuple[str, datetime]:
        form = {
            "grant_type": consts.GRANT_TYPE,
            "scope": " ".join(consts.CLIENT_SCOPES),
            "client_assertion_type": consts.ASSERTION_TYPE,
            "client_assertion": client_assertion(self._signing_key, self.customer_code, self.audience, now),
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded", consts.API_KEY_HEADER: self._api_key}
        recorded = {key: value for key, value in form.items() if key != "client_assertion"}
        answer, record = self._send(
            "auth", "POST", consts.AUTH_PATH, headers, urlencode(form).encode(), json.dumps(recorded).encode()
        )
        payload = self._json(answer, record)
        token, expires_in = payload.get("access_token"), payload.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise ProviderUnavailable("the HK ACH token answer has no token or lifetime", record=record)
        margin = min(consts.TOKEN_REFRESH_MARGIN_SECONDS, expires_in / 2)
        return token, now + timedelta(seconds=expires_in - margin)

    def submit(self, batch: PaymentBatch, message_id: str) -> SubmitResult:
        """Send one batch under ``message_id``, which the caller made and stored before calling.

        :raises InvalidBatch: the batch breaks a rule the bank checks (nothing is sent)
        :raises ProviderUnavailable: timeout, 5xx, unreadable answer: the outcome is unknown, see
            :meth:`resubmit_if_never_received`
        """
        if not consts.MESSAGE_ID_PATTERN.fullmatch(message_id):
            raise ValueError(f"x-Message-Id {message_id!r} is not a lower-case UUID")
        problems = batch_problems(batch)
        if problems:
            raise InvalidBatch(problems)
        now = self._clock()
        payload = build_payload(
            batch, debtor_name=self.debtor_name, debtor_account=self.debtor_account, created_at=now
        )
        body = json.dumps({"secured_payload": seal(payload, self._signing_key, self._bank_key)}).encode()
        headers = self._headers(message_id)
        headers["Content-Type"] = "application/json"
        try:
            answer, record = self._send(
                "submit", "POST", consts.SUBMIT_PATH, headers, body, json.dumps(payload).encode()
            )
        except HkachRejected as exc:
            if exc.code == consts.DUPLICATE_MESSAGE_CODE:
                return SubmitResult(
                    outcome=CallOutcome.UNKNOWN,
                    record=exc.record,
                    result_code=exc.code,
                    result_message="the bank already has this batch",
                    message_id=message_id,
                    already_received=True,
                )
            raise
        data = self._json(answer, record)
        status = data.get("transaction_status")
        if status not in ("RCVD", "RJCT"):
            raise ProviderUnavailable(f"the HK ACH submit answer says {status!r}", record=record)
        return SubmitResult(
            # RCVD is not paid yet; RJCT's reason is read from the status report.
            outcome=CallOutcome.FAILED if status == "RJCT" else CallOutcome.UNKNOWN,
            record=record,
            result_code=status,
            raw=data,
            message_id=message_id,
            transaction_status=status,
            request_key=answer.headers.get(consts.REQUEST_KEY_HEADER),
            location=answer.headers.get("Location"),
        )

    def status(self, message_id: str) -> BatchStatus:
        """Read the status report of the batch sent under ``message_id``; 404 means never received.

        The outcome is read from ``group_status`` and never from the HTTP code: the seed's reading
        of the API answers 202 while pending and 400 when failed, with the same report.
        """
        path = consts.STATUS_PATH.format(message_id=quote(message_id, safe=""))
        try:
            answer, record = self._send("status", "GET", path, self._headers(message_id), accept_report=True)
        except HkachRejected as exc:
            if exc.status == 404:
                return not_found(message_id, exc.record)
            raise
        try:
            return parse_status(self._json(answer, record), message_id, record)
        except MalformedMessage as exc:
            raise ProviderUnavailable(
                f"the HK ACH status report is unreadable: {exc}", record=record
            ) from exc

    def resubmit_if_never_received(self, batch: PaymentBatch, message_id: str) -> SubmitResult | BatchStatus:
        """After a submit that timed out or failed with 5xx: send it again only if the bank never got it.

        Asks the status under the same ``message_id`` first; only a 404 sends the batch again,
        under the same id. Anything else is returned as is (the batch is there: poll it).
        """
        found = self.status(message_id)
        if found.never_received:
            return self.submit(batch, message_id)
        return found

    def _headers(self, message_id: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.access_token()}",
            consts.API_KEY_HEADER: self._api_key,
            consts.MESSAGE_ID_HEADER: message_id,
            consts.CORRELATION_HEADER: message_id,
        }

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        headers: dict[str, str],
        data: bytes | None = None,
        recorded_body: bytes | None = None,
        *,
        accept_report: bool = False,
    ) -> tuple[requests.Response, CallRecord]:
        """Send one request, waiting out 429s within the budget; a 4xx raises a typed refusal unless
        it carries a status report."""
        waited = 0.0
        while True:
            try:
                return self._send_once(operation, method, path, headers, data, recorded_body, accept_report)
            except HkachRateLimited as limited:
                if waited + limited.retry_after > self._max_rate_limit_wait:
                    raise
                self._sleep(limited.retry_after)
                waited += limited.retry_after

    def _send_once(
        self,
        operation: str,
        method: str,
        path: str,
        headers: dict[str, str],
        data: bytes | None,
        recorded_body: bytes | None,
        accept_report: bool,
    ) -> tuple[requests.Response, CallRecord]:
        timer = CallTimer(
            consts.PROVIDER,
            operation,
            method,
            path,
            self._clock(),
            headers.get(consts.CORRELATION_HEADER),
            recorded_body,
            HKACH_SECRET_FIELDS,
        )
        try:
            answer = self._session.request(
                method,
                self.base_url + path,
                data=data,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise ProviderUnavailable(
                "HK ACH did not answer in time", record=timer.record(error=repr(exc))
            ) from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                "HK ACH could not be reached", record=timer.record(error=repr(exc))
            ) from exc
        status = answer.status_code
        record = timer.record(status, answer.text)
        if 200 <= status < 300:
            return answer, record
        if status == 429:
            raise HkachRateLimited(
                "HK ACH asks us to slow down (429)", retry_after=_retry_after(answer), record=record
            )
        if status >= 500:
            raise ProviderUnavailable(f"HK ACH answered {status}", record=record)
        body = _json_or_none(answer)
        if accept_report and isinstance(body, Mapping) and "group_status" in body:
            return answer, record
        code, text = error_code(body)
        if status in (401, 403):
            self.forget_token()
            kind: type[HkachRejected] = HkachAuthError
        else:
            kind = HkachRejected
        raise kind(
            f"HK ACH refused the {operation} ({status}): {text or code or 'no error body'}",
            status=status,
            record=record,
            code=code,
        )

    @staticmethod
    def _json(answer: requests.Response, record: CallRecord) -> Mapping[str, Any]:
        data = _json_or_none(answer)
        if not isinstance(data, Mapping):
            raise ProviderUnavailable("HK ACH's answer is not a JSON object", record=record)
        return data


def _json_or_none(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _retry_after(answer: requests.Response) -> float:
    try:
        return max(float(answer.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER
