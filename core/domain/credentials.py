"""Org credentials: random tokens shown once, stored only as hashes, compared in constant time."""

import hashlib
import hmac
import secrets


def new_token(prefix: str) -> str:
    """A fresh 256-bit token, prefixed so a leaked one is recognisable (e.g. `bk_live_...`)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    """SHA-256 hex digest: enough for high-entropy random tokens (no password stretching needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(hash_token(token), stored_hash)
