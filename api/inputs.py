"""What callers send, as pydantic models shared by the voice tools and the REST routes.

Limits match `core.temporal.models.BookInput`, so anything accepted here also fits the
workflow payload.
Types are strict enough that an LLM sending a number or a list where text belongs is told so.
"""

import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class AvailabilityQuery(_Input):
    date: str = Field(min_length=1, max_length=100, description="Day to look at, 2026-11-24")
    service: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=200)


class BookingFields(_Input):
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


class RescheduleFields(_Input):
    new_start: str = Field(min_length=1, max_length=100)
    booking_id: str | None = Field(default=None, max_length=100)


class CancelFields(_Input):
    booking_id: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=1000)


class RescheduleBody(_Input):
    start: str = Field(min_length=1, max_length=100, description="The new start, as for booking")


class CancelBody(_Input):
    reason: str = Field(default="cancelled", min_length=1, max_length=1000)
