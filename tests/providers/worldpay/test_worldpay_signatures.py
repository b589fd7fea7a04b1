"""Webhook Event-Signature checks, against an HMAC computed here independently (§1.10.4)."""

from __future__ import annotations

import base64
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


def independent_base64(secret: str, body: bytes = BODY, alphabet=base64.b64encode) -> str:
    """Return the same HMAC written in base64, computed without the code under test."""
    return alphabet(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


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


def test_sign_event_writes_base64_when_asked() -> None:
    assert sign_event(BODY, "1", OLD, "base64") == f"1/SHA256/{independent_base64(OLD)}"


@pytest.mark.parametrize(
    "written",
    [
        independent_base64(OLD),
        independent_base64(OLD).rstrip("="),
        independent_base64(OLD, alphabet=base64.urlsafe_b64encode),
        independent_base64(OLD, alphabet=base64.urlsafe_b64encode).rstrip("="),
    ],
    ids=["standard", "unpadded", "url-safe", "url-safe-unpadded"],
)
def test_a_base64_signature_verifies_as_well_as_hex(written: str) -> None:
    assert verify_event(BODY, f"1/SHA256/{written}", {"1": OLD})
    assert not verify_event(BODY, f"1/SHA256/{written}", {"1": NEW})


def test_a_base64_signature_holding_a_slash_verifies() -> None:
    # The header's own separator is "/": find a secret whose base64 HMAC contains one.
    secret = next(f"secret-{n}" for n in range(1000) if "/" in independent_base64(f"secret-{n}"))
    assert verify_event(BODY, f"7/SHA256/{independent_base64(secret)}", {"7": secret})


def test_rotation_header_mixing_hex_and_base64_verifies_with_either_key() -> None:
    header = f"2/SHA256/{independent_base64(NEW)},1/SHA256/{independent(OLD)}"
    assert verify_event(BODY, header, {"2": NEW})
    assert verify_event(BODY, header, {"1": OLD})


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
        f"1/SHA256/{independent(OLD)[:-2]}",
        f"1/SHA256/{independent_base64(OLD)[:-4]}",
        f"1/SHA256/{independent_base64(OLD)}==",
        "1/SHA256/" + "!" * 43,
    ],
)
def test_malformed_header_is_refused_without_raising(header: object) -> None:
    assert not verify_event(BODY, header, {"1": OLD})  # type: ignore[arg-type]
