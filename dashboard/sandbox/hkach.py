"""The HK ACH (Fileactive) simulator: tokens, batch validation, the course of a batch, its status.

What it does is ``hkach_contract.md`` §8. A batch's status is read from the clock (delays
compressed by ``SANDBOX_TIME_SCALE``): RCVD → ACTC → PDNG → ACSC / PART / RJCT, the final state
no earlier than the value date. The deterministic outcomes (README, sandbox section): an account
ending ``000`` → AC03, ``404`` → AC04, ``406`` → AC06; a payee name containing ``MISMATCH`` →
BE01; an unknown bank code → RC08; an item of 13.13 → the whole batch RJCT NARR
"(AM04) Insufficient funds"; a past or Sunday value date, a Hong Kong public holiday (the
``holidays`` package: lunar, Easter and substitute days) or an extra closure day of
``SANDBOX_HKACH_HOLIDAYS`` → DT01; a same-day value date submitted after 17:55 HKT → TM01.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.providers.hkach import consts
from dashboard.providers.hkach.jose import CryptoFailure
from dashboard.providers.hkach.jose import load_key
from dashboard.providers.hkach.jose import unseal
from dashboard.providers.hkach.jose import verify_assertion
from dashboard.sandbox.core import Sandbox
from dashboard.sandbox.store import HkachBatch
from dashboard.sandbox.store import HkachToken

#: Operation names of the fault switches (``/sandbox``, ``X-Sandbox-Fault`` applies to any).
OPERATIONS = ("hkach_auth", "hkach_submit", "hkach_status")
HONG_KONG = ZoneInfo("Asia/Hong_Kong")
TOKEN_SECONDS = 3600
#: Documented-looking seconds between the states (compressed by the time scale).
SECONDS_TO_ACCEPT = 60
SECONDS_TO_PEND = 60
SECONDS_TO_SETTLE = 60
CUT_OFF = time(17, 55)
#: Scopes the bank knows (§3); others are refused.
KNOWN_SCOPES = frozenset(
    {
        consts.SCOPE_CREATE,
        consts.SCOPE_READ,
        "HK.INSTO.PAYMENT.FAST.CREATE",
        "HK.INSTO.PAYMENT.RTGS.CREATE",
        "HK.INSTO.PAYMENT.CBFT.CREATE",
    }
)
#: HK bank codes the simulator's clearing knows (worldpay_hkach.md §2.4); others give RC08.
BANK_CODES = frozenset(
    [
        "003",
        "004",
        "005",
        "006",
        "007",
        "009",
        "012",
        "014",
        "015",
        "016",
        "018",
        "019",
        "020",
        "022",
        "024",
        "025",
        "026",
        "027",
        "028",
        "029",
        "030",
        "031",
        "032",
        "033",
        "035",
        "036",
        "038",
        "039",
        "040",
        "041",
        "043",
        "044",
        "047",
        "051",
        "052",
        "055",
        "056",
        "061",
        "063",
        "064",
        "065",
        "070",
        "071",
        "072",
        "074",
        "081",
        "103",
        "109",
        "128",
        "152",
        "153",
        "185",
        "214",
        "221",
        "238",
        "249",
        "250",
        "338",
        "382",
        "387",
        "388",
        "389",
        "390",
        "391",
        "392",
        "393",
        "395",
    ]
)
#: The bank's validation codes (§6): EC004 code → (ISO reason, name).
EVENT_CODES: Mapping[str, tuple[str, str]] = {
    "EC004_101": ("TD03", "InvalidPayment"),
    "EC004_102": ("TD03", "DuplicatePayment"),
    "EC004_103": ("TD03", "CryptoFailure"),
    "EC004_104": ("TD03", "SchemaValidation"),
    "EC004_106": ("DT02", "InvalidCreationDate"),
    "EC004_107": ("BC01", "InvalidPaymentInformationCount"),
    "EC004_108": ("AM10", "InvalidControlSum"),
    "EC004_109": ("AM18", "InvalidNumberOfTransactions"),
    "EC004_201": ("AC02", "InvalidDebtorAccountNumber"),
    "EC004_202": ("TC01", "InvalidTransactionCount"),
    "EC004_203": ("AM03", "MultipleCurrencies"),
    "EC004_204": ("DU02", "DuplicatePaymentInformationID"),
    "EC004_205": ("CH16", "PaymentInformationIDTooLong"),
    "EC004_302": ("AM03", "CurrencyNotAllowed"),
    "EC004_303": ("DU05", "DuplicateInstructionID"),
    "EC004_305": ("CH16", "InstructionIDTooLong"),
    "EC004_306": ("BE22", "MissingCreditorName"),
}
ITEM_REASONS: Mapping[str, str] = {
    "AC03": "Invalid creditor account number",
    "AC04": "Closed account number",
    "AC06": "Blocked account",
    "BE01": "Inconsistent with end customer",
    "RC08": "Invalid clearing system member identifier",
}
ACCOUNT_ENDINGS = {"000": "AC03", "404": "AC04", "406": "AC06"}
INSUFFICIENT_FUNDS_AMOUNT = Decimal("13.13")


class Refusal(Exception):
    """An HTTP-level refusal: status, ``ErrorCode`` body and extra headers."""

    def __init__(self, status: int, code: str, text: str, headers: Mapping[str, str] | None = None):
        super().__init__(text)
        self.status = status
        self.body = {"status": {"severity": "Fatal", "code": code, "text": text}}
        self.headers = dict(headers or {})


class Invalid(Exception):
    """Business validation failed: the batch is kept as RJCT with this EC004 code."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


