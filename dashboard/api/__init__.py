"""The storefront API: keys, idempotent JSON endpoints, problem details, an OpenAPI document."""

#: Where the API is mounted; its answers are JSON, its errors problem details.
PREFIX = "/api/v1"
