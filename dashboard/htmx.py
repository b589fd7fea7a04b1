"""Render a whole page, or for htmx one named block of the same template."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import get_flashed_messages
from flask import make_response
from flask import render_template
from flask import request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """Return True for an htmx request that wants a fragment (not a history restore)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page(template: str, block: str | None = None, *, status: int = 200, **context: Any) -> Response:
    """Render ``template``; for htmx render only ``block`` plus pending flash messages.

    Adds ``Vary: HX-Request`` so caches keep the page and the fragment apart.
    """
    if block and is_htmx():
        body = render_block(template, block, **context) + render_flash_oob()
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def render_flash_oob() -> str:
    """Return the flash region as an out-of-band swap when messages are waiting."""
    if not get_flashed_messages(with_categories=True):
        return ""
    return render_template("_partials/flash.html", oob=True)


def hx_redirect(location: str, status: int = 200) -> Response:
    """Tell htmx to navigate the whole page to ``location``."""
    response = make_response("", status)
    response.headers["HX-Redirect"] = location
    response.vary.add("HX-Request")
    return response
