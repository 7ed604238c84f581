"""What callers send, as pydantic models: read once here, then turned into workflow payloads.

Booking and availability look the same to a voice tool and a REST call, so one model serves
both. A reschedule or cancel does not: a tool names the booking in its arguments (or means the
caller's next one) and says `new_start`, while REST names it in the path and says `start`.
Both shapes are published (examples/vapi-tools.json and retell-functions.json, OpenAPI), so
each caller keeps its model and each model's `request()` builds the workflow's payload.

Limits match `core.temporal.models` (`BookInput`, `RescheduleChange`, `CancelChange`), so
anything accepted here also fits the workflow payload. Types are strict enough that an LLM
sending a number or a list where text belongs is told so.
"""

import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.temporal.models import CancelChange, RescheduleChange

# Whitespace controls a person can type; every other control character (NUL above all, which
# Postgres text cannot store) and lone surrogates (which UTF-8 cannot encode) are refused.
_TYPEABLE_CONTROLS = frozenset("\t\n\r")


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, hide_input_in_errors=True)

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        if isinstance(value, str) and any(
            unicodedata.category(c) in ("Cc", "Cs") and c not in _TYPEABLE_CONTROLS for c in value
        ):
            raise ValueError("contains control characters")
        return value


# A tool's optional `language`: the caller's, as a BCP 47 tag. Used when the org serves it
# (OrgSpec.languages), ignored otherwise: a language is never a reason to refuse a call.
LANGUAGE_DESCRIPTION = (
    "The caller's language as a BCP 47 tag (de-DE, es-ES, ...): the answer and this booking's "
    "texts use it when the clinic offers it"
)


class _Spoken(_Input):
    language: str | None = Field(default=None, max_length=35, description=LANGUAGE_DESCRIPTION)


class AvailabilityQuery(_Spoken):
    date: str = Field(min_length=1, max_length=100, description="Day to look at, 2026-11-24")
    service: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=200)


class BookingFields(_Spoken):
    name: str = Field(min_length=1, max_length=500, description="The caller's name")
    phone: str | None = Field(
        default=None, max_length=100, description="Defaults to the caller's number on a call"
    )
    email: str | None = Field(default=None, max_length=500)
    start: str = Field(
        min_length=1,
        max_length=100,
        description="Local wall time in the clinic's zone (2026-11-24T14:00) or ISO with offset",
    )
    service: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)


class RescheduleArguments(_Spoken):
    """The `reschedule_appointment` tool's arguments: which booking (without one, the caller's
    next upcoming) and its new start."""

    new_start: str = Field(min_length=1, max_length=100)
    booking_id: str | None = Field(default=None, max_length=100)

    def request(self) -> RescheduleChange:
        return RescheduleChange(start=self.new_start)


class CancelArguments(_Spoken):
    """The `cancel_appointment` tool's arguments: which booking, and why if the caller said."""

    booking_id: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=1000)

    def request(self) -> CancelChange:
        return CancelChange(reason=self.reason or "cancelled by the caller")


class FindAppointmentsArguments(_Spoken):
    """The `find_appointments` tool's arguments: whose appointments (without a phone, the
    caller's number)."""

    phone: str | None = Field(
        default=None, max_length=100, description="Defaults to the caller's number on a call"
    )


class RescheduleBody(_Input):
    """`POST /bookings/{id}/reschedule`'s body; the booking is named by the path."""

    start: str = Field(min_length=1, max_length=100, description="The new start, as for booking")

    def request(self) -> RescheduleChange:
        return RescheduleChange(start=self.start)


class CancelBody(_Input):
    """`POST /bookings/{id}/cancel`'s body (optional); the booking is named by the path."""

    reason: str = Field(default="cancelled", min_length=1, max_length=1000)

    def request(self) -> CancelChange:
        return CancelChange(reason=self.reason)
