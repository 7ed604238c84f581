"""The demo org `booking dev` seeds: made through the same path as an admin-created org."""

import logging
import os
from datetime import time
from pathlib import Path

import asyncpg
from pydantic import SecretStr

from core.domain.credentials import hash_token, new_token
from core.domain.org_spec import OpeningSpec, OrgSpec, ProviderSpec, ServiceSpec
from core.errors import InvalidInput
from core.infra.secret_box import SecretBox
from core.repositories import orgs as org_repo
from core.services.orgs import OrgCredentials, create_org, rotate_credentials, set_retell_api_key

log = logging.getLogger(__name__)

DEMO_SLUG = "demo-clinic"


def demo_org_spec() -> OrgSpec:
    """One provider with a calendar, one 30-minute service, Mon-Fri 09:00-17:00 New York time."""
    return OrgSpec(
        slug=DEMO_SLUG,
        name="Demo Clinic",
        time_zone="America/New_York",
        default_region="US",
        sms_sender="+12125550100",
        providers=[ProviderSpec(name="Dr. Rivera", calendar_id="dr-rivera@demo-clinic.example")],
        services=[ServiceSpec(name="Consultation", duration_minutes=30, buffer_minutes=0)],
        hours=[
            OpeningSpec(weekday=day, opens=time(9), closes=time(17))
            for day in ("mon", "tue", "wed", "thu", "fri")
        ],
    )


class DemoCredentials(OrgCredentials):
    """The demo org's credentials plus a generated stand-in for a Retell API key, so Retell
    requests can be signed by hand (README) against `booking dev`."""

    retell_api_key: str | None = None


async def ensure_demo_org(
    pool: asyncpg.Pool, data_dir: Path, secrets: SecretBox
) -> DemoCredentials:
    """Create the demo org once; later runs reuse it and the credentials saved beside the data.

    Only hashes (and the Retell key, sealed with `secrets`) live in the database, so the
    plaintext is kept in DATA_DIR (mode 0600) for the developer; if that file is lost the
    credentials are rotated rather than the org duplicated.
    """
    saved = data_dir / "demo-org.json"
    if saved.exists():
        credentials = DemoCredentials.model_validate_json(saved.read_text())
        # The file outlives a wiped database; trust it only if the key still opens the org.
        if await org_repo.has_api_key(
            pool, slug=DEMO_SLUG, api_key_hash=hash_token(credentials.api_key)
        ):
            if credentials.retell_api_key is None:
                credentials = await _with_retell_key(pool, credentials, secrets)
                _write_private(saved, credentials.model_dump_json(indent=2))
            return credentials
    try:
        created = await create_org(pool, demo_org_spec())
        log.info("created the demo org %s", DEMO_SLUG)
    except InvalidInput:
        created = await rotate_credentials(pool, DEMO_SLUG)
        log.info("demo org existed without saved credentials; rotated them")
    credentials = await _with_retell_key(pool, DemoCredentials(**created.model_dump()), secrets)
    _write_private(saved, credentials.model_dump_json(indent=2))
    return credentials


async def _with_retell_key(
    pool: asyncpg.Pool, credentials: DemoCredentials, secrets: SecretBox
) -> DemoCredentials:
    key = new_token("key_demo")
    await set_retell_api_key(pool, DEMO_SLUG, SecretStr(key), secrets=secrets)
    return credentials.model_copy(update={"retell_api_key": key})


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
