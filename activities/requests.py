"""Validation of a booking request against its org, before anything is written."""

from datetime import UTC, datetime, timedelta

import asyncpg
from temporalio import activity

from activities.errors import typed_errors
from core.availability import occupied_range
from core.errors import InvalidInput
from core.models import BookingRequest, BookInput
from core.names import booking_workflow_id
from core.normalize import normalize_email, normalize_name, normalize_phone
from core.repositories import orgs as org_repo
from core.scheduling import BusyTimes, Provider, bookable_start, provider_and_service, rules_for


class RequestActivities:
    def __init__(self, pool: asyncpg.Pool, busy_times: BusyTimes) -> None:
        self._pool = pool
        self._busy_times = busy_times

    @activity.defn
    @typed_errors
    async def check_request(self, request: BookInput) -> BookingRequest:
        """Normalize and resolve a request; InvalidInput or SlotUnavailable, nothing written."""
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn:
            org = await org_repo.org_settings(conn, org_id=request.org_id)
            name = normalize_name(request.name) if request.name else None
            raw_phone = request.phone or request.caller_phone
            phone = normalize_phone(raw_phone, org["default_region"]) if raw_phone else None
            email = normalize_email(request.email) if request.email else None
            if phone is None and email is None:
                raise InvalidInput(
                    "I need a phone number or an email address to book.", field="phone"
                )
            provider, service = await provider_and_service(
                conn, org_id=org["id"], provider=request.provider, service=request.service
            )
            rules = await rules_for(conn, org=org, service=service)
            start = await bookable_start(
                conn,
                self._busy_times,
                org_id=org["id"],
                provider=Provider(provider["id"], provider["calendar_id"]),
                rules=rules,
                raw_start=request.start,
                now=now,
            )
        begins, occupied_until = occupied_range(start.at, rules)
        return BookingRequest(
            org_id=request.org_id,
            booking_id=request.booking_id,
            workflow_id=booking_workflow_id(request.booking_id),
            name=name,
            phone=phone,
            email=email,
            starts_at=begins,
            ends_at=begins + timedelta(minutes=service["duration_minutes"]),
            occupied_until=occupied_until,
            time_zone=org["time_zone"],
            moved_to_this_year=start.moved_to_this_year,
            provider_id=provider["id"],
            provider_name=provider["name"],
            calendar_id=provider["calendar_id"],
            service_id=service["id"],
            service_name=service["name"],
            notes=request.notes,
        )
