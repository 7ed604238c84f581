"""Seals the vendor secrets an org stores (Retell API key, Vapi HMAC secret) before they reach
Postgres, and opens them for the one request that needs them.

The stored form is text, `v1:<key id>:<base64 of nonce + ciphertext>`: the column stays `text`
(plaintext rows can be sealed in place and a CHECK constraint can refuse anything else), the key
id is readable by SQL and by the re-sealing step without decrypting, and it reads as what it is
in psql or a dump. AES-256-GCM with a fresh 12-byte nonce; the associated data binds the value
to its format, key id, org and column, so a value copied to another org's row or another column,
or relabelled with another key id, fails to open instead of verifying someone else's calls.
"""

import base64
import binascii
import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import ConfigurationError, SealedSecretUnreadable
from core.infra.config import Settings
from core.infra.keys import KeyRing, key_ring

FORMAT = "v1"
_NONCE_BYTES = 12


def is_sealed(stored: str) -> bool:
    """Whether a stored value has the sealed form (it may still fail to open)."""
    return stored.startswith(f"{FORMAT}:")


def key_id_of(stored: str) -> str | None:
    """The key id a sealed value names; None for anything not in the sealed form."""
    if not is_sealed(stored):
        return None
    key_id = stored.split(":", 2)[1] if stored.count(":") >= 2 else ""
    return key_id or None


class SecretBox:
    """Seals with the ring's current key; opens with whichever configured key sealed."""

    def __init__(self, ring: KeyRing) -> None:
        self.current_key_id = ring.current.key_id
        self.old_key_ids = tuple(key.key_id for key in ring.old)
        self._by_id = {key.key_id: AESGCM(key.secret) for key in (*ring.old, ring.current)}

    def seal(self, plain: str, *, org_id: UUID, column: str) -> str:
        """The stored form of `plain`, bound to this org's `column`."""
        nonce = os.urandom(_NONCE_BYTES)
        cipher = self._by_id[self.current_key_id]
        data = cipher.encrypt(
            nonce, plain.encode(), _associated(self.current_key_id, org_id, column)
        )
        return f"{FORMAT}:{self.current_key_id}:{base64.b64encode(nonce + data).decode()}"

    def open(self, stored: str, *, org_id: UUID, column: str) -> str:
        """The plain value; SealedSecretUnreadable if it is not sealed for this org's `column`
        under a configured key."""
        key_id = key_id_of(stored)
        if key_id is None:
            raise SealedSecretUnreadable(f"organizations.{column} of {org_id} is not sealed")
        cipher = self._by_id.get(key_id)
        if cipher is None:
            raise SealedSecretUnreadable(
                f"organizations.{column} of {org_id} is sealed with key {key_id!r}, which is not "
                "configured (add it to SECRETS_ENCRYPTION_OLD_KEYS)"
            )
        try:
            raw = base64.b64decode(stored.split(":", 2)[2], validate=True)
            plain = cipher.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _associated(key_id, org_id, column)
            )
        except (binascii.Error, ValueError, InvalidTag):
            raise SealedSecretUnreadable(
                f"organizations.{column} of {org_id} failed authentication under key {key_id!r} "
                "(altered, or copied from another org or column)"
            ) from None
        return plain.decode()

    def needs_resealing(self, stored: str) -> bool:
        """Plaintext, or sealed under a key other than the current one."""
        return key_id_of(stored) != self.current_key_id


def _associated(key_id: str, org_id: UUID, column: str) -> bytes:
    return f"{FORMAT}|{key_id}|{org_id}|organizations.{column}".encode()


def secret_box(settings: Settings) -> SecretBox | None:
    """The box SECRETS_ENCRYPTION_KEY describes; None when it is unset."""
    ring = key_ring(
        settings.secrets_encryption_key,
        settings.secrets_encryption_old_keys,
        current_name="SECRETS_ENCRYPTION_KEY",
        old_name="SECRETS_ENCRYPTION_OLD_KEYS",
    )
    return SecretBox(ring) if ring else None


def require_secret_box(settings: Settings, needed_for: str) -> SecretBox:
    """The configured box, or a ConfigurationError telling the operator what to set."""
    box = secret_box(settings)
    if box is None:
        raise ConfigurationError(
            f"SECRETS_ENCRYPTION_KEY is not set; it is needed {needed_for}. Generate one with "
            "python3 -c \"import base64,os;print('s1:'+base64.b64encode(os.urandom(32)).decode())\""
        )
    return box
