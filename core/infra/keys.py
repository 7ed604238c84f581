"""AES-256 keys as the settings hold them (`key-id:base64-of-32-bytes`), and key rings: one
current key that encrypts, former ones kept for decrypting only. Shared by the workflow payload
codec (PAYLOAD_ENCRYPTION_*) and the sealed org secrets (SECRETS_ENCRYPTION_*)."""

import base64
import binascii
import os
from dataclasses import dataclass, field

from pydantic import SecretStr

from core.errors import ConfigurationError

KEY_BYTES = 32


@dataclass(frozen=True)
class EncryptionKey:
    """One AES-256 key and the id written next to what it encrypts."""

    key_id: str
    secret: bytes = field(repr=False)  # never in a log line or a traceback


@dataclass(frozen=True)
class KeyRing:
    """The key new values are encrypted with, and former keys that still decrypt."""

    current: EncryptionKey
    old: tuple[EncryptionKey, ...] = ()


def parse_key(text: str, setting: str) -> EncryptionKey:
    """`key-id:base64-of-32-bytes`, as PAYLOAD_ENCRYPTION_KEY holds it."""
    key_id, separator, encoded = text.strip().partition(":")
    if not separator or not key_id or not encoded:
        raise ConfigurationError(f"{setting} must look like `key-id:base64-of-32-bytes`")
    if not key_id.isascii() or not key_id.replace("-", "").replace("_", "").isalnum():
        raise ConfigurationError(f"{setting}: the key id may hold letters, digits, - and _ only")
    try:
        secret = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{setting}: the key after `{key_id}:` is not base64") from None
    if len(secret) != KEY_BYTES:
        raise ConfigurationError(
            f"{setting}: the key must be {KEY_BYTES} bytes (AES-256), got {len(secret)}"
        )
    return EncryptionKey(key_id=key_id, secret=secret)


def generate_key(key_id: str) -> str:
    """A fresh key in the settings' form, for operators rotating keys."""
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def key_ring(
    current: SecretStr | None, old: SecretStr | None, *, current_name: str, old_name: str
) -> KeyRing | None:
    """The ring the two settings describe (old keys comma-separated); None when neither is set.
    Old keys without a current one, a malformed key or two keys with one id are errors."""
    if current is None:
        if old is not None and old.get_secret_value().strip():
            raise ConfigurationError(f"{old_name} is set without {current_name}")
        return None
    current_key = parse_key(current.get_secret_value(), current_name)
    old_keys = tuple(
        parse_key(item, old_name)
        for item in (old.get_secret_value() if old else "").split(",")
        if item.strip()
    )
    ids = [key.key_id for key in (*old_keys, current_key)]
    if len(set(ids)) != len(ids):
        raise ConfigurationError(
            f"the keys of {current_name} and {old_name} must have distinct ids"
        )
    return KeyRing(current_key, old_keys)
