"""State of the Twilio sandbox: accepted messages, per-number behaviours, status callbacks.

Status callbacks are POSTed in the background exactly as Twilio does (form body, signed with
`X-Twilio-Signature` by `RequestValidator(auth_token).compute_signature(url, params)`); every
attempt, failed or not, is recorded and never raises into the server.

Listing messages (`MessageQuery`, `message_page`) follows Twilio's Messages list: filters To,
From and DateSent (a `YYYY-MM-DD` day or an ISO 8601 time, with `DateSent>=` / `DateSent<=`
bounds), newest first, pages of `PageSize` (default 50, at most 1000) linked by `PageToken`. A
message not yet sent has no DateSent and matches no DateSent filter.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from sandbox.outbound import Outbound

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


_DEFAULT_PAGE_SIZE = 50
_MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class DateBound:
    """A DateSent filter value: a whole UTC day (`YYYY-MM-DD`) or an exact time."""

    start: datetime
    whole_day: bool

    @classmethod
    def parse(cls, value: str) -> "DateBound":
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return cls(datetime(day.year, day.month, day.day, tzinfo=UTC), whole_day=True)
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("Invalid date value.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # Twilio reads dates as GMT
        return cls(moment, whole_day=False)

    @property
    def end(self) -> datetime:
        """The last moment the bound covers (inclusive)."""
        if self.whole_day:
            return self.start + timedelta(days=1, microseconds=-1)
        return self.start


@dataclass(frozen=True)
class MessageQuery:
    """The list filters and paging of one `GET .../Messages.json`."""

    to: str | None = None
    from_: str | None = None
    sent_on: DateBound | None = None
    sent_after: DateBound | None = None
    sent_before: DateBound | None = None
    page: int = 0
    page_size: int = _DEFAULT_PAGE_SIZE
    page_token: str | None = None
    # The filters as the client sent them, echoed in the page URIs.
    filters: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "MessageQuery":
        """Raises ValueError (with Twilio's wording) on a malformed date or page size."""
        dates = {key: DateBound.parse(params[key]) for key in _DATE_KEYS if params.get(key)}
        try:
            page_size = int(params.get("PageSize") or _DEFAULT_PAGE_SIZE)
            page = int(params.get("Page") or 0)
        except ValueError:
            raise ValueError("Invalid paging parameter.") from None
        if not 1 <= page_size <= _MAX_PAGE_SIZE:
            raise ValueError(f"PageSize must be between 1 and {_MAX_PAGE_SIZE}.")
        if page < 0:
            raise ValueError("Invalid paging parameter.")
        return cls(
            to=params.get("To") or None,
            from_=params.get("From") or None,
            sent_on=dates.get("DateSent"),
            sent_after=dates.get("DateSent>"),
            sent_before=dates.get("DateSent<"),
            page=page,
            page_size=page_size,
            page_token=params.get("PageToken") or None,
            filters=tuple((k, params[k]) for k in ("To", "From", *_DATE_KEYS) if params.get(k)),
        )

    def matches(self, message: dict[str, Any]) -> bool:
        if self.to is not None and message["to"] != self.to:
            return False
        if self.from_ is not None and message["from"] != self.from_:
            return False
        if not (self.sent_on or self.sent_after or self.sent_before):
            return True
        sent = _parse_date(message["date_sent"])
        if sent is None:
            return False
        if self.sent_on and not self.sent_on.start <= sent <= self.sent_on.end:
            return False
        if self.sent_after and sent < self.sent_after.start:
            return False
        return not (self.sent_before and sent > self.sent_before.end)

    def uri(self, path: str, *, page: int, token: str | None = None) -> str:
        params = [*self.filters, ("PageSize", str(self.page_size)), ("Page", str(page))]
        if token:
            params.append(("PageToken", token))
        return f"{path}?{urlencode(params)}"


# The SDK sends `DateSent>` / `DateSent<` keys, which read as `DateSent>=` / `DateSent<=`.
_DATE_KEYS = ("DateSent", "DateSent>", "DateSent<")


def message_page(messages: list[dict[str, Any]], query: MessageQuery, path: str) -> dict[str, Any]:
    """The page `query` asks for, in the JSON shape of Twilio's list responses.

    Newest first (by DateSent, unsent messages by creation, first of all); `PageToken`
    `PA<sid>` continues after that message, so messages created meanwhile do not shift pages.
    """
    ordered = [m for _, m in sorted(enumerate(messages), key=_newest_first) if query.matches(m)]
    start = query.page * query.page_size
    if query.page_token is not None:
        sids = [m["sid"] for m in ordered]
        anchor = query.page_token.removeprefix("PA")
        start = sids.index(anchor) + 1 if anchor in sids else len(ordered)
    items = ordered[start : start + query.page_size]
    more = start + len(items) < len(ordered)
    return {
        "end": start + len(items) - 1 if items else start,
        "first_page_uri": query.uri(path, page=0),
        "messages": items,
        "next_page_uri": query.uri(path, page=query.page + 1, token=f"PA{items[-1]['sid']}")
        if more
        else None,
        "page": query.page,
        "page_size": query.page_size,
        "previous_page_uri": query.uri(path, page=query.page - 1) if query.page > 0 else None,
        "start": start,
        "uri": query.uri(path, page=query.page, token=query.page_token),
    }


def _newest_first(entry: tuple[int, dict[str, Any]]) -> tuple[int, float, int]:
    index, message = entry
    sent = _parse_date(message["date_sent"])
    if sent is None:
        created = _parse_date(message["date_created"])
        return (0, -(created.timestamp() if created else 0.0), -index)
    return (1, -sent.timestamp(), -index)


def _parse_date(value: str | None) -> datetime | None:
    return parsedate_to_datetime(value) if value else None


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
    _outbound: Outbound = field(default_factory=Outbound)

    def reset(self) -> None:
        self._outbound.cancel()
        self.messages.clear()
        self.numbers.clear()
        self.status_callbacks.clear()
        self.callbacks.clear()

    def behaviour(self, number: str) -> str:
        return self.numbers.get(number, "ok")

    def start_lifecycle(self, sid: str) -> None:
        """Advance the message's status in the background, calling back if it asked for it."""
        self._outbound.spawn(self._lifecycle(sid), name=f"twilio-sandbox-{sid}")

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
        outcome = await self._outbound.post(
            url,
            data=params,
            headers={"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"},
        )
        attempt.status_code, attempt.error = outcome.status_code, outcome.error
        if outcome.error is not None:
            log.info("twilio sandbox: status callback failed: %s", outcome.error)

    async def aclose(self) -> None:
        """Cancel pending callbacks and close the callback HTTP client."""
        await self._outbound.aclose()
