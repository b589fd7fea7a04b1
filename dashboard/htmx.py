"""Render a whole page, or for htmx one named block of the same template; answer forms one way."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response
from flask import get_flashed_messages
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from jinja2_fragments.flask import render_block
from wtforms import Form


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


def render_fragment(template: str, block: str, **context: Any) -> Response:
    """Render only ``block`` of ``template``, for a live region that asks for a piece of its page."""
    response = make_response(render_block(template, block, **context))
    response.headers["Cache-Control"] = "no-store"
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


def navigate(location: str) -> Response:
    """Send the browser to ``location``: a redirect, or for htmx a whole-page navigation."""
    if is_htmx():
        return hx_redirect(location)
    response = redirect(location)
    response.vary.add("HX-Request")
    return response


def render_form(template: str, block: str | None, form: Form, /, **context: Any) -> Response:
    """Render a page with ``form`` (for htmx its ``block``): 422 when the form has errors."""
    return render_page(template, block, status=422 if form.errors else 200, **context)


def form_done(
    location: str,
    template: str | None = None,
    block: str | None = None,
    /,
    *,
    oob: Iterable[str] = (),
    **context: Any,
) -> Response:
    """Answer a form that worked, never with a bare redirect into the form (DESIGN §9).

    A plain browser is redirected to ``location`` (post/redirect/get). htmx navigates to
    ``location``, where the flash is shown; or, given ``block``, gets that block afresh with
    the ``oob`` partials and the flash out of band.

    :param location: the page that shows the result
    :param oob: partial templates rendered with ``oob=True``; each marks its root element
        ``hx-swap-oob`` and keeps the id it has on the page
    """
    if block is None or not is_htmx():
        return navigate(location)
    body = render_block(template, block, **context)
    body += "".join(render_template(partial, oob=True, **context) for partial in oob)
    response = make_response(body + render_flash_oob())
    response.vary.add("HX-Request")
    return response
