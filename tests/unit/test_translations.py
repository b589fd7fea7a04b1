"""The catalogues: every marked string is in them, translated, with the same placeholders."""

from __future__ import annotations

import re

import pytest

from dashboard.catalogues import extract_messages
from dashboard.catalogues import read_catalogue
from dashboard.i18n import DEFAULT_LANGUAGE
from dashboard.i18n import LANGUAGES

TRANSLATED = [language for language in LANGUAGES if language != DEFAULT_LANGUAGE]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]|\{\w*\}")


@pytest.fixture(scope="module")
def marked() -> set:
    return {message.id for message in extract_messages() if message.id}


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalogue_holds_exactly_the_marked_strings(language: str, marked: set) -> None:
    held = {message.id for message in read_catalogue(language) if message.id}
    assert not marked - held, "run `flask translations update`: new strings are missing"
    assert not held - marked, "run `flask translations update`: the catalogue keeps strings no longer used"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_has_a_finished_translation(language: str) -> None:
    waiting = [
        message.id
        for message in read_catalogue(language)
        if message.id and (not all(_forms(message.string)) or message.fuzzy)
    ]
    assert not waiting, f"{len(waiting)} strings wait for a {language} translation: {waiting[:20]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    broken = [
        message.id
        for message in read_catalogue(language)
        if message.id
        and any(
            sorted(PLACEHOLDER.findall(form)) != sorted(PLACEHOLDER.findall(_forms(message.id)[-1]))
            for form in _forms(message.string)
        )
    ]
    assert not broken, f"translations that lose or add a placeholder: {broken[:20]}"


def _forms(text: str | tuple) -> tuple:
    return text if isinstance(text, tuple) else (text,)
