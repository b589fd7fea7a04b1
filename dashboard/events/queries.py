"""Read an object's timeline as readable lines (who, what, the provider call behind it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.models import Event
from dashboard.events.service import timeline
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.money import format_money
from dashboard.providers.guidance import About
from dashboard.providers.guidance import Guidance
from dashboard.providers.registry import guidance
from dashboard.statuses import status_label
from dashboard.templating import local_time
from dashboard.users.models import User

#: Most events a detail page shows (oldest first); it says so when there are more.
TIMELINE_LIMIT = 500

#: Headings for the kinds the services record; other kinds get their own name, humanised.
KIND_TITLES = {
    EventKind.CREATED: _l("Created"),
    EventKind.STATUS_CHANGED: _l("Status changed"),
    EventKind.PROVIDER_CALL: _l("Provider call"),
    EventKind.NOTIFICATION: _l("Notification"),
    EventKind.REFUND_REQUESTED: _l("Refund requested"),
    EventKind.REFUND_STATUS_CHANGED: _l("Refund status changed"),
    EventKind.CANCEL_REQUESTED: _l("Cancel requested"),
    EventKind.CANCEL_STATUS_CHANGED: _l("Cancel status changed"),
    EventKind.CANCEL_AWAITS_SUPPORT: _l("Cancel left unknown"),
    EventKind.DECLARATION_REQUESTED: _l("Declared to customs"),
    EventKind.DECLARATION_STATUS_CHANGED: _l("Declaration status changed"),
    EventKind.REVOKE_REQUESTED: _l("Revoke requested"),
    EventKind.DISPUTE: _l("Dispute"),
    EventKind.JOB_FAILED: _l("Job failed"),
    EventKind.ACH_FILE_REPLACED: _l("File replaced"),
    EventKind.ACH_SUBMISSION_STATUS_CHANGED: _l("Request to the bank"),
    EventKind.ACH_PROGRESS: _l("Progress"),
    # Kinds no describer reads: their names, as the fallback would humanise them.
    EventKind.AUTH_CODE_RECEIVED: _l("Auth code received"),
    EventKind.TOKEN_REFRESHED: _l("Token refreshed"),
    EventKind.TOKEN_REFRESH_FAILED: _l("Token refresh failed"),
    EventKind.REVOKE_FAILED: _l("Revoke failed"),
}

#: A provider call's outcome (the providers' S/F/U result status) in words.
CALL_OUTCOMES = {"S": _l("succeeded (S)"), "F": _l("failed (F)"), "U": _l("unknown (U)")}
#: How a refund, cancel or declaration is named on its payment's timeline.
CHILD_LABELS = {
    "refund": _l("refund #%(id)s"),
    "cancel": _l("cancel #%(id)s"),
    "declaration": _l("declaration #%(id)s"),
}


@dataclass(frozen=True)
class ProviderCall:
    """The redacted record of one provider call, for a ``<details>`` under its timeline line."""

    method: str
    path: str
    correlation_id: str
    started_at: str
    request_body: str
    response_body: str


@dataclass(frozen=True)
class CodeNote:
    """A provider result code a timeline line carries, and what it means to staff."""

    code: str
    #: What it means and what to do next; None when there is no guidance for it yet.
    guidance: Guidance | None


@dataclass(frozen=True)
class TimelineEntry:
    """One event as a page shows it."""

    event: Event
    title: str
    #: One readable line; empty when only ``fields`` say anything.
    text: str
    #: Summary keys the line does not cover, as (key, value) text pairs: nothing recorded is hidden.
    fields: list[tuple[str, str]] = field(default_factory=list)
    call: ProviderCall | None = None
    #: The staff member who caused it (None for providers and jobs).
    actor: str | None = None
    #: The notification that caused it, linked as ``/notifications/<id>``.
    notification_id: int | None = None
    #: The provider result code the event recorded, with its guidance.
    code_note: CodeNote | None = None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _body(value: Any) -> str:
    if value is None or value == "":
        return _("(none)")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)


def _transition(summary: dict[str, Any], key: str = "status") -> str:
    old, new = summary.pop(key)
    return f"{status_label(old) if old else _('none')} → {status_label(new)}"


def _amount(summary: dict[str, Any]) -> str:
    if "amount_minor" not in summary or "currency" not in summary:
        return ""
    return format_money(int(summary.pop("amount_minor")), summary.pop("currency"))


def _joined(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


def _result(summary: dict[str, Any]) -> str:
    code, message = summary.pop("result_code", None), summary.pop("result_message", None)
    return ": ".join(str(part) for part in (code, message) if part)


def _created(summary: dict[str, Any]) -> str:
    return _joined(str(summary.pop("status", "")), _amount(summary))


def _status_changed(summary: dict[str, Any]) -> str:
    return _joined(_transition(summary), _result(summary))


def _notification(summary: dict[str, Any]) -> str:
    summary.pop("notification_id", None)
    return _joined(str(summary.pop("kind", "")), str(summary.pop("outcome", "")))


def _child(name: str) -> Callable[[dict[str, Any]], str]:
    """Describe a refund, cancel or declaration event recorded on its payment's timeline."""

    def describe(summary: dict[str, Any]) -> str:
        child_id = summary.pop(f"{name}_id", None)
        label = CHILD_LABELS[name] % {"id": child_id} if child_id is not None else ""
        change = _transition(summary) if "status" in summary else ""
        return _joined(label, change, _amount(summary), _result(summary))

    return describe


