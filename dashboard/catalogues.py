"""The translation catalogues: extract the marked strings and keep every language's ``.po`` in step.

``flask translations update`` is run after adding or changing a marked string; the tests compare
the catalogues with a fresh extraction, so a forgotten update fails them.
"""

from __future__ import annotations

from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.messages.pofile import write_po

from dashboard.i18n import DEFAULT_LANGUAGE
from dashboard.i18n import LANGUAGES
from dashboard.i18n import catalogue_path

SOURCE_ROOT = Path(__file__).resolve().parent.parent
MAPPING = SOURCE_ROOT / "babel.cfg"
PROJECT = "merchant-back-office"
#: The marking functions: Flask-Babel's, and ``_l`` for lazy_gettext at import time.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
}


def extract_messages() -> Catalog:
    """Return every string marked in the code and templates, with where each occurs."""
    with MAPPING.open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    catalogue = Catalog(project=PROJECT, charset="utf-8")
    for path, line, message, comments, context in extract_from_dir(
        str(SOURCE_ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        catalogue.add(message, None, [(path, line)], auto_comments=comments, context=context)
    return catalogue


def read_catalogue(language: str) -> Catalog:
    """Return ``language``'s catalogue as it is on disk (empty when it has none yet)."""
    path = catalogue_path(language)
    if not path.is_file():
        return Catalog(locale=language, project=PROJECT, copyright_holder=PROJECT, fuzzy=False)
    with path.open("rb") as po:
        return read_po(po, locale=language)


def update_catalogues() -> dict[str, int]:
    """Bring every catalogue in step with the marked strings; return how many wait for a translation."""
    template = extract_messages()
    untranslated = {}
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        catalogue = read_catalogue(language)
        template.creation_date = catalogue.creation_date  # the file changes only when its strings do
        catalogue.update(template, update_header_comment=False)
        catalogue.obsolete.clear()
        path = catalogue_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            # No source locations: they would change with every edit of the code around a string.
            write_po(po, catalogue, width=100, sort_output=True, no_location=True, include_previous=False)
        untranslated[language] = sum(1 for message in catalogue if message.id and not message.string)
    return untranslated


@click.group("translations")
def translations() -> None:
    """Keep the language catalogues in step with the code."""


@translations.command("update")
def update() -> None:
    """Extract the marked strings into every catalogue; new ones wait for a translation."""
    for language, waiting in update_catalogues().items():
        click.echo(f"{catalogue_path(language).relative_to(SOURCE_ROOT)}: {waiting} to translate")
