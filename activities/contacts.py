"""Contact resolution: one atomic upsert, so two calls from the same caller never collide."""

import asyncpg
from temporalio import activity

from activities.errors import typed_errors
from core.errors import InvalidInput
from core.models import BookingRequest, ContactResult
from core.repositories import contacts as contact_repo


class ContactActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    @typed_errors
    async def resolve_contact(self, request: BookingRequest) -> ContactResult:
        """The caller's contact: by E.164 phone when known, else by lower-cased email."""
        if request.phone is not None:
            contact_id = await contact_repo.upsert_by_phone(
                self._pool,
                org_id=request.org_id,
                phone=request.phone,
                email=request.email,
                name=request.name,
            )
        elif request.email is not None:
            contact_id = await contact_repo.upsert_by_email(
                self._pool, org_id=request.org_id, email=request.email, name=request.name
            )
        else:
            raise InvalidInput("I need a phone number or an email address to book.", field="phone")
        return ContactResult(contact_id=contact_id)
