"""Drive a sandbox's `/_sandbox/` control API over HTTP (httpx), from tests or the dev stack."""

from datetime import datetime
from typing import Any

import httpx

from sandbox.server import SERVER_KEEP_ALIVE_S


class SandboxControl:
    """Faults and recorded requests of one sandbox server."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        server_keep_alive_s: float = SERVER_KEEP_ALIVE_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/_sandbox",
            timeout=timeout,
            # Drop idle connections well before the server does, so none is reused as it closes.
            limits=httpx.Limits(keepalive_expiry=server_keep_alive_s / 3),
        )

    async def add_fault(
        self,
        *,
        status: int | None = None,
        code: str | int | None = None,
        count: int | None = None,
        share: float = 1.0,
        latency_ms: int = 0,
        path_contains: str | None = None,
        method: str | None = None,
        message: str | None = None,
        seed: int | None = None,
        after_processing: bool = False,
    ) -> str:
        """Add a fault and return its id.

        `status` fails matching requests (in the vendor's error format, with `code` as the
        Twilio code or Google reason); `count` limits how many; `share` fails only that
        fraction; `latency_ms` delays them; `path_contains` / `method` scope the fault.
        `after_processing`: the vendor handles the request first (creates the event or the
        message) and only its answer is delayed or replaced by the error.
        """
        spec = {
            "status": status,
            "code": code,
            "count": count,
            "share": share,
            "latency_ms": latency_ms,
            "path_contains": path_contains,
            "method": method,
            "message": message,
            "seed": seed,
            "after_processing": after_processing,
        }
        response = await self._http.post("/faults", json=spec)
        response.raise_for_status()
        return str(response.json()["id"])

    async def faults(self) -> list[dict[str, Any]]:
        """Active faults, each with `fired` and `remaining`."""
        return await self._get("/faults")

    async def remove_fault(self, fault_id: str) -> None:
        (await self._http.delete(f"/faults/{fault_id}")).raise_for_status()

    async def clear_faults(self) -> None:
        (await self._http.delete("/faults")).raise_for_status()

    async def requests(
        self, *, path_contains: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded vendor requests (method, path, query, headers, body, status, fault_id)."""
        params = {k: v for k, v in (("path_contains", path_contains), ("method", method)) if v}
        return await self._get("/requests", params=params)

    async def unanswered(self, *, path_contains: str | None = None) -> list[dict[str, Any]]:
        """Recorded vendor requests not answered yet: still delayed by a fault, or held after
        the vendor acted. A request whose client has gone counts as answered once the sandbox
        has sent (or tried to send) its answer."""
        return [r for r in await self.requests(path_contains=path_contains) if r["status"] is None]

    async def clear_requests(self) -> None:
        (await self._http.delete("/requests")).raise_for_status()

    async def reset(self) -> None:
        """Faults, recorded requests and vendor state back to empty."""
        (await self._http.post("/reset")).raise_for_status()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = await self._http.get(path, params=params)
        response.raise_for_status()
        return response.json()


class TwilioSandboxControl(SandboxControl):
    """The Twilio sandbox: number behaviours, accepted messages, status callbacks."""

    async def set_number(self, number: str, behaviour: str) -> None:
        """Make `number` behave as "invalid", "opted_out", "undelivered", "failed", "ok", ..."""
        response = await self._http.post(
            "/twilio/numbers", json={"number": number, "behaviour": behaviour}
        )
        response.raise_for_status()

    async def messages(self, *, to: str | None = None, body: str | None = None) -> list[dict]:
        """Accepted messages, oldest first, filtered by exact `to` and `body` when given."""
        params = {k: v for k, v in (("to", to), ("body", body)) if v is not None}
        return await self._get("/twilio/messages", params=params)

    async def count_messages(self, *, to: str, body: str | None = None) -> int:
        """How many messages to `to` (with exactly `body`, when given) were accepted: every
        POST Twilio accepts creates one (it has no idempotency key), answered or not."""
        return len(await self.messages(to=to, body=body))

    async def callbacks(self) -> list[dict[str, Any]]:
        """Status callback attempts: url, params, signature, status_code or error."""
        return await self._get("/twilio/callbacks")

    async def set_callback_delay(self, milliseconds: int) -> None:
        response = await self._http.put(
            "/twilio/settings", json={"callback_delay_ms": milliseconds}
        )
        response.raise_for_status()


class CalendarSandboxControl(SandboxControl):
    """The Google Calendar sandbox: stored events, extra busy blocks, token revocation."""

    async def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> str:
        """A busy event in `calendar_id` over [start, end) (aware datetimes), as a person would
        add one (its channels are notified); returns the event's id."""
        payload = {"calendar_id": calendar_id, "start": start.isoformat(), "end": end.isoformat()}
        response = await self._http.post("/calendar/busy", json=payload)
        response.raise_for_status()
        return str(response.json()["id"])

    async def expire_sync_tokens(self) -> None:
        """Every sync token issued so far answers 410 from now on."""
        (await self._http.post("/calendar/expire-sync-tokens")).raise_for_status()

    async def push(self) -> dict[str, Any]:
        """Open channels (`channels`) and notifications sent or dropped (`notifications`)."""
        return await self._get("/calendar/push")

    async def drop_notifications(self, drop: bool = True) -> None:
        """Lose push notifications from now on (or deliver them again)."""
        (await self._http.put("/calendar/push", json={"drop": drop})).raise_for_status()

    async def events(self, calendar_id: str | None = None) -> list[dict[str, Any]]:
        """Every stored event, cancelled ones included."""
        params = {"calendar_id": calendar_id} if calendar_id else None
        return await self._get("/calendar/events", params=params)

    async def created_events(self, calendar_id: str | None = None) -> list[dict[str, Any]]:
        """Every insert that created an event, as it was created (with its `calendar_id`),
        oldest first. Unlike `events`, a second insert of the same appointment under a new id
        shows here as a second creation; an insert refused as a duplicate (409) does not."""
        params = {"calendar_id": calendar_id} if calendar_id else None
        return await self._get("/calendar/created", params=params)

    async def count_created(self, calendar_id: str) -> int:
        """How many events inserts created in `calendar_id`, deleted ones included."""
        return len(await self.created_events(calendar_id))

    async def revoke_tokens(self) -> None:
        """Invalidate issued access tokens: the SDK's next call gets a 401 and refreshes."""
        (await self._http.post("/calendar/revoke-tokens")).raise_for_status()

    async def trust_service_account(self, client_email: str, public_key_pem: str) -> None:
        """Accept token requests signed by another service account's key."""
        payload = {"client_email": client_email, "public_key_pem": public_key_pem}
        (await self._http.post("/calendar/service-accounts", json=payload)).raise_for_status()
