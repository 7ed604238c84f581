"""POST /voice/vapi/{slug} with each authentication Vapi offers, end to end: the org's settings
from its spec or the admin API, the real app, worker, Temporal and Postgres."""

import json
import time
from datetime import time as clock
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from vapi.core.pydantic_utilities import parse_obj_as
from vapi.types import ToolCallResult

from core.domain.vapi_auth import HmacSettings, VapiAuthSettings
from tests.booking_helpers import local_start, wait_for_phase2
from tests.conftest import TEST_SECRETS_KEY, MakeOrg, Stack
from tests.factories import TestOrg
from tests.integration.test_org_cli import _env, booking_org
from tests.voice_helpers import org_row_counts, vapi_call, vapi_message, vapi_signed_headers

pytestmark = pytest.mark.integration

SECRET = "vapi-hmac-secret-0123456789"
ADMIN = {"Authorization": "Bearer test-admin-token"}


def hmac_org_settings(**options: Any) -> VapiAuthSettings:
    return VapiAuthSettings(hmac=HmacSettings.model_validate({"secret": SECRET, **options}))


def booking_body(days_ahead: int = 2) -> bytes:
    start = local_start(days_ahead=days_ahead, at=clock(10))
    call = vapi_call("book_appointment", {"name": "Sam Wilson", "start": start.isoformat()})
    return json.dumps(vapi_message(call)).encode()


def availability_body() -> bytes:
    day = local_start(days_ahead=1).date().isoformat()
    return json.dumps(vapi_message(vapi_call("check_availability", {"date": day}))).encode()


