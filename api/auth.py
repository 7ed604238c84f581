"""Who is calling: the admin (ADMIN_TOKEN) or an org (its API key or voice webhook secret).

Credentials are looked up by their SHA-256 hash and then compared in constant time, so neither
the lookup nor the comparison tells an attacker how close a guess was. Every failure answers
the same 401, whether the org exists or not.
"""

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from api.deps import PoolDep, SettingsDep
from core.domain.credentials import hash_token, token_matches
from core.infra.logs import bind_log_context
from core.repositories import orgs as org_repo
from core.services.orgs import Org

_UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="missing or invalid credentials",
    headers={"WWW-Authenticate": "Bearer"},
)


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def require_admin(request: Request, settings: SettingsDep) -> None:
    """`Authorization: Bearer <ADMIN_TOKEN>`; with no ADMIN_TOKEN set the admin API is off."""
    expected = settings.admin_token.get_secret_value() if settings.admin_token else None
    if not expected:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="the admin API is disabled: set ADMIN_TOKEN to enable it",
        )
    token = bearer_token(request)
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise _UNAUTHORIZED


async def org_from_api_key(request: Request, pool: PoolDep) -> Org:
    """The org whose API key is presented as `Authorization: Bearer <key>`; 401 otherwise."""
    token = bearer_token(request)
    if token is None:
        raise _UNAUTHORIZED
    found = await org_repo.find_by_api_key_hash(pool, api_key_hash=hash_token(token))
    if found is None or not token_matches(token, found.stored_hash):
        raise _UNAUTHORIZED
    return authenticated_org(Org.from_row(found.org))


async def org_from_voice_secret(pool: PoolDep, secret: str | None) -> Org:
    """The org whose voice webhook secret this is; 401 for a wrong or missing one."""
    if not secret:
        raise _UNAUTHORIZED
    found = await org_repo.find_by_voice_secret_hash(pool, voice_secret_hash=hash_token(secret))
    if found is None or not token_matches(secret, found.stored_hash):
        raise _UNAUTHORIZED
    return authenticated_org(Org.from_row(found.org))


def authenticated_org(org: Org) -> Org:
    """The org whose credential checked out, now named on every log line of the request."""
    bind_log_context(org=org.slug, org_id=org.id)
    return org


AdminDep = Annotated[None, Depends(require_admin)]
OrgDep = Annotated[Org, Depends(org_from_api_key)]
