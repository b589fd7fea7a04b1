"""The payroll files the pages offer: the template (one example row) and the demo (500 employees).

Both are UTF-8 with a byte-order mark, so Excel opens the Chinese names right, and end lines with
CRLF as Excel does. The demo is the same every time for the same value date: 500 Hong Kong
employees (some with Chinese names) paid into many banks, virtual banks included. Without
``fixed`` it holds five deliberate mistakes for the preview to report (:data:`MISTAKES`); with
``fixed`` those rows are corrected. Both hold four rows the HK ACH simulator rejects (accounts
ending 000, 404 and 406, a payee name containing MISMATCH: :data:`SIMULATOR_REJECTS`), so the
batch ends "completed with failures", and one name longer than 35 characters (a warning to
acknowledge). No amount is 13.13, which would make the simulator reject the whole batch.
"""

from __future__ import annotations

import codecs
import csv
import io
import random
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import date

from dashboard.ach.banks import ACCOUNT_LENGTHS
from dashboard.ach.rules import OPTIONAL_COLUMNS
from dashboard.ach.rules import REQUIRED_COLUMNS

#: The template's column order: the required columns, the Chinese name after the name, email last.
COLUMNS = (*REQUIRED_COLUMNS[:2], OPTIONAL_COLUMNS[0], *REQUIRED_COLUMNS[2:], OPTIONAL_COLUMNS[1])
EMPLOYEES = 500
#: Row number (header = 1) → (what is wrong, the cell as wrong, the cell as corrected).
MISTAKES: dict[int, tuple[str, str, str]] = {
    13: ("bank_code", "240", "024"),
    58: ("amount", "18500.005", "18500.50"),
    124: ("payee_name", "", "NG KA YAN"),
    251: ("account_number", "4567890", "456789012"),
    389: ("amount", "21,500", "21,500.00"),
}
#: Row number → (column, value) that the simulator rejects (dashboard/sandbox/hkach.py).
SIMULATOR_REJECTS: dict[int, tuple[str, str]] = {
    46: ("account_number", "512345000"),
    141: ("account_number", "387654404"),
    302: ("account_number", "276543406"),
    421: ("payee_name", "MISMATCH WONG SIU MING"),
}
LONG_NAME_ROW = 77
LONG_NAME = "CHRISTOPHER ALEXANDER CHEUNG CHI KEUNG"
#: The bank of each mistaken or rejected row, so that the corrected cells fit its rules.
_BANK_OF_ROW = {13: "024", 46: "004", 141: "024", 251: "004", 302: "004"}

_SURNAMES = [
    ("CHAN", "陳"), ("WONG", "黃"), ("LEE", "李"), ("CHEUNG", "張"), ("LAU", "劉"), ("HO", "何"),
    ("NG", "吳"), ("LAM", "林"), ("LEUNG", "梁"), ("TSANG", "曾"), ("CHOW", "周"), ("YEUNG", "楊"),
    ("TANG", "鄧"), ("CHU", "朱"), ("KWOK", "郭"), ("LO", "盧"), ("MAK", "麥"), ("FUNG", "馮"),
    ("YIP", "葉"), ("SO", "蘇"), ("CHENG", "鄭"), ("TSE", "謝"), ("LAI", "黎"), ("POON", "潘"),
]  # fmt: skip
_GIVEN = [
    ("TAI MAN", "大文"), ("SIU MING", "小明"), ("KA YAN", "嘉欣"), ("WING SZE", "詠詩"),
    ("CHI KEUNG", "志強"), ("MEI LING", "美玲"), ("KA HO", "家豪"), ("HOI YAN", "凱欣"),
    ("WAI KIT", "偉傑"), ("KIN WAH", "健華"), ("YUK LAN", "玉蘭"), ("SUK FAN", "淑芬"),
    ("CHUN KIT", "俊傑"), ("KA MAN", "嘉雯"), ("TSZ HIN", "梓軒"), ("PUI SHAN", "佩珊"),
    ("MAN KIT", "文傑"), ("SIU FUNG", "小鳳"), ("HON MING", "漢明"), ("LAI KUEN", "麗娟"),
]  # fmt: skip
_ENGLISH = ["PETER", "MARY", "JASON", "KAREN", "ERIC", "JOYCE", "KELVIN", "IVY", "RAYMOND", "CANDY"]
#: (bank code, weight): the big retail banks most, then the others and the virtual banks.
_BANKS = [
    ("004", 24), ("024", 14), ("012", 12), ("003", 8), ("015", 5), ("016", 5), ("250", 4),
    ("382", 3), ("009", 3), ("072", 3), ("040", 2), ("018", 2), ("035", 2), ("128", 1),
    ("041", 1), ("043", 1), ("387", 3), ("388", 1), ("389", 2), ("390", 1), ("391", 1),
    ("393", 1), ("395", 1),
]  # fmt: skip
_REJECTED_ENDINGS = ("000", "404", "406")


