"""The OpenAPI 3.1 document: served without a key, one operation per route, sound schemas.

Every answer the API tests receive is checked against it (``tests/api/conftest.py``), and the
storefront journey has every operation answer (``test_storefront.py``).
"""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator

from dashboard.api.models import SCOPES
from dashboard.api.openapi import PREFIX
from dashboard.api.openapi import document
from dashboard.api.openapi import scope_of
from dashboard.auth.access import BEARER


def test_the_document_is_served_without_a_key(client):
    answer = client.get("/api/v1/openapi.json")

    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.get_json() == document()
    assert answer.get_json()["openapi"] == "3.1.0"


def test_every_route_of_the_api_is_one_documented_operation_and_back(app):
    table = app.extensions["access_table"]
    routed = {
        (re.sub(r"<int:([a-z_]+)>", r"{\1}", rule.rule.removeprefix(PREFIX)), method.lower())
        for rule in app.url_map.iter_rules()
        if table[rule.endpoint] == BEARER
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, methods in document()["paths"].items() for method in methods}
    assert routed == documented


def test_operations_have_ids_scopes_and_the_answers_a_client_meets():
    ids = []
    for path, methods in document()["paths"].items():
        for method, operation in methods.items():
            ids.append(operation["operationId"])
            assert scope_of(operation) in SCOPES
            assert {"401", "403", "404", "429"} <= set(operation["responses"]), (method, path)
            if method == "post":
                assert {"409", "415", "422"} <= set(operation["responses"])
                assert any(p["name"] == "Idempotency-Key" and p["required"] for p in operation["parameters"])
            for parameter in operation["parameters"]:
                if parameter["in"] == "path":
                    assert "{" + parameter["name"] + "}" in path
    assert len(ids) == len(set(ids))


def test_every_schema_is_sound_json_schema_and_every_ref_resolves():
    text = str(document())
    for name in set(re.findall(r"#/components/schemas/([A-Za-z]+)", text)):
        assert name in document()["components"]["schemas"], name
    for schema in document()["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    for methods in document()["paths"].values():
        for operation in methods.values():
            if "requestBody" in operation:
                Draft202012Validator.check_schema(
                    operation["requestBody"]["content"]["application/json"]["schema"]
                )
