"""The baseline: `book_appointment` the way hand-written voice backends do it.

One FastAPI route, `POST /voice/vapi`, that answers the same Vapi-shaped request as the real API
with one direct SQL transaction in the request handler: upsert the contact, insert the booking
row (same schema, so the same exclusion constraint does the same work), and turn an exclusion
violation into "taken". No workflow, no SMS, no calendar event, no retries, no alternatives:
the cost the durable pipeline is compared against.

Run as its own uvicorn process: `python -m bench.baseline PORT` with DATABASE_URL set.
"""

import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import phonenumbers
import uvicorn
from fastapi import FastAPI, HTTPException, Request

from bench.load import TAKEN
from core.domain.credentials import hash_token
from core.infra.config import Settings

_TARGET = """
    SELECT o.id AS org_id, o.time_zone, p.id AS provider_id, s.id AS service_id,
           s.duration_minutes, s.buffer_minutes
    FROM organizations o
    JOIN providers p ON p.org_id = o.id AND lower(p.name) = lower($2)
    JOIN services s ON s.org_id = o.id AND lower(s.name) = lower($3)
    WHERE o.voice_secret_hash = $1
"""
_UPSERT_CONTACT = """
    INSERT INTO contacts (org_id, phone, name) VALUES ($1, $2, $3)
    ON CONFLICT (org_id, phone) DO UPDATE
        SET name = COALESCE(EXCLUDED.name, contacts.name), updated_at = now()
    RETURNING id
"""
_INSERT_BOOKING = """
    INSERT INTO bookings (id, org_id, provider_id, service_id, contact_id, starts_at, ends_at,
                          during, status, workflow_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'held', $9)
"""


def create_baseline_app(dsn: str, pool_min: int, pool_max: int) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=pool_min, max_size=pool_max)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/voice/vapi")
    async def vapi(request: Request) -> dict[str, Any]:
        secret = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        message = (await request.json())["message"]
        caller = message.get("call", {}).get("customer", {}).get("number")
        results = []
        for call in message["toolCallList"]:
            arguments = json.loads(call["function"]["arguments"])
            text = await _book(request.app.state.pool, secret, arguments, caller)
            results.append({"toolCallId": call["id"], "result": text})
        return {"results": results}

    return app


async def _book(
    pool: asyncpg.Pool, secret: str, arguments: dict[str, Any], caller: str | None
) -> str:
    phone = phonenumbers.format_number(
        phonenumbers.parse(str(arguments.get("phone") or caller), "US"),
        phonenumbers.PhoneNumberFormat.E164,
    )
    async with pool.acquire() as conn, conn.transaction():
        target = await conn.fetchrow(
            _TARGET, hash_token(secret), arguments["provider"], arguments["service"]
        )
        if target is None:
            raise HTTPException(status_code=401)
        starts = datetime.fromisoformat(arguments["start"]).replace(
            tzinfo=ZoneInfo(target["time_zone"])
        )
        ends = starts + timedelta(minutes=target["duration_minutes"])
        occupied = ends + timedelta(minutes=target["buffer_minutes"])
        contact_id = await conn.fetchval(
            _UPSERT_CONTACT, target["org_id"], phone, arguments.get("name")
        )
        booking_id = uuid.uuid4()
        try:
            # A savepoint, so the contact upsert survives a taken slot as it would in the app.
            async with conn.transaction():
                await conn.execute(
                    _INSERT_BOOKING,
                    booking_id,
                    target["org_id"],
                    target["provider_id"],
                    target["service_id"],
                    contact_id,
                    starts,
                    ends,
                    asyncpg.Range(starts, occupied),
                    f"baseline-{booking_id}",
                )
        except asyncpg.ExclusionViolationError:
            return TAKEN
    return f"Booked: {arguments['service']} with {arguments['provider']} at {starts:%c}."


def main() -> int:
    settings = Settings()
    dsn = os.environ["DATABASE_URL"]
    app = create_baseline_app(dsn, settings.db_pool_min_size, settings.db_pool_max_size)
    # Same server and defaults as `booking api` (one process, uvicorn's default loop and HTTP).
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
