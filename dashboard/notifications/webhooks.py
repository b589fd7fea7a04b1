"""Provider webhooks, one per provider that notifies (``POST /webhooks/antom`` …; public, CSRF-exempt)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from flask import Response
from flask import abort
from flask import request

from dashboard.auth.access import public
from dashboard.extensions import csrf
from dashboard.notifications.intake import receive as receive_notification
from dashboard.providers.entry import Provider
from dashboard.providers.registry import NOTIFYING

#: Largest body accepted; real notifications are a few kilobytes.
MAX_BODY_BYTES = 64 * 1024

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)


def _raw_body() -> bytes:
    """Return the body exactly as received, after the type and size checks (415 / 413)."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        abort(415)
    # One byte over the limit is read on purpose: without a Content-Length (chunked transfer)
    # Werkzeug stops quietly at max_content_length, so a longer body would come back cut short.
    request.max_content_length = MAX_BODY_BYTES + 1
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY_BYTES:
        abort(413)
    return body


def _endpoint(entry: Provider) -> Callable[[], Response]:
    """Return the view that stores, verifies and acknowledges ``entry``'s notifications."""

    @public
    def receive() -> Response:
        intake = receive_notification(entry, request.headers, _raw_body())
        answer = entry.webhook.acknowledgement if intake.accepted else entry.webhook.refusal
        return Response(answer.body, answer.status, content_type=answer.content_type)

    receive.__doc__ = f"Store, verify and acknowledge a notification from {entry.label}."
    return receive


@bp.record_once
def _mount(state) -> None:
    # The paths are settings: they are the public notify URLs' paths below PUBLIC_BASE_URL. Each
    # provider's endpoint is named after it (webhooks.antom, webhooks.worldpay).
    for entry in NOTIFYING.values():
        path = entry.webhook.path(state.app.config)
        state.add_url_rule(path, entry.code, _endpoint(entry), methods=["POST"])
