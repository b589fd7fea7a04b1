"""Fixed facts of the HK ACH (Fileactive) Payment API (``providers/hkach_contract.md``)."""

from __future__ import annotations

import re

PROVIDER = "hkach"

UAT_BASE_URL = "https://api.fileactive.uat.anzgcis.com"
PRODUCTION_BASE_URL = "https://api.fileactive.anzgcis.com"

AUTH_PATH = "/v1.0/auth"
#: The JWT assertion's ``aud`` is the base URL plus this (§3), not the auth call's path.
AUDIENCE_PATH = "/auth"
SUBMIT_PATH = "/payment/hk/v1.0/ach"
STATUS_PATH = "/payment/hk/v1.0/ach/{message_id}"

SCOPE_CREATE = "HK.INSTO.PAYMENT.ACH.CREATE"
SCOPE_READ = "HK.INSTO.PAYMENT.READ"
#: One token per process serves both operations (10 tokens an hour).
CLIENT_SCOPES = (SCOPE_CREATE, SCOPE_READ)

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The assertion's ``exp`` may be at most this many seconds ahead.
MAX_ASSERTION_SECONDS = 3600
ASSERTION_SECONDS = 300
#: A cached token is replaced this many seconds before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 300

API_KEY_HEADER = "apikey"
MESSAGE_ID_HEADER = "x-Message-Id"
CORRELATION_HEADER = "x-Correlation-Id"
REQUEST_KEY_HEADER = "x-RequestKey"

SIGNING_ALGORITHM = "RS256"
KEY_ALGORITHM = "RSA-OAEP"
CONTENT_ENCRYPTION = "A256CBC-HS512"

MESSAGE_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MEMBER_ID_PATTERN = re.compile(r"\d{6}")
ACCOUNT_PATTERN = re.compile(r"\d{1,34}")
MAX_ID_LENGTH = 20
MAX_NAME_LENGTH = 140
MAX_TRANSACTIONS = 1000
#: Currencies HK ACH carries (§7); others need RTGS.
CURRENCIES = frozenset({"HKD", "CNY"})
CATEGORY_PURPOSES = frozenset({"OTHR", "SALA", "SALY", "PAYR"})
#: The bank's code for a request that breaks the schema (§6).
SCHEMA_CODE = "EC004_104"
DUPLICATE_MESSAGE_CODE = "EC004_102"
