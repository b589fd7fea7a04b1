"""Provider webhooks: ``POST /webhooks/antom`` and ``POST /webhooks/worldpay`` (public, CSRF-exempt)."""

from __future__ import annotations

import json

from flask import Blueprint
from flask import Response
from flask import abort
from flask import request

from dashboard.auth.access import public
from dashboard.extensions import csrf
from dashboard.notifications import service
from dashboard.providers.antom.consts import NOTIFICATION_ACK
from dashboard.providers.antom.consts import PROVIDER as ANTOM
from dashboard.providers.antom.settings import DEFAULT_NOTIFY_PATH
from dashboard.providers.worldpay.consts import PROVIDER as WORLDPAY
from dashboard.providers.worldpay.settings import DEFAULT_WEBHOOK_PATH

#: Largest body accepted; real notifications are a few kilobytes.
MAX_BODY_BYTES = 64 * 1024

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)

#: Antom retries anything but this exact SUCCESS answer, so a bad signature gets a failure.
_ANTOM_REFUSAL = json.dumps(
    {
        "result": {
            "resultCode": "INVALID_SIGNATURE",
            "resultStatus": "F",
            "resultMessage": "The signature could not be verified.",
        }
    },
    separators=(",", ":"),
).encode()


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


@public
def antom() -> Response:
    """Store, verify and acknowledge an Antom notification (payment, refund or authorization)."""
    intake = service.receive(ANTOM, request.headers, _raw_body())
    if intake.accepted:
        return Response(NOTIFICATION_ACK, 200, content_type="application/json")
    return Response(_ANTOM_REFUSAL, 401, content_type="application/json")


@public
def worldpay() -> Response:
    """Store, verify and acknowledge a Worldpay event: 200 once verified, 400 on a bad signature."""
    intake = service.receive(WORLDPAY, request.headers, _raw_body())
    return Response(status=200 if intake.accepted else 400)


@bp.record_once
def _mount(state) -> None:
    # The paths are settings: they are the public notify URLs' paths below PUBLIC_BASE_URL.
    config = state.app.config
    state.add_url_rule(
        config.get("ANTOM_NOTIFY_PATH") or DEFAULT_NOTIFY_PATH, "antom", antom, methods=["POST"]
    )
    state.add_url_rule(
        config.get("WORLDPAY_WEBHOOK_PATH") or DEFAULT_WEBHOOK_PATH, "worldpay", worldpay, methods=["POST"]
    )