# -- rate limits ---------------------------------------------------------------------------

#: Operation → its limits as (calls, window seconds): FA-FAQ's defaults, each also 2 a second.
RATE_LIMITS: Mapping[str, tuple[tuple[int, int], ...]] = {
    "auth": ((10, 3600), (2, 1)),
    "submit": ((30, 60), (2, 1)),
    "status": ((90, 60), (2, 1)),
}


def check_rate(sandbox: Sandbox, operation: str, now: datetime) -> None:
    """Count one call; refuse it with 429 over any of the operation's limits (when limits are on)."""
    if not sandbox.options.get("SANDBOX_HKACH_RATE_LIMITS"):
        return
    with sandbox.lock:
        windows = []
        for limit, seconds in RATE_LIMITS[operation]:
            window = sandbox.rate_windows.setdefault(f"hkach:{operation}:{seconds}", deque())
            while window and window[0] <= now - timedelta(seconds=seconds):
                window.popleft()
            if len(window) >= limit:
                wait = (window[0] + timedelta(seconds=seconds) - now).total_seconds()
                raise Refusal(
                    429, "EC000_429", "Too many requests", {"Retry-After": str(max(1, round(wait)))}
                )
            windows.append(window)
        for window in windows:
            window.append(now)


# -- auth ----------------------------------------------------------------------------------


