"""The checks of a payroll: each row on its own, the rows between them, and the value date.

Every problem carries a stable code, a complete sentence for finance staff that quotes the cell as
typed (cells are data: nothing here evaluates a formula), its row and its column. Errors block
submission; warnings need an acknowledgement. What is accepted (worldpay_hkach.md §2.3-2.7 and
hkach_contract.md §4):

- bank code: 3 characters, in the clearing-code directory (:mod:`dashboard.ach.banks`);
- branch code: 3 digits;
- account number: digits once spaces and hyphens are removed, of a length the bank's
  (approximate) table allows;
- payee name: present, at most 140 characters, one line; a warning above 35 characters or with
  characters outside ASCII;
- amount: above zero, at most 2 decimals (never rounded), at most the per-payment maximum, written
  as ``1234``, ``1234.5``, ``1234.50`` or ``1,234.50`` (commas only between groups of three digits
  and only when a decimal point follows: ``1,234`` is ambiguous), no symbols, spaces or signs;
- currency: HKD or CNY, and one per batch: the batch currency is that of the first row without an
  error of its own; a later row in another currency is an error (rows before it already carry
  errors of their own);
- reference: at most 20 characters (the end-to-end id of HK ACH); when empty, the employee id
  stands in for it unchanged (so it must then be at most 20 characters);
- employee id: present, at most 35 characters; email: when present, shaped like an address
  (a warning otherwise);
- a row with the same bank account, amount and reference as an earlier one: a warning;
- a text cell starting with ``=``, ``+``, ``-`` or ``@`` (a spreadsheet formula): a warning;
- value date: Monday to Saturday, not a Hong Kong holiday, not in the past (Hong Kong time); a
  warning after the 17:55 HKT cut-off for same-day value (for a Saturday: 17:55 on the previous
  working day).
"""

from __future__ import annotations

import enum
import re
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from dashboard.ach.banks import account_lengths
from dashboard.ach.banks import bank
from dashboard.ach.banks import directory

#: The columns every payroll file has, in the template's order.
REQUIRED_COLUMNS = (
    "employee_id",
    "payee_name",
    "bank_code",
    "branch_code",
    "account_number",
    "amount",
    "currency",
    "reference",
)
OPTIONAL_COLUMNS = ("payee_name_zh", "email")
#: The cells of a row in the order :meth:`RowChecker.check_cells` takes them.
CELL_ORDER = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
CURRENCIES = ("HKD", "CNY")
#: HKD and CNY both have 2 decimals (``dashboard.money.EXPONENTS``).
DECIMALS = 2
MAX_NAME = 140
#: Older bank formats keep 35 characters of a name (legacy bank-out, §2.7).
SHORT_NAME = 35
#: The end-to-end id of HK ACH (contract §4).
MAX_REFERENCE = 20
MAX_EMPLOYEE_ID = 35
MAX_EMAIL = 254
HONG_KONG = ZoneInfo("Asia/Hong_Kong")
CUT_OFF = time(17, 55)

