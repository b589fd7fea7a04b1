"""Secrets at rest: encryption with key rotation, lookup hashes, masking, the column type."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from dashboard import crypto

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_encrypt_and_decrypt_round_trip_with_the_app_keys(app_ctx):
    token = crypto.encrypt("access-token-1234")
    assert token != "access-token-1234"
    assert "access-token" not in token
    assert crypto.decrypt(token) == "access-token-1234"


def test_two_encryptions_of_one_value_differ():
    assert crypto.encrypt("same", [OLD]) != crypto.encrypt("same", [OLD])


def test_a_value_written_with_an_older_key_still_decrypts_after_a_new_key_is_put_first():
    token = crypto.encrypt("secret", [OLD])
    assert crypto.decrypt(token, [NEW, OLD]) == "secret"


def test_rotate_re_encrypts_with_the_newest_key():
    token = crypto.encrypt("secret", [OLD])
    rotated = crypto.rotate(token, [NEW, OLD])
    assert crypto.decrypt(rotated, [NEW]) == "secret"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(rotated, [OLD])


def test_a_value_from_an_unlisted_key_or_an_altered_token_does_not_decrypt():
    token = crypto.encrypt("secret", [OLD])
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, [NEW])
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token[:-4] + "AAAA", [OLD])


def test_lookup_hash_is_stable_keyed_and_not_the_value():
    first = crypto.lookup_hash("tok", [OLD])
    assert first == crypto.lookup_hash("tok", [OLD])
    assert len(first) == 64
    assert first != crypto.lookup_hash("tok", [NEW])
    assert first != crypto.lookup_hash("tok2", [OLD])


def test_lookup_hashes_find_a_value_hashed_before_a_key_rotation():
    stored = crypto.lookup_hash("tok", [OLD])
    candidates = crypto.lookup_hashes("tok", [NEW, OLD])
    assert stored in candidates
    assert candidates[0] == crypto.lookup_hash("tok", [NEW, OLD])


def test_lookup_hash_key_is_not_the_fernet_key_itself():
    import base64
    import hashlib
    import hmac

    raw = base64.urlsafe_b64decode(OLD)
    naive = hmac.new(raw, b"tok", hashlib.sha256).hexdigest()
    assert crypto.lookup_hash("tok", [OLD]) != naive


@pytest.mark.parametrize(
    ("value", "shown"),
    [("abcdefghij1234", "••••1234"), ("short", "••••"), ("", ""), (None, "")],
)
def test_mask_shows_at_most_the_last_four(value, shown):
    assert crypto.mask(value) == shown