def grant_token(
    sandbox: Sandbox, session: Session, form: Mapping[str, str], api_key: str | None, now: datetime
):
    """Check a token request (§3) and return the token answer."""
    settings = sandbox.hkach
    if api_key != settings.api_key:
        raise Refusal(401, "EC000_002", "Invalid or missing apikey")
    if form.get("grant_type") != consts.GRANT_TYPE:
        raise Refusal(400, "EC000_003", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != consts.ASSERTION_TYPE or not form.get("client_assertion"):
        raise Refusal(400, "EC000_003", "client_assertion and its type are required")
    scopes = (form.get("scope") or "").split()
    if not scopes or not set(scopes) <= KNOWN_SCOPES:
        raise Refusal(400, "EC000_003", "scope is missing or unknown")
    customer_key = load_key(sandbox.hkach_keys.customer.private_pem)
    try:
        claims = verify_assertion(form["client_assertion"], customer_key, settings.base_url + "/auth", now)
    except CryptoFailure as exc:
        raise Refusal(401, "EC000_002", f"Client assertion not verified: {exc}") from None
    if claims["sub"] != settings.customer_code:
        raise Refusal(401, "EC000_002", "Client assertion sub is not a known customer")
    token = HkachToken(
        access_token=str(uuid.uuid4()),
        scopes=" ".join(scopes),
        expires_at=now + timedelta(seconds=TOKEN_SECONDS),
        created_at=now,
    )
    session.add(token)
    return {"expires_in": TOKEN_SECONDS, "token_type": "Bearer", "access_token": token.access_token}


def check_access(
    sandbox: Sandbox,
    session: Session,
    authorization: str | None,
    api_key: str | None,
    scope: str,
    now: datetime,
) -> None:
    """Refuse a call without the apikey (401), a live token (401) or the operation's scope (403)."""
    if api_key != sandbox.hkach.api_key:
        raise Refusal(401, "EC000_002", "Invalid or missing apikey")
    kind, _, value = (authorization or "").partition(" ")
    token = session.scalar(select(HkachToken).where(HkachToken.access_token == value.strip()))
    if kind.lower() != "bearer" or token is None or token.expires_at <= now:
        raise Refusal(401, "EC000_002", "Invalid or expired token")
    if scope not in token.scopes.split():
        raise Refusal(403, "EC000_002", f"Token lacks scope {scope}")


# -- submit --------------------------------------------------------------------------------


def check_message_id(message_id: str | None) -> str:
    """Return a valid ``x-Message-Id`` or refuse the call (EC004_101)."""
    if not message_id or not consts.MESSAGE_ID_PATTERN.fullmatch(message_id):
        raise Refusal(400, "EC004_101", "x-Message-Id is missing or not a lower-case UUID")
    return message_id


def read_payload(sandbox: Sandbox, body: Any) -> Any:
    """Return the plaintext of a submit body: ``{"secured_payload": JWE}`` or plain JSON (sandbox)."""
    if not isinstance(body, dict):
        raise Refusal(400, "EC000_007", "Invalid secured payload")
    if "secured_payload" not in body:
        return body
    token = body["secured_payload"]
    if not isinstance(token, str):
        raise Refusal(400, "EC000_007", "Invalid secured payload")
    keys = sandbox.hkach_keys
    try:
        return unseal(token, load_key(keys.bank.private_pem), [load_key(keys.customer.private_pem)])
    except CryptoFailure as exc:
        raise Invalid("EC004_103", str(exc)) from None


def _text(value: Any, where: str, high: int, too_long: str = "EC004_104", low: int = 1) -> str:
    if not isinstance(value, str) or len(value) < low:
        raise Invalid("EC004_104", f"{where} is missing or not text")
    if len(value) > high:
        raise Invalid(too_long, f"{where} is longer than {high}")
    return value


def _decimal(value: Any, where: str) -> Decimal:
    if not isinstance(value, str) or len(value) > 19:
        raise Invalid("EC004_104", f"{where} is not a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Invalid("EC004_104", f"{where} is not a decimal string") from None
    if not number.is_finite():
        raise Invalid("EC004_104", f"{where} is not a decimal string")
    return number


def _created(value: Any, now: datetime) -> None:
    try:
        created = datetime.fromisoformat(_text(value, "creation_date_time", 35))
    except ValueError:
        raise Invalid("EC004_104", "creation_date_time is not an ISO date-time") from None
    if created.tzinfo is None:
        created = created.replace(tzinfo=HONG_KONG)
    if created > now + timedelta(minutes=5) or created < now - timedelta(hours=24):
        raise Invalid("EC004_106", "creation_date_time is more than 24 hours old or in the future")


@dataclass(frozen=True)
class Checked:
    """A batch that passed validation: its id, value date and items."""

    batch_id: str
    value_date: date
    items: list[dict[str, Any]]


def validate(session: Session, payload: Any, now: datetime) -> Checked:
    """Run the bank's synchronous validation (§4); raise :class:`Invalid` with the first EC004 code."""
    if not isinstance(payload, dict):
        raise Invalid("EC004_104", "the payload is not an object")
    _created(payload.get("creation_date_time"), now)
    _text(payload.get("initiating_party_name"), "initiating_party_name", consts.MAX_NAME_LENGTH)
    infos = payload.get("payment_information")
    if not isinstance(infos, list) or not infos:
        raise Invalid("EC004_104", "payment_information is missing")
    if len(infos) > 1:
        raise Invalid("EC004_107", "more than one payment_information")
    info = infos[0]
    if not isinstance(info, dict):
        raise Invalid("EC004_104", "payment_information is not an object")
    batch_id = _text(info.get("payment_information_identification"), "batch id", 20, "EC004_205")
    try:
        value_date = date.fromisoformat(_text(info.get("requested_execution_date"), "value date", 10))
    except ValueError:
        raise Invalid("EC004_104", "requested_execution_date is not YYYY-MM-DD") from None
    _text(info.get("debtor_name"), "debtor_name", consts.MAX_NAME_LENGTH)
    _text(info.get("debtor_account_identification"), "debtor account", 34, "EC004_201")
    transactions = info.get("credit_transfer_transaction_information")
    if not isinstance(transactions, list) or not transactions:
        raise Invalid("EC004_104", "credit_transfer_transaction_information is missing")
    if len(transactions) > consts.MAX_TRANSACTIONS:
        raise Invalid("EC004_202", f"more than {consts.MAX_TRANSACTIONS} transactions")
    count = payload.get("number_of_transactions")
    if not isinstance(count, str) or not count.isdigit() or int(count) != len(transactions):
        raise Invalid("EC004_109", "number_of_transactions is not the count of transactions")
    items, instruction_ids, currencies, total = [], set(), set(), Decimal(0)
    for number, transaction in enumerate(transactions, start=1):
        items.append(_item(transaction, f"transaction {number}", instruction_ids, currencies))
        total += items[-1]["amount"]
    if len(currencies) > 1:
        raise Invalid("EC004_203", "more than one currency")
    control_sum = payload.get("control_sum")
    if control_sum is not None and _decimal(control_sum, "control_sum") != total:
        raise Invalid("EC004_108", "control_sum is not the sum of the amounts")
    if session.scalar(select(HkachBatch.id).where(HkachBatch.batch_id == batch_id, ~HkachBatch.refused)):
        raise Invalid("EC004_204", f"batch id {batch_id} was used before")
    return Checked(batch_id, value_date, items)


def _item(transaction: Any, where: str, instruction_ids: set[str], currencies: set[str]) -> dict[str, Any]:
    if not isinstance(transaction, dict):
        raise Invalid("EC004_104", f"{where} is not an object")
    instruction_id = _text(transaction.get("instruction_identification"), f"{where} id", 20, "EC004_305")
    if instruction_id in instruction_ids:
        raise Invalid("EC004_303", f"{where} repeats instruction id {instruction_id}")
    instruction_ids.add(instruction_id)
    end_to_end_id = _text(transaction.get("end_to_end_identification"), f"{where} end-to-end id", 20)
    amount = transaction.get("instructed_amount")
    if not isinstance(amount, dict):
        raise Invalid("EC004_104", f"{where} has no instructed_amount")
    value = _decimal(amount.get("amount"), f"{where} amount")
    currency = amount.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise Invalid("EC004_104", f"{where} currency is not ISO 4217")
    if currency not in consts.CURRENCIES:
        raise Invalid("EC004_302", f"{where}: {currency} is not allowed for HK ACH")
    currencies.add(currency)
    member = _text(transaction.get("creditor_agent_member_identification"), f"{where} member id", 35)
    if not isinstance(transaction.get("creditor_name"), str) or not transaction["creditor_name"].strip():
        raise Invalid("EC004_306", f"{where} has no creditor_name")
    name = _text(transaction["creditor_name"], f"{where} creditor_name", consts.MAX_NAME_LENGTH)
    account = _text(transaction.get("creditor_account_identification"), f"{where} account", 34)
    return {
        "instruction_id": instruction_id,
        "end_to_end_id": end_to_end_id,
        "amount": value,
        "reason": _item_reason(member, account, name),
    }


def _item_reason(member: str, account: str, name: str) -> str | None:
    if not consts.MEMBER_ID_PATTERN.fullmatch(member) or member[:3] not in BANK_CODES:
        return "RC08"
    for ending, reason in ACCOUNT_ENDINGS.items():
        if account.endswith(ending):
            return reason
    return "BE01" if "MISMATCH" in name.upper() else None


def closure_days(sandbox: Sandbox) -> frozenset[date]:
    """Return the extra closure days of ``SANDBOX_HKACH_HOLIDAYS`` (comma-separated ISO dates)."""
    text = sandbox.options.get("SANDBOX_HKACH_HOLIDAYS") or ""
    return frozenset(date.fromisoformat(part.strip()) for part in text.split(",") if part.strip())


def is_business_day(sandbox: Sandbox, day: date) -> bool:
    """Return whether HK ACH settles on ``day``: Monday to Saturday, not a Hong Kong holiday.

    Banks close on the general holidays (Cap. 149, the package's ``optional`` category), which
    include the statutory ones (``public``); both are asked so that neither list is relied on alone.
    """
    if day.weekday() == 6 or day in closure_days(sandbox):
        return False
    return day not in holidays.HK(years=day.year, categories=(holidays.OPTIONAL, holidays.PUBLIC))


def _batch_reason(sandbox: Sandbox, checked: Checked, now: datetime) -> tuple[str, str] | None:
    """Return the ISO reason and text that reject the whole batch, if any."""
    local = now.astimezone(HONG_KONG)
    day = checked.value_date
    if day < local.date() or not is_business_day(sandbox, day):
        return "DT01", "Invalid value date"
    if day == local.date() and local.time() > CUT_OFF:
        return "TM01", "Received after the 17:55 HKT cut-off for same-day value"
    if any(item["amount"] == INSUFFICIENT_FUNDS_AMOUNT for item in checked.items):
        return "NARR", "(AM04) Insufficient funds"
    return None


def record_batch(sandbox: Sandbox, session: Session, message_id: str, payload: Any, now: datetime) -> str:
    """Keep a submitted batch under ``message_id`` and return its first status: RCVD, or RJCT.

    With ``SANDBOX_HKACH_REJECT_WITH_400`` a batch failing validation is refused with 400 and its
    EC004 code instead, and not kept.
    """
    if session.scalar(select(HkachBatch.id).where(HkachBatch.message_id == message_id)):
        raise Refusal(400, "EC004_102", "DuplicatePayment")
    accepted_at = now + sandbox.delay(SECONDS_TO_ACCEPT)
    pending_at = accepted_at + sandbox.delay(SECONDS_TO_PEND)
    batch = HkachBatch(
        message_id=message_id,
        received_at=now,
        accepted_at=accepted_at,
        pending_at=pending_at,
        final_at=pending_at,
    )
    try:
        checked = validate(session, read_payload(sandbox, payload), now)
    except Invalid as invalid:
        reason, name = EVENT_CODES[invalid.code]
        if sandbox.options.get("SANDBOX_HKACH_REJECT_WITH_400"):
            raise Refusal(400, invalid.code, f"{name}: {invalid.detail}") from None
        batch.refused = True
        batch.group_reason = reason
        batch.group_information = json.dumps([f"{invalid.code}-{name}", *filter(None, [invalid.detail])])
        batch.accepted_at = batch.pending_at = batch.final_at = now
        session.add(batch)
        return "RJCT"
    batch.batch_id = checked.batch_id
    whole = _batch_reason(sandbox, checked, now)
    if whole is not None:
        batch.group_reason = whole[0]
        batch.group_information = json.dumps([whole[1]])
    else:
        start = datetime.combine(checked.value_date, time(0), HONG_KONG).astimezone(UTC)
        wait = max(SECONDS_TO_SETTLE, (start - now).total_seconds())
        batch.final_at = pending_at + sandbox.delay(wait)
    batch.items = json.dumps([{**item, "amount": str(item["amount"])} for item in checked.items])
    session.add(batch)
    return "RCVD"


# -- status --------------------------------------------------------------------------------


def find(session: Session, message_id: str) -> HkachBatch:
    """Return the batch sent under ``message_id`` or refuse with 404."""
    batch = session.scalar(select(HkachBatch).where(HkachBatch.message_id == message_id))
    if batch is None:
        raise Refusal(404, "EC000_004", "No payment found for this x-Message-Id")
    return batch


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value not in (None, [])}


def status_report(batch: HkachBatch, now: datetime) -> dict[str, Any]:
    """Return the pain.002 status report of ``batch`` as it stands ``now``."""
    information = json.loads(batch.group_information)
    items = json.loads(batch.items)
    if now < batch.accepted_at and not batch.refused:
        group, item_states = "RCVD", [("RCVD", None)] * len(items)
    elif now < batch.pending_at and not batch.refused:
        group, item_states = "ACTC", [("ACTC", None)] * len(items)
    elif now < batch.final_at:
        group, item_states = "PDNG", [("PDNG", None)] * len(items)
    elif batch.group_reason is not None:
        group, item_states = "RJCT", [("RJCT", None)] * len(items)
    else:
        item_states = [("RJCT", item["reason"]) if item["reason"] else ("ACSC", None) for item in items]
        rejected = sum(state == "RJCT" for state, _ in item_states)
        group = "ACSC" if rejected == 0 else "RJCT" if rejected == len(items) else "PART"
    settled_at = batch.final_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    transactions = [
        _clean(
            {
                "original_instruction_identification": item["instruction_id"],
                "original_end_to_end_identification": item["end_to_end_id"],
                "transaction_status": state,
                "transaction_status_reason_code": reason,
                "transaction_status_additional_information": [ITEM_REASONS[reason]] if reason else None,
                "acceptance_date_time": settled_at if state == "ACSC" else None,
            }
        )
        for item, (state, reason) in zip(items, item_states, strict=True)
    ]
    final_group = group == "RJCT" and batch.group_reason is not None
    details = _clean(
        {
            "original_payment_information_identification": batch.batch_id,
            "payment_information_status": group,
            "payment_information_status_reason_code": batch.group_reason if final_group else None,
            "transaction_information_and_status": transactions,
        }
    )
    return _clean(
        {
            "group_status": group,
            "group_status_reason_code": batch.group_reason if final_group else None,
            "group_status_additional_information": information if final_group else None,
            "original_payment_information_and_status_details": [details] if batch.batch_id else None,
        }
    )
