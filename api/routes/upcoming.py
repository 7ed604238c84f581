"""`GET /bookings/upcoming`: a phone number's upcoming appointments, as `find_appointments`
answers a voice agent (same lookup, same sentence), for agents and dashboards on REST.

Its own router because `/bookings/{booking_id}` would otherwise read "upcoming" as an id: this
router is included before the bookings router (api/app.py).
"""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.appointments import UPCOMING_LIMIT, find_upcoming
from api.auth import OrgDep
from api.deps import PoolDep
from core.domain.statuses import BookingStatus
from core.errors import InvalidInput

router = APIRouter(prefix="/bookings", tags=["bookings"])


class UpcomingAppointment(BaseModel):
    id: UUID
    status: BookingStatus = Field(description="held or confirmed")
    start: datetime = Field(description="wall time in the org's time zone, with its offset")
    service: str
    provider: str


class UpcomingAppointments(BaseModel):
    message: str = Field(description="the sentence a voice agent would say")
    items: list[UpcomingAppointment] = Field(description=f"soonest first, at most {UPCOMING_LIMIT}")
    more: bool = Field(description="more upcoming appointments follow the ones listed")


@router.get(
    "/upcoming",
    response_model=UpcomingAppointments,
    responses={422: {"description": "the phone number is missing or invalid"}},
)
async def upcoming_appointments(
    org: OrgDep,
    pool: PoolDep,
    phone: Annotated[
        str,
        Query(
            max_length=100, description="the contact's phone, in any format the org's region reads"
        ),
    ],
) -> UpcomingAppointments:
    """The held and confirmed bookings of a phone number that start from now on."""
    try:
        answer = await find_upcoming(pool, org, phone=phone, caller_phone=None)
    except InvalidInput as exc:
        # The voice wording asks back; a REST client is told what the parameter needs.
        raise InvalidInput(
            "phone must be a valid phone number, e.g. +12125550123", field="phone"
        ) from exc
    return UpcomingAppointments(
        message=answer.message,
        items=[
            UpcomingAppointment(
                id=row.id,
                status=row.status,
                start=row.starts_at.astimezone(org.time_zone),
                service=row.service_name,
                provider=row.provider_name,
            )
            for row in answer.bookings
        ],
        more=answer.more,
    )
