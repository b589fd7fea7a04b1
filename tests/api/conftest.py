"""Storefront API test helpers: keys, and a storefront whose every answer is checked against the
OpenAPI document (status documented, body valid against the documented schema)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from dashboard.api import service
from dashboard.api.models import SCOPES
from dashboard.api.openapi import PREFIX
from dashboard.api.openapi import SCHEMAS
from dashboard.api.openapi import document
from dashboard.extensions import db

_PATHS = [
    (re.compile("^" + PREFIX + re.sub(r"\{[a-z_]+\}", "[0-9]+", path) + "$"), path)
    for path in document()["paths"]
]


def documented_path(path: str) -> str:
    """Return the document's path (``/payments/{payment_id}``) of a URL path."""
    found = [template for pattern, template in _PATHS if pattern.match(path.split("?")[0])]
    assert found, f"{path} is not in the OpenAPI document"
    return found[0]


def check_documented(method: str, path: str, response) -> str:
    """Fail unless the answer's status is documented for the operation and its body meets the schema;
    return the operation's id."""
    operation = document()["paths"][documented_path(path)][method.lower()]
    answer = operation["responses"].get(str(response.status_code))
    assert answer is not None, f"{method} {path} answered {response.status_code}, which is not documented"
    [(media_type, content)] = answer["content"].items()
    assert response.mimetype == media_type, (method, path, response.mimetype)
    schema = {**content["schema"], "components": {"schemas": SCHEMAS}}
    errors = [error.message for error in Draft202012Validator(schema).iter_errors(response.get_json())]
    assert errors == [], f"{method} {path} {response.status_code}: {errors}"
    return operation["operationId"]


class HttpAnswer:
    """A ``requests`` answer read like a Flask test client's (status, headers, mimetype, JSON)."""

    def __init__(self, answer: requests.Response):
        self.status_code = answer.status_code
        self.headers = answer.headers
        self.mimetype = answer.headers.get("Content-Type", "").split(";")[0]
        self._answer = answer

    def get_json(self) -> Any:
        return self._answer.json()


class Storefront:
    """A storefront calling the API with one key; every answer is checked against the document.

    It calls through a Flask test client, or over HTTP when given the base URL of a served app.
    """

    def __init__(self, client: FlaskClient | None, secret: str | None, base_url: str | None = None):
        self.client = client
        self.secret = secret
        self.base_url = base_url
        #: The operations that answered with success (2xx), checked against the document.
        self.succeeded: set[str] = set()

    def headers(self, **extra: str) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**auth, **extra}

    def send(self, method: str, path: str, **kwargs: Any):
        if self.base_url is None:
            response = self.client.open(PREFIX + path, method=method, **kwargs)
        else:
            params = kwargs.pop("query_string", None)
            response = HttpAnswer(
                requests.request(method, self.base_url + PREFIX + path, params=params, timeout=30, **kwargs)
            )
        operation_id = check_documented(method, PREFIX + path, response)
        if response.status_code < 300:
            self.succeeded.add(operation_id)
        return response

    def get(self, path: str, **params: Any):
        return self.send("GET", path, query_string=params, headers=self.headers())

    def post(self, path: str, body: Any = None, *, key: str | None = None, **headers: str):
        idempotency = {"Idempotency-Key": key or str(uuid.uuid4())}
        return self.send(
            "POST",
            path,
            json=body if body is not None else {},
            headers=self.headers(**idempotency, **headers),
        )


@pytest.fixture
def make_key(app: Flask) -> Callable[..., str]:
    """Return a factory of keys (every scope unless told) on the test's app; it returns the secret."""

    def make(
        scopes: tuple[str, ...] = SCOPES, *, expires_at: datetime | None = None, on: Flask | None = None
    ) -> str:
        with (on or app).test_request_context():
            secret = service.create_key("Web shop", scopes, expires_at, actor_id=None).secret
            db.session.remove()
            return secret

    return make


@pytest.fixture
def storefront(client: FlaskClient, make_key) -> Storefront:
    """A storefront with a key of every scope, on the rolled-back tier."""
    return Storefront(client, make_key())
