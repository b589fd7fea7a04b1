"""Every word a template shows is marked for translation (``{{ _('…') }}`` or ``{% trans %}``)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
#: The simulators' pages stand in for providers' and wallets' own screens; they are not the product's.
NOT_THE_PRODUCT = ("sandbox/",)
#: Attributes a person reads or hears.
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "aria-roledescription"}
#: Words that read the same in every language of the product.
SAME_IN_EVERY_LANGUAGE = {"HK$", "CSV", "API", "JSON", "ID", "URL", "UTC", "HKT", "QR", "ACH", "HKD", "GMT"}
WORD = re.compile(r"[A-Za-z][A-Za-z$']*")
#: Stands for whatever a Jinja tag or expression prints.
PRINTED = "\x00"


def unmarked_text(source: str) -> list[str]:
    """Return the texts and read attributes of ``source`` that hold words outside translation markers."""
    html, in_trans = [], False
    lexer = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do"], autoescape=True)
    for _, token, value in lexer.lex(source):
        if token == "data":
            html.append(PRINTED if in_trans else value)
            continue
        if token == "name" and value in ("trans", "pluralize", "endtrans"):
            in_trans = value != "endtrans"
        if not html or html[-1] != PRINTED:
            html.append(PRINTED)
    finder = _WordFinder()
    finder.feed("".join(html))
    return finder.found


class _WordFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def _check(self, text: str) -> None:
        words = set(WORD.findall(text.replace(PRINTED, " "))) - SAME_IN_EVERY_LANGUAGE
        if words:
            self.found.append(" ".join(text.replace(PRINTED, "…").split()))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self._check(value)

    def handle_data(self, data: str) -> None:
        self._check(data)


def product_templates() -> list[str]:
    return sorted(
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if not str(path.relative_to(TEMPLATES)).startswith(NOT_THE_PRODUCT)
    )


@pytest.mark.parametrize("template", product_templates())
def test_every_shown_word_is_marked_for_translation(template: str) -> None:
    found = unmarked_text((TEMPLATES / template).read_text(encoding="utf-8"))
    assert not found, f"{template}: wrap in {{{{ _('…') }}}} or {{% trans %}}: {found}"


def test_the_check_finds_unmarked_text_and_passes_marked_text() -> None:
    assert unmarked_text('<p title="Copy id">{{ _("Copy") }}</p>') == ["Copy id"]
    assert unmarked_text("<td>{{ row.id }}</td><th>Amount</th>") == ["Amount"]
    assert unmarked_text("{% trans n=3 %}{{ n }} new payments{% endtrans %}<b>{{ _('Sent') }}</b>") == []
    assert unmarked_text('<a href="/payments?status=failed">HK$ {{ x }}</a>') == []
