"""Sending SMS: the `SmsSender` protocol activities depend on, and its Twilio implementation.

`TwilioSmsSender` uses the real `twilio` SDK's native async path (`create_async` over
`AsyncTwilioHttpClient`, i.e. aiohttp) rather than the blocking client in a thread: no worker
thread is held per send, cancelling the awaiting activity really abandons the request, and the
blocking client's `requests.Session` is not documented as thread-safe. The aiohttp session is
bound to the event loop it was created in, so it is created lazily on first use and closed with
`aclose()`; use one sender per event loop.

Twilio has no idempotency key for creating a message, so a send whose answer was lost (the
worker stopped mid-request) cannot simply be retried: `find_sent` asks Twilio whether the
message exists before the caller sends it again.
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import aiohttp
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from core.errors import ExternalServiceError, PermanentServiceError, TransientServiceError
from core.infra.masking import mask_phone

log = logging.getLogger(__name__)

# Twilio codes that mean "this recipient cannot get this SMS"; listed for the log, since every
# other 4xx is permanent as well.
RECIPIENT_REFUSALS = frozenset({21211, 21408, 21610, 21612, 21614, 21635})
_RATE_LIMITED = 20429
# How many of the newest messages between one sender and one recipient `find_sent` reads (one
# page). A lost send is looked up seconds or minutes later, and one clinic number rarely texts
# one patient this often.
_LOOKUP_LIMIT = 100


@dataclass(frozen=True)
class SentSms:
    """Twilio accepted the message: its SID and initial status ("queued" or "accepted")."""

    sid: str
    status: str


class SmsSender(Protocol):
    """Sends one SMS, or finds one already sent; raises TransientServiceError (retry) or
    PermanentServiceError (don't)."""

    @property
    def request_timeout(self) -> float:
        """Seconds after which the sender gives up waiting for one request to answer."""
        ...

    async def send(
        self, *, to: str, body: str, from_number: str, status_callback: str | None = None
    ) -> SentSms: ...

    async def find_sent(
        self, *, to: str, from_number: str, body: str, created_after: datetime
    ) -> list[SentSms]: ...


class TwilioSmsSender:
    """`SmsSender` on the Twilio Messages API; `base_url` redirects it (e.g. to the sandbox)."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._base_url = base_url.rstrip("/") if base_url else None
        self._timeout = timeout
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    def _ensure_client(self) -> Client:
        # Created here, not in __init__: aiohttp's session needs the running loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient()
            client = Client(self._account_sid, self._auth_token, http_client=self._http)
            if self._base_url:
                client.api.base_url = self._base_url
                # TWILIO_EDGE / TWILIO_REGION would rewrite the loopback host name.
                client.edge = None
                client.region = None
            self._client = client
        return self._client

    @property
    def request_timeout(self) -> float:
        return self._timeout

    async def send(
        self, *, to: str, body: str, from_number: str, status_callback: str | None = None
    ) -> SentSms:
        """Hand one SMS to Twilio.

        Returns the message SID and status once Twilio accepted it (delivery is reported later
        by status callback). Raises TransientServiceError on 429 / 20429, 5xx, timeouts and
        connection errors, PermanentServiceError (code = the Twilio code) on other refusals.
        Not idempotent: Twilio has no idempotency key, so callers record the SID and check it.
        """
        client = self._ensure_client()
        try:
            # The async HTTP client ignores its own timeout setting, so bound the call here.
            async with asyncio.timeout(self._timeout):
                message = await client.messages.create_async(
                    to=to, from_=from_number, body=body, status_callback=status_callback
                )
        except TwilioException as exc:
            raise _map_twilio_error(exc, to, "sending to") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _unreachable(exc, to, "sending to") from exc
        log.info("twilio: accepted %s to %s (%s)", message.sid, mask_phone(to), message.status)
        return SentSms(sid=str(message.sid), status=str(message.status))

    async def find_sent(
        self, *, to: str, from_number: str, body: str, created_after: datetime
    ) -> list[SentSms]:
        """Messages Twilio already holds from `from_number` to `to` with exactly `body`,
        created at or after `created_after` (an aware datetime); oldest first, with their
        current status.

        Filters on To and From only and compares the creation time here: Twilio's date filter
        is on DateSent, which stays empty while a message is queued, and a message just
        accepted is exactly the one looked for. Reads the newest `_LOOKUP_LIMIT` messages of
        the pair. Errors are mapped as in `send`.
        """
        client = self._ensure_client()
        try:
            async with asyncio.timeout(self._timeout):
                messages = await client.messages.list_async(
                    to=to, from_=from_number, limit=_LOOKUP_LIMIT
                )
        except TwilioException as exc:
            raise _map_twilio_error(exc, to, "looking up messages to") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _unreachable(exc, to, "looking up messages to") from exc
        cutoff = created_after.astimezone(UTC)
        found = sorted(
            (m for m in messages if m.body == body and _created_since(m.date_created, cutoff)),
            key=lambda m: m.date_created or cutoff,
        )
        log.info("twilio: %d earlier message(s) to %s match", len(found), mask_phone(to))
        return [SentSms(sid=str(m.sid), status=str(m.status)) for m in found]

    async def aclose(self) -> None:
        """Close the HTTP session; the sender opens a new one if used again."""
        if self._http is not None:
            await self._http.close()
        self._http = None
        self._client = None


def _created_since(created: datetime | None, cutoff: datetime) -> bool:
    # The SDK parses Twilio's RFC 2822 dates (always GMT) to aware UTC datetimes.
    return created is not None and created >= cutoff


def _unreachable(exc: Exception, to: str, action: str) -> TransientServiceError:
    log.warning("twilio: no answer %s %s: %r", action, mask_phone(to), exc)
    return TransientServiceError(f"Twilio unreachable: {type(exc).__name__}")


def _map_twilio_error(exc: TwilioException, to: str, action: str) -> ExternalServiceError:
    status, code, detail = _error_fields(exc)
    transient = code == _RATE_LIMITED or status in (408, 429) or (status or 0) >= 500
    kind = "transient" if transient else "permanent"
    if code in RECIPIENT_REFUSALS:
        kind = "recipient refused"
    log.warning("twilio: %s error %s/%s %s %s", kind, status, code, action, mask_phone(to))
    error_type = TransientServiceError if transient else PermanentServiceError
    return error_type(
        f"Twilio error {code or status}: {_redact(str(detail), to)}",
        status=status,
        code=str(code) if code is not None else None,
    )


def _error_fields(exc: TwilioException) -> tuple[int | None, int | None, str]:
    """HTTP status, Twilio code and message of an SDK error.

    `create` raises TwilioRestException / TwilioServiceException, which carry them as
    attributes; a list page Twilio refused is a bare TwilioException("Unable to fetch page",
    response) holding the raw response, whose body has Twilio's code and message.
    """
    status: int | None = getattr(exc, "status", None)
    if status is not None:
        code: int | None = getattr(exc, "code", None)
        detail = getattr(exc, "msg", None) or getattr(exc, "detail", None) or type(exc).__name__
        return status, code, str(detail)
    response = next((arg for arg in exc.args if isinstance(arg, Response)), None)
    if response is None:
        return None, None, str(exc) or type(exc).__name__
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return response.status_code, None, f"HTTP {response.status_code}"
    raw_code = body.get("code")
    detail = body.get("message") or body.get("detail") or f"HTTP {response.status_code}"
    return response.status_code, raw_code if isinstance(raw_code, int) else None, str(detail)


def _redact(text: str, number: str) -> str:
    """Twilio echoes the number in its messages; keep it out of errors that get logged."""
    return text.replace(number, mask_phone(number)) if number else text
