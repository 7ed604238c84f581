"""Admin API: create orgs and manage their credentials (`Authorization: Bearer <ADMIN_TOKEN>`).

Credentials are returned exactly once, when made; only their hashes are stored. The Retell
key and the Vapi HMAC secret are write-only: they verify webhook signatures, are stored sealed
(core/infra/secret_box.py), and no response holds them.
"""

import logging
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Response, status
from pydantic import BaseModel, ConfigDict
from temporalio.service import RPCError

from api.auth import require_admin
from api.deps import PoolDep, SecretBoxDep, SettingsDep, TemporalDep
from api.limits import require_json
from core.domain.org_spec import SLUG_PATTERN, LanguageSettings, OrgSpec, RetellApiKey
from core.domain.vapi_auth import VapiAuthSettings
from core.repositories import calendar_syncs as sync_repo
from core.services.orgs import (
    CreatedOrg,
    OrgCredentials,
    SlugTaken,
    create_org,
    rotate_credentials,
    set_languages,
    set_retell_api_key,
    set_vapi_auth,
)
from workflows.client import ensure_calendar_syncs

log = logging.getLogger(__name__)

# Every route is admin-only by construction. (FastAPI reads a JSON body first, so malformed JSON
# is a 400 even without the token; nothing is looked up or written before the check.)
router = APIRouter(prefix="/admin/orgs", tags=["admin"], dependencies=[Depends(require_admin)])

# Checked before any query: a slug with a NUL byte must be a 422, not a database error.
SlugPath = Annotated[str, Path(pattern=SLUG_PATTERN, description="The org's slug.")]

# Kept equal to examples/clinic.json by a test, so /docs and the CLI example never drift.
EXAMPLE_ORG: dict[str, Any] = {
    "slug": "sunrise-dental",
    "name": "Sunrise Dental",
    "time_zone": "America/Chicago",
    "default_region": "US",
    "locale": "en-US",
    "languages": ["en-US"],
    "sms_sender": "+13125550142",
    "retell_api_key": None,
    "vapi_auth": None,
    "slot_step_minutes": 30,
    "min_notice_minutes": 120,
    "horizon_days": 60,
    "providers": [
        {"name": "Dr. Patel", "calendar_id": "dr-patel@sunrise-dental.example"},
        {"name": "Dr. Okafor", "calendar_id": "dr-okafor@sunrise-dental.example"},
    ],
    "services": [
        {"name": "Checkup", "duration_minutes": 30, "buffer_minutes": 10},
        {"name": "Cleaning", "duration_minutes": 60, "buffer_minutes": 0},
    ],
    "hours": [
        *(
            {"weekday": day, "opens": "08:00", "closes": "12:00"}
            for day in ("mon", "tue", "wed", "thu", "fri")
        ),
        *(
            {"weekday": day, "opens": "13:00", "closes": "17:00"}
            for day in ("mon", "tue", "wed", "thu", "fri")
        ),
        {"weekday": "sat", "opens": "09:00", "closes": "13:00"},
    ],
}

# Credentials in a response must not be kept by browsers or proxies.
_NO_STORE = {"Cache-Control": "no-store"}


class RetellKeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    retell_api_key: RetellApiKey | None


class RetellKeyStatus(BaseModel):
    slug: str
    retell_api_key_set: bool


class VapiAuthUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    vapi_auth: VapiAuthSettings | None


class VapiAuthStatus(BaseModel):
    """The settings now in force, without the HMAC secret (null: the defaults)."""

    slug: str
    vapi_auth: dict[str, object] | None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_json)],
    responses={409: {"description": "The slug is taken"}},
)
async def create(
    spec: Annotated[
        OrgSpec,
        Body(openapi_examples={"clinic": {"summary": "A dental clinic", "value": EXAMPLE_ORG}}),
    ],
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    secrets: SecretBoxDep,
    response: Response,
) -> CreatedOrg:
    """Create an org; its API key and voice secret are in this response and nowhere else."""
    try:
        credentials = await create_org(pool, spec, secrets=secrets)
    except SlugTaken as taken:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=taken.message) from None
    calendars = await sync_repo.provider_calendars(pool, org_id=UUID(credentials.org_id))
    try:
        await ensure_calendar_syncs(temporal, calendars, settings=settings)
    except RPCError as error:
        # The org exists; a worker starts the syncs within its reconcile interval.
        log.warning("calendar syncs of %s not started yet: %s", spec.slug, error.message)
    response.headers.update(_NO_STORE)
    return CreatedOrg.of(spec, credentials)


@router.post("/{slug}/credentials")
async def rotate(slug: SlugPath, pool: PoolDep, response: Response) -> OrgCredentials:
    """Replace the org's API key and voice secret; the old ones stop working at once."""
    credentials = await rotate_credentials(pool, slug)
    response.headers.update(_NO_STORE)
    return credentials


@router.put("/{slug}/retell-key", dependencies=[Depends(require_json)])
async def set_retell_key(
    slug: SlugPath, update: RetellKeyUpdate, pool: PoolDep, secrets: SecretBoxDep
) -> RetellKeyStatus:
    """Set (or, with null, clear) the Retell API key that verifies the org's Retell webhooks."""
    await set_retell_api_key(pool, slug, update.retell_api_key, secrets=secrets)
    return RetellKeyStatus(slug=slug, retell_api_key_set=update.retell_api_key is not None)


@router.put("/{slug}/vapi-auth", dependencies=[Depends(require_json)])
async def set_vapi_auth_settings(
    slug: SlugPath, update: VapiAuthUpdate, pool: PoolDep, secrets: SecretBoxDep
) -> VapiAuthStatus:
    """Set how /voice/vapi/{slug} checks Vapi's calls (Bearer header, HMAC); null resets it."""
    await set_vapi_auth(pool, slug, update.vapi_auth, secrets=secrets)
    settings = update.vapi_auth.public() if update.vapi_auth else None
    return VapiAuthStatus(slug=slug, vapi_auth=settings)


@router.put("/{slug}/languages", dependencies=[Depends(require_json)])
async def set_org_languages(
    slug: SlugPath, update: LanguageSettings, pool: PoolDep
) -> LanguageSettings:
    """Set the org's locale and the languages callers may ask for; answers what is in force."""
    await set_languages(pool, slug, update)
    return update
