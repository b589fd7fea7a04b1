"""Read an uploaded payroll CSV as a stream: encoding, size limit, dialect, header, then checked rows.

Memory stays flat in the file size: the upload is read in chunks, in up to three passes over the
seekable stream (Werkzeug spools uploads to disk): the raw bytes (sha256, size, strict UTF-8), a
decoding pass when the file is not UTF-8 (the encoding's check and the decoded size), then the rows.

- Encoding: the uploader's choice (one of :data:`ENCODINGS`), else a byte-order mark (UTF-8,
  UTF-16 LE/BE: Excel's "Unicode text" is UTF-16 with tabs), else strict UTF-8, else Big5-HKSCS
  (then cp950; a guess between it and Windows-1252 when both read the file), else
  ``charset-normalizer``'s guess (a guess always has a warning asking to check the names).
- Size: at most ``max_decoded_bytes`` once decoded (counted as UTF-8).
- Dialect: comma, semicolon or tab, whichever splits the header row into the most known column
  names (or the one Excel's first line ``sep=;`` declares); quoted cells may hold the delimiter
  and line breaks; blank rows are skipped (a spreadsheet still numbers them, so row numbers do too).
- Header: names in any order, case-insensitive, spaces around ignored, and space, ``-`` and ``_``
  are the same (``Employee ID``, ``employee-id`` and `` EMPLOYEE_ID `` all name ``employee_id``).
  A header with missing, unknown or repeated columns refuses the file with one message naming them.

A file that cannot be read as a payroll raises :class:`FileRefused` (nothing is stored); a file
that can is read row by row, every row checked by :mod:`dashboard.ach.rules`.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import operator
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field

import charset_normalizer

from dashboard.ach.rules import CELL_ORDER
from dashboard.ach.rules import OPTIONAL_COLUMNS
from dashboard.ach.rules import REQUIRED_COLUMNS
from dashboard.ach.rules import PayrollRow
from dashboard.ach.rules import Problem
from dashboard.ach.rules import RowChecker
from dashboard.ach.rules import Severity
from dashboard.ach.rules import shown
from dashboard.ach.rules import value_date_problems
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l

__all__ = [
    "ENCODINGS",
    "FileFacts",
    "FileRefused",
    "PayrollReader",
    "PayrollRow",
    "Problem",
    "Severity",
    "read_payroll",
    "value_date_problems",
]

#: The encodings the upload form offers instead of detection: (value, label). Excel's "Unicode
#: text" is UTF-16; Big5-HKSCS is Traditional Chinese with Hong Kong's characters; GB18030 is
#: Simplified Chinese; Windows-1252 is Western European.
ENCODINGS: list[tuple[str, str]] = [
    ("utf-8", "UTF-8"),
    ("utf-16", "UTF-16"),
    ("big5hkscs", "Big5-HKSCS"),
    ("cp950", "Big5 (cp950)"),
    ("gb18030", "GB18030"),
    ("cp1252", "Windows-1252"),
]
#: The codec that reads each choice: UTF-8 with or without a byte-order mark.
_CODECS = {"utf-8": "utf-8-sig"}
_CHUNK = 1 << 16
#: Western European Windows text, which Big5 can often read too (as the wrong characters).
_WESTERN = "cp1252"
#: How much of the file ``charset-normalizer`` looks at.
_SAMPLE = 1 << 20
_DELIMITERS = (",", ";", "\t")
_KNOWN = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
_SEPARATORS = re.compile(r"[\s_\-]+")
_EXCEL_SEPARATOR = re.compile(r"sep=([,;\t])", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE"),
)
#: Spreadsheet workbooks uploaded instead of a CSV: zip (.xlsx, .ods) and OLE2 (.xls).
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_SAVE_AS = _l("in Excel, choose File › Save As › CSV UTF-8")
_EMPTY = _l("The file is empty: it has no header row and no payee rows.")
_COLUMNS_HELP = _l(
    "The columns are employee_id, payee_name, bank_code, branch_code, account_number, amount, currency"
    " and reference, optionally payee_name_zh and email, in any order; case, spaces, hyphens and"
    " underscores in the names do not matter."
)


@dataclass
class FileFacts:
    """What the page shows about the file; complete once the reader has been iterated to the end."""

    #: Of the raw uploaded bytes.
    sha256: str
    #: The encoding used, as the page shows it (at most 32 characters): "UTF-8", "UTF-8 with BOM",
    #: "UTF-16 LE", "Big5-HKSCS", "GB18030 (chosen)", "cp1250 (guessed)", …
    encoding: str
    size_bytes: int
    #: Payee rows read (blank rows not counted).
    rows: int = 0
    #: The batch currency, ``None`` while no row without errors was read.
    currency: str | None = None
    #: File-level problems: the encoding guessed, cross-row summaries (rows carry their own too).
    problems: list[Problem] = field(default_factory=list)


class FileRefused(ValueError):
    """The whole file cannot be read as a payroll (header, empty, too big, undecodable): nothing is stored."""

    def __init__(self, code: str, message: str, row: int | None = None):
        message = str(message)  # read in the language of the request that refused the file
        super().__init__(message)
        self.problem = Problem(code, message, Severity.ERROR, row)


def canonical_column(name: str) -> str:
    """Return the column a header cell names: lower case, and spaces, ``-`` and ``_`` as one ``_``."""
    return _SEPARATORS.sub("_", name.strip().lower()).strip("_")


def read_payroll(
    stream: typing.BinaryIO, *, encoding: str | None = None, max_decoded_bytes: int, max_item_minor: int
) -> PayrollReader:
    """Open an uploaded payroll for reading; raise :class:`FileRefused` when it cannot be one.

    :param stream: the upload, seekable, read from its start (it is not closed).
    :param encoding: a value of :data:`ENCODINGS` chosen by the uploader, or ``None`` to detect.
    :param max_decoded_bytes: the largest file accepted, counted once decoded (as UTF-8).
    :param max_item_minor: the largest amount of one payment, in minor units.
    :returns: an iterable of :class:`PayrollRow` (once) with ``.facts``; iterating may still raise
        :class:`FileRefused` for a row that is not CSV at all.
    """
    if encoding is not None and encoding not in dict(ENCODINGS):
        raise ValueError(f"unknown encoding choice {encoding!r}")
    raw = _scan(stream)
    if raw.size == 0:
        raise FileRefused("empty", _EMPTY)
    if raw.head.startswith(_WORKBOOKS):
        raise FileRefused(
            "not_csv",
            _(
                "The file is a spreadsheet workbook, not a CSV file: %(save_as)s and upload that file.",
                save_as=_SAVE_AS,
            ),
        )
    facts = FileFacts(sha256=raw.sha256, encoding="", size_bytes=raw.size)
    codec, decoded = _choose_encoding(stream, raw, encoding, facts)
    if decoded > max_decoded_bytes:
        raise FileRefused(
            "too_large",
            _(
                "The file is %(size)s once decoded, above the limit of %(limit)s: split the payroll into"
                " smaller batches.",
                size=_megabytes(decoded),
                limit=_megabytes(max_decoded_bytes),
            ),
        )
    return PayrollReader(stream, codec, facts, max_item_minor=max_item_minor)


@dataclass(frozen=True)
class _Raw:
    """What one pass over the raw bytes tells."""

    sha256: str
    size: int
    #: The first bytes, for byte-order marks and workbook signatures.
    head: bytes
    #: Strict UTF-8 without a NUL byte (UTF-16 without a byte-order mark can be valid UTF-8).
    utf8: bool
    nul: bool


def _scan(stream: typing.BinaryIO) -> _Raw:
    digest = hashlib.sha256()
    size = 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    nul = False
    head = b""
    stream.seek(0)
    while chunk := stream.read(_CHUNK):
        if not head:
            head = chunk[:4096]
        digest.update(chunk)
        size += len(chunk)
        nul = nul or b"\x00" in chunk
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        utf8 = False
    return _Raw(digest.hexdigest(), size, head, utf8 and not nul, nul)


def _megabytes(size: int) -> str:
    if size < 1 << 20:
        return f"{size:,} bytes"
    return f"{size / (1 << 20):,.1f} MB"


def _choose_encoding(
    stream: typing.BinaryIO, raw: _Raw, choice: str | None, facts: FileFacts
) -> tuple[str, int]:
    """Set ``facts.encoding``; return the codec to read with and the decoded size."""
    if choice is not None:
        label = dict(ENCODINGS)[choice]
        facts.encoding = f"{label} (chosen)"
        codec = _CODECS.get(choice, choice)
        decoded = _decode_pass(stream, codec)
        if decoded is None:
            raise FileRefused(
                "encoding",
                _(
                    "The file cannot be read as %(encoding)s: it holds bytes that are not valid in that"
                    " encoding. Choose another encoding, or let the encoding be detected.",
                    encoding=label,
                ),
            )
        return codec, decoded
    for mark, codec, label in _BOMS:
        if raw.head.startswith(mark):
            facts.encoding = label
            if codec == "utf-8-sig":
                if not raw.utf8:
                    break
                return codec, raw.size - len(mark)
            decoded = _decode_pass(stream, codec)
            if decoded is None:
                break
            return codec, decoded
    else:
        if raw.utf8:
            facts.encoding = "UTF-8"
            return "utf-8", raw.size
        for codec, label in (("big5hkscs", "Big5-HKSCS"), ("cp950", "Big5 (cp950)")):
            decoded = _decode_pass(stream, codec)
            if decoded is not None:
                return _big5_or_western(stream, codec, label, decoded, facts)
        stream.seek(0)
        guess = charset_normalizer.from_bytes(stream.read(_SAMPLE)).best()
        if guess is not None:
            decoded = _decode_pass(stream, guess.encoding)
            if decoded is not None:
                _guessed(facts, guess.encoding)
                return guess.encoding, decoded
        if raw.nul:
            raise FileRefused(
                "not_csv",
                _("The file contains NUL characters, so it is not CSV text: %(save_as)s.", save_as=_SAVE_AS),
            )
        raise FileRefused(
            "undecodable",
            _(
                "The file is not text in UTF-8, UTF-16 or Big5 and its encoding could not be recognised:"
                " %(save_as)s, or choose the file's encoding on the form.",
                save_as=_SAVE_AS,
            ),
        )
    named = facts.encoding.removesuffix(" with BOM")
    raise FileRefused(
        "encoding",
        _(
            "The file starts with a %(encoding)s byte-order mark but is not %(encoding)s text: %(save_as)s,"
            " or choose the file's encoding on the form.",
            encoding=named,
            save_as=_SAVE_AS,
        ),
    )


def _big5_or_western(
    stream: typing.BinaryIO, big5: str, label: str, decoded: int, facts: FileFacts
) -> tuple[str, int]:
    """Return the Big5 ``big5`` codec and its ``decoded`` size, unless the file is more likely cp1252.

    Western European names in Windows-1252 (MÜLLER, FRANÇOIS) are mostly valid Big5 too, and most
    Big5 is valid Windows-1252: when both read the whole file, ``charset-normalizer`` weighs the two
    on the file's start, and the choice is shown as a guess.
    """
    western = _decode_pass(stream, _WESTERN)
    if western is None:
        facts.encoding = label
        return big5, decoded
    stream.seek(0)
    best = charset_normalizer.from_bytes(stream.read(_SAMPLE), cp_isolation=[big5, _WESTERN]).best()
    if best is not None and best.encoding == _WESTERN:
        _guessed(facts, dict(ENCODINGS)[_WESTERN])
        return _WESTERN, western
    _guessed(facts, label)
    return big5, decoded


def _guessed(facts: FileFacts, name: str) -> None:
    """Label the encoding ``name`` as guessed, with a warning to check the names."""
    facts.encoding = f"{name} (guessed)"
    facts.problems.append(
        Problem(
            "encoding_guessed",
            f"The file's encoding was guessed as {name}: check that the names in the preview read"
            " correctly, or choose the encoding on the form.",
            Severity.WARNING,
        )
    )


def _decode_pass(stream: typing.BinaryIO, codec: str) -> int | None:
    """Decode the whole stream; return its size as UTF-8, or ``None`` when ``codec`` cannot read it.

    A NUL character means the codec is wrong (UTF-16 read as Big5) or the file is not text.
    """
    decoder = codecs.getincrementaldecoder(codec)()
    decoded = 0
    stream.seek(0)
    try:
        while chunk := stream.read(_CHUNK):
            text = decoder.decode(chunk)
            if "\x00" in text:
                return None
            decoded += len(text.encode("utf-8", "surrogatepass"))
        decoded += len(decoder.decode(b"", final=True).encode("utf-8", "surrogatepass"))
    except UnicodeDecodeError:
        return None
    return decoded


class _Borrowed(io.RawIOBase):
    """The caller's stream, read through a text wrapper that must not close it."""

    def __init__(self, stream: typing.BinaryIO):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class PayrollReader:
    """The rows of an opened payroll, read once; ``facts`` is complete after the last row."""

    def __init__(self, stream: typing.BinaryIO, codec: str, facts: FileFacts, *, max_item_minor: int):
        self.facts = facts
        self._checker = RowChecker(max_item_minor=max_item_minor)
        stream.seek(0)
        buffered = io.BufferedReader(_Borrowed(stream), _CHUNK)
        self._text = io.TextIOWrapper(buffered, encoding=codec, newline="")
        self._row = 0
        header = self._header_line()
        declared = _EXCEL_SEPARATOR.fullmatch(header.strip("\r\n"))
        if declared:
            # Excel reads a first line "sep=;" as the delimiter and does not show it as a row.
            delimiter = declared.group(1)
            self._row -= 1
            header = self._header_line()
        else:
            delimiter = max(_DELIMITERS, key=lambda d: self._score(header, d))
        self._names = self._map_header(next(csv.reader([header], delimiter=delimiter)))
        self._records = csv.reader(self._text, delimiter=delimiter)
        self._rows_left = self._checked_rows()
        self._first = next(self._rows_left, None)
        if self._first is None:
            raise FileRefused("header_only", _("The file has a header row but no payee rows."))
        self._started = False

    def _header_line(self) -> str:
        for line in self._text:
            self._row += 1
            if line.strip(" \t\r\n,;"):
                return line
        raise FileRefused("empty", _EMPTY)

    @staticmethod
    def _score(line: str, delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([line], delimiter=delimiter))
        return sum(canonical_column(cell) in _KNOWN for cell in cells), len(cells)

    def _map_header(self, cells: list[str]) -> list[str]:
        """Return the canonical name of each column, or refuse the header with one message."""
        while cells and not cells[-1].strip():
            cells.pop()
        columns: list[str] = []
        unknown: list[str] = []
        repeated: list[str] = []
        seen: set[str] = set()
        for index, cell in enumerate(cells):
            name = canonical_column(cell)
            if name not in _KNOWN:
                unknown.append(
                    shown(cell) if cell.strip() else _("an unnamed column %(number)s", number=index + 1)
                )
            elif name in seen:
                repeated.append(name)
            else:
                seen.add(name)
                columns.append(name)
        missing = [name for name in REQUIRED_COLUMNS if name not in seen]
        if missing or unknown or repeated:
            parts = [_("The header row does not match the payroll template.")]
            if missing:
                parts.append(_("Missing: %(columns)s.", columns=", ".join(missing)))
            if unknown:
                parts.append(_("Not recognised: %(columns)s.", columns=", ".join(unknown)))
            if repeated:
                parts.append(_("Repeated: %(columns)s.", columns=", ".join(repeated)))
            parts.append(str(_COLUMNS_HELP))
            raise FileRefused("header", " ".join(parts), row=self._row)
        return columns

    def __iter__(self) -> Iterator[PayrollRow]:
        if self._started:
            raise RuntimeError("a payroll file is read once")
        self._started = True
        return itertools.chain([self._first], self._rows_left)

    def _checked_rows(self) -> Iterator[PayrollRow]:
        """Yield each non-blank record checked, with the row number a spreadsheet shows for it; then
        complete the facts."""
        check = self._checker.check_cells
        width = len(self._names)
        # The cells in the checker's order; an absent optional column reads the empty cell appended
        # after the row's own.
        in_order = operator.itemgetter(
            *(self._names.index(column) if column in self._names else width for column in CELL_ORDER)
        )
        row = self._row
        count = 0
        try:
            for cells in self._records:
                row += 1
                if not "".join(cells).strip():
                    continue
                count += 1
                extra: tuple[Problem, ...] = ()
                if len(cells) != width:
                    if len(cells) > width and "".join(cells[width:]).strip():
                        extra = (
                            Problem(
                                "row_cells",
                                f"This row has {len(cells)} cells but the header has {width} columns: a"
                                " cell probably holds an unquoted comma, which shifts the cells after it.",
                                Severity.ERROR,
                                row,
                            ),
                        )
                    cells = (cells + [""] * width)[:width]
                cells.append("")
                yield check(row, in_order(cells), extra)
        except csv.Error as exc:
            # Mostly a cell above the field size limit: an unclosed quote swallows the rest of the file.
            raise FileRefused(
                "csv",
                _(
                    "Row %(row)s cannot be read as CSV (%(error)s): check that every quote in the file is"
                    " closed.",
                    row=row + 1,
                    error=exc,
                ),
                row=row + 1,
            ) from None
        self.facts.rows = count
        self.facts.currency = self._checker.currency
        self.facts.problems.extend(self._checker.file_problems())
