"""Encryption at rest: Bifrost's exact scheme (Argon2id key, AES-256-GCM, base64(nonce || ct+tag))."""

from __future__ import annotations

import base64
import logging
import subprocess

import pytest

from bifrost.stores.encryption import EncryptionError, Encryptor, derive_key

# Interoperability vector. maximhq/bifrost's framework/encrypt tests only round-trip (random nonces),
# so there is no published ciphertext to check against. This one was built independently:
# - the key: the reference Argon2 C implementation's command-line tool (Debian package `argon2`), run as
#   `argon2 <salt> -id -t 1 -k 65536 -p 4 -l 32 -r` with the passphrase on stdin and salt =
#   SHA-256("bifrost-salt-v2:" + passphrase)[:16] (Bifrost's Init), not argon2-cffi;
# - the ciphertext: AES-256-GCM with that key and the nonce 00 01 .. 0b, laid out as Go's
#   `aesGCM.Seal(nonce, nonce, plaintext, nil)` does (nonce || ciphertext || 16-byte tag), base64 StdEncoding.
#   The GCM step used the `cryptography` package (OpenSSL), the same library as the code under test.
VECTOR_PASSPHRASE = "bifrost-interop-passphrase-v2"
VECTOR_KEY_HEX = "81375e6d72f1407438d51607c47558e052e4d801e1db8d6af81d80ea4699afd1"
VECTOR_PLAINTEXT = "sk-bifrost-interop-test"
VECTOR_CIPHERTEXT = "AAECAwQFBgcICQoL9OS8twR6R/bjh347UhjKGedcA6Em86sWcKX56jrTMLDoBKHCxdXf"


def test_key_derivation_matches_the_reference_argon2id_implementation() -> None:
    assert derive_key(VECTOR_PASSPHRASE).hex() == VECTOR_KEY_HEX


def test_key_derivation_matches_the_argon2_cli_when_installed() -> None:
    """Re-derive with the reference CLI if this machine has it (the vector above came from it)."""
    import hashlib

    salt = hashlib.sha256(b"bifrost-salt-v2:" + VECTOR_PASSPHRASE.encode()).digest()[:16]
    try:
        r = subprocess.run([b"argon2", salt, b"-id", b"-t", b"1", b"-k", b"65536", b"-p", b"4", b"-l", b"32", b"-r"],
                           input=VECTOR_PASSPHRASE.encode(), capture_output=True, timeout=60)
    except FileNotFoundError:
        pytest.skip("argon2 CLI not installed (apt-get install argon2)")
    assert r.stdout.decode().strip() == derive_key(VECTOR_PASSPHRASE).hex()


def test_a_value_encrypted_the_bifrost_way_decrypts() -> None:
    assert Encryptor(VECTOR_PASSPHRASE).decrypt(VECTOR_CIPHERTEXT) == VECTOR_PLAINTEXT


def test_encrypt_produces_nonce_ciphertext_tag_in_standard_base64() -> None:
    enc = Encryptor("a-passphrase-long-enough")
    a, b = enc.encrypt("secret"), enc.encrypt("secret")
    assert a != b  # random nonce
    raw = base64.b64decode(a, validate=True)
    assert len(raw) == 12 + len("secret") + 16
    assert enc.decrypt(a) == enc.decrypt(b) == "secret"


def test_empty_string_and_no_key_pass_through_as_in_bifrost() -> None:
    assert Encryptor("a-passphrase-long-enough").encrypt("") == ""
    plain = Encryptor(None, warn=False)
    assert not plain.enabled
    assert plain.encrypt("sk-1") == "sk-1"
    with pytest.raises(EncryptionError, match="encryption key is not initialized"):
        plain.decrypt(VECTOR_CIPHERTEXT)


def test_wrong_key_and_damaged_values_raise_a_clear_error() -> None:
    with pytest.raises(EncryptionError, match="failed to decrypt"):
        Encryptor("some-other-passphrase-1234").decrypt(VECTOR_CIPHERTEXT)
    enc = Encryptor(VECTOR_PASSPHRASE)
    with pytest.raises(EncryptionError, match="base64"):
        enc.decrypt("not-valid-base64!@#$")
    with pytest.raises(EncryptionError, match="too short"):
        enc.decrypt("YWJj")


def test_short_passphrase_and_missing_key_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bifrost.stores"):
        Encryptor("short")
        Encryptor(None)
    text = caplog.text
    assert "encryption passphrase is shorter than 16 bytes" in text
    assert "encryption key is not set, encryption will be disabled" in text
