"""State of the Twilio sandbox: accepted messages, per-number behaviours, status callbacks.

Status callbacks are POSTed in the background exactly as Twilio does (form body, signed with
`X-Twilio-Signature` by `RequestValidator(auth_token).compute_signature(url, params)`); every
attempt, failed or not, is recorded and never raises into the server.
"""

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"

# Behaviour name → (HTTP status, Twilio code, message template) answered when creating a message.
REJECTIONS: dict[str, tuple[int, int, str]] = {
    "invalid": (400, 21211, "The 'To' number {to} is not a valid phone number."),
    "opted_out": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "region_blocked": (
        400,
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' "
        "number: {to}.",
    ),
    "unreachable": (400, 21612, "The 'To' phone number: {to}, is not currently reachable via SMS."),
    "not_mobile": (400, 21614, "'To' number is not a valid mobile number"),
    "landline": (400, 21635, "The 'To' number {to} is a landline and cannot receive SMS."),
}

# Behaviour name → the status sequence sent as callbacks after acceptance, with the error code.
DELIVERIES: dict[str, tuple[tuple[str, ...], int | None]] = {
    "ok": (("sent", "delivered"), None),
    "undelivered": (("sent", "undelivered"), 30003),
    "failed": (("failed",), 30008),
}

BEHAVIOURS = frozenset(REJECTIONS) | frozenset(DELIVERIES)


def rfc2822_now() -> str:
    """Twilio's date format, e.g. `Thu, 30 Jul 2015 20:12:31 +0000`."""
    return formatdate(time.time(), usegmt=False).replace("-0000", "+0000")


@dataclass
class CallbackAttempt:
    """One status callback POST and how it went."""

    url: str
    params: dict[str, str]
    signature: str
    status_code: int | None = None
    error: str | None = None
    at: float = field(default_factory=time.time)


@dataclass
class TwilioState:
    """Messages and configuration of one Twilio sandbox (one account)."""

    account_sid: str
    auth_token: str
    callback_delay: float = 0.05
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    status_callbacks: dict[str, str] = field(default_factory=dict)
    callbacks: deque[CallbackAttempt] = field(default_factory=lambda: deque(maxlen=10_000))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient | None = None

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.messages.clear()
        self.numbers.clear()
        self.status_callbacks.clear()
        self.callbacks.clear()

    def behaviour(self, number: str) -> str:
        return self.numbers.get(number, "ok")

    def start_lifecycle(self, sid: str) -> None:
        """Advance the message's status in the background, calling back if it asked for it."""
        task = asyncio.create_task(self._lifecycle(sid), name=f"twilio-sandbox-{sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _lifecycle(self, sid: str) -> None:
        message = self.messages[sid]
        statuses, error_code = DELIVERIES.get(self.behaviour(message["to"]), DELIVERIES["ok"])
        for status in statuses:
            await asyncio.sleep(self.callback_delay)
            now = rfc2822_now()
            message.update(status=status, date_updated=now)
            if status == "sent":
                message["date_sent"] = now
            if status in ("failed", "undelivered"):
                message["error_code"] = error_code
            callback_url = self.status_callbacks.get(sid)
            if callback_url:
                await self._call_back(callback_url, message, status, error_code)

    async def _call_back(
        self, url: str, message: dict[str, Any], status: str, error_code: int | None
    ) -> None:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": message["sid"],
            "SmsSid": message["sid"],
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message["to"],
        }
        if message.get("from"):
            params["From"] = message["from"]
        if message.get("messaging_service_sid"):
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if status in ("failed", "undelivered") and error_code is not None:
            params["ErrorCode"] = str(error_code)
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        attempt = CallbackAttempt(url=url, params=params, signature=signature)
        self.callbacks.append(attempt)
        try:
            if self._http is None:
                self._http = httpx.AsyncClient(timeout=10.0)
            response = await self._http.post(
                url,
                data=params,
                headers={"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"},
            )
            attempt.status_code = response.status_code
        except Exception as exc:  # noqa: BLE001 - a receiver's failure must never crash us
            attempt.error = f"{type(exc).__name__}: {exc}"
            log.info("twilio sandbox: status callback failed: %s", attempt.error)

    async def aclose(self) -> None:
        """Cancel pending callbacks and close the callback HTTP client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
