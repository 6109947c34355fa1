"""Encryption at rest, with Bifrost's exact scheme so a Bifrost database can be read and vice versa.

Key: Argon2id (time 1, memory 64 MiB, 4 threads, 32 bytes) of the passphrase, salted with the
first 16 bytes of SHA-256("bifrost-salt-v2:" + passphrase) (Bifrost's framework/encrypt).
Cipher: AES-256-GCM with a random 12-byte nonce, stored as base64(nonce || ciphertext+tag).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import logging
import os

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger("bifrost.stores")

NONCE_SIZE = 12
NO_KEY_WARNING = (
    "encryption key is not set, encryption will be disabled. To set encryption key: use the encryption_key "
    "field in the configuration file or set the BIFROST_ENCRYPTION_KEY environment variable. Note that - once "
    "encryption key is set, it cannot be changed later unless you clean up the database."
)
SHORT_KEY_WARNING = ("encryption passphrase is shorter than 16 bytes, consider using a longer passphrase for "
                     "better security")


class EncryptionError(Exception):
    """A value cannot be decrypted (no key, wrong key, damaged data); str() is the user-facing message."""


# Argon2id with 64 MiB takes ~0.1-0.3 s of CPU: derive each passphrase's key once per process.
@functools.lru_cache(maxsize=4)
def derive_key(passphrase: str) -> bytes:
    """The 32-byte AES key Bifrost derives from a passphrase."""
    secret = passphrase.encode()
    salt = hashlib.sha256(b"bifrost-salt-v2:" + secret).digest()[:16]
    return hash_secret_raw(secret, salt, time_cost=1, memory_cost=64 * 1024, parallelism=4, hash_len=32,
                           type=Type.ID)


def hash_sha256(value: str) -> str:
    """Hex SHA-256, for lookups on secret columns (session tokens), as Bifrost's HashSHA256."""
    return hashlib.sha256(value.encode()).hexdigest()


class Encryptor:
    """Encrypts and decrypts secrets; with no passphrase, values pass through in plaintext."""

    def __init__(self, passphrase: str | None, *, warn: bool = True) -> None:
        self._aes: AESGCM | None = None
        if not passphrase:
            if warn:
                log.warning("%s", NO_KEY_WARNING)
            return
        if warn and len(passphrase.encode()) < 16:
            log.warning("%s", SHORT_KEY_WARNING)
        self._aes = AESGCM(derive_key(passphrase))

    @property
    def enabled(self) -> bool:
        return self._aes is not None

    def encrypt(self, plaintext: str) -> str:
        """base64(nonce || ciphertext+tag); the empty string and no-key pass through, as in Bifrost."""
        if self._aes is None or plaintext == "":
            return plaintext
        nonce = os.urandom(NONCE_SIZE)
        return base64.b64encode(nonce + self._aes.encrypt(nonce, plaintext.encode(), None)).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        if self._aes is None:
            raise EncryptionError("encryption key is not initialized: the value is encrypted; set "
                                  "BIFROST_ENCRYPTION_KEY (or encryption_key) to the key it was encrypted with")
        if ciphertext == "":
            return ""
        try:
            data = base64.b64decode(ciphertext, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise EncryptionError(f"failed to decode base64: {exc}") from None
        if len(data) < NONCE_SIZE + 16:
            raise EncryptionError("ciphertext too short")
        try:
            return self._aes.decrypt(data[:NONCE_SIZE], data[NONCE_SIZE:], None).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise EncryptionError("failed to decrypt: the encryption key is not the one this value was "
                                  "encrypted with") from None
