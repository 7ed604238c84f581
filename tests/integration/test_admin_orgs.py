"""Creating orgs through the admin API: whole or not at all, credentials shown once.

Covers invariant 7 for the admin API: every bad body is a clear 4xx naming the field, and no
row is written; and the credential rules: only hashes stored, the Retell key never returned,
rotation voids the old credentials at once. The same rules through `booking org` are in
test_org_cli, which reuses this module's example clinic and row counts.

One module a little past 300 lines because a fifth of it is the `BAD_BODIES` table, and creating,
refusing, rotating and the shipped example all work on the same `clinic` body and `row_counts`.
"""

import asyncio
import copy
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import HTTPException
from starlette.requests import Request

from api.auth import org_from_api_key, org_from_voice_secret
from api.routes.admin import EXAMPLE_ORG
from core.domain.org_spec import OrgSpec
from core.infra.config import Settings
from core.infra.secret_box import SecretBox
from core.ops.demo import demo_org_spec
from tests.apiclient import api_client
from tests.conftest import Stack, make_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_FILE = REPO / "examples" / "clinic.json"
ADMIN = {"Authorization": "Bearer test-admin-token"}
TABLES = ("organizations", "providers", "services", "business_hours")
RETELL_KEY = "key_retell_0123456789abcdef"


def clinic(**overrides: Any) -> dict[str, Any]:
    """The example clinic under a fresh slug, with `overrides` applied."""
    body = copy.deepcopy(EXAMPLE_ORG)
    body["slug"] = f"clinic-{uuid.uuid4().hex[:10]}"
    body.update(overrides)
    return body


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def row_counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {table: await pool.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES}