ACCEPTED_AMOUNTS = (
    "Accepted: digits with at most 2 decimals (1234, 1234.5 or 1234.50), with commas only between"
    " groups of three digits when a decimal point follows (1,234.50); no currency symbols, spaces or signs."
)
_LABELS = {
    "employee_id": "employee id",
    "payee_name": "payee name",
    "payee_name_zh": "Chinese payee name",
    "reference": "reference",
    "email": "email",
}
#: Problems of a row are listed in the template's column order (whole-row problems first).
_ORDER = {
    column: index
    for index, column in enumerate(
        ("employee_id", "payee_name", "payee_name_zh", *REQUIRED_COLUMNS[2:], "email")
    )
}
#: Cells whose messages never repeat them: they are masked for every role but finance and manager.
_MASKED_COLUMNS = frozenset({"employee_id", "account_number"})
_FORMULA_STARTS = frozenset("=+-@")
_AMOUNT = re.compile(r"(\d+|\d{1,3}(?:,\d{3})+(?=\.))(?:\.(\d+))?")
#: The amounts almost every file has: no thousands separator, at most 2 decimals.
_PLAIN_AMOUNT = re.compile(r"\d+(?:\.\d\d?)?")
_AMBIGUOUS = re.compile(r"\d{1,3}(?:,\d{3})+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SHOWN = 60


class Severity(enum.StrEnum):
    """How much a problem weighs."""

    #: Blocks submission.
    ERROR = "error"
    #: Needs an acknowledgement before submission.
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file, a row or a cell."""

    #: Stable short code, e.g. ``bank_unknown``.
    code: str
    #: A complete sentence in plain language.
    message: str
    severity: Severity
    #: The row number a spreadsheet shows (header row 1), ``None`` for the whole file.
    row: int | None = None
    #: Canonical column name, ``None`` for the whole row or file.
    column: str | None = None


@dataclass(slots=True)
class PayrollRow:
    """One payee row as read and checked.

    Not frozen: a frozen dataclass's ``__init__`` costs a microsecond more a row, a tenth of the
    checking of a large file.
    """

    row: int
    employee_id: str
    payee_name: str
    payee_name_zh: str | None
    email: str | None
    bank_code: str
    branch_code: str
    #: Digits only once spaces and hyphens are removed (as given when that leaves other characters).
    account_number: str
    #: ``None`` when the amount is invalid.
    amount_minor: int | None
    #: Upper case, as given.
    currency: str
    #: As given, or the employee id when empty; at most 20 characters when valid.
    reference: str
    problems: tuple[Problem, ...]

    @property
    def has_error(self) -> bool:
        """Return whether a problem of this row blocks submission."""
        return any(problem.severity is Severity.ERROR for problem in self.problems)

    @property
    def has_warning(self) -> bool:
        """Return whether this row has a warning to acknowledge."""
        return any(problem.severity is Severity.WARNING for problem in self.problems)


def shown(value: str) -> str:
    """Return ``value`` quoted for a message: line breaks visible, very long cells shortened."""
    text = value.replace("\r\n", "↵").replace("\n", "↵").replace("\r", "↵")
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 1] + "…"
    return f'"{text}"'


def account_digits(text: str) -> str:
    """Return an account number without the spaces and hyphens people write in it."""
    return text.replace(" ", "").replace("-", "")


def format_minor(minor: int) -> str:
    """Return ``minor`` units of a 2-decimal currency as ``9,999,999.99``."""
    whole, cents = divmod(minor, 10**DECIMALS)
    return f"{whole:,}.{cents:0{DECIMALS}d}"


def _lengths_text(lengths: tuple[int, ...]) -> str:
    if len(lengths) == 1:
        return str(lengths[0])
    if len(lengths) > 2 and lengths == tuple(range(lengths[0], lengths[-1] + 1)):
        return f"{lengths[0]} to {lengths[-1]}"
    return ", ".join(str(n) for n in lengths[:-1]) + f" or {lengths[-1]}"


class FirstSeen:
    """The first row of each key, kept as an 8-byte hash and a 4-byte row number per row.

    An open-addressing table in two flat arrays of 12 bytes a slot, kept between a quarter and half
    full: 24 to 48 bytes a row (72 for a moment while it doubles), where a dict of ints costs about
    130, so memory stays nearly flat in the number of rows. Two different
    keys sharing a 64-bit hash would be taken for the same: a false duplicate warning once in ~10^9
    files of 100,000 rows.
    """

    def __init__(self, slots: int = 1024):
        self._keys = array("q", [0]) * slots
        self._rows = array("i", [0]) * slots
        self._count = 0

    def first(self, key: int, row: int) -> int:
        """Return the row that first had ``key`` (a hash), remembering ``row`` when none had it."""
        key = key or 1  # 0 marks an empty slot
        keys = self._keys
        mask = len(keys) - 1
        slot = key & mask
        while (found := keys[slot]) != 0:
            if found == key:
                return self._rows[slot]
            slot = (slot + 1) & mask
        keys[slot] = key
        self._rows[slot] = row
        self._count += 1
        if self._count * 2 > len(keys):
            self._grow()
        return row

    def _grow(self) -> None:
        old_keys, old_rows = self._keys, self._rows
        keys = self._keys = array("q", [0]) * (2 * len(old_keys))
        rows = self._rows = array("i", [0]) * (2 * len(old_keys))
        mask = len(keys) - 1
        for key, row in zip(old_keys, old_rows, strict=True):
            if key:
                slot = key & mask
                while keys[slot]:
                    slot = (slot + 1) & mask
                keys[slot], rows[slot] = key, row


class RowChecker:
    """Check rows one after another; keeps only the batch currency and a hash a row for duplicates."""

    def __init__(self, *, max_item_minor: int):
        self.max_item_minor = max_item_minor
        #: The batch currency and the row that set it.
        self.currency: str | None = None
        self.currency_row: int | None = None
        self.mixed_rows = 0
        self.duplicate_rows = 0
        self._seen = FirstSeen()
        self._account_lengths = _directory_lengths()
        #: The problems of the row being checked, and its number.
        self._found: list[Problem] = []
        self._at = 0

    def _problem(self, code: str, message: str, column: str, severity: Severity = Severity.ERROR) -> None:
        """Add a problem of ``column`` to the row being checked."""
        self._found.append(Problem(code, message, severity, self._at, column))

    def check(self, row: int, cells: Mapping[str, str], extra: tuple[Problem, ...] = ()) -> PayrollRow:
        """Return the checked row ``row`` from its ``cells`` (canonical column → text as read).

        Cells are stripped of surrounding spaces; the optional columns may be absent.
        """
        return self.check_cells(row, tuple(cells.get(column, "") for column in CELL_ORDER), extra)

    def check_cells(self, row: int, cells: tuple[str, ...], extra: tuple[Problem, ...] = ()) -> PayrollRow:
        """Return the checked row ``row`` from its ``cells`` in :data:`CELL_ORDER` (an absent column's
        empty), with ``extra`` problems the reader found."""
        if not extra:
            clean = self._clean(row, cells)
            if clean is not None:
                return clean
        return self._check_each(row, dict(zip(CELL_ORDER, cells, strict=True)), extra)

    def _clean(self, row: int, cells: tuple[str, ...]) -> PayrollRow | None:
        """Return the row checked when every cell has its usual clean shape, else ``None``.

        Most rows of a payroll are clean: a few tests of the usual shapes take them at a fraction
        of the cost of :meth:`_check_each`. Each test is enough for that cell's checks to find
        nothing (never looser); a row that fails one goes through :meth:`_check_each`, which names
        its problems, so both give the same row.
        """
        (
            employee_id,
            payee_name,
            bank_code,
            branch_code,
            account,
            amount,
            currency,
            given,
            payee_name_zh,
            email,
        ) = map(str.strip, cells)
        reference = given or employee_id
        if not (
            0 < len(employee_id) <= MAX_EMPLOYEE_ID
            and 0 < len(payee_name) <= SHORT_NAME
            # An ASCII text is printable when it holds no control character.
            and payee_name.isascii()
            and payee_name.isprintable()
            and len(payee_name_zh) <= MAX_NAME
            and len(reference) <= MAX_REFERENCE
            and (not email or (len(email) <= MAX_EMAIL and _EMAIL.fullmatch(email)))
            and _FORMULA_STARTS.isdisjoint(
                (employee_id[:1], payee_name[:1], payee_name_zh[:1], given[:1], email[:1])
            )
        ):
            return None
        bank_code = bank_code.upper()
        account_number = account_digits(account)
        currency = currency.upper()
        lengths = self._account_lengths.get(bank_code)
        if (
            lengths is None
            or len(branch_code) != 3
            or not (branch_code.isascii() and branch_code.isdigit())
            or len(account_number) not in lengths
            or not (account_number.isascii() and account_number.isdigit())
            or not _PLAIN_AMOUNT.fullmatch(amount)
            or currency not in CURRENCIES
            or (self.currency is not None and currency != self.currency)
        ):
            return None
        whole, _, fraction = amount.partition(".")
        amount_minor = _minor(whole, fraction)
        if not 0 < amount_minor <= self.max_item_minor:
            return None
        if self.currency is None:
            self.currency, self.currency_row = currency, row
        key = _duplicate_key(bank_code, branch_code, account_number, amount_minor, reference)
        if self._seen.first(key, row) != row:
            # A duplicate's warning comes from _check_each, which finds the same first row (and the
            # batch currency it would have taken from this row).
            return None
        # Positional arguments: keywords cost 0.8 µs more a row.
        return PayrollRow(
            row,
            employee_id,
            payee_name,
            payee_name_zh or None,
            email or None,
            bank_code,
            branch_code,
            account_number,
            amount_minor,
            currency,
            reference,
            (),
        )

    def _check_each(self, row: int, cells: Mapping[str, str], extra: tuple[Problem, ...]) -> PayrollRow:
        """Return the checked row with every problem its cells have, each check in turn."""
        self._found = problems = list(extra)
        self._at = row
        employee_id = cells["employee_id"].strip()
        self._check_employee_id(employee_id)
        payee_name = cells["payee_name"].strip()
        self._check_name(payee_name)
        payee_name_zh = cells.get("payee_name_zh", "").strip() or None
        email = cells.get("email", "").strip() or None
        self._check_optional(payee_name_zh, email)
        bank_code = cells["bank_code"].strip().upper()
        known_bank = self._check_bank(bank_code)
        branch_code = cells["branch_code"].strip()
        self._check_branch(branch_code)
        account_number = self._check_account(cells["account_number"].strip(), bank_code, known_bank)
        amount = cells["amount"].strip()
        amount_minor = self._check_amount(amount)
        currency = cells["currency"].strip().upper()
        given_reference = cells["reference"].strip()
        reference = self._reference(given_reference, employee_id)
        texts = (employee_id, payee_name, payee_name_zh or "", given_reference, email or "")
        if not _FORMULA_STARTS.isdisjoint([text[:1] for text in texts]):
            self._check_formulas(dict(zip(_LABELS, texts, strict=True)))
        self._check_currency(currency)
        self._check_duplicate(
            _duplicate_key(bank_code, branch_code, account_number, amount_minor or amount, reference)
        )
        if len(problems) > 1:
            problems.sort(key=lambda found: _ORDER.get(found.column, -1))
        return PayrollRow(
            row=row,
            employee_id=employee_id,
            payee_name=payee_name,
            payee_name_zh=payee_name_zh,
            email=email,
            bank_code=bank_code,
            branch_code=branch_code,
            account_number=account_number,
            amount_minor=amount_minor,
            currency=currency,
            reference=reference,
            problems=tuple(problems),
        )

    def _check_employee_id(self, employee_id: str) -> None:
        if not employee_id:
            self._problem("employee_id_missing", "The employee id is missing.", "employee_id")
        elif len(employee_id) > MAX_EMPLOYEE_ID:
            self._problem(
                "employee_id_length",
                f"The employee id has {len(employee_id)} characters; at most {MAX_EMPLOYEE_ID} are allowed.",
                "employee_id",
            )

    def _check_optional(self, payee_name_zh: str | None, email: str | None) -> None:
        problem = self._problem
        if payee_name_zh and len(payee_name_zh) > MAX_NAME:
            problem(
                "payee_name_zh_length",
                f"The Chinese payee name has {len(payee_name_zh)} characters;"
                f" at most {MAX_NAME} are allowed.",
                "payee_name_zh",
            )
        if email and len(email) > MAX_EMAIL:
            problem(
                "email_length",
                f"The email has {len(email)} characters; at most {MAX_EMAIL} are allowed.",
                "email",
            )
        elif email and not _EMAIL.fullmatch(email):
            problem(
                "email_format",
                f"The email {shown(email)} does not look like an e-mail address (name@example.com).",
                "email",
                Severity.WARNING,
            )

    def _check_branch(self, branch_code: str) -> None:
        if not branch_code:
            self._problem(
                "branch_code_missing",
                "The branch code is missing: write the 3-digit branch code, e.g. 123.",
                "branch_code",
            )
        elif len(branch_code) != 3 or not (branch_code.isascii() and branch_code.isdigit()):
            self._problem(
                "branch_code_format",
                f"The branch code {shown(branch_code)} must be 3 digits{_zeros_hint(branch_code)}",
                "branch_code",
            )

    def _reference(self, given: str, employee_id: str) -> str:
        """Return the reference: as given, or the employee id when empty."""
        if given or not employee_id:
            if len(given) > MAX_REFERENCE:
                self._problem(
                    "reference_length",
                    f"The reference {shown(given)} has {len(given)} characters; HK ACH carries at most"
                    f" {MAX_REFERENCE} (the end-to-end id).",
                    "reference",
                )
            return given
        if len(employee_id) > MAX_REFERENCE:
            self._problem(
                "reference_missing",
                "The reference is empty and the employee id has more than"
                f" {MAX_REFERENCE} characters, so it cannot stand in for it: write a reference of at most"
                f" {MAX_REFERENCE} characters.",
                "reference",
            )
        return employee_id

    def _check_duplicate(self, key: int) -> None:
        first = self._seen.first(key, self._at)
        if first != self._at:
            self.duplicate_rows += 1
            self._problem(
                "duplicate_row",
                f"This row has the same bank account, amount and reference as row {first}:"
                " check that the employee is not paid twice.",
                "account_number",
                Severity.WARNING,
            )

    def _check_formulas(self, texts: dict[str, str]) -> None:
        for column, value in texts.items():
            if value[:1] in _FORMULA_STARTS:
                cell = "" if column in _MASKED_COLUMNS else f" {shown(value)}"
                self._problem(
                    "formula_like",
                    f"The {_LABELS[column]}{cell} starts with {value[0]} as a spreadsheet formula"
                    " does: it is kept as typed and never evaluated; check that it is what you meant.",
                    column,
                    Severity.WARNING,
                )

    def _check_name(self, name: str) -> None:
        problem = self._problem
        if not name:
            problem(
                "payee_name_missing",
                "The payee name is missing: write the name on the employee's bank account.",
                "payee_name",
            )
            return
        if len(name) > MAX_NAME:
            problem(
                "payee_name_length",
                f"The payee name has {len(name)} characters; HK ACH carries at most {MAX_NAME}.",
                "payee_name",
            )
        elif len(name) > SHORT_NAME:
            problem(
                "payee_name_long",
                f"The payee name has {len(name)} characters: banks with older formats keep only the first"
                f" {SHORT_NAME}, so check that they still match the name on the account.",
                "payee_name",
                Severity.WARNING,
            )
        if _CONTROL.search(name):
            problem(
                "payee_name_control",
                f"The payee name {shown(name)} contains a line break or another control character:"
                " write it on one line, as on the bank account.",
                "payee_name",
            )
        if not name.isascii():
            problem(
                "payee_name_not_ascii",
                f"The payee name {shown(name)} has characters other than English letters, digits and"
                " punctuation: some banks accept only English names, so write the name as on the bank"
                " account and put a Chinese name in payee_name_zh.",
                "payee_name",
                Severity.WARNING,
            )

    def _check_bank(self, code: str) -> bool:
        problem = self._problem
        if not code:
            problem(
                "bank_code_missing",
                "The bank code is missing: write the bank's 3-character clearing code, e.g. 004 for HSBC.",
                "bank_code",
            )
        elif len(code) != 3:
            problem(
                "bank_code_format",
                f"The bank code {shown(code)} must have 3 characters, e.g. 004 for HSBC{_zeros_hint(code)}",
                "bank_code",
            )
        elif bank(code) is None:
            problem(
                "bank_unknown",
                f"The bank code {shown(code)} is not in the Hong Kong clearing-code directory:"
                " check the bank with the employee.",
                "bank_code",
            )
        else:
            return True
        return False

    def _check_account(self, text: str, bank_code: str, known_bank: bool) -> str:
        problem = self._problem
        digits = account_digits(text)
        if not digits:
            problem("account_missing", "The account number is missing.", "account_number")
            return digits
        if not (digits.isascii() and digits.isdigit()):
            problem(
                "account_format",
                "The account number has characters other than digits: write digits only (spaces and"
                " hyphens are ignored).",
                "account_number",
            )
            return text
        lengths = account_lengths(bank_code if known_bank else "")
        if len(digits) not in lengths:
            whose = f"for bank {bank_code}, {bank(bank_code).name}, " if known_bank else ""  # type: ignore[union-attr]
            problem(
                "account_length",
                f"The account number has {len(digits)} digits; {whose}account numbers have"
                f" {_lengths_text(lengths)} digits after the branch code. This length table is approximate:"
                " check the number with the employee.",
                "account_number",
            )
        return digits

    def _check_amount(self, text: str) -> int | None:
        problem = self._problem
        if not text:
            problem("amount_missing", f"The amount is missing. {ACCEPTED_AMOUNTS}", "amount")
            return None
        match = _AMOUNT.fullmatch(text)
        if match is None:
            if text[0] in "+-":
                problem(
                    "amount_sign",
                    f"The amount {shown(text)} has a sign: amounts must be above zero and written without"
                    " + or -.",
                    "amount",
                )
            elif _AMBIGUOUS.fullmatch(text):
                problem(
                    "amount_ambiguous",
                    f"The amount {shown(text)} is ambiguous (a thousands separator or a decimal comma?):"
                    f" write {text.replace(',', '')} or {text}.00. {ACCEPTED_AMOUNTS}",
                    "amount",
                )
            else:
                message = f"The amount {shown(text)} cannot be read. {ACCEPTED_AMOUNTS}"
                problem("amount_format", message, "amount")
            return None
        whole, fraction = match.group(1), match.group(2) or ""
        if len(fraction) > DECIMALS:
            problem(
                "amount_decimals",
                f"The amount {shown(text)} has {len(fraction)} decimals: at most {DECIMALS} are allowed,"
                " and amounts are never rounded.",
                "amount",
            )
            return None
        minor = _minor(whole.replace(",", ""), fraction)
        if minor == 0:
            message = f"The amount {shown(text)} is zero: a payment must be above zero."
            problem("amount_zero", message, "amount")
            return None
        if minor > self.max_item_minor:
            problem(
                "amount_maximum",
                f"The amount {shown(text)} is above the maximum of {format_minor(self.max_item_minor)}"
                " for one payment.",
                "amount",
            )
            return None
        return minor

    def _check_currency(self, currency: str) -> None:
        problem = self._problem
        if not currency:
            problem("currency_missing", "The currency is missing: write HKD or CNY.", "currency")
        elif currency not in CURRENCIES:
            problem(
                "currency_unsupported",
                f"The currency {shown(currency)} cannot be paid through HK ACH: write HKD or CNY.",
                "currency",
            )
        elif self.currency is None:
            if not any(found.severity is Severity.ERROR for found in self._found):
                self.currency, self.currency_row = currency, self._at
        elif currency != self.currency:
            self.mixed_rows += 1
            problem(
                "currency_mixed",
                f"The currency {currency} differs from the batch currency {self.currency} (set by row"
                f" {self.currency_row}, the first row without errors): a batch pays in one currency.",
                "currency",
            )

    def file_problems(self) -> list[Problem]:
        """Return the cross-row problems of the whole file (each row also carries its own)."""
        found: list[Problem] = []
        if self.mixed_rows:
            found.append(
                Problem(
                    "currency_mixed_rows",
                    f"{_rows(self.mixed_rows, 'is', 'are')} not in the batch currency {self.currency}:"
                    " a batch pays in one currency.",
                    Severity.ERROR,
                )
            )
        if self.duplicate_rows:
            found.append(
                Problem(
                    "duplicate_rows",
                    f"{_rows(self.duplicate_rows, 'has', 'have')} the same bank account, amount and"
                    " reference as an earlier row.",
                    Severity.WARNING,
                )
            )
        return found


def _duplicate_key(bank_code: str, branch_code: str, account: str, amount: int | str, reference: str) -> int:
    """Return the hash that makes rows duplicates: the same bank account, amount and reference."""
    return hash((bank_code, branch_code, account, amount, reference))


def _minor(whole: str, fraction: str) -> int:
    """Return the minor units of an amount's digits before and after its point (at most 2 after)."""
    return int(whole + fraction.ljust(DECIMALS, "0"))


@cache
def _directory_lengths() -> dict[str, frozenset[int]]:
    """Return the account-number lengths of every 3-character bank code of the directory."""
    return {code: frozenset(account_lengths(code)) for code in directory() if len(code) == 3}


def _zeros_hint(code: str) -> str:
    """End a code's message: with a hint when it looks like a number whose leading zeros were lost."""
    if len(code) < 3 and code.isascii() and code.isdigit():
        return ": a spreadsheet may have dropped its leading zeros, so format the column as text."
    return "."


def _rows(count: int, one: str, many: str) -> str:
    return f"1 row {one}" if count == 1 else f"{count:,} rows {many}"


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def hong_kong_holiday(day: date) -> str | None:
    """Return the name of the Hong Kong holiday on ``day``, or ``None`` on a working day's date.

    Banks close on the general holidays (the package's ``optional`` category) as well as the
    statutory ones (``public``), as the HK ACH simulator does.
    """
    return _holidays(day.year).get(day)


@cache
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.HK(years=year, categories=(holidays.PUBLIC, holidays.OPTIONAL))


def _previous_working_day(day: date) -> date:
    day -= timedelta(days=1)
    while day.weekday() == 6 or hong_kong_holiday(day):
        day -= timedelta(days=1)
    return day


def past_same_day_cut_off(value_date: date, now: datetime) -> bool:
    """Return True when ``value_date`` is today in Hong Kong and its 17:55 cut-off has passed at
    ``now`` (aware): the bank rejects such a batch (TM01)."""
    local = now.astimezone(HONG_KONG)
    return value_date == local.date() and local.time() >= CUT_OFF


def value_date_problems(value_date: date, now: datetime) -> list[Problem]:
    """Return what is wrong with paying on ``value_date`` when submitting at ``now`` (aware)."""
    local = now.astimezone(HONG_KONG)
    today = local.date()

    def problem(code: str, message: str, severity: Severity = Severity.ERROR) -> Problem:
        return Problem(code, message, severity, None, "value_date")

    if value_date < today:
        return [
            problem(
                "value_date_past",
                f"The value date {_long_date(value_date)} is in the past (today is {_long_date(today)}"
                " in Hong Kong).",
            )
        ]
    found: list[Problem] = []
    if value_date.weekday() == 6:
        found.append(
            problem(
                "value_date_sunday",
                f"The value date {_long_date(value_date)} is a Sunday: HK ACH pays Monday to Saturday.",
            )
        )
    holiday = hong_kong_holiday(value_date)
    if holiday:
        found.append(
            problem(
                "value_date_holiday",
                f"The value date {_long_date(value_date)} is a Hong Kong holiday ({holiday}):"
                " banks do not pay salaries that day.",
            )
        )
    if found:
        return found
    late = "the bank may reject the batch or pay it on the next working day."
    if past_same_day_cut_off(value_date, now):
        found.append(
            problem(
                "value_date_cut_off",
                f"The value date {_long_date(value_date)} is today and the 17:55 Hong Kong time cut-off"
                f" has passed: {late}",
                Severity.WARNING,
            )
        )
    elif value_date.weekday() == 5:
        before = _previous_working_day(value_date)
        if (today, local.time()) >= (before, CUT_OFF):
            found.append(
                problem(
                    "value_date_cut_off",
                    f"The value date {_long_date(value_date)} is a Saturday, whose cut-off was"
                    f" 17:55 Hong Kong time on {_long_date(before)}: {late}",
                    Severity.WARNING,
                )
            )
    return found


#: How far ahead :func:`first_value_date` looks (past the longest run of Hong Kong holidays).
VALUE_DATE_SEARCH_DAYS = 14


def first_value_date(now: datetime) -> date:
    """Return the first day from today (Hong Kong) a batch submitted at ``now`` is paid on without an
    error or a warning: today before the same-day cut-off, else the next Monday to Saturday that is
    no holiday.
    """
    today = now.astimezone(HONG_KONG).date()
    for ahead in range(VALUE_DATE_SEARCH_DAYS):
        day = today + timedelta(days=ahead)
        if not value_date_problems(day, now):
            return day
    raise LookupError(f"no value date without a warning within {VALUE_DATE_SEARCH_DAYS} days")