def template_csv() -> bytes:
    """Return the template: the header and one example row."""
    example = {
        "employee_id": "EMP0001",
        "payee_name": "CHAN TAI MAN",
        "payee_name_zh": "陳大文",
        "bank_code": "004",
        "branch_code": "123",
        "account_number": "456789001",
        "amount": "23500.00",
        "currency": "HKD",
        "reference": "EMP0001 SALARY",
        "email": "taiman.chan@example.com",
    }
    return _csv([[example[column] for column in COLUMNS]])


def demo_payroll_csv(*, value_date: date, fixed: bool) -> bytes:
    """Return the demo payroll paid on ``value_date``: with :data:`MISTAKES` unless ``fixed``."""
    rng = random.Random(f"demo payroll {value_date:%Y-%m}")
    rows = []
    codes, weights = zip(*_BANKS, strict=True)
    for number in range(1, EMPLOYEES + 1):
        row_number = number + 1
        surname, surname_zh = rng.choice(_SURNAMES)
        given, given_zh = rng.choice(_GIVEN)
        english = rng.choice(_ENGLISH) if rng.random() < 0.25 else None
        name = f"{english} {surname} {given}" if english else f"{surname} {given}"
        code = _BANK_OF_ROW.get(row_number) or rng.choices(codes, weights)[0]
        employee_id = f"EMP{number:04d}"
        cells = {
            "employee_id": employee_id,
            "payee_name": LONG_NAME if row_number == LONG_NAME_ROW else name,
            "payee_name_zh": f"{surname_zh}{given_zh}" if rng.random() < 0.4 else "",
            "bank_code": code,
            "branch_code": f"{rng.randrange(1, 1000):03d}",
            "account_number": _account(rng, code),
            "amount": _amount(rng),
            "currency": "HKD",
            # Some rows leave the reference to be derived from the employee id.
            "reference": "" if number % 50 == 0 else f"{employee_id} {value_date:%b%y}".upper(),
            "email": f"{given.replace(' ', '').lower()}.{surname.lower()}{number}@example.com"
            if rng.random() < 0.7
            else "",
        }
        if row_number in SIMULATOR_REJECTS:
            column, value = SIMULATOR_REJECTS[row_number]
            cells[column] = value
        if row_number in MISTAKES:
            column, wrong, right = MISTAKES[row_number]
            cells[column] = right if fixed else wrong
        rows.append([cells[column] for column in COLUMNS])
    return _csv(rows)


def _account(rng: random.Random, code: str) -> str:
    length = rng.choice(ACCOUNT_LENGTHS.get(code, (9, 12)))
    while True:
        digits = f"{rng.randrange(10 ** (length - 1), 10**length)}"
        if not digits.endswith(_REJECTED_ENDINGS):
            return digits


def _amount(rng: random.Random) -> str:
    minor = rng.randrange(12_000, 95_000) * 100 + rng.choice((0, 0, 0, 50, 25))
    whole, cents = divmod(minor, 100)
    # Some payroll tools group thousands; "23,500.00" is accepted because a decimal point follows.
    return f"{whole:,}.{cents:02d}" if rng.random() < 0.2 else f"{whole}.{cents:02d}"


def _csv(rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
