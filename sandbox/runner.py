"""Start the Twilio and Google Calendar sandboxes in-process, for tests and `booking dev`.

Two servers, one per vendor, each on its own OS-chosen port: each has its own fault list and
request log, so a test can break Google without touching Twilio, and each answers errors in its
own vendor's format without guessing from the path.

    async with running_sandboxes() as sb:
        settings = settings.model_copy(update=sb.settings_overrides())
        await sb.calendar.add_fault(status=503, count=1, path_contains="/events")
"""

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from sandbox.calendar_api import API_PREFIX, create_calendar_app
from sandbox.calendar_state import CalendarState
from sandbox.control import CalendarSandboxControl, TwilioSandboxControl
from sandbox.faults import SandboxState
from sandbox.google_oauth import TOKEN_PATH, OAuthState, generate_service_account
from sandbox.server import SERVER_KEEP_ALIVE_S, LoopbackServer
from sandbox.twilio_api import create_twilio_app
from sandbox.twilio_state import TwilioState


@dataclass(frozen=True)
class Sandboxes:
    """Addresses, generated credentials and control clients of the running sandboxes."""

    twilio_base_url: str
    twilio_account_sid: str
    twilio_auth_token: str
    calendar_base_url: str
    token_uri: str
    service_account_info: dict[str, Any]
    twilio: TwilioSandboxControl
    calendar: CalendarSandboxControl

    def settings_overrides(self) -> dict[str, Any]:
        """Fields for `Settings.model_copy(update=...)` that point the clients at the sandboxes."""
        return {
            "twilio_account_sid": self.twilio_account_sid,
            "twilio_auth_token": SecretStr(self.twilio_auth_token),
            "twilio_base_url": self.twilio_base_url,
            "google_service_account_json": SecretStr(json.dumps(self.service_account_info)),
            "google_service_account_file": None,
            "google_calendar_base_url": self.calendar_base_url,
        }

    def environment(self) -> dict[str, str]:
        """The same as environment variables, for child processes (`booking dev`)."""
        return {
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TWILIO_BASE_URL": self.twilio_base_url,
            "GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps(self.service_account_info),
            "GOOGLE_CALENDAR_BASE_URL": self.calendar_base_url,
        }

    async def reset(self) -> None:
        """Both sandboxes back to empty (faults, recorded requests, messages, events)."""
        await self.twilio.reset()
        await self.calendar.reset()


@asynccontextmanager
async def running_sandboxes(
    *,
    twilio_account_sid: str | None = None,
    twilio_auth_token: str | None = None,
    callback_delay: float = 0.05,
    keep_alive_s: int = SERVER_KEEP_ALIVE_S,
) -> AsyncIterator[Sandboxes]:
    """Run both sandboxes on 127.0.0.1 until the block exits, then stop them cleanly.

    Twilio credentials are generated unless given; the Google service account (and its RSA key)
    is always generated, and its `token_uri` points at the sandbox's own token endpoint.
    Pending status callbacks are cancelled on exit. `keep_alive_s`: how long the servers keep
    an idle connection open (shorter only for tests of what clients do when it closes).
    """
    twilio_state = TwilioState(
        account_sid=twilio_account_sid or "AC" + secrets.token_hex(16),
        auth_token=twilio_auth_token or secrets.token_hex(16),
        callback_delay=callback_delay,
    )
    oauth = OAuthState()
    calendar_state = CalendarState()
    twilio_server = LoopbackServer(
        create_twilio_app(twilio_state, SandboxState()),
        name="twilio-sandbox",
        keep_alive_s=keep_alive_s,
    )
    calendar_server = LoopbackServer(
        create_calendar_app(calendar_state, oauth, SandboxState()),
        name="calendar-sandbox",
        keep_alive_s=keep_alive_s,
    )
    async with AsyncExitStack() as stack:
        await twilio_server.start()
        stack.push_async_callback(twilio_server.stop)
        # Callbacks go out from tasks of this loop: cancel them before the server goes away.
        stack.push_async_callback(twilio_state.aclose)
        await calendar_server.start()
        stack.push_async_callback(calendar_server.stop)
        # Push notifications go out from tasks of this loop too.
        stack.push_async_callback(calendar_state.push.aclose)

        oauth.token_uri = calendar_server.base_url + TOKEN_PATH
        info, public_pem = generate_service_account(oauth.token_uri)
        oauth.public_keys[info["client_email"]] = public_pem

        twilio_control = TwilioSandboxControl(
            twilio_server.base_url, server_keep_alive_s=keep_alive_s
        )
        stack.push_async_callback(twilio_control.aclose)
        calendar_control = CalendarSandboxControl(
            calendar_server.base_url, server_keep_alive_s=keep_alive_s
        )
        stack.push_async_callback(calendar_control.aclose)

        yield Sandboxes(
            twilio_base_url=twilio_server.base_url,
            twilio_account_sid=twilio_state.account_sid,
            twilio_auth_token=twilio_state.auth_token,
            calendar_base_url=f"{calendar_server.base_url}{API_PREFIX}/",
            token_uri=oauth.token_uri,
            service_account_info=info,
            twilio=twilio_control,
            calendar=calendar_control,
        )