def _awaits_support(summary: dict[str, Any]) -> str:
    return _joined(_child("cancel")(summary), str(summary.pop("guidance", "") or ""))


def _declaration(summary: dict[str, Any]) -> str:
    customs = summary.pop("customs_code", None)
    return _joined(_child("declaration")(summary), _("to %(customs)s", customs=customs) if customs else "")


def _dispute(summary: dict[str, Any]) -> str:
    dispute_id = summary.pop("dispute_id", None)
    defend_by = summary.pop("defend_by", None)
    return _joined(
        _("dispute %(id)s", id=dispute_id) if dispute_id else "",
        str(summary.pop("stage", "") or ""),
        _amount(summary),
        str(summary.pop("reason", "") or ""),
        _("defend by %(time)s", time=local_time(datetime.fromisoformat(defend_by), with_zone=True))
        if defend_by
        else "",
    )


def _revoke(summary: dict[str, Any]) -> str:
    return str(summary.pop("reason", "") or "")


def _job_failed(summary: dict[str, Any]) -> str:
    return ": ".join(str(part) for part in (summary.pop("job", ""), summary.pop("error", "")) if part)


def _payroll_file(summary: dict[str, Any]) -> str:
    rows, errors = summary.pop("items"), summary.pop("errors")
    return _joined(
        str(summary.pop("file_name", "")),
        _("%(count)s rows", count=rows),
        _("%(count)s with errors", count=errors) if errors else "",
    )


def _bank_request(summary: dict[str, Any]) -> str:
    number = summary.pop("submission")
    problems = summary.pop("problems", None) or ()
    return _joined(
        _("request %(number)s", number=number),
        _transition(summary),
        _result(summary),
        "; ".join(str(problem["message"]) for problem in problems),
    )


def _progress(summary: dict[str, Any]) -> str:
    final, total, paid, rejected = (summary.pop(key) for key in ("final", "total", "paid", "rejected"))
    paid_minor, currency = summary.pop("paid_minor", 0), summary.pop("currency", None)
    summary.pop("items", None)
    return _joined(
        _("%(final)s of %(total)s final", final=final, total=total),
        _("%(count)s paid (%(amount)s)", count=paid, amount=format_money(int(paid_minor), currency))
        if currency
        else _("%(count)s paid", count=paid),
        _("%(count)s rejected", count=rejected),
    )


def _provider_call(summary: dict[str, Any]) -> str:
    status = summary.pop("status", None)
    duration = summary.pop("duration_ms", None)
    outcome = summary.pop("outcome", None)
    operation = " ".join(str(summary.pop(key, "") or "") for key in ("provider", "operation")).strip()
    return _joined(
        operation,
        f"HTTP {status}" if status else _("no HTTP answer"),
        f"{duration} ms" if duration is not None else "",
        str(CALL_OUTCOMES.get(outcome) or _("outcome %(outcome)s", outcome=outcome)) if outcome else "",
        str(summary.pop("error", "") or ""),
    )


