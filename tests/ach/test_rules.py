"""The checks of one row, of the rows between them, and of the value date, with their exact messages."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dashboard.ach.rules import ACCEPTED_AMOUNTS
from dashboard.ach.rules import FirstSeen
from dashboard.ach.rules import Problem
from dashboard.ach.rules import RowChecker
from dashboard.ach.rules import Severity
from dashboard.ach.rules import value_date_problems
from tests.ach.payroll_csv import VALID
from tests.ach.payroll_csv import payroll_csv
from tests.ach.payroll_csv import read_all
from tests.ach.payroll_csv import row

ERROR = Severity.ERROR
WARNING = Severity.WARNING
MAX_ITEM = 999_999_999  # HK$9,999,999.99, the app's default


def checked(**changes: str):
    """Return the one row ``changes`` makes of the valid row, checked on its own (row 2)."""
    return RowChecker(max_item_minor=MAX_ITEM).check(2, row(**changes))


def problems(**changes: str) -> list[tuple[str, str, Severity, str | None]]:
    return [(p.code, p.message, p.severity, p.column) for p in checked(**changes).problems]


def test_the_valid_row_has_no_problem():
    assert checked().problems == ()


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("1234", 123400),
        ("1234.5", 123450),
        ("1234.50", 123450),
        ("1,234.50", 123450),
        ("1,234,567.8", 123456780),
        ("0.01", 1),
        ("9999999.99", 999999999),
    ],
)
def test_accepted_amounts(text, minor):
    result = checked(amount=text)
    assert (result.amount_minor, result.problems) == (minor, ())


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("", "amount_missing", f"The amount is missing. {ACCEPTED_AMOUNTS}"),
        (
            "1,234",
            "amount_ambiguous",
            'The amount "1,234" is ambiguous (a thousands separator or a decimal comma?): write 1234 or'
            f" 1,234.00. {ACCEPTED_AMOUNTS}",
        ),
        ("1.234,50", "amount_format", f'The amount "1.234,50" cannot be read. {ACCEPTED_AMOUNTS}'),
        ("1234,50", "amount_format", f'The amount "1234,50" cannot be read. {ACCEPTED_AMOUNTS}'),
        ("12,34.50", "amount_format", f'The amount "12,34.50" cannot be read. {ACCEPTED_AMOUNTS}'),
        ("1 234.50", "amount_format", f'The amount "1 234.50" cannot be read. {ACCEPTED_AMOUNTS}'),
        ("HK$1234.50", "amount_format", f'The amount "HK$1234.50" cannot be read. {ACCEPTED_AMOUNTS}'),
        ("1234.", "amount_format", f'The amount "1234." cannot be read. {ACCEPTED_AMOUNTS}'),
        ("1e3", "amount_format", f'The amount "1e3" cannot be read. {ACCEPTED_AMOUNTS}'),
        (
            "-100.00",
            "amount_sign",
            'The amount "-100.00" has a sign: amounts must be above zero and written without + or -.',
        ),
        (
            "+100",
            "amount_sign",
            'The amount "+100" has a sign: amounts must be above zero and written without + or -.',
        ),
        (
            "1234.567",
            "amount_decimals",
            'The amount "1234.567" has 3 decimals: at most 2 are allowed, and amounts are never rounded.',
        ),
        (
            "1,234.505",
            "amount_decimals",
            'The amount "1,234.505" has 3 decimals: at most 2 are allowed, and amounts are never rounded.',
        ),
        ("0", "amount_zero", 'The amount "0" is zero: a payment must be above zero.'),
        ("0.00", "amount_zero", 'The amount "0.00" is zero: a payment must be above zero.'),
        (
            "10000000.00",
            "amount_maximum",
            'The amount "10000000.00" is above the maximum of 9,999,999.99 for one payment.',
        ),
    ],
)
def test_refused_amounts_say_what_is_accepted(text, code, message):
    result = checked(amount=text)
    assert result.amount_minor is None
    assert problems(amount=text) == [(code, message, ERROR, "amount")]


def test_the_accepted_amounts_sentence_names_each_form():
    assert ACCEPTED_AMOUNTS == (
        "Accepted: digits with at most 2 decimals (1234, 1234.5 or 1234.50), with commas only between"
        " groups of three digits when a decimal point follows (1,234.50); no currency"
        " symbols, spaces or signs."
    )


@pytest.mark.parametrize(
    ("code", "problem_code", "message"),
    [
        (
            "",
            "bank_code_missing",
            "The bank code is missing: write the bank's 3-character clearing code, e.g. 004 for HSBC.",
        ),
        (
            "4",
            "bank_code_format",
            'The bank code "4" must have 3 characters, e.g. 004 for HSBC: a spreadsheet may have dropped its'
            " leading zeros, so format the column as text.",
        ),
        ("0041", "bank_code_format", 'The bank code "0041" must have 3 characters, e.g. 004 for HSBC.'),
        (
            "999",
            "bank_unknown",
            'The bank code "999" is not in the Hong Kong clearing-code directory: check the'
            " bank with the employee.",
        ),
    ],
)
def test_bank_codes(code, problem_code, message):
    found = problems(bank_code=code)
    assert found[0] == (problem_code, message, ERROR, "bank_code")


def test_a_virtual_bank_code_is_accepted():
    assert checked(bank_code="387", account_number="123456789").problems == ()


@pytest.mark.parametrize(
    ("branch", "code", "message"),
    [
        ("", "branch_code_missing", "The branch code is missing: write the 3-digit branch code, e.g. 123."),
        (
            "12",
            "branch_code_format",
            'The branch code "12" must be 3 digits: a spreadsheet may have dropped its'
            " leading zeros, so format"
            " the column as text.",
        ),
        ("12A", "branch_code_format", 'The branch code "12A" must be 3 digits.'),
        ("1234", "branch_code_format", 'The branch code "1234" must be 3 digits.'),
    ],
)
def test_branch_codes(branch, code, message):
    assert problems(branch_code=branch) == [(code, message, ERROR, "branch_code")]


def test_spaces_and_hyphens_are_removed_from_account_numbers():
    result = checked(account_number="456-789 001")
    assert (result.account_number, result.problems) == ("456789001", ())


@pytest.mark.parametrize(
    ("bank", "account", "message"),
    [
        (
            "004",
            "4567890",
            "The account number has 7 digits; for bank 004, The Hongkong and Shanghai Banking"
            " Corporation Ltd (HSBC), account numbers have 9 digits after the branch code."
            " This length table is"
            " approximate: check the number with the employee.",
        ),
        (
            "003",
            "123456789",
            "The account number has 9 digits; for bank 003, Standard Chartered Bank (Hong Kong)"
            " Ltd, account numbers have 8 or 10 digits after the branch code. This length"
            " table is approximate:"
            " check the number with the employee.",
        ),
        (
            "012",
            "1234567",
            "The account number has 7 digits; for bank 012, Bank of China (Hong Kong) Ltd, account"
            " numbers have 8 to 10 digits after the branch code. This length table is approximate: check the"
            " number with the employee.",
        ),
        (
            "250",
            "1234567890123",
            "The account number has 13 digits; for bank 250, Citibank (Hong"
            " Kong) Ltd, account"
            " numbers have 6 to 12 digits after the branch code. This length table is approximate: check the"
            " number with the employee.",
        ),
    ],
)
def test_account_lengths_follow_the_approximate_table(bank, account, message):
    assert problems(bank_code=bank, account_number=account) == [
        ("account_length", message, ERROR, "account_number")
    ]


def test_account_numbers_hold_only_digits():
    result = checked(account_number="456789OO1")
    assert result.account_number == "456789OO1"
    assert problems(account_number="456789OO1") == [
        (
            "account_format",
            "The account number has characters other than digits: write digits only (spaces and hyphens"
            " are ignored).",
            ERROR,
            "account_number",
        )
    ]
    assert problems(account_number="") == [
        ("account_missing", "The account number is missing.", ERROR, "account_number")
    ]


def test_payee_names():
    assert problems(payee_name="") == [
        (
            "payee_name_missing",
            "The payee name is missing: write the name on the employee's bank account.",
            ERROR,
            "payee_name",
        )
    ]
    assert problems(payee_name="A" * 141) == [
        (
            "payee_name_length",
            "The payee name has 141 characters; HK ACH carries at most 140.",
            ERROR,
            "payee_name",
        )
    ]
    assert problems(payee_name="A" * 35) == []
    assert problems(payee_name="A" * 36) == [
        (
            "payee_name_long",
            "The payee name has 36 characters: banks with older formats keep only the first 35, so check that"
            " they still match the name on the account.",
            WARNING,
            "payee_name",
        )
    ]
    assert problems(payee_name="陳大文") == [
        (
            "payee_name_not_ascii",
            'The payee name "陳大文" has characters other than English letters, digits and punctuation: some'
            " banks accept only English names, so write the name as on the bank account and"
            " put a Chinese name"
            " in payee_name_zh.",
            WARNING,
            "payee_name",
        )
    ]


def test_long_cells_are_shortened_in_messages():
    name = "=" + "B" * 80
    message = checked(payee_name=name).problems[-1].message
    assert message.startswith('The payee name "=' + "B" * 58 + '…" starts with = as a spreadsheet formula')


def test_the_chinese_name_and_email_are_optional():
    result = checked(payee_name_zh="", email="")
    assert (result.payee_name_zh, result.email, result.problems) == (None, None, ())
    assert problems(payee_name_zh="陳" * 141) == [
        (
            "payee_name_zh_length",
            "The Chinese payee name has 141 characters; at most 140 are allowed.",
            ERROR,
            "payee_name_zh",
        )
    ]


def test_an_email_that_is_not_an_address_is_a_warning():
    assert problems(email="tm.chan(at)example.com") == [
        (
            "email_format",
            'The email "tm.chan(at)example.com" does not look like an e-mail address (name@example.com).',
            WARNING,
            "email",
        )
    ]
    assert problems(email="a@" + "b" * 250 + ".com") == [
        ("email_length", "The email has 256 characters; at most 254 are allowed.", ERROR, "email")
    ]


def test_employee_ids():
    assert problems(employee_id="", reference="REF") == [
        ("employee_id_missing", "The employee id is missing.", ERROR, "employee_id")
    ]
    assert problems(employee_id="E" * 36, reference="REF") == [
        (
            "employee_id_length",
            "The employee id has 36 characters; at most 35 are allowed.",
            ERROR,
            "employee_id",
        )
    ]


def test_an_empty_reference_is_the_employee_id():
    result = checked(employee_id="EMP0042", reference="")
    assert (result.reference, result.problems) == ("EMP0042", ())
    assert problems(employee_id="EMPLOYEE-0000000000042", reference="") == [
        (
            "reference_missing",
            "The reference is empty and the employee id has more than 20 characters,"
            " so it cannot stand in for it: write a reference of at most 20 characters.",
            ERROR,
            "reference",
        )
    ]


def test_a_reference_holds_at_most_20_characters():
    assert checked(reference="R" * 20).problems == ()
    assert problems(reference="SALARY NOVEMBER 2026 X") == [
        (
            "reference_length",
            'The reference "SALARY NOVEMBER 2026 X" has 22 characters; HK ACH carries at most 20 (the'
            " end-to-end id).",
            ERROR,
            "reference",
        )
    ]


def test_currencies():
    assert checked(currency="hkd").currency == "HKD"
    assert checked(currency="CNY").problems == ()
    assert problems(currency="") == [
        ("currency_missing", "The currency is missing: write HKD or CNY.", ERROR, "currency")
    ]
    assert problems(currency="USD") == [
        (
            "currency_unsupported",
            'The currency "USD" cannot be paid through HK ACH: write HKD or CNY.',
            ERROR,
            "currency",
        )
    ]


def test_mixed_currencies_are_errors_after_the_first_row_without_errors():
    rows, facts = read_all(
        payroll_csv(
            [
                row(employee_id="E1", currency="CNY", bank_code="999"),
                row(employee_id="E2"),
                row(employee_id="E3", currency="CNY"),
                row(employee_id="E4"),
                row(employee_id="E5", currency="CNY"),
            ]
        )
    )
    assert facts.currency == "HKD"
    mixed = (
        "currency_mixed",
        "The currency CNY differs from the batch currency HKD (set by row 3, the first row without errors):"
        " a batch pays in one currency.",
    )
    assert [[(p.code, p.message) for p in r.problems if p.column == "currency"] for r in rows] == [
        [],
        [],
        [mixed],
        [],
        [mixed],
    ]
    assert facts.problems == [
        Problem(
            "currency_mixed_rows",
            "2 rows are not in the batch currency HKD: a batch pays in one currency.",
            ERROR,
        )
    ]


def test_duplicate_rows_are_warnings_on_every_row_after_the_first():
    same = row(employee_id="E1", account_number="456-789-001", amount="1,000.00")
    rows, facts = read_all(
        payroll_csv(
            [
                same,
                row(employee_id="E2"),
                {**same, "employee_id": "E3", "account_number": "456789001", "amount": "1000"},
                {**same, "employee_id": "E4", "reference": "OTHER"},
                {**same, "employee_id": "E5"},
            ]
        )
    )
    duplicate = Problem(
        "duplicate_row",
        "This row has the same bank account, amount and reference as row 2: check that the employee is not"
        " paid twice.",
        WARNING,
    )
    assert [list(r.problems) for r in rows] == [
        [],
        [],
        [Problem(duplicate.code, duplicate.message, WARNING, 4, "account_number")],
        [],
        [Problem(duplicate.code, duplicate.message, WARNING, 6, "account_number")],
    ]
    assert rows[2].has_warning and not rows[2].has_error
    assert facts.problems == [
        Problem(
            "duplicate_rows",
            "2 rows have the same bank account, amount and reference as an earlier row.",
            WARNING,
        )
    ]


def test_first_seen_remembers_the_first_row_of_each_key_as_it_grows():
    seen = FirstSeen(slots=4)
    assert [
        seen.first(key, row) for key, row in [(5, 2), (9, 3), (5, 4), (0, 5), (1, 6), (13, 7), (9, 8)]
    ] == [
        2,
        3,
        2,
        5,
        5,
        7,
        3,
    ]
    assert [seen.first(key, key + 1) for key in range(-500, 500, 7)] == [
        key + 1 for key in range(-500, 500, 7)
    ]
    assert [seen.first(key, 0) for key in range(-500, 500, 7)] == [key + 1 for key in range(-500, 500, 7)]


@pytest.mark.parametrize("column", ["employee_id", "payee_name", "payee_name_zh", "reference", "email"])
@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_cells_that_look_like_formulas_are_kept_with_a_warning(column, start):
    value = f"{start}1+1"
    result = checked(**{column: value})
    assert getattr(result, column) == value
    labels = {
        "employee_id": "employee id",
        "payee_name": "payee name",
        "payee_name_zh": "Chinese payee name",
        "reference": "reference",
        "email": "email",
    }
    cell = "" if column == "employee_id" else f' "{value}"'
    assert (
        "formula_like",
        f"The {labels[column]}{cell} starts with {start} as a spreadsheet formula"
        f" does: it is kept as typed"
        " and never evaluated; check that it is what you meant.",
        WARNING,
        column,
    ) in problems(**{column: value})


def test_problems_come_in_the_template_column_order():
    result = checked(
        employee_id="", reference="R1", bank_code="999", amount="1,234", email="x", payee_name=""
    )
    assert [p.column for p in result.problems] == [
        "employee_id",
        "payee_name",
        "bank_code",
        "amount",
        "email",
    ]
    assert result.has_error and result.has_warning


def hkt(*args: int) -> datetime:
    """Return a Hong Kong wall-clock time."""
    return datetime(*args, tzinfo=ZoneInfo("Asia/Hong_Kong"))


MONDAY_MORNING = hkt(2026, 11, 30, 9, 0)


def test_a_working_day_in_the_future_is_fine():
    assert value_date_problems(date(2026, 12, 1), MONDAY_MORNING) == []
    assert value_date_problems(date(2026, 11, 30), MONDAY_MORNING) == []


def test_a_sunday_is_refused():
    assert value_date_problems(date(2026, 12, 6), MONDAY_MORNING) == [
        Problem(
            "value_date_sunday",
            "The value date Sunday 6 December 2026 is a Sunday: HK ACH pays Monday to Saturday.",
            ERROR,
            None,
            "value_date",
        )
    ]


@pytest.mark.parametrize(
    ("day", "text", "name"),
    [
        (date(2026, 12, 25), "Friday 25 December 2026", "Christmas Day"),
        (date(2027, 2, 8), "Monday 8 February 2027", "The third day of Chinese New Year"),
        # Good Friday is a general holiday, not a statutory one: banks close all the same.
        (date(2027, 3, 26), "Friday 26 March 2027", "Good Friday"),
    ],
)
def test_a_hong_kong_holiday_is_refused(day, text, name):
    assert value_date_problems(day, MONDAY_MORNING) == [
        Problem(
            "value_date_holiday",
            f"The value date {text} is a Hong Kong holiday ({name}): banks do not pay salaries that day.",
            ERROR,
            None,
            "value_date",
        )
    ]


def test_a_past_value_date_is_refused_by_the_hong_kong_calendar():
    # 16:30 UTC on Monday is already Tuesday 00:30 in Hong Kong.
    assert value_date_problems(date(2026, 11, 30), datetime(2026, 11, 30, 16, 30, tzinfo=UTC)) == [
        Problem(
            "value_date_past",
            "The value date Monday 30 November 2026 is in the past (today is Tuesday 1"
            " December 2026 in Hong Kong).",
            ERROR,
            None,
            "value_date",
        )
    ]


def test_same_day_value_after_the_cut_off_is_a_warning():
    assert value_date_problems(date(2026, 11, 30), hkt(2026, 11, 30, 17, 54)) == []
    assert value_date_problems(date(2026, 11, 30), hkt(2026, 11, 30, 17, 55)) == [
        Problem(
            "value_date_cut_off",
            "The value date Monday 30 November 2026 is today and the 17:55 Hong Kong time cut-off has passed:"
            " the bank may reject the batch or pay it on the next working day.",
            WARNING,
            None,
            "value_date",
        )
    ]


def test_a_saturday_needs_the_previous_working_days_cut_off():
    saturday = date(2026, 12, 5)
    assert value_date_problems(saturday, hkt(2026, 12, 4, 17, 54)) == []
    late = [
        Problem(
            "value_date_cut_off",
            "The value date Saturday 5 December 2026 is a Saturday, whose cut-off was 17:55 Hong Kong time on"
            " Friday 4 December 2026: the bank may reject the batch or pay it on the next working day.",
            WARNING,
            None,
            "value_date",
        )
    ]
    assert value_date_problems(saturday, hkt(2026, 12, 4, 17, 55)) == late
    assert value_date_problems(saturday, hkt(2026, 12, 5, 9, 0)) == late


def test_a_saturday_after_a_friday_holiday_needs_thursdays_cut_off():
    # Friday 19 June 2026 is the Dragon Boat Festival.
    problems = value_date_problems(date(2026, 6, 20), hkt(2026, 6, 18, 18, 0))
    assert [p.message for p in problems] == [
        "The value date Saturday 20 June 2026 is a Saturday, whose cut-off was 17:55 Hong Kong time on"
        " Thursday 18 June 2026: the bank may reject the batch or pay it on the next working day."
    ]
    assert value_date_problems(date(2026, 6, 20), hkt(2026, 6, 18, 17, 0)) == []


def test_the_valid_row_fixture_is_valid():
    assert RowChecker(max_item_minor=MAX_ITEM).check(2, VALID).problems == ()


@pytest.mark.parametrize(
    ("changes", "kept"),
    [
        ({"employee_id": "E" * 35, "reference": "REF"}, {"employee_id": "E" * 35, "reference": "REF"}),
        ({"employee_id": "E" * 20, "reference": ""}, {"reference": "E" * 20}),
        ({"reference": " SALARY NOV26 "}, {"reference": "SALARY NOV26"}),
        ({"payee_name": " CHAN TAI-MAN, PETER "}, {"payee_name": "CHAN TAI-MAN, PETER"}),
        ({"payee_name_zh": "陳" * 140}, {"payee_name_zh": "陳" * 140}),
        ({"email": "a@" + "b" * 248 + ".com"}, {"email": "a@" + "b" * 248 + ".com"}),
        ({"bank_code": " 004 ", "branch_code": " 123 "}, {"bank_code": "004", "branch_code": "123"}),
        ({"bank_code": "012", "account_number": "12-345-678"}, {"account_number": "12345678"}),
        ({"bank_code": "250", "account_number": "123456789012"}, {"account_number": "123456789012"}),
        ({"amount": " 23500 "}, {"amount_minor": 2350000}),
        ({"amount": "0.5"}, {"amount_minor": 50}),
        ({"currency": " cny "}, {"currency": "CNY"}),
    ],
)
def test_rows_at_the_limits_are_clean_and_read_as_given(changes, kept):
    result = checked(**changes)
    assert result.problems == ()
    assert {name: getattr(result, name) for name in kept} == kept


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"payee_name": "CHAN\tTAI MAN"}, "payee_name_control"),
        ({"payee_name": "CHAN TAI MAN\x7f"}, "payee_name_control"),
        ({"employee_id": "E" * 21, "reference": ""}, "reference_missing"),
        ({"reference": "R" * 21}, "reference_length"),
        ({"email": "a@" + "b" * 249 + ".com"}, "email_length"),
        ({"branch_code": "１２３"}, "branch_code_format"),
        ({"account_number": "４５６７８９００１"}, "account_format"),
        ({"amount": "23500.5."}, "amount_format"),
        ({"amount": "0.00"}, "amount_zero"),
        ({"amount": "10000000"}, "amount_maximum"),
        ({"currency": "HKDX"}, "currency_unsupported"),
    ],
)
def test_a_row_just_past_a_limit_has_its_problem(changes, code):
    assert [problem.code for problem in checked(**changes).problems] == [code]


def test_a_clean_row_in_another_currency_than_the_batch_is_an_error():
    checker = RowChecker(max_item_minor=MAX_ITEM)
    assert checker.check(2, row(employee_id="E1", currency="CNY")).problems == ()
    mixed = checker.check(3, row(employee_id="E2"))
    assert [(p.code, p.row) for p in mixed.problems] == [("currency_mixed", 3)]
    assert (checker.currency, checker.currency_row, checker.mixed_rows) == ("CNY", 2, 1)
