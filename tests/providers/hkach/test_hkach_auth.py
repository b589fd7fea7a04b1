"""HK ACH auth against the simulator over real HTTP: the JWT client assertion, apikey, scopes and
one cached token per process (the bank grants 10 an hour). The assertion is read back with the
JOSE library directly, not with the app's code."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import RSAKey
from sqlalchemy import func
from sqlalchemy import select

from dashboard.providers.hkach import HkachAuthError
from dashboard.providers.hkach.jose import client_assertion
from dashboard.providers.hkach.settings import from_app
from dashboard.sandbox.store import HkachToken
from tests.sandbox.hkach_helpers import RecordingSession

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def tokens_granted(sandbox) -> int:
    with sandbox.sandbox.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(HkachToken))


def auth(sandbox, assertion: str, *, api_key: str | None = None, scope: str = "HK.INSTO.PAYMENT.READ"):
    settings = sandbox.sandbox.hkach
    return requests.post(
        settings.base_url + "/v1.0/auth",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": scope,
        },
        headers={"apikey": settings.api_key if api_key is None else api_key},
        timeout=5,
    )


def customer_key(sandbox) -> RSAKey:
    return RSAKey.import_key(sandbox.sandbox.hkach_keys.customer.private_pem)


def test_the_token_request_carries_a_signed_assertion_the_bank_can_verify(sandbox, fake_clock):
    session = RecordingSession()
    client = from_app(sandbox.app, session=session)
    token = client.access_token()

    request = session.sent[0]
    assert (
        request.path_url.endswith("/v1.0/auth") and request.headers["apikey"] == sandbox.sandbox.hkach.api_key
    )
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
    assert form["grant_type"] == "client_credentials" and form["client_assertion_type"] == ASSERTION_TYPE
    assert form["scope"].split() == ["HK.INSTO.PAYMENT.ACH.CREATE", "HK.INSTO.PAYMENT.READ"]
    public = RSAKey.import_key(customer_key(sandbox).as_pem(private=False))
    decoded = jwt.decode(form["client_assertion"], public, algorithms=["RS256"])
    assert decoded.header == {"alg": "RS256", "typ": "JWT"}
    claims = decoded.claims
    assert claims["sub"] == sandbox.sandbox.hkach.customer_code == claims["sub"].upper()
    assert claims["aud"] == sandbox.url + "/sandbox/hkach/auth"
    now = int(fake_clock.now().timestamp())
    assert now < claims["exp"] <= now + 3600 and len(str(claims["exp"])) == 10
    assert len(token) == 36 and token.count("-") == 4


def test_one_token_serves_every_call_until_shortly_before_it_expires(sandbox, hkach, fake_clock):
    first = hkach.access_token()
    fake_clock.advance(minutes=54)
    assert hkach.access_token() == first and tokens_granted(sandbox) == 1
    fake_clock.advance(minutes=2)
    second = hkach.access_token()
    assert second != first and tokens_granted(sandbox) == 2
    # One token per 55 minutes, well inside the ten an hour.
    for _ in range(12):
        fake_clock.advance(minutes=5)
        hkach.access_token()
    assert tokens_granted(sandbox) == 3


def test_a_token_lasts_3600_seconds_at_the_bank(sandbox, hkach, fake_clock):
    answer = auth(
        sandbox,
        client_assertion(customer_key(sandbox), "x", sandbox.sandbox.hkach.base_url, fake_clock.now()),
    )
    assert answer.status_code == 401  # the audience is the auth URL, not the base URL
    settings = sandbox.sandbox.hkach
    good = client_assertion(
        customer_key(sandbox), settings.customer_code, settings.base_url + "/auth", fake_clock.now()
    )
    answer = auth(sandbox, good)
    assert answer.status_code == 200 and answer.headers["X-RequestKey"]
    assert answer.json()["expires_in"] == 3600 and answer.json()["token_type"] == "Bearer"


def tampered(token: str) -> str:
    header, claims, signature = token.split(".")
    flipped = "A" if claims[5] != "A" else "B"
    return ".".join((header, claims[:5] + flipped + claims[6:], signature))


def test_a_tampered_expired_foreign_or_misaddressed_assertion_is_refused(sandbox, fake_clock):
    settings = sandbox.sandbox.hkach
    key, now, audience = customer_key(sandbox), fake_clock.now(), settings.base_url + "/auth"
    good = client_assertion(key, settings.customer_code, audience, now)
    with pytest.raises(BadSignatureError):
        jwt.decode(tampered(good), key, algorithms=["RS256"])
    stranger = RSAKey.generate_key(2048)
    refused = [
        tampered(good),
        client_assertion(stranger, settings.customer_code, audience, now),
        client_assertion(key, "SOMEONE", audience, now),
        client_assertion(key, settings.customer_code, "https://api.fileactive.anzgcis.com/auth", now),
        client_assertion(key, settings.customer_code, audience, now - timedelta(minutes=10)),
        jwt.encode(
            {"alg": "RS256"},
            {"sub": settings.customer_code, "aud": audience, "exp": int(now.timestamp()) + 7200},
            key,
        ),
    ]
    assert [auth(sandbox, assertion).status_code for assertion in refused] == [401] * len(refused)
    assert auth(sandbox, good, api_key="wrong").status_code == 401
    assert auth(sandbox, good, scope="HK.INSTO.PAYMENT.EVERYTHING").status_code == 400
    assert auth(sandbox, good).status_code == 200


def test_a_token_without_the_scope_gets_403_and_an_expired_one_401(sandbox, hkach, fake_clock):
    settings = sandbox.sandbox.hkach
    assertion = client_assertion(
        customer_key(sandbox), settings.customer_code, settings.base_url + "/auth", fake_clock.now()
    )
    create_only = auth(sandbox, assertion, scope="HK.INSTO.PAYMENT.ACH.CREATE").json()["access_token"]
    hkach._token = (create_only, fake_clock.now() + timedelta(hours=1))
    with pytest.raises(HkachAuthError) as refused:
        hkach.status("0b4c1a0e-6f0e-4f57-9a51-7b8a3d5e2c11")
    assert refused.value.status == 403
    hkach.access_token()  # the refused token was dropped: a new one is asked for
    fake_clock.advance(minutes=61)
    hkach._token = (hkach._token[0], fake_clock.now() + timedelta(hours=1))  # pretend we think it still works
    with pytest.raises(HkachAuthError) as expired:
        hkach.status("0b4c1a0e-6f0e-4f57-9a51-7b8a3d5e2c11")
    assert expired.value.status == 401 and "token" in expired.value.message.lower()