_DESCRIBERS: dict[str, Callable[[dict[str, Any]], str]] = {
    EventKind.CREATED: _created,
    EventKind.STATUS_CHANGED: _status_changed,
    EventKind.PROVIDER_CALL: _provider_call,
    EventKind.NOTIFICATION: _notification,
    EventKind.REFUND_REQUESTED: _child("refund"),
    EventKind.REFUND_STATUS_CHANGED: _child("refund"),
    EventKind.CANCEL_REQUESTED: _child("cancel"),
    EventKind.CANCEL_STATUS_CHANGED: _child("cancel"),
    EventKind.CANCEL_AWAITS_SUPPORT: _awaits_support,
    EventKind.DECLARATION_REQUESTED: _declaration,
    EventKind.DECLARATION_STATUS_CHANGED: _declaration,
    EventKind.REVOKE_REQUESTED: _revoke,
    EventKind.DISPUTE: _dispute,
    EventKind.JOB_FAILED: _job_failed,
    EventKind.ACH_FILE_REPLACED: _payroll_file,
    EventKind.ACH_SUBMISSION_STATUS_CHANGED: _bank_request,
    EventKind.ACH_PROGRESS: _progress,
}


def _call_record(summary: dict[str, Any]) -> ProviderCall:
    return ProviderCall(
        method=_text(summary.pop("method", "")),
        path=_text(summary.pop("path", "")),
        correlation_id=_text(summary.pop("correlation_id", "")),
        started_at=_text(summary.pop("started_at", "")),
        request_body=_body(summary.pop("request_body", None)),
        response_body=_body(summary.pop("response_body", None)),
    )


def _kept_on(object_type: str, summary: dict[str, Any]) -> About:
    """Say what an event's result code is kept on: a refund or cancel named in it, else its object."""
    if summary.get("refund_id") is not None:
        return About.REFUND
    if summary.get("cancel_id") is not None:
        return About.CANCEL
    if summary.get("declaration_id") is not None:
        return About.DECLARATION
    return About.AGREEMENT if object_type == ObjectType.AGREEMENT else About.PAYMENT


def _code_note(event: Event, summary: dict[str, Any], provider: str | None) -> CodeNote | None:
    code = summary.get("result_code")
    if not isinstance(code, str) or not code:
        return None
    return CodeNote(code, guidance(provider, code, _kept_on(event.object_type, summary)))


def describe(event: Event, actor: str | None = None, provider: str | None = None) -> TimelineEntry:
    """Turn an event into a timeline line; an unknown kind or an odd summary shows as key/value pairs.

    :param provider: the code of the provider behind the object, whose guidance explains a result
        code the event recorded
    """
    title = str(KIND_TITLES.get(event.kind) or event.kind.replace("_", " ").capitalize())
    raw = event.summary if isinstance(event.summary, dict) else {"summary": event.summary}
    summary = dict(raw)
    describer = _DESCRIBERS.get(event.kind)
    text, call = "", None
    if describer is not None:
        try:
            call = _call_record(summary) if event.kind == EventKind.PROVIDER_CALL else None
            text = describer(summary)
        except (KeyError, TypeError, ValueError):
            summary, text, call = dict(raw), "", None
    fields = [(key, _text(value)) for key, value in summary.items() if value is not None]
    notification_id = event.notification_id or raw.get("notification_id")
    if not isinstance(notification_id, int):
        notification_id = None
    return TimelineEntry(
        event, title, text, fields, call, actor, notification_id, _code_note(event, raw, provider)
    )


def staff_names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Return the names of the given staff members by id (one query; unknown ids are left out)."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


@dataclass(frozen=True)
class Timeline:
    """An object's timeline lines, oldest first; ``truncated`` when it has more than are shown."""

    entries: list[TimelineEntry]
    truncated: bool


def object_timeline(
    session: Session, object_type: str, object_id: int, provider: str | None = None
) -> Timeline:
    """Return an object's timeline (oldest first, at most :data:`TIMELINE_LIMIT` lines).

    :param provider: the code of the object's provider, whose guidance explains result codes
    """
    events = timeline(session, object_type, object_id, limit=TIMELINE_LIMIT + 1)
    names = staff_names(session, (event.actor_id for event in events))
    return Timeline(
        [describe(event, names.get(event.actor_id), provider) for event in events[:TIMELINE_LIMIT]],
        truncated=len(events) > TIMELINE_LIMIT,
    )
