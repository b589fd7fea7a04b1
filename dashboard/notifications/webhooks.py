"""Provider webhooks, one per provider that notifies (``POST /webhooks/antom`` …; public, CSRF-exempt).

Providers are machines: a webhook opens no session and sets no cookie, and verified traffic passes
no rate limit (DESIGN §8: it must never be limited away). A POST whose signature fails is limited
per client address before it is stored, so a forged flood cannot fill the inbox.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from flask import Blueprint
from flask import Response
from flask import abort
from flask import request
from flask_limiter.util import get_remote_address
from limits import parse

from dashboard.auth.access import public
from dashboard.extensions import csrf
from dashboard.extensions import limiter
from dashboard.notifications.intake import check
from dashboard.notifications.intake import store
from dashboard.providers.entry import Provider
from dashboard.providers.registry import NOTIFYING

#: Largest body accepted; real notifications are a few kilobytes.
MAX_BODY_BYTES = 64 * 1024
#: POSTs with a bad or missing signature stored per client address; more are refused with 429.
UNVERIFIED_LIMIT = parse("60 per minute")

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)


@limiter.request_filter
def _is_webhook() -> bool:
    """Keep the limiter's per-request work off webhooks (unverified POSTs are limited below)."""
    return request.blueprint == bp.name


def webhook_paths(config: Mapping[str, Any]) -> frozenset[str]:
    """Return the paths providers POST notifications to."""
    return frozenset(entry.webhook.path(config) for entry in NOTIFYING.values())


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


def _limit_unverified() -> None:
    """Refuse with 429 when this address sent too many unverified POSTs lately."""
    if limiter.enabled and not limiter.limiter.hit(UNVERIFIED_LIMIT, bp.name, get_remote_address()):
        abort(429)


def _endpoint(entry: Provider) -> Callable[[], Response]:
    """Return the view that stores, verifies and acknowledges ``entry``'s notifications."""

    @public
    def receive() -> Response:
        checked = check(entry, request.headers, _raw_body())
        if not checked.verified:
            _limit_unverified()
        intake = store(checked)
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
