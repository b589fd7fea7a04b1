"""Antom signatures against an independent implementation of the documented algorithm."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dashboard.providers.antom import signatures
from dashboard.providers.base import ProviderConfigError

URI = "/ams/api/v1/payments/inquiryPayment"
CLIENT_ID = "SANDBOX_5YBZ1234567890AB"
REQUEST_TIME = "1714550400123"
BODY = b'{"paymentRequestId":"PAY-20240501-0001"}'


def test_content_is_method_uri_newline_client_time_body():
    content = signatures.sign_content("post", URI, CLIENT_ID, REQUEST_TIME, BODY)

    assert content == (
        b"POST /ams/api/v1/payments/inquiryPayment\n"
        b'SANDBOX_5YBZ1234567890AB.1714550400123.{"paymentRequestId":"PAY-20240501-0001"}'
    )


def test_our_signature_verifies_with_the_reference_implementation(merchant_key, reference):
    header = signatures.build_signature_header(
        signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY), 1
    )

    content = reference.content("POST", URI, CLIENT_ID, REQUEST_TIME, BODY)
    assert reference.verify(merchant_key.public_key(), content, header)
    assert signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY) == reference.sign(
        merchant_key, content
    )


def test_reference_signature_verifies_with_ours(antom_key, reference):
    value = reference.sign(antom_key, reference.content("POST", URI, CLIENT_ID, REQUEST_TIME, BODY))

    assert signatures.verify(
        antom_key.public_key(),
        "POST",
        URI,
        CLIENT_ID,
        REQUEST_TIME,
        BODY,
        f"algorithm=RSA256,keyVersion=1,signature={value}",
    )


@pytest.mark.parametrize("position", [0, len(BODY) // 2, len(BODY) - 1])
def test_a_flipped_body_byte_fails(merchant_key, reference, position):
    header = signatures.build_signature_header(
        signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY)
    )
    tampered = bytearray(BODY)
    tampered[position] ^= 0x01

    assert not signatures.verify(
        merchant_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, bytes(tampered), header
    )
    assert not reference.verify(
        merchant_key.public_key(),
        reference.content("POST", URI, CLIENT_ID, REQUEST_TIME, bytes(tampered)),
        header,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("uri", "/ams/sandbox/api/v1/payments/inquiryPayment"),
        ("client_id", "OTHER"),
        ("request_time", "1714550400124"),
    ],
)
def test_any_other_signed_part_changed_fails(merchant_key, field, value):
    parts = {"uri": URI, "client_id": CLIENT_ID, "request_time": REQUEST_TIME}
    header = signatures.build_signature_header(signatures.sign(merchant_key, "POST", *parts.values(), BODY))
    parts[field] = value

    assert not signatures.verify(merchant_key.public_key(), "POST", *parts.values(), BODY, header)


def test_indented_json_body_like_the_official_sdk_verifies(antom_key, reference):
    body = json.dumps({"paymentRequestId": "PAY-1", "paymentId": "2024"}, indent=3).encode()
    assert b"\n   " in body
    value = reference.sign(antom_key, reference.content("POST", URI, CLIENT_ID, REQUEST_TIME, body))
    header = signatures.build_signature_header(value)

    assert signatures.verify(antom_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, body, header)
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert not signatures.verify(
        antom_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, compact, header
    )


def test_signature_with_the_wrong_key_fails(merchant_key, antom_key):
    header = signatures.build_signature_header(
        signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY)
    )

    assert not signatures.verify(antom_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, BODY, header)


def test_header_format_and_parse_round_trip(merchant_key):
    value = signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY)
    header = signatures.build_signature_header(value, 3)

    assert header == f"algorithm=RSA256,keyVersion=3,signature={value}"
    algorithm, key_version, signature_b64 = signatures.parse_signature_header(header)
    assert (algorithm, key_version) == ("RSA256", "3")
    assert len(base64.b64decode(signature_b64, validate=True)) == 256
    assert signatures.build_signature_header(quote(signature_b64, safe=""), 3) == header


def test_header_with_spaces_after_commas_parses():
    assert signatures.parse_signature_header("algorithm=RSA256, keyVersion=2, signature=ab%2Bc%2F%3D") == (
        "RSA256",
        "2",
        "ab+c/=",
    )


@pytest.mark.parametrize(
    "layout",
    [
        "signature={value},algorithm=RSA256,keyVersion=1",
        "keyVersion=1,signature={value},algorithm=RSA256",
        "algorithm=RSA256,signature={value}",
        "signature={value}, algorithm=RSA256",
        "signature={value}",
        "Algorithm=RSA256, KeyVersion=1, Signature={value}",
    ],
)
def test_the_parts_may_come_in_any_order_and_without_key_version(merchant_key, layout):
    # Antom's SDKs take the value after "signature=" and read neither the algorithm nor the key
    # version, so a sender may order the parts as it likes and leave keyVersion out.
    value = signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY)
    header = layout.format(value=value)

    assert signatures.verify(merchant_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, BODY, header)
    algorithm, key_version, _ = signatures.parse_signature_header(header)
    assert algorithm == "RSA256"
    assert key_version == ("1" if "eyVersion" in layout else None)


@pytest.mark.parametrize(
    "layout",
    [
        "signature={value},algorithm=RSA512",
        "algorithm=SHA1withRSA,signature={value}",
        "algorithm=RSA256,signature={value},signature={value}",
        "algorithm=RSA256,keyVersion,signature={value}",
    ],
)
def test_another_algorithm_or_an_ambiguous_header_is_still_refused(merchant_key, layout):
    value = signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY)

    assert not signatures.verify(
        merchant_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, BODY, layout.format(value=value)
    )


def test_base64_specials_are_url_encoded(merchant_key):
    # The content varies by request time until a signature holds both '+' and '/'; '=' padding is
    # always there because a 2048-bit signature is 256 bytes.
    for attempt in range(200):
        value = signatures.sign(merchant_key, "POST", URI, CLIENT_ID, str(attempt), BODY)
        raw = base64.b64encode(
            base64.b64decode(signatures.parse_signature_header(signatures.build_signature_header(value))[2])
        ).decode()
        if "+" in raw and "/" in raw:
            break
    else:
        pytest.fail("no signature with both '+' and '/' in 200 attempts")

    assert raw.endswith("=")
    assert {"%2B", "%2F", "%3D"} <= {value[i : i + 3] for i in range(len(value) - 2)}
    assert not {"+", "/", "="} & set(value)


def test_an_unencoded_plus_still_means_plus(merchant_key):
    value = signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY)
    raw_b64 = signatures.parse_signature_header(signatures.build_signature_header(value))[2]

    header = f"algorithm=RSA256,keyVersion=1,signature={raw_b64}"
    assert signatures.verify(merchant_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, BODY, header)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "algorithm=RSA256,keyVersion=1",
        "algorithm=RSA256,keyVersion=1,signature=",
        "algorithm=RSA256,keyVersion=1,signature=%%%",
        "algorithm=RSA256,keyVersion=1,signature=not base64!",
        "algorithm=RSA256,keyVersion=1,signature=QUJD",
        "keyVersion=1,signature=QUJD",
    ],
)
def test_verify_never_raises_on_bad_headers(merchant_key, header):
    assert not signatures.verify(
        merchant_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, BODY, header
    )


def test_another_algorithm_is_refused(merchant_key):
    value = signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY)

    header = f"algorithm=RSA512,keyVersion=1,signature={value}"
    assert not signatures.verify(
        merchant_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, BODY, header
    )


def test_truncated_signature_fails(merchant_key):
    value = signatures.sign(merchant_key, "POST", URI, CLIENT_ID, REQUEST_TIME, BODY)

    header = signatures.build_signature_header(value[:-12])
    assert not signatures.verify(
        merchant_key.public_key(), "POST", URI, CLIENT_ID, REQUEST_TIME, BODY, header
    )


def test_notification_is_verified_over_post_and_the_public_path(antom_key, reference):
    body = b'{"notifyType":"PAYMENT_RESULT"}'
    value = reference.sign(
        antom_key, reference.content("POST", "/antom/notify", CLIENT_ID, "2026-01-05T10:00:01+08:00", body)
    )
    header = signatures.build_signature_header(value)

    public = antom_key.public_key()
    assert signatures.verify_notification(
        public, "/antom/notify", CLIENT_ID, "2026-01-05T10:00:01+08:00", body, header
    )
    assert not signatures.verify_notification(
        public, "/internal/notify", CLIENT_ID, "2026-01-05T10:00:01+08:00", body, header
    )


# -- key loading ------------------------------------------------------------------------------


def _pem_private(key, fmt=serialization.PrivateFormat.PKCS8) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def _der_b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _same_private(a, b) -> bool:
    return a.private_numbers() == b.private_numbers()


@pytest.mark.parametrize(
    "form",
    ["pkcs8_pem", "pkcs1_pem", "pkcs8_base64", "pkcs8_base64_wrapped", "pkcs1_base64", "bytes", "key_object"],
)
def test_private_key_forms_load(merchant_key, form):
    der = merchant_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    source = {
        "pkcs8_pem": _pem_private(merchant_key).decode(),
        "pkcs1_pem": _pem_private(merchant_key, serialization.PrivateFormat.TraditionalOpenSSL).decode(),
        "pkcs8_base64": _der_b64(der),
        "pkcs8_base64_wrapped": "\n".join(
            _der_b64(der)[i : i + 64] for i in range(0, len(_der_b64(der)), 64)
        ),
        "pkcs1_base64": _der_b64(
            merchant_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        ),
        "bytes": _pem_private(merchant_key),
        "key_object": merchant_key,
    }[form]

    assert _same_private(signatures.load_private_key(source), merchant_key)


def test_private_key_loads_from_a_file_path(merchant_key, tmp_path):
    path = tmp_path / "merchant.pem"
    path.write_bytes(_pem_private(merchant_key))

    assert _same_private(signatures.load_private_key(str(path)), merchant_key)
    assert _same_private(signatures.load_private_key(path), merchant_key)


def test_bare_base64_key_file_loads(merchant_key, tmp_path):
    path = tmp_path / "merchant.key"
    der = merchant_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_text(_der_b64(der) + "\n")

    assert _same_private(signatures.load_private_key(str(path)), merchant_key)


@pytest.mark.parametrize("form", ["pem", "base64_spki", "pkcs1_pem", "path"])
def test_public_key_forms_load(antom_key, tmp_path, form):
    public = antom_key.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path / "antom.pub"
    path.write_bytes(pem)
    source = {
        "pem": pem.decode(),
        "base64_spki": _der_b64(
            public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ),
        "pkcs1_pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ).decode(),
        "path": str(path),
    }[form]

    assert signatures.load_public_key(source).public_numbers() == public.public_numbers()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("/no/such/dir/merchant.pem", "neither PEM text"),
        ("not a key, at all", "neither PEM text"),
        ("QUJDREVG", "cannot load"),
        ("-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n", "cannot load"),
        ("", "neither PEM text"),
    ],
)
def test_unusable_private_keys_raise_config_errors(source, message):
    with pytest.raises(ProviderConfigError, match=message):
        signatures.load_private_key(source)


def test_a_non_rsa_key_is_refused():
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    with pytest.raises(ProviderConfigError, match="must be an RSA key"):
        signatures.load_private_key(pem.decode())


def test_a_private_key_is_not_a_public_key(merchant_key):
    with pytest.raises(ProviderConfigError, match="cannot load the Antom public key"):
        signatures.load_public_key(_pem_private(merchant_key).decode())
