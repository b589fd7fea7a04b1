"""The live-update feed pages poll (DESIGN §6, §8 "Live-update feed")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from dashboard.auth.access import any_staff
from dashboard.auth.access import passive
from dashboard.events.service import Topic
from dashboard.events.service import poll
from dashboard.extensions import db

bp = Blueprint("events", __name__)

#: Most topics one poll may ask about (a page has a handful of live regions).
MAX_TOPICS = 20
_USAGE = f"give after=<event id> and 1 to {MAX_TOPICS} topic=<type> or topic=<type>:<id>"


def _json(status: int = 200, **body: Any) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/live")
@any_staff
@passive
def live():
    """Return events on the page's topics after its cursor, re-reading a look-back window.

    Polls are passive: they do not keep an idle session alive.
    """
    after = request.args.get("after", type=int)
    values = request.args.getlist("topic")
    if after is None or after < 0 or not 0 < len(values) <= MAX_TOPICS:
        return _json(400, error=_USAGE)
    try:
        topics = list(dict.fromkeys(Topic.parse(value) for value in values))
    except ValueError as bad:
        return _json(400, error=str(bad))
    events = poll(db.session, after, topics)
    return _json(
        cursor=max([after, *(event.id for event in events)]),
        events=[
            {
                "id": event.id,
                "topic": f"{event.object_type}:{event.object_id}",
                "object_type": event.object_type,
                "object_id": event.object_id,
                "kind": event.kind,
            }
            for event in events
        ],
    )
