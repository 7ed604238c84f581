"""AES-GCM payload codec: names and phone numbers never reach Temporal's history in clear.

Every payload is encrypted with the current key and tagged with its key id in the metadata;
decoding picks the key by that id, so after a rotation the old keys (kept for decoding only)
still read the histories they wrote. Payloads without our encoding pass through unchanged,
which lets a deployment turn encryption on without breaking the workflows already running.
"""

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from core.infra.config import Settings
from core.infra.keys import EncryptionKey, generate_key, key_ring, parse_key

# Key parsing lives in core.infra.keys (shared with the sealed org secrets); these names stay
# importable from here.
__all__ = ["EncryptionCodec", "EncryptionKey", "generate_key", "parse_key", "payload_codec"]

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
_NONCE_BYTES = 12


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
    ring = key_ring(
        settings.payload_encryption_key,
        settings.payload_encryption_old_keys,
        current_name="PAYLOAD_ENCRYPTION_KEY",
        old_name="PAYLOAD_ENCRYPTION_OLD_KEYS",
    )
    return EncryptionCodec(ring.current, ring.old) if ring else None
