"""The notifications inbox: every provider notification, one in full, Reprocess and Ask the provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from markupsafe import Markup
from markupsafe import escape

from dashboard import clock
from dashboard.auth.access import roles
from dashboard.auth.forms import EmptyForm
from dashboard.db import reads_only
from dashboard.events.kinds import ObjectType
from dashboard.events.service import latest_event_id
from dashboard.extensions import db
from dashboard.htmx import render_page
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import Cursor
from dashboard.listing import filter_args
from dashboard.listing import keys_after
from dashboard.listing import new_rows_bar
from dashboard.listing import newest_key
from dashboard.listing import no_rows_page
from dashboard.listing import rendered_after
from dashboard.listing import shown_rows
from dashboard.listing import valid_filters
from dashboard.notifications import service
from dashboard.notifications.forms import OUTCOME_LABELS
from dashboard.notifications.forms import VERDICT_LABELS
from dashboard.notifications.forms import NotificationFilterForm
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Notification
from dashboard.notifications.models import Verdict
from dashboard.notifications.queries import LISTED_COLUMNS
from dashboard.notifications.queries import NotificationFilter
from dashboard.notifications.queries import found_notifications
from dashboard.notifications.queries import notification_conditions
from dashboard.notifications.queries import notification_detail
from dashboard.notifications.queries import notification_page
from dashboard.notifications.retention import recent_rejections
from dashboard.request_memo import once_a_request
from dashboard.templating import badge
from dashboard.templating import can_open
from dashboard.templating import id_url
from dashboard.templating import id_url_start
from dashboard.templating import link

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

#: The endpoint and its id argument of the page of each kind of object a notification, event or audit
#: entry may be about (a refund's is its row on its payment's page).
OBJECT_PAGES = {
    ObjectType.PAYMENT: ("payments.detail", "payment_id"),
    ObjectType.REFUND: ("payments.refund_detail", "refund_id"),
    ObjectType.AGREEMENT: ("agreements.detail", "agreement_id"),
    ObjectType.ACH_BATCH: ("ach.detail", "batch_id"),
    ObjectType.SETTLEMENT_BATCH: ("settlements.detail", "settlement_id"),
    ObjectType.NOTIFICATION: ("notifications.detail", "notification_id"),
    ObjectType.USER: ("users.detail", "user_id"),
}


#: How the type of a linked object reads ("payment 12").
OBJECT_LABELS = {
    ObjectType.PAYMENT: _l("payment"),
    ObjectType.REFUND: _l("refund"),
    ObjectType.AGREEMENT: _l("agreement"),
    ObjectType.ACH_BATCH: _l("payroll batch"),
    ObjectType.NOTIFICATION: _l("notification"),
    ObjectType.USER: _l("user"),
    ObjectType.SETTLEMENT_BATCH: _l("settlement batch"),
    ObjectType.REPORT: _l("report"),
}

#: How a linked object reads: its type's label and its id.
OBJECT_WORDS = _l("%(object)s %(id)s")

#: A badge's tint for each outcome and verdict (the words carry the meaning).
OUTCOME_TONES = {
    "applied": "ok",
    "pending": "info",
    "duplicate": "muted",
    "late": "muted",
    "unmatched": "warn",
    "failed": "err",
    "rejected": "err",
}
VERDICT_TONES = {"valid": "ok", "unchecked": "muted", "invalid": "err", "missing": "err"}


@bp.app_template_filter()
def outcome_badge(outcome: str) -> Markup:
    """Show an outcome as the inbox says it, in a :func:`badge` (each outcome's made once a request)."""
    return once_a_request(_outcome_badge, outcome)


def _outcome_badge(outcome: str) -> Markup:
    return badge(OUTCOME_TONES.get(outcome, "muted"), outcome_label(outcome))


@bp.app_template_filter()
def verdict_badge(verdict: str) -> Markup:
    """Show a signature verdict in a :func:`badge` (each verdict's made once a request)."""
    return once_a_request(_verdict_badge, verdict)


def _verdict_badge(verdict: str) -> Markup:
    return badge(VERDICT_TONES.get(verdict, "muted"), str(VERDICT_LABELS.get(verdict, verdict)))


@bp.app_template_filter()
def notification_link(notification_id: int) -> Markup:
    """Link ``#<id>`` to the notification's page."""
    return link(
        id_url(notification_id, "notifications.detail", "notification_id"), f"#{int(notification_id)}"
    )


class AboutAnObject(Protocol):
    """A notification, or an event, row: what it is about."""

    object_type: str | None
    object_id: str | None


@bp.app_template_filter()
def object_link(record: AboutAnObject) -> Markup:
    """Show the object ``record`` is about as a link to its page when the user may open it; else as text."""
    object_type, object_id = record.object_type, record.object_id
    if not object_type:
        return Markup('<span class="muted">—</span>')
    shown = _object_shown(object_type)
    text = shown.words % {"object": shown.label, "id": object_id}
    href = shown.href(object_id)
    return link(href, text) if href else escape(text)


@bp.app_template_global()
def object_href(object_type: str | None, object_id: str | int | None) -> str | None:
    """Return the page of the object named, or None when it has none or the user may not open it."""
    return _object_shown(object_type).href(object_id) if object_type else None


@dataclass(frozen=True)
class _ObjectShown:
    """How one type of object reads in this request, and where its pages are (None: nowhere it may go)."""

    label: str
    page_start: str | None
    #: :data:`OBJECT_WORDS` in this request's language.
    words: str

    def href(self, object_id: str | int | None) -> str | None:
        """Return the page of the object numbered ``object_id``, or None (no page, or not a number)."""
        text = str(object_id)
        if self.page_start is None or not (text.isascii() and text.isdigit()):
            return None
        return f"{self.page_start}{int(text)}"


def _object_shown(object_type: str) -> _ObjectShown:
    """Return how ``object_type`` reads and links, worked out once per request.

    The inbox and the audit log link the object of every row: its label and whether the user may
    open its page are the same for every row of a type.
    """
    return once_a_request(_object_shown_now, object_type)


def _object_shown_now(object_type: str) -> _ObjectShown:
    page = OBJECT_PAGES.get(object_type)
    start = id_url_start(*page) if page is not None and can_open(page[0]) else None
    return _ObjectShown(str(OBJECT_LABELS.get(object_type, object_type)), start, str(OBJECT_WORDS))


@bp.app_template_filter()
def outcome_label(outcome: str) -> str:
    """Say an outcome the way the inbox does ("applied" reads "processed"), in the page's language."""
    return str(OUTCOME_LABELS.get(outcome, outcome))


# Every role reads the inbox: viewer (auditors) by DESIGN §1, and each role includes viewer.
@bp.get("/")
@reads_only
@roles("viewer", "admin")
def index():
    """List notifications matching the filters or the search, newest first, one keyset page at a time."""
    form = NotificationFilterForm(request.args)
    before = Cursor.parse(request.args.get("before"), timed=False)
    filters = valid_filters(form, NotificationFilter)
    zone = current_app.config["DISPLAY_TIMEZONE"]
    # Read before the rows, so every notification after them reaches the page live (the event
    # cursor is read with them).
    newest = newest_key(db.session, Notification.id)
    page = notification_page(db.session, filters, zone, before) if filters else no_rows_page(db.session)
    return render_page(
        "notifications/index.html",
        "results",
        form=form,
        page=page,
        latest_event_id=page.live_from,
        newest=newest,
        # Counted only where staff look at signature failures: other pages of the list count nothing.
        rejected=recent_rejections(db.session, clock.now()) if _shows_rejected(filters) else None,
        deeper=before is not None,
        query_args=filter_args(request.args),
    )


@bp.get("/new")
@reads_only
@roles("viewer", "admin")
def new_rows():
    """Answer the inbox's "N new notifications" bar: notifications received after the page's newest
    (``after``) that its filters match, and how many more do not."""
    form = NotificationFilterForm(request.args)
    filters = valid_filters(form, NotificationFilter)
    conditions = None
    if filters:
        zone = current_app.config["DISPLAY_TIMEZONE"]
        conditions = notification_conditions(filters, zone, found_notifications(db.session, filters))
    new_ids = keys_after(db.session, Notification.id, rendered_after())
    return new_rows_bar(db.session, "notifications/index.html", Notification.id, new_ids, conditions)


@bp.get("/rows")
@reads_only
@roles("viewer", "admin")
def rows():
    """Re-render the inbox rows of the notifications ``id`` names, as they are now."""
    return shown_rows(db.session, "notifications/index.html", LISTED_COLUMNS, Notification.id)


_REJECTED_VERDICTS = frozenset(verdict.value for verdict in Verdict if verdict != Verdict.VALID)


def _shows_rejected(filters: NotificationFilter | None) -> bool:
    return filters is not None and (
        filters.verdict in _REJECTED_VERDICTS or filters.outcome == InboxOutcome.REJECTED
    )


@bp.get("/<int:notification_id>")
@roles("viewer", "admin")
def detail(notification_id: int):
    """Show one notification: its facts, headers, redacted body and what it changed."""
    cursor = latest_event_id(db.session)  # before the notification: later changes reach the page live
    shown = notification_detail(db.session, notification_id)
    if shown is None:
        abort(404)
    return render_page(
        "notifications/detail.html",
        "detail",
        detail=shown,
        latest_event_id=cursor,
        action_form=EmptyForm(),
        reprocess_refusal=service.reprocess_refusal(shown.notification),
        can_ask=service.can_ask_provider(shown.notification),
    )


@bp.post("/<int:notification_id>/reprocess")
@roles("admin")
def reprocess(notification_id: int):
    """Queue a verified notification to be applied again (audited by the service)."""
    try:
        service.reprocess(notification_id)
    except service.ReprocessRefused as refused:
        flash(
            _("Notification %(id)s cannot be reprocessed: %(why)s.", id=notification_id, why=refused), "error"
        )
    else:
        flash(_("Notification %(id)s is queued to be applied again.", id=notification_id), "success")
    return redirect(url_for("notifications.detail", notification_id=notification_id))


# Support (and managers) may ask too: it only runs the inquiry the jobs would run anyway.
@bp.post("/<int:notification_id>/ask")
@roles("admin", "support")
def ask_provider(notification_id: int):
    """Ask the provider now about the notification's payment or agreement; say what came back."""
    try:
        answer = service.ask_provider_audited(notification_id)
    except service.ReprocessRefused as refused:
        flash(_("Notification %(id)s: %(why)s.", id=notification_id, why=refused), "error")
    else:
        flash(str(answer), "info")
    return redirect(url_for("notifications.detail", notification_id=notification_id))
