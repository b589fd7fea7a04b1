"""Languages: English and Traditional Chinese (Hong Kong), chosen per user, with catalogues read from source.

The catalogues are the ``.po`` files under ``dashboard/translations``; each process compiles them in
memory once, so there is no ``.mo`` file to build, commit or forget to rebuild. ``flask translations
update`` extracts the strings marked in code and templates into them; a test fails when a marked
string has no translation or a catalogue is out of date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
from flask.globals import _cv_request
from flask_babel import Babel
from flask_babel import Domain
from flask_babel import LazyString
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from markupsafe import escape
from wtforms.i18n import messages_path as wtforms_messages

from dashboard.request_memo import memo_apart

#: The languages staff may choose: locale identifier → the language's own name.
LANGUAGES: dict[str, str] = {"en": "English", "zh_Hant_HK": "繁體中文"}
DEFAULT_LANGUAGE = "en"
#: What ``<html lang>`` says for each language (BCP 47).
HTML_LANG = {"en": "en", "zh_Hant_HK": "zh-Hant-HK"}
#: Which CLDR locale formats numbers, money and dates for each language: Hong Kong English for "en".
FORMAT_LOCALE = {"en": "en_HK", "zh_Hant_HK": "zh_Hant_HK"}
#: Where an anonymous visitor's choice is kept (a signed-in user's is on their account).
SESSION_KEY = "language"
#: The blueprint of the JSON API, which always answers in English.
API_BLUEPRINT = "api"
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


def language() -> str:
    """Return this request's language identifier (``en`` or ``zh_Hant_HK``); English outside requests."""
    context = _cv_request.get(None)
    if context is None:
        return DEFAULT_LANGUAGE
    chosen = getattr(context, "language", None)
    if chosen is None:
        chosen = context.language = chosen_language()
    return chosen


def translations() -> NullTranslations:
    """Return this request's translations.

    Kept on the request context: a list page asks for hundreds of strings, and Flask-Babel's own
    lookup goes through several context-local proxies per string.
    """
    context = _cv_request.get(None)
    if context is None:
        return compiled_translations(DEFAULT_LANGUAGE)
    kept = getattr(context, "translations", None)
    if kept is None:
        kept = context.translations = compiled_translations(language())
    return kept


def gettext(string: str, **variables: object) -> str:
    """Translate ``string`` and fill its ``%(name)s`` placeholders."""
    translated = translations().ugettext(string)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, num: int, **variables: object) -> str:
    """Translate the form of ``singular``/``plural`` that ``num`` takes; ``%(num)d`` is filled too."""
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


class LazyText(LazyString):
    """A string translated when shown, which templates and ``Markup`` escape like any other text.

    Flask-Babel's own lazy string says it is HTML already (``__html__`` returns it as it is), so a
    value filled into it (a request id, a provider's message) would reach the page unescaped.
    """

    def __html__(self) -> str:
        return escape(str(self))


def lazy_gettext(string: str, **variables: object) -> LazyText:
    """Translate ``string`` when it is shown (for labels made at import time)."""
    return LazyText(gettext, string, **variables)


@pass_context
def _template_gettext(context: Context, string: str, **variables: object) -> str:
    """Translate for a template: marked safe where the template escapes, the values escaped."""
    translated = translations().ugettext(string)
    if context.eval_ctx.autoescape:
        translated = Markup(translated)  # noqa: S704 - the catalogue's own text; values are escaped
    # A block with a literal % holds it as %% (new-style strings are always format strings).
    return translated % variables if variables or "%" in translated else translated


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, num: int, **variables: object) -> str:
    """Translate the form ``num`` takes, for a template, as :func:`_template_gettext` does."""
    variables.setdefault("num", num)
    translated = translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        translated = Markup(translated)  # noqa: S704 - the catalogue's own text; values are escaped
    return translated % variables


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Translate into ``language`` inside the block (what is stored, such as audit entries, is English).

    What the request worked out once in its own language (badges, words) is set apart meanwhile.
    """
    context = _cv_request.get(None)
    if context is None:
        yield  # outside a request everything reads in English already
        return
    kept = context.__dict__.get("language"), context.__dict__.get("translations")
    context.language, context.translations = language, compiled_translations(language)
    try:
        with memo_apart():
            yield
    finally:
        context.language, context.translations = kept


class SourceCatalogues(Domain):
    """The app's one message domain (for Flask-Babel's own helpers), served like :func:`gettext`."""

    def get_translations(self) -> NullTranslations:
        return translations()


def chosen_language() -> str:
    """Return the language of this request: the user's choice, else the browser's, else English.

    The JSON API answers in English whatever the client asks (its problem details are machine-read),
    and so does work outside a request (jobs, commands), which only logs and stores.
    """
    if not has_request_context() or request.blueprint == API_BLUEPRINT:
        return DEFAULT_LANGUAGE
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    kept = session.get(SESSION_KEY)
    if kept in LANGUAGES:
        return kept
    return browser_language()


def browser_language() -> str:
    """Return the language the browser asks for (``Accept-Language``), else English."""
    best = request.accept_languages.best_match(_ACCEPTED)
    return _ACCEPTED[best] if best else DEFAULT_LANGUAGE


def format_locale() -> str:
    """Return the CLDR locale that formats this request's numbers, money and dates."""
    return FORMAT_LOCALE.get(language(), "en_HK")


#: The catalogue of WTForms' own messages ("Not a valid date value.") each language reads: WTForms has
#: no Hong Kong catalogue, and its ``zh`` one, which ``zh_Hant_HK`` would fall back to, is Simplified.
WTFORMS_LANGUAGE = {"zh_Hant_HK": "zh_TW"}


@cache
def wtforms_translations(language: str) -> NullTranslations:
    """Return WTForms' catalogue for ``language`` (English: its messages as written)."""
    if language not in WTFORMS_LANGUAGE:
        return NullTranslations()
    return Translations.load(wtforms_messages(), [WTFORMS_LANGUAGE[language]], domain="wtforms")


class FormMessages:
    """WTForms' own messages in the language of the page, looked up when a form says them."""

    def ugettext(self, string: str) -> str:
        return wtforms_translations(language()).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return wtforms_translations(language()).ungettext(singular, plural, n)


def _form_messages() -> None:
    # Flask-WTF reads the request's ``wtforms_translations`` before loading its own by locale.
    request.wtforms_translations = FormMessages()


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
    # Jinja's own new-style wrappers format every string, variables or not (Markup % {} escapes
    # the whole text again): a list page's hundreds of strings cost more than its query did.
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext)
    app.jinja_env.newstyle_gettext = True
    app.before_request(_form_messages)
    app.jinja_env.globals["html_lang"] = lambda: HTML_LANG.get(language(), "en")
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["HTML_LANG"] = HTML_LANG
    app.jinja_env.globals["language"] = language
