"""The live-update feed pages poll (DESIGN §6, §8 "Live-update feed")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from dashboard.audit.models import AuditLog
from dashboard.auth.access import any_staff
from dashboard.auth.access import passive
from dashboard.db import is_row_id
from dashboard.db import reads_only
from dashboard.events.service import Topic
from dashboard.events.service import poll
from dashboard.extensions import db
from dashboard.listing import newest_key
from dashboard.notifications.models import Notification
from dashboard.templating import can_open

bp = Blueprint("events", __name__)

#: Most topics one poll may ask about (a page has a handful of live regions).
MAX_TOPICS = 20
#: Lists whose rows record no events: a poll may ask for their newest key (``newest=audit``), which
#: their "N new" bar counts from; each is readable by whoever may open the list.
NEWEST = {
    "notification": ("notifications.index", Notification.id),
    "audit": ("audit.index", AuditLog.seq),
}
_USAGE = (
    f"give after=<event id>, up to {MAX_TOPICS} topic=<type> or topic=<type>:<id>"
    f" and newest=<{'|'.join(NEWEST)}>, at least one topic or newest"
)


def _json(status: int = 200, **body: Any) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/live")
@reads_only
@any_staff
@passive
def live():
    """Return events on the page's topics after its cursor, re-reading a look-back window, and the
    newest keys of the lists it names.

    Polls are passive: they do not keep an idle session alive.
    """
    after_text = request.args.get("after", "")
    after = int(after_text) if is_row_id(after_text) else None
    values = request.args.getlist("topic")
    lists = list(dict.fromkeys(request.args.getlist("newest")))
    if after is None or len(values) > MAX_TOPICS or not (values or lists):
        return _json(400, error=_USAGE)
    if any(name not in NEWEST for name in lists):
        return _json(400, error=_USAGE)
    if not all(can_open(NEWEST[name][0]) for name in lists):
        return _json(403, error="your role may not read that list")
    try:
        topics = list(dict.fromkeys(Topic.parse(value) for value in values))
    except ValueError as bad:
        return _json(400, error=str(bad))
    events = poll(db.session, after, topics)
    return _json(
        cursor=max([after, *(event.id for event in events)]),
        newest={name: newest_key(db.session, NEWEST[name][1]) for name in lists},
        events=[
            {
                "id": event.id,
                "topic": f"{event.object_type}:{event.object_id}",
                "object_type": event.object_type,
                "object_id": event.object_id,
                "kind": event.kind,
                "notification_id": event.notification_id,
            }
            for event in events
        ],
    )
