"""Jinja filters and globals: money, times in the display time zone, navigation by role."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Mapping
from collections.abc import MutableMapping
from datetime import datetime
from datetime import tzinfo
from functools import cache
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask import current_app
from flask import request
from flask import url_for
from flask.templating import Environment
from flask_babel import LazyString
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.compiler import Frame
from markupsafe import Markup
from markupsafe import _escape_inner
from markupsafe import escape
from sqlalchemy.orm import Session
from wtforms import Field

from dashboard import clock
from dashboard.approvals.service import waiting_count
from dashboard.audit.queries import change_fields
from dashboard.auth.access import role_allows
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.i18n import language
from dashboard.i18n import lazy_gettext as _l
from dashboard.i18n import ngettext
from dashboard.money import format_money
from dashboard.payments.reasons import reason_label
from dashboard.providers.methods import method_label
from dashboard.providers.registry import guidance as code_guidance
from dashboard.providers.registry import label as provider_label
from dashboard.request_memo import once_a_request
from dashboard.statuses import status_label
from dashboard.users.models import role_label
from dashboard.users.models import role_word

#: (endpoint, label) in navigation order; an entry shows when the user's role may open it.
NAVIGATION: list[tuple[str, LazyString]] = [
    ("home.index", _l("Overview")),
    ("payments.index", _l("Payments")),
    ("agreements.index", _l("Agreements")),
    ("ach.index", _l("Payroll")),
    ("settlements.index", _l("Settlements")),
    ("approvals.index", _l("Approvals")),
    ("notifications.index", _l("Notifications")),
    ("reports.index", _l("Reports")),
    ("audit.index", _l("Audit log")),
    ("users.index", _l("Users")),
    ("api_keys.index", _l("API keys")),
]

#: The second key of each "g then key" shortcut (app.js reads them from the navigation's links, so
#: only pages the user's role may open are offered).
GO_KEYS = {"payments.index": "p", "agreements.index": "a", "notifications.index": "n"}

#: What app.js says itself (copying, the live status, a lost connection), read from the page's
#: ``#ui-text`` JSON block; app.js fills ``%(name)s`` placeholders.
UI_TEXT: dict[str, LazyString] = {
    "copied": _l("Copied"),
    "not_copied": _l("Not copied: select the id and copy it."),
    "not_copied_here": _l("Not copied: this browser does not allow it here. Select the id and copy it."),
    "syncing": _l("syncing…"),
    "signed_out": _l("not synced — signed out; reload the page"),
    "retrying": _l("not synced — retrying"),
    "synced": _l("synced %(seconds)s s ago"),
    "unreachable": _l("The server could not be reached. Check the connection and try again."),
}


def ui_text() -> dict[str, str]:
    """Return what app.js says, in the language of the page."""
    return {key: str(text) for key, text in UI_TEXT.items()}


#: How each status of every machine reads at a glance (a badge's tint). The words carry the
#: meaning; the tint only helps: done well, waiting, gone wrong, or over without money moving.
STATUS_TONES: dict[str, str] = {
    **dict.fromkeys(
        ("succeeded", "settled", "active", "completed", "paid", "valid", "declared", "balanced", "resolved"),
        "ok",
    ),
    **dict.fromkeys(
        (
            "pending",
            "processing",
            "submitted",
            "awaiting_approval",
            "disputed",
            "approved",
            "submitting",
            "received",
            "accepted",
            "completed_with_failures",
            "waiting",
        ),
        "warn",
    ),
    **dict.fromkeys(
        ("failed", "charged_back", "rejected", "unresolved", "invalid", "refused", "differences"), "err"
    ),
    **dict.fromkeys(
        ("cancelled", "expired", "revoked", "cancelled_by_customer", "draft", "discarded"), "muted"
    ),
}


def status_tone(status: str) -> str:
    """Return the badge tone of ``status`` (``ok``, ``warn``, ``err`` or ``muted``)."""
    return STATUS_TONES.get(status, "muted")


@cache
def badge(tone: str, words: str) -> Markup:
    """Show ``words`` in a pill tinted ``tone``; the words carry the meaning, the tint only helps.

    Lists show badges on every row, so each one's markup is built once and kept (per language: the
    words are already translated).
    """
    return Markup('<span class="badge badge-{}">{}</span>').format(tone, words)


def link(href: str, text: object) -> Markup:
    """Link ``text`` to ``href``, both escaped.

    Lists link on every row: an f-string of escaped parts, where ``Markup``'s own ``%`` and
    ``format`` wrap and escape each argument through a helper object (3 µs a link).
    """
    return Markup(f'<a href="{escape(href)}">{escape(text)}</a>')  # noqa: S704 - both parts escaped


def status_badge(status: str, id: str | None = None) -> Markup:
    """Show ``status`` in words (:func:`status_label`) as a :func:`badge` of its tone, with an ``id``
    when given.

    A list shows one on every row, yet few statuses: each one's badge is looked up once a request.
    """
    if id is None:
        return once_a_request(_status_badge, status)
    words = str(status_label(status))
    return Markup('<span class="badge badge-{}" id="{}">{}</span>').format(status_tone(status), id, words)


def _status_badge(status: str) -> Markup:
    return badge(status_tone(status), str(status_label(status)))


#: The formats lists show on every row that are the start of ``isoformat(" ")``, which takes half
#: the time ``strftime`` takes, and how much of it each is (the same text from the year 1000 on).
_ISO_LENGTHS = {"%Y-%m-%d %H:%M:%S": 19, "%Y-%m-%d %H:%M": 16}


def local_time(
    value: datetime | None,
    fmt: str = "%Y-%m-%d %H:%M:%S",
    with_zone: bool = False,
    zone: tzinfo | None = None,
) -> str:
    """Show a UTC time in ``zone`` (default: the display time zone), followed by its abbreviation when
    ``with_zone``.
    """
    if value is None:
        return "—"
    shown = value.astimezone(zone or ZoneInfo(current_app.config["DISPLAY_TIMEZONE"]))
    if not with_zone and (length := _ISO_LENGTHS.get(fmt)):
        return shown.isoformat(" ")[:length]
    return shown.strftime(f"{fmt} %Z" if with_zone else fmt)


def id_url(value: int, endpoint: str, argument: str) -> str:
    """Return ``url_for(endpoint, **{argument: value})`` for a route that ends in the integer ``value``.

    Lists link every row: the URL up to the id is built once per request, not once per row.
    """
    return f"{id_url_start(endpoint, argument)}{int(value)}"


def id_url_start(endpoint: str, argument: str) -> str:
    """Return the URL of ``endpoint`` up to the integer ``argument`` it ends in, built once per request."""
    return once_a_request(_url_start, endpoint, argument)


def _url_start(endpoint: str, argument: str) -> str:
    url = url_for(endpoint, **{argument: 0})
    if not url.endswith("/0"):
        raise ValueError(f"{endpoint} does not end in its {argument}")
    return url[:-1]


#: How many rendered fields the app keeps (the cache is emptied when it holds more).
FIELDS_KEPT = 2048


def kept_field(form: FlaskForm, field: Field) -> Markup:
    """Render ``field`` as the ``render_field`` macro does, keeping the markup.

    Lists render their filters, and the approvals queue a comment field per request, on every page
    view, yet few different inputs and messages occur; the markup depends only on the form, the
    field, what was typed, what it reads as and its messages.
    """
    key = (
        language(),
        type(form),
        field.name,
        tuple(field.raw_data or ()),
        repr(field.data),
        tuple(field.errors),
        str(field.description),
    )
    return _kept(
        "kept_fields",
        key,
        FIELDS_KEPT,
        lambda: current_app.jinja_env.get_template("_macros/forms.html").module.render_field(field),
    )


#: How many rendered parts of the layout the app keeps (the cache is emptied when it holds more).
PARTS_KEPT = 1024


def kept_part(*key: Hashable, caller: Callable[[], Markup]) -> Markup:
    """Render the body of a ``{% call kept_part(...) %}`` block once per ``key``, keeping the markup.

    For the parts of the layout that every page view renders alike (the navigation, the shortcuts
    list, what app.js says): 8 % of the instructions of a list page. ``key`` must name all the
    body reads.
    """
    return _kept("kept_parts", key, PARTS_KEPT, caller)


def _kept(store: str, key: Hashable, most: int, render: Callable[[], Markup]) -> Markup:
    """Return the markup kept under ``key`` in the app's ``store``, rendered now if missing (the
    store is emptied when it holds ``most``)."""
    kept = current_app.extensions.setdefault(store, {})
    html = kept.get(key)
    if html is None:
        if len(kept) >= most:
            kept.clear()
        html = kept[key] = render()
    return html


def zone_label(zone: str) -> str:
    """Name ``zone`` for headings by its abbreviations this year: ``HKT``, or ``GMT/BST`` if clocks change."""
    year = clock.now().year
    names = (datetime(year, month, 1, tzinfo=ZoneInfo(zone)).tzname() for month in (1, 7))
    return "/".join(dict.fromkeys(names))


def can_open(endpoint: str) -> bool:
    """Return True when the current user's role may open ``endpoint``.

    Lists ask it for a link on every row: the answer is kept for the request, by role (an error
    page signs the user out before it renders).
    """
    role = getattr(current_user, "role", None)  # anonymous users have none
    return once_a_request(_role_may_open, role, endpoint)


def _role_may_open(role: str | None, endpoint: str) -> bool:
    if role is None:
        return False
    allowed = current_app.extensions["access_table"].get(endpoint)
    return allowed is not None and role_allows(role, allowed)


#: Entries that show how many things wait there (one indexed count per page view).
NAVIGATION_COUNTS: dict[str, Callable[[Session], int]] = {"approvals.index": waiting_count}


def navigation() -> list[tuple[str, LazyString, int | None]]:
    """Return the navigation entries this user may open, each with how many things wait there."""
    if not current_user.is_authenticated:
        return []
    return [
        (endpoint, label, waiting_at(endpoint) if endpoint in NAVIGATION_COUNTS else None)
        for endpoint, label in _navigation_of(current_user.role)
    ]


def _navigation_of(role: str) -> list[tuple[str, LazyString]]:
    """Return the :data:`NAVIGATION` entries ``role`` may open, worked out once per role and access
    table."""
    table = current_app.extensions["access_table"]
    kept = current_app.extensions.get("navigation_of")
    if kept is None or kept[0] is not table:
        kept = current_app.extensions["navigation_of"] = (table, {})
    entries = kept[1]
    if role not in entries:
        entries[role] = [entry for entry in NAVIGATION if _role_may_open(role, entry[0])]
    return entries[role]


def navigation_key() -> tuple[Hashable, ...]:
    """Return all the navigation renders from: the language, where the app's URLs start, the part of
    the app open, and the entries this user may open with their counts."""
    section = (request.endpoint or "").partition(".")[0]
    entries = tuple((endpoint, waiting) for endpoint, _label, waiting in navigation())
    return language(), request.script_root, section, entries


def waiting_at(endpoint: str) -> int:
    """Return how many things wait at navigation entry ``endpoint``, read once per request."""
    return once_a_request(_waiting_now, endpoint)


def _waiting_now(endpoint: str) -> int:
    return NAVIGATION_COUNTS[endpoint](db.session)


def time_ago(value: datetime) -> str:
    """Say how long ago ``value`` was, roughly: ``just now``, ``12 min``, ``3 h 5 min``, ``4 days``."""
    minutes = max(int((clock.now() - value).total_seconds()) // 60, 0)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return _("%(minutes)s min ago", minutes=minutes)
    if minutes < 48 * 60:
        return _("%(hours)s h %(minutes)s min ago", hours=minutes // 60, minutes=minutes % 60)
    return ngettext("%(num)d day ago", "%(num)d days ago", minutes // (24 * 60))


def time_left(value: datetime) -> str:
    """Say how long until ``value``: ``expires in 12 min``, ``expires in 3 h 5 min``, or ``expired``."""
    minutes = -(-int((value - clock.now()).total_seconds()) // 60)
    if minutes <= 0:
        return _("expired")
    if minutes < 60:
        return _("expires in %(minutes)s min", minutes=minutes)
    return _("expires in %(hours)s h %(minutes)s min", hours=minutes // 60, minutes=minutes % 60)


def html_text(value: Any) -> str:
    """Return ``value`` as HTML text: what ``markupsafe.escape`` gives, as a plain string.

    Every ``{{ ... }}`` of a page goes through it (:class:`PageCodeGenerator`): about 550 a list page.
    ``escape`` wraps each piece in a ``Markup`` the page only joins, 0.4 µs a piece where the escaping
    itself takes 0.05 µs. Already-safe markup is written as it is, not copied.
    """
    if type(value) is str:  # the usual case, as in markupsafe.escape
        return _escape_inner(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape_inner(str(value))


class PageCodeGenerator(CodeGenerator):
    """Compile a template's output expressions to :func:`html_text` where Jinja writes ``escape``.

    Jinja's compiler offers no hook for this but the method overridden here: Jinja2 is held to 3.1
    and MarkupSafe to 3.0 (pyproject.toml), and a test checks the text matches ``escape``'s.
    """

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("environment.html_text(")
        if finalize.src is not None:
            self.write(finalize.src)


class PageEnvironment(Environment):
    """The app's Jinja environment: templates read the environment's globals themselves, and write
    their output with :func:`html_text`.

    Jinja layers each template's globals over the environment's in a ``ChainMap``, read key by key in
    Python: each ``{% from %}`` import checks it for globals the importing page has and the macros'
    template lacks (about 18 µs, five times on a list page), and each render copies it into the
    context. The app gives no template globals of its own (a ``get_template(name, globals)`` would add
    them to every template), so one plain dict serves, and later globals still reach every template.
    """

    code_generator_class = PageCodeGenerator
    html_text = staticmethod(html_text)

    def make_globals(self, d: Mapping[str, Any] | None) -> MutableMapping[str, Any]:
        """Return the environment's globals, or for a template given globals of its own, a layer over them."""
        return super().make_globals(d) if d else self.globals


