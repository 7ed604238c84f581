"""Builders for voice-platform requests, shaped as Vapi and Retell send them."""

import base64
import hmac
import json
import time
from typing import Any
from uuid import uuid4

import asyncpg
import httpx

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


def vapi_signed_headers(
    body: bytes,
    secret: str,
    *,
    at: float | None = None,
    algorithm: str = "sha256",
    encoding: str = "hex",
    prefix: str = "",
    signature_header: str = "x-signature",
    timestamp_header: str = "x-timestamp",
    in_milliseconds: bool = False,
) -> dict[str, str]:
    """Headers of a call signed as Vapi's HMAC credential signs: `{timestamp}.{body}`.
    Written from Vapi's description, independently of the code under test."""
    seconds = time.time() if at is None else at
    stamp = str(int(seconds * 1000) if in_milliseconds else int(seconds))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, algorithm).digest()
    encoded = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    return {
        signature_header: prefix + encoded,
        timestamp_header: stamp,
        "Content-Type": "application/json",
    }


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


async def vapi_said(
    client: httpx.AsyncClient, org: TestOrg, call: dict[str, Any], **message: Any
) -> str:
    """What the agent is told to say for one tool call through /voice/vapi (its result or its
    error); `message` goes to `vapi_message` (`caller=...`)."""
    response = await client.post(
        "/voice/vapi", json=vapi_message(call, **message), headers=vapi_headers(org)
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    return str(result.get("result") or result.get("error"))
