"""The OpenAPI 3.1 document of the storefront API, and the request checks read from it.

The document is the one source of what each operation needs: the views take the scope an
operation requires and the schema its body must meet from here, and a test validates every
endpoint's real answers against the response schemas, so the document stays true.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING
from typing import Any

from dashboard.api import PREFIX
from dashboard.api.models import SCOPES
from dashboard.api.problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from dashboard.api.problems import TITLES
from dashboard.api.problems import problem_type
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import RefundStatus

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

VERSION = "1.0.0"
JSON = "application/json"
_PAGE_FILTERS = ("provider", "status", "code", "method", "currency", "amount_min", "amount_max")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **more: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **more}


_TIME = _nullable("string", format="date-time")
_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
_AMOUNT = {"type": "integer", "minimum": 1, "maximum": 10**15, "description": "Minor units of the currency."}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code."}
_URL = {"type": "string", "maxLength": 2000, "pattern": "^https?://"}


def _object(properties: dict[str, Any], required: list[str] | None = None, **more: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "additionalProperties": False, **more}
    if required:
        schema["required"] = required
    return schema


def _answer(name: str) -> dict[str, Any]:
    """Return an answer object: every listed property is always present (null when it has no value)."""
    schema = SCHEMAS[name]
    return {**schema, "required": list(schema["properties"])}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Failure": _object(
        {
            "code": _nullable("string", description="The provider's result code."),
            "message": _nullable("string", description="The provider's message."),
            "meaning": _nullable("string", description="What the code means, in our words."),
            "next_step": _nullable("string", description="What to do next."),
        },
        description="Why the provider refused.",
    ),
    "Agreement": _object(
        {
            "object": {"const": "agreement"},
            "id": _ID,
            "status": {
                "enum": ["pending", "active", "expired", "revoked", "cancelled_by_customer", "failed"]
            },
            "wallet": {"type": "string"},
            "customer_reference": {"type": "string"},
            "authorization_url": _nullable("string", description="Where the customer authorises."),
            "return_url": _nullable("string", description="Where the customer goes after the wallet."),
            "created_at": {"type": "string", "format": "date-time"},
            "activated_at": _TIME,
            "expires_at": _TIME,
            "revoke_requested_at": _TIME,
            "revoked_at": _TIME,
            "cancelled_at": _TIME,
            "failure": {"oneOf": [_ref("Failure"), {"type": "null"}]},
        }
    ),
    "Payment": _object(
        {
            "object": {"const": "payment"},
            "id": _ID,
            "provider": {"enum": ["antom", "worldpay"]},
            "status": {"enum": [status.value for status in PaymentStatus]},
            "amount": _AMOUNT,
            "currency": _CURRENCY,
            "amount_refunded": {"type": "integer", "minimum": 0},
            "agreement_id": _nullable("integer"),
            "payment_method": _nullable("string"),
            "order_description": _nullable("string"),
            "merchant_reference": _nullable("string"),
            "redirect_url": _nullable("string", description="Where to send the shopper to pay."),
            "created_at": {"type": "string", "format": "date-time"},
            "paid_at": _TIME,
            "failure": {"oneOf": [_ref("Failure"), {"type": "null"}]},
        }
    ),
    "ListedPayment": _object(
        {
            "object": {"const": "payment"},
            "id": _ID,
            "provider": {"enum": ["antom", "worldpay"]},
            "status": {"enum": [status.value for status in PaymentStatus]},
            "amount": _AMOUNT,
            "currency": _CURRENCY,
            "amount_refunded": {"type": "integer", "minimum": 0},
            "created_at": {"type": "string", "format": "date-time"},
        }
    ),
    "Refund": _object(
        {
            "object": {"const": "refund"},
            "id": _ID,
            "payment_id": _ID,
            "status": {"enum": [status.value for status in RefundStatus]},
            "amount": _AMOUNT,
            "currency": _CURRENCY,
            "reason": _nullable("string"),
            "note": _nullable("string"),
            "created_at": {"type": "string", "format": "date-time"},
            "decided_at": _TIME,
            "refunded_at": _TIME,
            "failure": {"oneOf": [_ref("Failure"), {"type": "null"}]},
        }
    ),
    "Event": _object(
        {
            "object": {"const": "event"},
            "id": _ID,
            "created_at": {"type": "string", "format": "date-time"},
            "kind": {"type": "string"},
            "subject": _object(
                {"object": {"enum": ["agreement", "payment", "refund", "cancel"]}, "id": _ID},
                ["object", "id"],
            ),
            "payment_id": _nullable("integer", description="The payment a refund or cancel belongs to."),
            "status": _nullable("string", description="The subject's new status."),
        }
    ),
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": {"enum": [problem_type(slug) for slug in TITLES]},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "pointer": {"type": "string", "description": "JSON pointer into the body."},
                        "parameter": {"type": "string", "description": "The query parameter."},
                        "detail": {"type": "string"},
                    },
                    "required": ["detail"],
                },
            },
        },
        "required": ["type", "title", "status", "detail"],
    },
}
SCHEMAS["PaymentList"] = _object(
    {
        "object": {"const": "list"},
        "data": {"type": "array", "items": _answer("ListedPayment")},
        "next_cursor": _nullable("string", description="Pass as `cursor` for the next (older) page."),
    },
    ["object", "data", "next_cursor"],
)
SCHEMAS["EventList"] = _object(
    {
        "object": {"const": "list"},
        "data": {"type": "array", "items": _answer("Event")},
        "next_cursor": {"type": "integer", "description": "Pass as `after` to read on."},
    },
    ["object", "data", "next_cursor"],
)
for _name in ("Agreement", "Payment", "Refund", "Event", "ListedPayment"):
    SCHEMAS[_name] = _answer(_name)

#: Request bodies, by operation id.
BODIES: dict[str, dict[str, Any]] = {
    "createAgreement": _object(
        {
            "wallet": {"type": "string", "minLength": 1, "maxLength": 32, "examples": ["ALIPAY_HK"]},
            "customer_reference": {"type": "string", "minLength": 1, "maxLength": 64},
            "return_url": {
                "type": "string",
                "maxLength": 2048,
                "description": "Where the customer goes after the wallet (an absolute http(s) "
                "address); without it, the back office's own page thanks them.",
            },
        },
        ["wallet", "customer_reference"],
    ),
    "revokeAgreement": _object({"reason": {"type": "string", "maxLength": 256}}),
    "chargeAgreement": _object(
        {
            "amount": _AMOUNT,
            "currency": _CURRENCY,
            "order_description": {"type": "string", "minLength": 1, "maxLength": 256},
            "merchant_reference": {"type": "string", "minLength": 1, "maxLength": 64},
        },
        ["amount", "currency", "order_description"],
    ),
    "createPayment": _object(
        {
            "amount": _AMOUNT,
            "currency": _CURRENCY,
            "narrative": {"type": "string", "minLength": 1, "maxLength": 24},
            "order_description": {"type": "string", "minLength": 1, "maxLength": 256},
            "result_urls": _object(
                {"success": _URL, "pending": _URL, "failure": _URL, "cancel": _URL},
                ["success", "pending", "failure"],
                description="Where the shopper returns; the back office's own pages when left out.",
            ),
        },
        ["amount", "currency", "narrative"],
    ),
    "refundPayment": _object(
        {
            "amount": _AMOUNT,
            "reason": {"type": "string", "minLength": 1, "maxLength": 256},
            "note": {"type": "string", "maxLength": 1000},
        },
        ["amount", "reason"],
    ),
}


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": " / ".join(title for code, title in TITLES.values() if code == status),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _ref("Problem")}},
        }
        for status in statuses
    }


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Any unique string (a UUID); the same key with the same body answers the first "
    "answer again, for 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _operation(
    operation_id: str,
    summary: str,
    scope: str,
    answer: str,
    *,
    created: bool = False,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    posts = operation_id in BODIES
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "security": [{"apiKey": [scope]}],
        "parameters": [*(parameters or []), *([_IDEMPOTENCY_KEY] if posts else [])],
        "responses": {
            "201" if created else "200": {"description": answer, "content": {JSON: {"schema": _ref(answer)}}},
            **_problems(400, 401, 403, 404, 429, 500),
            **(_problems(409, 415, 422) if posts else {}),
            **(_problems(422) if any(p["in"] == "query" for p in parameters or []) else {}),
        },
    }
    if posts:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": BODIES[operation_id]}}}
    return operation


_LIST_PARAMETERS = [
    *({"name": name, "in": "query", "schema": {"type": "string"}} for name in _PAGE_FILTERS),
    {"name": "q", "in": "query", "description": "An id, exactly or its start.", "schema": {"type": "string"}},
    {"name": "day_from", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "day_to", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "has_refunds", "in": "query", "schema": {"type": "string", "enum": ["y"]}},
    {
        "name": "cursor",
        "in": "query",
        "description": "`next_cursor` of the page before.",
        "schema": {"type": "string"},
    },
]

PATHS: dict[str, dict[str, Any]] = {
    "/agreements": {
        "post": _operation(
            "createAgreement",
            "Start an Auto Debit authorisation",
            "agreements:write",
            "Agreement",
            created=True,
        )
    },
    "/agreements/{agreement_id}": {
        "get": _operation(
            "getAgreement", "Read an agreement", "read", "Agreement", parameters=[_path_id("agreement_id")]
        )
    },
    "/agreements/{agreement_id}/revoke": {
        "post": _operation(
            "revokeAgreement",
            "Revoke an agreement",
            "agreements:write",
            "Agreement",
            parameters=[_path_id("agreement_id")],
        )
    },
    "/agreements/{agreement_id}/charges": {
        "post": _operation(
            "chargeAgreement",
            "Charge an active agreement (Auto Debit)",
            "charges:write",
            "Payment",
            created=True,
            parameters=[_path_id("agreement_id")],
        )
    },
    "/payments": {
        "get": _operation(
            "listPayments", "List payments, newest first", "read", "PaymentList", parameters=_LIST_PARAMETERS
        ),
        "post": _operation(
            "createPayment", "Start an AlipayHK payment", "payments:write", "Payment", created=True
        ),
    },
    "/payments/{payment_id}": {
        "get": _operation(
            "getPayment", "Read a payment", "read", "Payment", parameters=[_path_id("payment_id")]
        )
    },
    "/payments/{payment_id}/refunds": {
        "post": _operation(
            "refundPayment",
            "Refund a payment (large refunds wait for a manager)",
            "refunds:write",
            "Refund",
            created=True,
            parameters=[_path_id("payment_id")],
        )
    },
    "/refunds/{refund_id}": {
        "get": _operation("getRefund", "Read a refund", "read", "Refund", parameters=[_path_id("refund_id")])
    },
    "/events": {
        "get": _operation(
            "listEvents",
            "Read status changes after a cursor, oldest first",
            "read",
            "EventList",
            parameters=[{"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
        )
    },
}


@cache
def document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document (the server URL is relative: the API's own prefix)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Merchant back office storefront API",
            "version": VERSION,
            "description": "Start Auto Debit agreements and charges, AlipayHK payments and refunds, and "
            "follow their statuses. Money is integer minor units with an ISO 4217 currency; times "
            "are ISO 8601 UTC. Errors are RFC 9457 problem details.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"apiKey": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (bo_live_… or bo_test_…); each operation names the "
                    f"scope it needs, of {', '.join(SCOPES)}.",
                }
            },
        },
    }


def operation_for(rule: str, method: str) -> Mapping[str, Any]:
    """Return the operation of a Flask rule (``/api/v1/payments/<int:payment_id>``) and method."""
    path = rule.removeprefix(PREFIX).replace("<int:", "{").replace(">", "}")
    return PATHS[path][method.lower()]


def scope_of(operation: Mapping[str, Any]) -> str:
    """Return the scope an operation requires."""
    [requirement] = operation["security"]
    [scope] = requirement["apiKey"]
    return scope


@cache
def validator(schema_name: str, *, body: bool = False) -> Draft202012Validator:
    """Return a validator of a request body (``body``) or a component schema, its refs resolvable."""
    # Imported here, at the first API call: every process that starts the app would pay it otherwise.
    from jsonschema import Draft202012Validator

    schema = BODIES[schema_name] if body else _ref(schema_name)
    return Draft202012Validator({**schema, "components": {"schemas": SCHEMAS}})
