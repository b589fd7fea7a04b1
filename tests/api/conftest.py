"""Storefront API test helpers: keys, and a storefront whose every answer is checked against the
OpenAPI document (status documented, body valid against the documented schema)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
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


def check_documented(method: str, path: str, response) -> None:
    """Fail unless the answer's status is documented for the operation and its body meets the schema."""
    operation = document()["paths"][documented_path(path)][method.lower()]
    answer = operation["responses"].get(str(response.status_code))
    assert answer is not None, f"{method} {path} answered {response.status_code}, which is not documented"
    [(media_type, content)] = answer["content"].items()
    assert response.mimetype == media_type, (method, path, response.mimetype)
    schema = {**content["schema"], "components": {"schemas": SCHEMAS}}
    errors = [error.message for error in Draft202012Validator(schema).iter_errors(response.get_json())]
    assert errors == [], f"{method} {path} {response.status_code}: {errors}"


class Storefront:
    """A storefront calling the API with one key; every answer is checked against the document."""

    def __init__(self, client: FlaskClient, secret: str | None):
        self.client = client
        self.secret = secret

    def headers(self, **extra: str) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**auth, **extra}

    def get(self, path: str, **params: Any):
        response = self.client.get(PREFIX + path, query_string=params, headers=self.headers())
        check_documented("GET", PREFIX + path, response)
        return response

    def post(self, path: str, body: Any = None, *, key: str | None = None, **headers: str):
        response = self.client.post(
            PREFIX + path,
            json=body if body is not None else {},
            headers=self.headers(**{"Idempotency-Key": key or str(uuid.uuid4()), **headers}),
        )
        check_documented("POST", PREFIX + path, response)
        return response


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
