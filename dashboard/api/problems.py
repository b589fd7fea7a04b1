"""Errors of the storefront API as RFC 9457 problem details (``application/problem+json``).

Every problem has a ``type`` (a URN naming the kind of problem, listed in the OpenAPI document),
a ``title`` that is the same for every problem of the type, the HTTP ``status`` and a ``detail``
about this occurrence; invalid input adds ``errors``, each naming the field with a JSON pointer
into the body (``/amount``) or the query parameter it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response
from flask import json

MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:back-office:problem:"

#: Each kind of problem: its slug (the end of its type URN), its status and its title.
TITLES: Mapping[str, tuple[int, str]] = {
    "invalid-body": (400, "The body is not a JSON object"),
    "idempotency-key-required": (400, "An Idempotency-Key header is required"),
    "unauthorized": (401, "A valid API key is required"),
    "insufficient-scope": (403, "The API key lacks the scope this needs"),
    "not-found": (404, "There is no such object"),
    "method-not-allowed": (405, "The method is not allowed here"),
    "idempotency-key-in-progress": (409, "A request with this Idempotency-Key is still being answered"),
    "too-large": (413, "The body is too large"),
    "unsupported-media-type": (415, "The body must be application/json"),
    "validation": (422, "The request has invalid fields"),
    "idempotency-key-reused": (422, "This Idempotency-Key was used for another request"),
    "refused": (422, "The request breaks a rule"),
    "provider-refused": (422, "The provider refused"),
    "rate-limited": (429, "Too many requests with this API key"),
    "internal": (500, "Something went wrong on our side"),
}
#: The problem each HTTP error status is answered with when nothing more specific applies.
BY_STATUS = {status: slug for slug, (status, _title) in reversed(list(TITLES.items()))}


def problem_type(slug: str) -> str:
    """Return the ``type`` URN of problem ``slug``."""
    return _TYPE_PREFIX + slug


def body_pointer(*path: str | int) -> dict[str, str]:
    """Return where a field error is: a JSON pointer into the request body."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in path)
    return {"pointer": "/" + "/".join(escaped)}


def query_parameter(name: str) -> dict[str, str]:
    """Return where a field error is: a query parameter."""
    return {"parameter": name}


class Problem(Exception):
    """An API answer that is a problem; raise it from a view, the blueprint answers it."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.slug = slug
        self.status, self.title = TITLES[slug]
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """Return the problem document."""
        body: dict[str, Any] = {
            "type": problem_type(self.slug),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body

    def response(self) -> Response:
        """Return the problem as an HTTP answer."""
        return problem_response(self.status, self.body(), self.headers)


def problem_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    """Return ``body`` as an ``application/problem+json`` answer that no cache keeps."""
    response = Response(json.dumps(body), status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(dict(headers or {}))
    return response


def for_status(status: int, detail: str | None = None) -> Problem:
    """Return the general problem of an HTTP error ``status`` (404, 405, 500 …)."""
    slug = BY_STATUS.get(status, "internal" if status >= 500 else "refused")
    return Problem(slug, detail or TITLES[slug][1] + ".")
