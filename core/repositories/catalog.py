"""SQL for an org's scheduling configuration, read whole in one statement."""

import json
from datetime import time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from core.domain.availability import OpeningHours
from core.domain.catalog import OrgCatalog, ProviderInfo, ServiceInfo
from core.errors import NotFound
from core.repositories import Executor


async def load(conn: Executor, *, org_id: UUID) -> OrgCatalog:
    """The org's settings, providers, services and hours; NotFound for an unknown id."""
    row = await conn.fetchrow(
        """
        SELECT o.id, o.slug, o.name, o.time_zone, o.default_region, o.locale, o.slot_step,
               o.min_notice, o.horizon, o.config_version,
               (SELECT coalesce(json_agg(json_build_object(
                           'id', p.id, 'name', p.name, 'calendar_id', p.calendar_id)
                       ORDER BY p.created_at, p.name), '[]')
                FROM providers p WHERE p.org_id = o.id) AS providers,
               (SELECT coalesce(json_agg(json_build_object(
                           'id', s.id, 'name', s.name, 'duration', s.duration_minutes,
                           'buffer', s.buffer_minutes)
                       ORDER BY s.created_at, s.name), '[]')
                FROM services s WHERE s.org_id = o.id) AS services,
               (SELECT coalesce(json_agg(json_build_object(
                           'weekday', h.weekday, 'opens', h.opens, 'closes', h.closes)
                       ORDER BY h.weekday, h.opens), '[]')
                FROM business_hours h WHERE h.org_id = o.id) AS hours
        FROM organizations o WHERE o.id = $1
        """,
        org_id,
    )
    if row is None:
        raise NotFound("this organization does not exist")
    return OrgCatalog(
        org_id=row["id"],
        slug=row["slug"],
        name=row["name"],
        time_zone=ZoneInfo(row["time_zone"]),
        default_region=row["default_region"],
        locale=row["locale"],
        slot_step=row["slot_step"],
        min_notice=row["min_notice"],
        horizon=row["horizon"],
        version=row["config_version"],
        providers=tuple(
            ProviderInfo(id=UUID(p["id"]), name=p["name"], calendar_id=p["calendar_id"])
            for p in json.loads(row["providers"])
        ),
        services=tuple(
            ServiceInfo(
                id=UUID(s["id"]),
                name=s["name"],
                duration=timedelta(minutes=s["duration"]),
                buffer=timedelta(minutes=s["buffer"]),
            )
            for s in json.loads(row["services"])
        ),
        hours=tuple(
            OpeningHours(
                h["weekday"], time.fromisoformat(h["opens"]), time.fromisoformat(h["closes"])
            )
            for h in json.loads(row["hours"])
        ),
    )


async def version(conn: Executor, *, org_id: UUID) -> int | None:
    """The org's current configuration version; None for an unknown id."""
    current: int | None = await conn.fetchval(
        "SELECT config_version FROM organizations WHERE id = $1", org_id
    )
    return current
