"""Which org a Vapi call is from, checked the way the org chose (core/domain/vapi_auth.py).

`/voice/vapi` finds the org by its voice secret (`Authorization: Bearer` or `X-Vapi-Secret`).
`/voice/vapi/{slug}` names the org, so its own settings apply: a renamed Bearer header, or HMAC,
where no secret travels and the org could not otherwise be found. Every failure is a 401 with
a short reason and happens before the body is parsed, so nothing is written.
"""

import logging
import re
import time

from fastapi import HTTPException, Request, status

from api.auth import authenticated_org, bearer_token, org_from_voice_secret
from api.deps import PoolDep, SecretBoxDep
from core.domain.credentials import token_matches
from core.domain.org_spec import SLUG_PATTERN
from core.domain.vapi_auth import presented_secret, signature_problem
from core.errors import SealedSecretUnreadable
from core.repositories import orgs as org_repo
from core.services.orgs import Org

log = logging.getLogger(__name__)


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=reason)


async def org_by_voice_secret(request: Request, pool: PoolDep) -> Org:
    """The org whose voice secret is in `Authorization: Bearer` or `X-Vapi-Secret`. Both are
    tried: a Vapi setup may carry its own Authorization header beside the secret."""
    candidates = [bearer_token(request), request.headers.get("x-vapi-secret", "").strip()]
    presented = [secret for secret in candidates if secret]
    org: Org | None = None
    for secret in presented[:-1]:
        try:
            org = await org_from_voice_secret(pool, secret)
            break
        except HTTPException:
            continue
    if org is None:
        org = await org_from_voice_secret(pool, presented[-1] if presented else None)
    # An org that set HMAC accepts nothing weaker, or its setting would protect nothing.
    if await org_repo.requires_vapi_hmac(pool, org_id=org.id):
        raise _unauthorized(f"this org accepts only HMAC-signed calls at /voice/vapi/{org.slug}")
    return org


async def org_by_slug(request: Request, pool: PoolDep, secrets: SecretBoxDep, slug: str) -> Org:
    """The org named in the URL, if the call carries its credential as the org configured it.

    Unknown org and wrong credential answer alike, so the URL does not reveal which orgs exist.
    """
    # A slug that cannot exist is not looked up (a NUL byte would make Postgres refuse it).
    try:
        found = (
            await org_repo.find_vapi_auth_by_slug(pool, slug=slug, secrets=secrets)
            if re.fullmatch(SLUG_PATTERN, slug)
            else None
        )
    except SealedSecretUnreadable as error:
        # Fails closed: an HMAC secret that does not open verifies nothing.
        log.error("Vapi call refused: %s", error.message)
        raise _unauthorized("missing or invalid credentials") from None
    if found is None:
        raise _unauthorized("missing or invalid credentials")
    settings = found.vapi_auth
    if settings.hmac is not None:
        problem = signature_problem(
            settings.hmac,
            body=await request.body(),
            headers=request.headers,
            method=request.method,
            now=time.time(),
        )
        if problem:
            log.info("Vapi call for %s refused: %s", found.org.slug, problem)
            raise _unauthorized(problem)
    else:
        secret = presented_secret(settings, request.headers)
        if secret is None or not token_matches(secret, found.voice_secret_hash):
            raise _unauthorized("missing or invalid credentials")
    return authenticated_org(Org.from_row(found.org))
