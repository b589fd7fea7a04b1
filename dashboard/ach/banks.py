"""The Hong Kong clearing-code directory and the approximate account-number lengths per bank.

The directory ships as ``data/hk_banks.csv`` (its first comment lines name the sources). The
account-number lengths come from a payroll provider's examples (worldpay_hkach.md §2.5) and are
**approximate**: banks publish no rule, so a length outside the table is an error the uploader
checks with the employee, and the messages say the table is approximate.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True, slots=True)
class Bank:
    """One clearing code of the directory."""

    code: str
    name: str
    #: The Chinese name when a source gives it, else ``None``.
    name_zh: str | None
    #: A virtual (digital-only) bank licensed by the HKMA.
    virtual: bool


#: Digits of the account number after the branch code, per bank code (approximate, §2.5).
ACCOUNT_LENGTHS: dict[str, tuple[int, ...]] = {
    "003": (8, 10),
    "004": (9,),
    "012": (8, 9, 10),
    "015": (8, 9, 10),
    "016": (9, 10),
    "024": (9,),
    "185": (9,),
}
#: Any other bank: what HK payout providers accept between them (§2.3).
DEFAULT_ACCOUNT_LENGTHS: tuple[int, ...] = tuple(range(6, 13))


@cache
def directory() -> dict[str, Bank]:
    """Return every bank of the directory by its clearing code."""
    text = files("dashboard.ach").joinpath("data/hk_banks.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {
        row["code"]: Bank(row["code"], row["name"], row["name_zh"] or None, row["virtual"] == "yes")
        for row in rows
    }


def bank(code: str) -> Bank | None:
    """Return the bank with clearing code ``code``, or ``None`` when the directory lacks it."""
    return directory().get(code)


def bank_name(code: str) -> str:
    """Return the bank's English name, or ``"Unknown bank"`` for a code outside the directory."""
    found = bank(code)
    return found.name if found else "Unknown bank"


def account_lengths(code: str) -> tuple[int, ...]:
    """Return the account-number lengths (after the branch code) the approximate table allows."""
    return ACCOUNT_LENGTHS.get(code, DEFAULT_ACCOUNT_LENGTHS)
