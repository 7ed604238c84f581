"""Builders for voice-platform requests, shaped as Vapi and Retell send them."""

import json
import time
from typing import Any
from uuid import uuid4

import asyncpg

from api.voice.retell import sign
from tests.factories import TestOrg


def vapi_call(name: str, arguments: dict[str, Any], call_id: str | None = None) -> dict[str, Any]:
    """The SDK's ToolCall shape: nested function, arguments as a JSON string."""
    return {
        "id": call_id or f"call_{uuid4().hex}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def vapi_message(*calls: dict[str, Any], caller: str | None = "+12125550123") -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "tool-calls",
        "toolCallList": list(calls),
        "call": {"id": f"vapi-call-{uuid4().hex[:8]}"},
    }
    if caller:
        message["call"]["customer"] = {"number": caller}
    return {"message": message}


def vapi_headers(org: TestOrg) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.credentials.voice_secret}"}


def retell_body(
    name: str, args: dict[str, Any], *, call_id: str | None = None, caller: str = "+12125550123"
) -> bytes:
    payload = {
        "name": name,
        "call": {
            "call_id": call_id or f"retell-{uuid4().hex[:12]}",
            "agent_id": "agent_test",
            "from_number": caller,
            "to_number": "+12125550100",
            "direction": "inbound",
        },
        "args": args,
    }
    return json.dumps(payload).encode()


def retell_headers(body: bytes, key: str, *, at_ms: int | None = None) -> dict[str, str]:
    stamp = at_ms if at_ms is not None else time.time_ns() // 1_000_000
    return {"X-Retell-Signature": sign(body, key, stamp), "Content-Type": "application/json"}


async def org_row_counts(pool: asyncpg.Pool, org: TestOrg) -> dict[str, int]:
    """Rows the org owns in each table a booking writes to: all zero means nothing was written."""
    counts = {}
    for table in ("bookings", "contacts", "sms_messages"):
        counts[table] = await pool.fetchval(
            f"SELECT count(*) FROM {table} WHERE org_id = $1",  # noqa: S608 - fixed table names
            org.id,
        )
    return counts
