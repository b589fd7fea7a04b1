"""The clearing-code directory shipped with the package and the approximate account lengths."""

from __future__ import annotations

from importlib.resources import files

from dashboard.ach.banks import ACCOUNT_LENGTHS
from dashboard.ach.banks import account_lengths
from dashboard.ach.banks import bank
from dashboard.ach.banks import bank_name
from dashboard.ach.banks import directory
from dashboard.sandbox.hkach import BANK_CODES

#: Every code worldpay_hkach.md §2.4 lists for banks a payee may hold an account with.
MAJOR = "003 004 009 012 015 016 018 020 024 025 027 028 035 038 039 040 041 043 061 072 128 250"
OTHER_CODES = "249 014 019 026 030 031 033 036 064 070 032 052 185 051 382 044 022 029 214 006"
VIRTUAL = "387 388 389 390 391 392 393 395"
FOREIGN_BRANCHES = "005 007 047 055 056 063 065 071 074 081 103 109 152 153 221 238 338"


def test_every_code_of_the_providers_reference_is_in_the_directory():
    expected = set(f"{MAJOR} {OTHER_CODES} {VIRTUAL} {FOREIGN_BRANCHES}".split())
    assert set(directory()) == expected


def test_the_simulator_knows_every_code_the_upload_accepts():
    assert set(directory()) == set(BANK_CODES)


def test_virtual_banks_are_flagged():
    assert {code for code, found in directory().items() if found.virtual} == set(VIRTUAL.split())
    assert bank("387").name == "ZA Bank Ltd"


def test_names_in_english_and_chinese():
    hsbc = bank("004")
    assert (hsbc.name, hsbc.name_zh, hsbc.virtual) == (
        "The Hongkong and Shanghai Banking Corporation Ltd (HSBC)",
        "香港上海滙豐銀行",
        False,
    )
    assert bank("055").name_zh is None
    assert bank_name("024") == "Hang Seng Bank Ltd"
    assert bank_name("999") == "Unknown bank"
    assert bank("999") is None


def test_the_data_file_names_its_sources_first():
    text = files("dashboard.ach").joinpath("data/hk_banks.csv").read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert text.startswith("#") and "worldpay_hkach.md" in comments[1]
    assert all(len(code) == 3 for code in directory())


def test_account_lengths_are_the_approximate_table_or_6_to_12():
    assert account_lengths("004") == (9,) == ACCOUNT_LENGTHS["024"]
    assert account_lengths("003") == (8, 10)
    assert account_lengths("387") == tuple(range(6, 13))
