"""The OAuth2 side of the Google sandbox: generated service accounts and a token endpoint.

`POST /token` accepts the service-account JWT-bearer grant exactly as `google-auth` sends it
(form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`), verifies the JWT
signature against the public key of a service account the sandbox generated (or was told about),
and answers `{"access_token", "expires_in", "token_type": "Bearer"}`. Calendar routes then accept
only those access tokens, so an expired or revoked token surfaces as a 401 just like Google's.
"""

import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request
from google.auth import exceptions as auth_exceptions
from google.auth import jwt
from starlette.responses import JSONResponse, Response

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always addresses the grant JWT to Google's endpoint, whatever `token_uri` says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
TOKEN_PATH = "/token"


def generate_service_account(
    token_uri: str, *, client_email: str = "booking-sandbox@sandbox-project.iam.gserviceaccount.com"
) -> tuple[dict[str, Any], str]:
    """A service-account JSON dict with a fresh RSA key, and that key's public PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    info = {
        "type": "service_account",
        "project_id": "sandbox-project",
        "private_key_id": secrets.token_hex(20),
        "private_key": private_pem,
        "client_email": client_email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": token_uri.rsplit("/", 1)[0] + "/auth",
        "token_uri": token_uri,
        "universe_domain": "googleapis.com",
    }
    return info, public_pem


@dataclass
class Grant:
    """Who an access token was issued to."""

    client_email: str
    subject: str | None
    scopes: list[str]
    expires_at: float


@dataclass
class OAuthState:
    """Known service accounts (email → public PEM) and the access tokens issued to them."""

    token_uri: str | None = None
    token_lifetime: int = 3600
    public_keys: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, Grant] = field(default_factory=dict)

    def revoke_all(self) -> None:
        self.tokens.clear()

    def grant_for(self, authorization: str | None) -> Grant | None:
        """The live grant behind an `Authorization: Bearer ...` header, if any."""
        scheme, _, token = (authorization or "").partition(" ")
        grant = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if grant is None or grant.expires_at < time.time():
            return None
        return grant


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    """An OAuth2 error body (RFC 6749 §5.2), as Google's token endpoint answers."""
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def token_router(state: OAuthState) -> APIRouter:
    router = APIRouter()

    @router.post(TOKEN_PATH)
    async def token(request: Request) -> Response:
        """Exchange a signed service-account JWT for an access token."""
        form = dict(parse_qsl((await request.body()).decode()))
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return oauth_error(400, "unsupported_grant_type", "Invalid grant_type.")
        assertion = form.get("assertion", "")
        try:
            unverified = jwt.decode(assertion, verify=False)
            public_pem = state.public_keys.get(unverified.get("iss", ""))
            if public_pem is None:
                return oauth_error(400, "invalid_grant", "Invalid JWT: unknown issuer.")
            audiences = [GOOGLE_TOKEN_AUDIENCE, *([state.token_uri] if state.token_uri else [])]
            claims = jwt.decode(assertion, certs=public_pem, audience=audiences)
        except (ValueError, auth_exceptions.GoogleAuthError) as exc:
            return oauth_error(400, "invalid_grant", f"Invalid JWT Signature. ({exc})")
        access_token = "ya29.sandbox-" + secrets.token_urlsafe(32)
        state.tokens[access_token] = Grant(
            client_email=claims["iss"],
            subject=claims.get("sub"),
            scopes=str(claims.get("scope", "")).split(),
            expires_at=time.time() + state.token_lifetime,
        )
        return JSONResponse(
            {
                "access_token": access_token,
                "expires_in": state.token_lifetime,
                "token_type": "Bearer",
            }
        )

    return router
