"""The template and the demo payroll: what they hold and what the preview reports about them."""

from __future__ import annotations

import codecs
from datetime import date

from dashboard.ach.banks import bank
from dashboard.ach.samples import COLUMNS
from dashboard.ach.samples import EMPLOYEES
from dashboard.ach.samples import LONG_NAME_ROW
from dashboard.ach.samples import MISTAKES
from dashboard.ach.samples import demo_payroll_csv
from dashboard.ach.samples import template_csv
from dashboard.sandbox.hkach import ACCOUNT_ENDINGS
from dashboard.sandbox.hkach import INSUFFICIENT_FUNDS_AMOUNT
from tests.ach.payroll_csv import read_all

VALUE_DATE = date(2026, 12, 31)


def test_the_template_is_the_header_and_one_valid_row_in_utf8_with_a_bom():
    data = template_csv()
    assert data.startswith(codecs.BOM_UTF8)
    lines = data[3:].decode("utf-8").split("\r\n")
    assert lines[0].split(",") == list(COLUMNS)
    assert lines[2:] == [""]
    rows, facts = read_all(data)
    assert facts.encoding == "UTF-8 with BOM"
    assert [(r.employee_id, r.payee_name_zh, r.amount_minor, r.problems) for r in rows] == [
        ("EMP0001", "陳大文", 2350000, ())
    ]


def test_the_demo_reports_exactly_its_deliberate_mistakes():
    rows, facts = read_all(demo_payroll_csv(value_date=VALUE_DATE, fixed=False))
    assert facts.rows == EMPLOYEES and facts.currency == "HKD"
    found = {r.row: [p.code for p in r.problems] for r in rows if r.problems}
    assert found == {
        13: ["bank_unknown"],
        58: ["amount_decimals"],
        LONG_NAME_ROW: ["payee_name_long"],
        124: ["payee_name_missing"],
        251: ["account_length"],
        389: ["amount_ambiguous"],
    }
    assert set(MISTAKES) | {LONG_NAME_ROW} == set(found)
    by_row = {r.row: r for r in rows}
    assert by_row[251].bank_code == "004" and by_row[251].account_number == "4567890"
    assert facts.problems == []


def test_the_fixed_demo_only_asks_to_acknowledge_one_long_name():
    rows, _ = read_all(demo_payroll_csv(value_date=VALUE_DATE, fixed=True))
    assert {r.row: [p.code for p in r.problems] for r in rows if r.problems} == {
        LONG_NAME_ROW: ["payee_name_long"]
    }
    assert not any(r.has_error for r in rows)


def test_the_fixed_demo_differs_only_in_the_mistaken_cells():
    broken = demo_payroll_csv(value_date=VALUE_DATE, fixed=False).decode("utf-8-sig").split("\r\n")
    fixed = demo_payroll_csv(value_date=VALUE_DATE, fixed=True).decode("utf-8-sig").split("\r\n")
    assert [n + 1 for n, (a, b) in enumerate(zip(broken, fixed, strict=True)) if a != b] == sorted(MISTAKES)
    assert demo_payroll_csv(value_date=VALUE_DATE, fixed=True).decode("utf-8-sig").split("\r\n") == fixed


def test_the_demo_pays_many_banks_with_hong_kong_names():
    rows, _ = read_all(demo_payroll_csv(value_date=VALUE_DATE, fixed=True))
    codes = {r.bank_code for r in rows}
    assert len(codes) >= 20
    assert len({code for code in codes if bank(code).virtual}) >= 6
    chinese = [r.payee_name_zh for r in rows if r.payee_name_zh]
    assert 100 < len(chinese) < 400
    assert len({r.payee_name for r in rows}) > 300
    assert {r.reference for r in rows if r.reference == r.employee_id}  # some references derived


def test_the_demo_holds_the_simulators_rejects_and_never_its_whole_batch_reject():
    rows, _ = read_all(demo_payroll_csv(value_date=VALUE_DATE, fixed=True))
    endings = sorted(r.account_number[-3:] for r in rows if r.account_number.endswith(tuple(ACCOUNT_ENDINGS)))
    assert endings == sorted(ACCOUNT_ENDINGS)
    assert len([r for r in rows if "MISMATCH" in r.payee_name.upper()]) == 1
    assert int(INSUFFICIENT_FUNDS_AMOUNT * 100) not in {r.amount_minor for r in rows}
