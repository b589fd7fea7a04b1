"""Provider webhooks, one per provider that notifies (``POST /webhooks/antom`` …; public, no CSRF).

Providers are machines, and at provider scale every millisecond of a webhook counts: their POSTs
are answered in front of Flask's request handling, by a WSGI layer that does only intake's work —
no staff session or cookie, no access check, no rate limiter on verified traffic (DESIGN §8: it
must never be limited away). A POST whose signature fails is limited per client address before it
is stored, so a forged flood cannot fill the inbox. Anything else on those paths goes to Flask.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from functools import cache
from typing import Any

from flask import Flask
from flask import current_app
from limits import parse
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.exceptions import TooManyRequests
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from dashboard.extensions import limiter
from dashboard.notifications.intake import Checked
from dashboard.notifications.intake import check
from dashboard.notifications.intake import store
from dashboard.notifications.intake import without_body
from dashboard.providers.entry import Provider
from dashboard.providers.entry import WebhookAnswer
from dashboard.providers.registry import NOTIFYING
from dashboard.security import add_security_headers

#: Largest body accepted; real notifications are a few kilobytes.
MAX_BODY_BYTES = 64 * 1024
#: POSTs with a bad or missing signature stored per client address; more are refused with 429.
UNVERIFIED_LIMIT = parse("60 per minute")
_LIMIT_SCOPE = "webhooks.unverified"
#: The bodies of unverified POSTs kept, counted for all addresses together (a flood from many
#: addresses passes the per-address limit, but fills no disk).
_SAMPLE_SCOPE = "webhooks.rejected_bodies"


def webhook_routes(config: Mapping[str, Any]) -> dict[str, Provider]:
    """Return each path providers POST notifications to, and the provider it belongs to.

    The paths are settings: they are the public notify URLs' paths below PUBLIC_BASE_URL.
    """
    return {entry.webhook.path(config): entry for entry in NOTIFYING.values()}


def _raw_body(request: Request) -> bytes:
    """Return the body exactly as received, after the type and size checks (415 / 413)."""
    # The media type alone, as Request.mimetype reads it, without parsing the parameters after it.
    mimetype = request.environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType()
    # One byte over the limit is read on purpose: without a Content-Length (chunked transfer)
    # Werkzeug stops quietly at max_content_length, so a longer body would come back cut short.
    request.max_content_length = MAX_BODY_BYTES + 1
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    return body


def _limit_unverified(request: Request) -> None:
    """Refuse with 429 (and ``Retry-After``) when this address sent too many unverified POSTs lately."""
    wait = limiter.count_call(UNVERIFIED_LIMIT, _LIMIT_SCOPE, request.remote_addr or "")
    if wait is not None:
        raise TooManyRequests(retry_after=wait)


def _sampled(checked: Checked, config: Mapping[str, Any]) -> Checked:
    """Return an unverified POST as stored: with its body while this hour's sample has room, else
    without (its verdict, headers and size are kept either way)."""
    per_hour = config["REJECTED_BODIES_PER_HOUR"]
    kept = per_hour > 0 and limiter.hit(parse(f"{per_hour} per hour"), _SAMPLE_SCOPE)
    return checked if kept else without_body(checked)


def receive(entry: Provider, request: Request) -> WebhookAnswer:
    """Store and verify a notification from ``entry``; return the answer its provider expects."""
    checked = check(entry, request.headers, _raw_body(request))
    if not checked.verified:
        _limit_unverified(request)
        checked = _sampled(checked, current_app.config)
    intake = store(checked)
    return entry.webhook.acknowledgement if intake.accepted else entry.webhook.refusal


@cache
def _prepared(answer: WebhookAnswer) -> tuple[str, tuple[tuple[str, str], ...], bytes]:
    """Return ``answer``'s status line, headers (the security headers too) and body, made once."""
    response = add_security_headers(Response(answer.body, answer.status, content_type=answer.content_type))
    return response.status, tuple(response.headers.to_wsgi_list()), answer.body


class Webhooks:
    """WSGI middleware: answers POSTs to the webhook paths itself, in an app context; passes the rest on."""

    def __init__(self, app: Flask, routes: Mapping[str, Provider], wsgi_app):
        self.app = app
        self.routes = dict(routes)
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        entry = self.routes.get(environ.get("PATH_INFO", ""))
        if entry is None or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        request = Request(environ)
        with self.app.app_context():
            try:
                answer = receive(entry, request)
            except HTTPException as refused:
                return add_security_headers(refused.get_response(environ))(environ, start_response)
        # The same few answers every time: built once, not as a Response per notification.
        status, headers, body = _prepared(answer)
        start_response(status, list(headers))
        return [body]


def init_webhooks(app: Flask) -> None:
    """Put the webhooks in front of ``app``'s request handling."""
    app.wsgi_app = Webhooks(app, webhook_routes(app.config), app.wsgi_app)
