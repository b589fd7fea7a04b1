"""Languages: English and Traditional Chinese (Hong Kong), chosen per user, with catalogues read from source.

The catalogues are the ``.po`` files under ``dashboard/translations``; each process compiles them in
memory once, so there is no ``.mo`` file to build, commit or forget to rebuild. ``flask translations
update`` extracts the strings marked in code and templates into them; a test fails when a marked
string has no translation or a catalogue is out of date.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations
from babel.support import Translations
from flask import Flask
from flask import has_request_context
from flask import request
from flask import session
from flask_babel import Babel
from flask_babel import Domain
from flask_babel import get_locale
from flask_login import current_user

#: The languages staff may choose: locale identifier → the language's own name.
LANGUAGES: dict[str, str] = {"en": "English", "zh_Hant_HK": "繁體中文"}
DEFAULT_LANGUAGE = "en"
#: What ``<html lang>`` says for each language (BCP 47).
HTML_LANG = {"en": "en", "zh_Hant_HK": "zh-Hant-HK"}
#: Which CLDR locale formats numbers, money and dates for each language: Hong Kong English for "en".
FORMAT_LOCALE = {"en": "en_HK", "zh_Hant_HK": "zh_Hant_HK"}
#: Where an anonymous visitor's choice is kept (a signed-in user's is on their account).
SESSION_KEY = "language"
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"

#: Accept-Language tags each language answers; any Chinese tag reads Traditional Chinese (Hong Kong).
_ACCEPTED = {"en": "en", "zh-Hant-HK": "zh_Hant_HK", "zh-HK": "zh_Hant_HK", "zh-Hant": "zh_Hant_HK",
             "zh-TW": "zh_Hant_HK", "zh-MO": "zh_Hant_HK", "zh": "zh_Hant_HK"}  # fmt: skip


def catalogue_path(language: str) -> Path:
    """Return the ``.po`` file of ``language``."""
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def compiled_translations(language: str) -> NullTranslations:
    """Compile ``language``'s catalogue once per process (English reads the source strings)."""
    path = catalogue_path(language)
    if language == DEFAULT_LANGUAGE or not path.is_file():
        return Translations()
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class SourceCatalogues(Domain):
    """The app's one message domain, served from :func:`compiled_translations`."""

    def get_translations(self) -> NullTranslations:
        locale = get_locale()
        return compiled_translations(str(locale)) if locale is not None else NullTranslations()


def chosen_language() -> str:
    """Return the language of this request: the user's choice, else the browser's, else English.

    Outside a request (jobs, commands) English: what they write is read in logs or kept.
    """
    if not has_request_context():
        return DEFAULT_LANGUAGE
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    kept = session.get(SESSION_KEY)
    if kept in LANGUAGES:
        return kept
    best = request.accept_languages.best_match(_ACCEPTED)
    return _ACCEPTED[best] if best else DEFAULT_LANGUAGE


def language() -> str:
    """Return this request's language identifier (``en`` or ``zh_Hant_HK``)."""
    locale = get_locale()
    return str(locale) if locale is not None else DEFAULT_LANGUAGE


def format_locale() -> str:
    """Return the CLDR locale that formats this request's numbers, money and dates."""
    return FORMAT_LOCALE.get(language(), "en_HK")


def init_i18n(app: Flask) -> None:
    """Install Flask-Babel with the source catalogues and the per-user language choice."""
    babel = Babel()
    babel.init_app(
        app,
        default_locale=DEFAULT_LANGUAGE,
        default_timezone=app.config["DISPLAY_TIMEZONE"],
        locale_selector=chosen_language,
    )
    babel.domain_instance = SourceCatalogues(domain=DOMAIN)
    app.jinja_env.globals["html_lang"] = lambda: HTML_LANG.get(language(), "en")
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["HTML_LANG"] = HTML_LANG
    app.jinja_env.globals["language"] = language
