"""Webhook Event-Signature checks, against an HMAC computed here independently (§1.10.4)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from dashboard.providers.base import ProviderConfigError
from dashboard.providers.worldpay import parse_secrets
from dashboard.providers.worldpay import sign_event
from dashboard.providers.worldpay import verify_event

from .samples import payload_bytes

BODY = payload_bytes("event_sent_for_refund")
OLD, NEW = "old-shared-secret", "new-shared-secret"


def independent(secret: str, body: bytes = BODY) -> str:
    """Return the hex HMAC-SHA256 of ``body``, computed without the code under test."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_parse_secrets() -> None:
    assert parse_secrets("1:abc, 2:d:e:f,") == {"1": "abc", "2": "d:e:f"}
    assert parse_secrets("") == {}


@pytest.mark.parametrize("text", ["1", "1:", ":abc", "1:abc,1:def"])
def test_parse_secrets_refuses_bad_settings(text: str) -> None:
    with pytest.raises(ProviderConfigError):
        parse_secrets(text)


def test_sign_event_matches_the_documented_format() -> None:
    assert sign_event(BODY, "1", OLD) == f"1/SHA256/{independent(OLD)}"


def test_single_signature_verifies() -> None:
    assert verify_event(BODY, f"1/SHA256/{independent(OLD)}", {"1": OLD})


def test_upper_case_hex_and_spaces_verify() -> None:
    assert verify_event(BODY, f" 1/sha256/{independent(OLD).upper()} ", {"1": OLD})


def test_rotation_header_verifies_with_either_key_in_any_order() -> None:
    header = f"2/SHA256/{independent(NEW)},1/SHA256/{independent(OLD)}"
    assert verify_event(BODY, header, {"1": OLD, "2": NEW})
    assert verify_event(BODY, header, {"2": NEW})
    assert verify_event(BODY, header, {"1": OLD})


def test_old_key_removed_refuses_a_body_signed_only_with_it() -> None:
    assert not verify_event(BODY, f"1/SHA256/{independent(OLD)}", {"2": NEW})


def test_unknown_key_id_is_refused() -> None:
    assert not verify_event(BODY, f"3/SHA256/{independent(NEW)}", {"2": NEW})


def test_signature_by_the_wrong_secret_is_refused() -> None:
    assert not verify_event(BODY, f"2/SHA256/{independent(OLD)}", {"2": NEW})


def test_tampered_body_is_refused() -> None:
    tampered = BODY.replace(b"5000", b"50000")
    assert tampered != BODY
    assert not verify_event(tampered, f"1/SHA256/{independent(OLD)}", {"1": OLD})


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        ",,,",
        "garbage",
        "1/SHA256",
        f"1/SHA1/{independent(OLD)}",
        f"1/SHA256/{independent(OLD)}/extra",
        "1/SHA256/ünïcødé",
        "1/SHA256/",
        b"1/SHA256/abc",
    ],
)
def test_malformed_header_is_refused_without_raising(header: object) -> None:
    assert not verify_event(BODY, header, {"1": OLD})  # type: ignore[arg-type]