async def post(
    client: httpx.AsyncClient, org: TestOrg, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    headers = {"Content-Type": "application/json", **headers}
    return await client.post(f"/voice/vapi/{org.slug}", content=body, headers=headers)


async def test_an_hmac_signed_call_books(
    api: httpx.AsyncClient, make_org: MakeOrg, pool: asyncpg.Pool
) -> None:
    org = await make_org(vapi_auth=hmac_org_settings())
    body = booking_body()
    response = await post(api, org, body, vapi_signed_headers(body, SECRET))
    assert response.status_code == 200, response.text
    [result] = [parse_obj_as(ToolCallResult, r) for r in response.json()["results"]]
    assert result.name == "book_appointment"
    assert result.result is not None and result.result.startswith("Booked:")
    booking_id = await pool.fetchval("SELECT id FROM bookings WHERE org_id = $1", org.id)
    await wait_for_phase2(pool, booking_id)
    assert await org_row_counts(pool, org) == {"bookings": 1, "contacts": 1, "sms_messages": 1}


REFUSED = {
    "wrong secret": (lambda b, org: vapi_signed_headers(b, "another-secret-0123456789"), "match"),
    "stale": (lambda b, org: vapi_signed_headers(b, SECRET, at=time.time() - 301), "outside"),
    "future": (lambda b, org: vapi_signed_headers(b, SECRET, at=time.time() + 301), "outside"),
    "unsigned": (lambda b, org: {}, "missing x-signature or x-timestamp"),
    "signed for another body": (
        lambda b, org: vapi_signed_headers(booking_body(days_ahead=3), SECRET),
        "match",
    ),
    "voice secret instead": (
        lambda b, org: {"Authorization": f"Bearer {org.credentials.voice_secret}"},
        "missing x-signature",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
async def test_wrong_stale_or_unsigned_calls_are_401_and_write_nothing(
    api: httpx.AsyncClient, make_org: MakeOrg, pool: asyncpg.Pool, case: str
) -> None:
    org = await make_org(vapi_auth=hmac_org_settings())
    body = booking_body()
    make_headers, reason = REFUSED[case]
    response = await post(api, org, body, make_headers(body, org))
    assert response.status_code == 401
    assert reason in response.json()["error"]["message"]
    assert SECRET not in response.text
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


async def test_an_hmac_org_is_not_reached_by_its_voice_secret_at_the_shared_url(
    api: httpx.AsyncClient, make_org: MakeOrg, pool: asyncpg.Pool
) -> None:
    org = await make_org(vapi_auth=hmac_org_settings())
    response = await api.post(
        "/voice/vapi",
        content=booking_body(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {org.credentials.voice_secret}",
        },
    )
    assert response.status_code == 401
    assert f"/voice/vapi/{org.slug}" in response.json()["error"]["message"]
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "sha512, base64, prefix": (
        {"algorithm": "sha512", "encoding": "base64", "signature_prefix": "sha512="},
        {"algorithm": "sha512", "encoding": "base64", "prefix": "sha512="},
    ),
    "sha1, renamed headers, milliseconds": (
        {"algorithm": "sha1", "signature_header": "X-Hub-Sig", "timestamp_header": "X-Hub-Time"},
        {
            "algorithm": "sha1",
            "signature_header": "X-Hub-Sig",
            "timestamp_header": "X-Hub-Time",
            "in_milliseconds": True,
        },
    ),
}


@pytest.mark.parametrize("variant", VARIANTS)
async def test_each_configured_signature_variant_is_accepted_and_only_it(
    api: httpx.AsyncClient, make_org: MakeOrg, variant: str
) -> None:
    settings, signing = VARIANTS[variant]
    org = await make_org(vapi_auth=hmac_org_settings(**settings))
    body = availability_body()
    accepted = await post(api, org, body, vapi_signed_headers(body, SECRET, **signing))
    assert accepted.status_code == 200, accepted.text
    assert "is free" in accepted.json()["results"][0]["result"]
    default_signed = await post(api, org, body, vapi_signed_headers(body, SECRET))
    assert default_signed.status_code == 401


async def test_a_renamed_bearer_header_carries_the_voice_secret(
    api: httpx.AsyncClient, make_org: MakeOrg
) -> None:
    org = await make_org(vapi_auth=VapiAuthSettings(bearer_header="X-Clinic-Token"))
    secret = org.credentials.voice_secret
    body = availability_body()
    renamed = await post(api, org, body, {"X-Clinic-Token": f"Bearer {secret}"})
    legacy = await post(api, org, body, {"X-Vapi-Secret": secret})
    authorization = await post(api, org, body, {"Authorization": f"Bearer {secret}"})
    wrong = await post(api, org, body, {"X-Clinic-Token": "Bearer bk_voice_wrong"})
    assert [r.status_code for r in (renamed, legacy, authorization, wrong)] == [200, 200, 401, 401]
    assert "is free" in renamed.json()["results"][0]["result"]


async def test_default_settings_and_unknown_orgs_at_the_org_url(
    api: httpx.AsyncClient, org: TestOrg, make_org: MakeOrg
) -> None:
    secret = org.credentials.voice_secret
    body = availability_body()
    bearer = await post(api, org, body, {"Authorization": f"Bearer {secret}"})
    legacy = await post(api, org, body, {"X-Vapi-Secret": secret})
    other = await make_org()
    # Another org's secret, a slug that does not exist and one that cannot: all the same 401.
    cross = await post(api, other, body, {"Authorization": f"Bearer {secret}"})
    unknown = await api.post(
        "/voice/vapi/no-such-org", content=body, headers={"X-Vapi-Secret": secret}
    )
    bad_slug = await api.post("/voice/vapi/%00", content=body, headers={"X-Vapi-Secret": secret})
    assert [r.status_code for r in (bearer, legacy, cross, unknown, bad_slug)] == [
        200,
        200,
        401,
        401,
        401,
    ]


async def test_the_admin_api_sets_and_resets_hmac_without_returning_the_secret(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    update = {"vapi_auth": {"hmac": {"secret": SECRET, "algorithm": "sha512"}}}
    set_response = await api.put(f"/admin/orgs/{org.slug}/vapi-auth", json=update, headers=ADMIN)
    assert set_response.status_code == 200, set_response.text
    assert SECRET not in set_response.text
    assert set_response.json()["vapi_auth"]["hmac"]["algorithm"] == "sha512"
    stored = await pool.fetchval(
        "SELECT vapi_auth::text || vapi_hmac_secret FROM organizations WHERE id = $1", org.id
    )
    assert SECRET not in stored
    body = availability_body()
    signed = await post(api, org, body, vapi_signed_headers(body, SECRET, algorithm="sha512"))
    bearer = {"Authorization": f"Bearer {org.credentials.voice_secret}"}
    assert [signed.status_code, (await post(api, org, body, bearer)).status_code] == [200, 401]

    refused = await api.put(
        f"/admin/orgs/{org.slug}/vapi-auth",
        json={"vapi_auth": {"hmac": {"secret": SECRET, "payload_format": "{body}"}}},
        headers=ADMIN,
    )
    assert refused.status_code == 422 and SECRET not in refused.text
    reset = await api.put(
        f"/admin/orgs/{org.slug}/vapi-auth", json={"vapi_auth": None}, headers=ADMIN
    )
    assert reset.json() == {"slug": org.slug, "vapi_auth": None}
    assert (await post(api, org, body, bearer)).status_code == 200
    missing = await api.put(
        "/admin/orgs/no-such-org/vapi-auth", json={"vapi_auth": None}, headers=ADMIN
    )
    assert missing.status_code == 404


async def test_the_cli_sets_and_resets_vapi_auth(
    api: httpx.AsyncClient, org: TestOrg, stack: Stack, tmp_path: Path
) -> None:
    env = _env(DATABASE_URL=stack.database_url, SECRETS_ENCRYPTION_KEY=TEST_SECRETS_KEY)
    settings = json.dumps({"bearer_header": "X-Clinic-Token", "hmac": {"secret": SECRET}})
    result = await booking_org(
        "vapi-auth", org.slug, "--file", "-", env=env, cwd=tmp_path, stdin=settings
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["bearer_header"] == "x-clinic-token"
    assert SECRET not in result.stdout + result.stderr
    body = availability_body()
    signed = await post(api, org, body, vapi_signed_headers(body, SECRET))
    assert signed.status_code == 200, signed.text

    bad = json.dumps({"hmac": {"secret": SECRET, "algorithm": "md5"}})
    refused = await booking_org(
        "vapi-auth", org.slug, "--file", "-", env=env, cwd=tmp_path, stdin=bad
    )
    assert refused.returncode == 1 and "hmac.algorithm" in refused.stderr
    assert SECRET not in refused.stdout + refused.stderr

    reset = await booking_org(
        "vapi-auth", org.slug, "--file", "-", env=env, cwd=tmp_path, stdin="null"
    )
    assert reset.returncode == 0, reset.stderr
    bearer = {"Authorization": f"Bearer {org.credentials.voice_secret}"}
    assert (await post(api, org, body, bearer)).status_code == 200
