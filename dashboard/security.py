"""Security headers on every response (DESIGN §8 "Browser side"), and what no page accepts."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import abort
from flask import request

from dashboard.i18n import lazy_gettext as _l

#: What a page answers to a field holding a NUL character.
NUL_REFUSED = _l(
    "A value you sent holds a NUL character (\\0), which no field accepts. Remove it and try again."
)

#: No inline script, no eval, no third-party origins.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


#: What every response carries unless its view set its own: (name in lower case, name, value).
SECURITY_HEADERS = [
    (name.lower(), name, value)
    for name, value in (
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    )
]


def add_security_headers(response: Response) -> Response:
    """Set CSP, nosniff, the referrer and opener policies and frame denial, and on HTML no caching,
    unless a view set its own."""
    headers = response.headers
    # One look at the names already set: each ``setdefault`` would walk them all again (10 µs a
    # response in all, where a provider's notification takes 300 µs).
    present = {name.lower() for name, _value in headers.items()}
    for lower, name, value in SECURITY_HEADERS:
        if lower not in present:
            headers.add(name, value)
    if "cache-control" not in present and response.mimetype == "text/html":
        headers.add("Cache-Control", "no-store")
    return response


def refuse_nul_input() -> None:
    """Refuse (400) a query or form value holding a NUL: PostgreSQL's text cannot hold one, and no
    search, filter, e-mail or note needs it. Files and provider notifications never come here.

    A GET or HEAD is read by its query alone: no view reads a form from one, and parsing its empty
    form would cost every page and live poll.
    """
    for values in (request.args,) if request.method in ("GET", "HEAD") else (request.args, request.form):
        if any("\x00" in name or "\x00" in "".join(items) for name, items in values.lists()):
            abort(400, description=NUL_REFUSED)


def init_security(app: Flask) -> None:
    """Register the header hook and the check of what pages are sent."""
    app.before_request(refuse_nul_input)
    app.after_request(add_security_headers)