def init_templating(app: Flask) -> None:
    """Register filters and globals (globals, so blocks rendered alone see them)."""
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["money"] = format_money
    # One zone for every time the app's pages show, not a lookup per row.
    app.jinja_env.filters["localtime"] = partial(local_time, zone=ZoneInfo(app.config["DISPLAY_TIMEZONE"]))
    app.jinja_env.filters["ago"] = time_ago
    app.jinja_env.filters["time_left"] = time_left
    app.jinja_env.filters["reason_label"] = reason_label
    app.jinja_env.filters["change_fields"] = partial(change_fields, show_money=format_money)
    app.jinja_env.filters["provider_label"] = provider_label
    app.jinja_env.filters["method_label"] = method_label
    # Rows call these: a filter is a plain call, a global goes through the template context's call.
    app.jinja_env.filters["status_badge"] = status_badge
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.filters["role_word"] = role_word
    app.jinja_env.filters["id_url"] = id_url
    app.jinja_env.globals["can_open"] = can_open
    app.jinja_env.globals["kept_field"] = kept_field
    app.jinja_env.globals["kept_part"] = kept_part
    app.jinja_env.globals["navigation_key"] = navigation_key
    app.jinja_env.globals["code_guidance"] = code_guidance
    app.jinja_env.globals["zone_label"] = zone_label(app.config["DISPLAY_TIMEZONE"])
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.globals["go_keys"] = GO_KEYS
    app.jinja_env.globals["ui_text"] = ui_text