def bearer(token: str) -> Request:
    return Request({"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]})


# --- creating over HTTP ---------------------------------------------------------------------


async def test_create_returns_credentials_once_and_they_authenticate(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    body = clinic()
    async with api_client(settings) as client:
        response = await client.post("/admin/orgs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["slug"] == body["slug"]
    assert created["api_key"].startswith("bk_api_")
    assert created["voice_secret"].startswith("bk_voice_")
    assert [p["name"] for p in created["providers"]] == ["Dr. Patel", "Dr. Okafor"]
    assert [s["name"] for s in created["services"]] == ["Checkup", "Cleaning"]
    assert len(created["hours"]) == 11
    assert created["time_zone"] == "America/Chicago"
    assert created["retell_api_key_set"] is False
    assert created["locale"] == "en-US" and created["languages"] == ["en-US"]  # the defaults

    row = await pool.fetchrow("SELECT * FROM organizations WHERE slug = $1", body["slug"])
    assert str(row["id"]) == created["org_id"]
    # Only hashes are stored: no column holds either credential itself.
    assert row["api_key_hash"] == sha256(created["api_key"])
    assert row["voice_secret_hash"] == sha256(created["voice_secret"])
    stored = " ".join(str(value) for value in row.values())
    assert created["api_key"] not in stored and created["voice_secret"] not in stored
    for table, expected in (("providers", 2), ("services", 2), ("business_hours", 11)):
        count = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE org_id = $1", row["id"])
        assert count == expected, table

    org = await org_from_api_key(bearer(created["api_key"]), pool)
    assert org.slug == body["slug"] and str(org.time_zone) == "America/Chicago"
    assert (await org_from_voice_secret(pool, created["voice_secret"])).id == org.id


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic dGVzdC1hZG1pbg=="}],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_admin_token_is_required(
    settings: Settings, pool: asyncpg.Pool, headers: dict[str, str]
) -> None:
    before = await row_counts(pool)
    async with api_client(settings) as client:
        create = await client.post("/admin/orgs", json=clinic(), headers=headers)
        rotate = await client.post("/admin/orgs/demo-clinic/credentials", headers=headers)
        retell = await client.put(
            "/admin/orgs/demo-clinic/retell-key", json={"retell_api_key": None}, headers=headers
        )
    for response in (create, rotate, retell):
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "missing or invalid credentials"
    assert await row_counts(pool) == before


async def test_admin_api_is_off_without_admin_token(stack: Stack, pool: asyncpg.Pool) -> None:
    before = await row_counts(pool)
    async with api_client(make_settings(stack, admin_token=None)) as client:
        response = await client.post("/admin/orgs", json=clinic(), headers=ADMIN)
    assert response.status_code == 403
    assert "set ADMIN_TOKEN" in response.json()["error"]["message"]
    assert await row_counts(pool) == before


def _hours(*intervals: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"weekday": day, "opens": opens, "closes": closes} for day, opens, closes in intervals]


BAD_BODIES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("bad-time-zone", {"time_zone": "Mars/Olympus_Mons"}, "unknown IANA time zone", "time_zone"),
    ("file-path-zone", {"time_zone": "../../etc/passwd"}, "unknown IANA time zone", "time_zone"),
    ("long-zone", {"time_zone": "A" * 5000}, "unknown IANA time zone", "time_zone"),
    (
        "bad-weekday",
        {"hours": _hours(("funday", "09:00", "17:00"))},
        "weekday must be one of",
        "hours.0.weekday",
    ),
    (
        "opens-after-closes",
        {"hours": _hours(("mon", "17:00", "09:00"))},
        "opens must be before closes",
        "hours.0",
    ),
    (
        "offset-time",
        {"hours": _hours(("mon", "09:00+02:00", "17:00"))},
        "without a UTC offset",
        "hours.0.opens",
    ),
    (
        "overlapping-hours",
        {"hours": _hours(("mon", "09:00", "13:00"), ("mon", "12:00", "17:00"))},
        "mon 09:00-13:00 overlaps mon 12:00-17:00",
        "hours",
    ),
    (
        "same-hours-twice",
        {"hours": _hours(("mon", "09:00", "17:00"), ("Monday", "09:00", "17:00"))},
        "overlaps",
        "hours",
    ),
    ("no-providers", {"providers": []}, "at least 1 item", "providers"),
    ("no-hours", {"hours": []}, "at least 1 item", "hours"),
    (
        "provider-twice",
        {
            "providers": [
                {"name": "Dr. A", "calendar_id": "a"},
                {"name": "dr. a", "calendar_id": "b"},
            ]
        },
        "is used twice",
        "providers",
    ),
    ("bad-slug", {"slug": "Not A Slug"}, "should match pattern", "slug"),
    ("nul-in-name", {"name": "Sunrise\x00Dental"}, "control characters", "name"),
    ("bad-sms-sender", {"sms_sender": "555-0142"}, "E.164", "sms_sender"),
    ("bad-region", {"default_region": "XX"}, "phone region", "default_region"),
    ("unsupported-locale", {"locale": "pt-BR"}, "unsupported locale", "locale"),
    ("malformed-locale", {"locale": "not a locale"}, "BCP 47", "locale"),
    ("unsupported-language", {"languages": ["en-US", "pt-BR"]}, "unsupported locale", None),
    (
        "misspelled-field",
        {"retell_key": RETELL_KEY},
        "Extra inputs are not permitted",
        "retell_key",
    ),
    (
        "short-service",
        {"services": [{"name": "Hi", "duration_minutes": 1}]},
        "greater than or equal to 5",
        "services.0.duration_minutes",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "message", "field"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
async def test_invalid_spec_is_422_naming_the_field_and_writes_nothing(
    settings: Settings,
    pool: asyncpg.Pool,
    overrides: dict[str, Any],
    message: str,
    field: str | None,
) -> None:
    before = await row_counts(pool)
    body = clinic(retell_api_key=RETELL_KEY, **overrides)
    async with api_client(settings) as client:
        response = await client.post("/admin/orgs", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert message in error["message"]
    if field is not None:
        assert error["field"] == field
    assert RETELL_KEY not in response.text
    assert await row_counts(pool) == before


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        (b'{"slug": "half-written", ', "application/json", 400, "not valid JSON"),
        (json.dumps(clinic()).encode(), "text/plain", 415, "application/json"),
        (json.dumps(clinic(name="x" * 300_000)).encode(), "application/json", 413, "256 KiB"),
        (b"[]", "application/json", 422, "valid dictionary"),
        (b"", "application/json", 422, "Field required"),
    ],
    ids=["malformed-json", "text-plain", "over-256-KiB", "json-array", "empty-body"],
)
async def test_unusable_body_is_refused_and_writes_nothing(
    settings: Settings,
    pool: asyncpg.Pool,
    content: bytes,
    content_type: str,
    status: int,
    message: str,
) -> None:
    before = await row_counts(pool)
    headers = {**ADMIN, "Content-Type": content_type}
    async with api_client(settings) as client:
        response = await client.post("/admin/orgs", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    assert await row_counts(pool) == before


async def test_taken_slug_is_409_and_writes_nothing(settings: Settings, pool: asyncpg.Pool) -> None:
    first = clinic()
    async with api_client(settings) as client:
        assert (await client.post("/admin/orgs", json=first, headers=ADMIN)).status_code == 201
        before = await row_counts(pool)
        again = clinic(slug=first["slug"], name="Another Clinic")
        response = await client.post("/admin/orgs", json=again, headers=ADMIN)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error == {
        "code": "conflict",
        "message": f"an org with slug '{first['slug']}' already exists",
    }
    assert await row_counts(pool) == before


async def test_concurrent_creates_of_one_slug_make_one_org(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    body = clinic()
    async with api_client(settings) as client:
        responses = await asyncio.gather(
            *(client.post("/admin/orgs", json=body, headers=ADMIN) for _ in range(5))
        )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    count = await pool.fetchval("SELECT count(*) FROM organizations WHERE slug = $1", body["slug"])
    assert count == 1


# --- credentials after creation -------------------------------------------------------------


async def test_retell_key_is_stored_but_never_returned(
    settings: Settings, pool: asyncpg.Pool, secret_box: SecretBox
) -> None:
    body = clinic(retell_api_key=RETELL_KEY)
    slug = body["slug"]

    async def stored_key() -> str | None:
        """The stored key, opened: it is kept sealed (tests/integration/test_sealed_secrets.py)."""
        row = await pool.fetchrow(
            "SELECT id, retell_api_key FROM organizations WHERE slug = $1", slug
        )
        if row["retell_api_key"] is None:
            return None
        return secret_box.open(row["retell_api_key"], org_id=row["id"], column="retell_api_key")

    async with api_client(settings) as client:
        created = await client.post("/admin/orgs", json=body, headers=ADMIN)
        assert created.status_code == 201
        assert created.json()["retell_api_key_set"] is True
        assert await stored_key() == RETELL_KEY

        rotated = await client.post(f"/admin/orgs/{slug}/credentials", headers=ADMIN)
        new_key = "key_retell_rotated_fedcba9876543210"
        replaced = await client.put(
            f"/admin/orgs/{slug}/retell-key", json={"retell_api_key": new_key}, headers=ADMIN
        )
        assert replaced.json() == {"slug": slug, "retell_api_key_set": True}
        assert await stored_key() == new_key
        refused = await client.put(
            f"/admin/orgs/{slug}/retell-key",
            json={"retell_api_key": f"{new_key} trailing words"},
            headers=ADMIN,
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["field"] == "retell_api_key"
        cleared = await client.put(
            f"/admin/orgs/{slug}/retell-key", json={"retell_api_key": None}, headers=ADMIN
        )
        assert cleared.json() == {"slug": slug, "retell_api_key_set": False}
        assert await stored_key() is None
        openapi = await client.get("/openapi.json")

    for response in (created, rotated, replaced, refused, cleared):
        assert RETELL_KEY not in response.text and new_key not in response.text
    assert "retell_api_key" not in created.json() and "retell_api_key" not in rotated.json()
    schemas = openapi.json()["components"]["schemas"]
    assert schemas["OrgSpec"]["properties"]["retell_api_key"]["anyOf"][0]["writeOnly"] is True
    assert "retell_api_key" not in schemas["CreatedOrg"]["properties"]


async def test_rotation_voids_the_old_credentials(settings: Settings, pool: asyncpg.Pool) -> None:
    body = clinic()
    async with api_client(settings) as client:
        old = (await client.post("/admin/orgs", json=body, headers=ADMIN)).json()
        response = await client.post(f"/admin/orgs/{body['slug']}/credentials", headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    new = response.json()
    assert new["org_id"] == old["org_id"] and new["slug"] == body["slug"]
    assert new["api_key"] != old["api_key"] and new["voice_secret"] != old["voice_secret"]

    assert str((await org_from_api_key(bearer(new["api_key"]), pool)).id) == old["org_id"]
    assert str((await org_from_voice_secret(pool, new["voice_secret"])).id) == old["org_id"]
    with pytest.raises(HTTPException) as refused:
        await org_from_api_key(bearer(old["api_key"]), pool)
    assert refused.value.status_code == 401
    with pytest.raises(HTTPException):
        await org_from_voice_secret(pool, old["voice_secret"])


@pytest.mark.parametrize("slug", ["no-such-org", "Bad%20Slug", "nul%00byte"])
async def test_unknown_or_malformed_slug_is_answered(settings: Settings, slug: str) -> None:
    async with api_client(settings) as client:
        rotate = await client.post(f"/admin/orgs/{slug}/credentials", headers=ADMIN)
        retell = await client.put(
            f"/admin/orgs/{slug}/retell-key", json={"retell_api_key": RETELL_KEY}, headers=ADMIN
        )
    expected = 404 if slug == "no-such-org" else 422
    for response in (rotate, retell):
        assert response.status_code == expected, response.text
        assert RETELL_KEY not in response.text
    if expected == 404:
        assert rotate.json()["error"]["message"] == "no org with slug 'no-such-org'"


# --- documentation and the shipped example --------------------------------------------------


async def test_openapi_shows_the_spec_with_the_example(settings: Settings) -> None:
    async with api_client(settings) as client:
        openapi = (await client.get("/openapi.json")).json()
    create = openapi["paths"]["/admin/orgs"]["post"]
    body = create["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/OrgSpec"}
    # FastAPI leaves null values out of examples; the schema still lists those fields.
    shown = {key: value for key, value in EXAMPLE_ORG.items() if value is not None}
    assert body["examples"]["clinic"]["value"] == shown
    assert {"201", "409", "422"} <= set(create["responses"])
    spec = openapi["components"]["schemas"]["OrgSpec"]
    assert spec["properties"]["time_zone"]["description"]
    assert spec["additionalProperties"] is False


def test_example_file_is_the_documented_example_and_matches_the_demo_shape() -> None:
    example = json.loads(EXAMPLE_FILE.read_text())
    assert example == EXAMPLE_ORG
    OrgSpec.model_validate(example)
    demo = demo_org_spec().model_dump(mode="json")
    # Every field is spelled out in the example, so it documents the whole spec.
    assert set(example) == set(demo) == set(OrgSpec.model_fields)
    for part in ("providers", "services", "hours"):
        assert set(example[part][0]) == set(demo[part][0]), part
