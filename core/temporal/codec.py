"""AES-GCM payload codec: names and phone numbers never reach Temporal's history in clear.

Every payload is encrypted with the current key and tagged with its key id in the metadata;
decoding picks the key by that id, so after a rotation the old keys (kept for decoding only)
still read the histories they wrote. Payloads without our encoding pass through unchanged,
which lets a deployment turn encryption on without breaking the workflows already running.
"""

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from core.errors import ConfigurationError
from core.infra.config import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
_NONCE_BYTES = 12
_KEY_BYTES = 32


@dataclass(frozen=True)
class EncryptionKey:
    """One AES-256 key and the id written next to what it encrypts."""

    key_id: str
    secret: bytes = field(repr=False)  # never in a log line or a traceback


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
    if len(secret) != _KEY_BYTES:
        raise ConfigurationError(
            f"{setting}: the key must be {_KEY_BYTES} bytes (AES-256), got {len(secret)}"
        )
    return EncryptionKey(key_id=key_id, secret=secret)


def generate_key(key_id: str) -> str:
    """A fresh key in the settings' form, for operators rotating keys."""
    return f"{key_id}:{base64.b64encode(os.urandom(_KEY_BYTES)).decode()}"


class EncryptionCodec(PayloadCodec):
    """Encrypts with `current`; decrypts with whichever configured key wrote the payload."""

    def __init__(self, current: EncryptionKey, old: Sequence[EncryptionKey] = ()) -> None:
        self._current = AESGCM(current.secret)
        self._current_id = current.key_id.encode()
        self._by_id = {key.key_id: AESGCM(key.secret) for key in (*old, current)}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(_NONCE_BYTES)
        # The key id is authenticated too: a payload relabelled with another id fails to decrypt.
        sealed = self._current.encrypt(nonce, payload.SerializeToString(), self._current_id)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: self._current_id},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._by_id.get(key_id)
        if cipher is None:
            raise ValueError(
                f"payload encrypted with key {key_id!r}, which is not configured "
                "(add it to PAYLOAD_ENCRYPTION_OLD_KEYS)"
            )
        nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise ValueError(f"payload under key {key_id!r} failed authentication") from None
        return Payload.FromString(plain)


def payload_codec(settings: Settings) -> EncryptionCodec | None:
    """The codec PAYLOAD_ENCRYPTION_KEY asks for, or None when encryption is off."""
    current, old = (
        secret.get_secret_value() if secret else None
        for secret in (settings.payload_encryption_key, settings.payload_encryption_old_keys)
    )
    if current is None:
        if old:
            raise ConfigurationError(
                "PAYLOAD_ENCRYPTION_OLD_KEYS is set without PAYLOAD_ENCRYPTION_KEY"
            )
        return None
    current_key = parse_key(current, "PAYLOAD_ENCRYPTION_KEY")
    old_keys = [
        parse_key(item, "PAYLOAD_ENCRYPTION_OLD_KEYS")
        for item in (old or "").split(",")
        if item.strip()
    ]
    ids = [key.key_id for key in (*old_keys, current_key)]
    if len(set(ids)) != len(ids):
        raise ConfigurationError("payload encryption keys must have distinct ids")
    return EncryptionCodec(current_key, old_keys)
