"""Phase 1: the caller's answer from one local activity and, usually, one Postgres round trip.

The request is normalized and checked against the org's rules (hours, notice, horizon) in
memory, from the cached configuration; then one statement (`reserve_booking`) upserts the
contact and inserts the held booking under the exclusion constraint, or says why not and returns
the busy time the alternatives are computed from. No vendor is called. Bad input writes nothing.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from temporalio import activity

from activities.errors import typed_errors
from core.domain import messages
from core.domain.availability import occupied_range
from core.domain.catalog import Offering, OrgCatalog
from core.domain.ids import booking_workflow_id
from core.domain.language import N_
from core.domain.normalize import ParsedTime, normalize_email, normalize_name, normalize_phone
from core.domain.statuses import OCCUPYING
from core.errors import InvalidInput, SlotUnavailable
from core.repositories import bookings as booking_repo
from core.repositories import reservations
from core.repositories.reservations import ReserveOutcome
from core.services.scheduling import (
    CatalogCache,
    Refusal,
    check_requested_start,
    search_window,
    unavailable,
    unavailable_after,
)
from core.temporal.models import BookingRequest, BookInput, BookResult, ReserveResult

_GONE = "That booking could not be completed earlier. Please make a new booking."


@dataclass(frozen=True, slots=True)
class _Plan:
    """A request read against the org's configuration, before anything is written."""

    catalog: OrgCatalog
    offering: Offering
    name: str | None
    phone: str | None
    email: str | None
    start: ParsedTime | Refusal


class ReservationActivities:
    def __init__(self, pool: asyncpg.Pool, catalogs: CatalogCache) -> None:
        self._pool = pool
        self._catalogs = catalogs

    @activity.defn
    @typed_errors
    async def reserve_booking(self, request: BookInput) -> ReserveResult:
        """Decide the caller's answer: booked (the booking is held), already booked (the caller
        holds that time), unavailable with alternatives, or invalid. Errors other than the
        caller's raise: Postgres unreachable is retried, an org that no longer exists is
        final (NotFound)."""
        now = datetime.now(UTC)
        while True:
            try:
                catalog, plan = await self._catalogs.resolve(
                    request.org_id, lambda catalog: _plan(request, catalog, now)
                )
            except InvalidInput as bad:
                # A sentence quoting the input is said here, where the caller's locale is known.
                said = bad.in_locale(request.locale) if bad.in_locale else bad.message
                return _answer(BookResult(outcome="invalid", message=said, field=bad.field))
            if isinstance(plan.start, Refusal):
                answer = await self._refused(request, plan, plan.start, now)
            else:
                answer = await self._reserve(request, plan, plan.start, now)
            if answer is not None:
                return answer
            await self._catalogs.refresh(request.org_id, stale=catalog)

    async def _reserve(
        self, request: BookInput, plan: _Plan, start: ParsedTime, now: datetime
    ) -> ReserveResult | None:
        """One statement; None when the cached configuration turned out stale."""
        rules = plan.offering.rules
        begins, occupied_until = occupied_range(start.at, rules)
        ends = begins + plan.offering.service.duration
        _, window = search_window(begins, rules, now)
        reservation = await reservations.reserve(
            self._pool,
            org_id=request.org_id,
            config_version=plan.catalog.version,
            booking_id=request.booking_id,
            workflow_id=booking_workflow_id(request.booking_id),
            provider_id=plan.offering.provider.id,
            service_id=plan.offering.service.id,
            phone=plan.phone,
            email=plan.email,
            name=plan.name,
            starts_at=begins,
            ends_at=ends,
            occupied_until=occupied_until,
            notes=request.notes,
            window=window,
        )
        match reservation.outcome:
            case ReserveOutcome.STALE:
                return None
            case ReserveOutcome.BOOKED:
                await self._keep_locale(request, plan)
                return _booked(
                    request, plan, plan.offering, begins, ends, moved=start.moved_to_this_year
                )
            case ReserveOutcome.RETRIED:
                # An earlier attempt of this activity inserted it and its answer was lost.
                assert reservation.booking is not None
                await self._keep_locale(request, plan)
                return _retried(request, plan, reservation.booking, moved=start.moved_to_this_year)
            case ReserveOutcome.ALREADY_BOOKED:
                assert reservation.booking is not None
                return _already_booked(plan.catalog, reservation.booking, request.locale)
            case ReserveOutcome.BLOCKED | ReserveOutcome.TAKEN:
                taken = Refusal.taken(begins)
                return _unavailable(
                    unavailable(taken, reservation.busy, rules, now=now, locale=request.locale)
                )

    async def _refused(
        self, request: BookInput, plan: _Plan, refusal: Refusal, now: datetime
    ) -> ReserveResult | None:
        """The rules refuse the start: offer alternatives. None when the configuration is stale."""
        if activity.info().attempt > 1:
            # An earlier attempt may have inserted the booking before `now` moved past the
            # notice; a held booking must never be answered "unavailable".
            existing = await reservations.find(
                self._pool, org_id=request.org_id, booking_id=request.booking_id
            )
            if existing is not None:
                return _retried(request, plan, existing, moved=False)
        refused = await unavailable_after(
            self._pool,
            self._catalogs,
            plan.catalog,
            plan.offering,
            refusal,
            now=now,
            locale=request.locale,
        )
        return _unavailable(refused) if refused is not None else None

    async def _keep_locale(self, request: BookInput, plan: _Plan) -> None:
        # A caller who booked in another of the org's languages gets the booking's later texts
        # in it too. A retried attempt sets it again, so a crash in between loses nothing.
        if request.locale != plan.catalog.locale:
            await booking_repo.set_locale(
                self._pool,
                org_id=request.org_id,
                booking_id=request.booking_id,
                locale=request.locale,
            )


def _plan(request: BookInput, catalog: OrgCatalog, now: datetime) -> _Plan:
    """Normalize the caller's input and check the start against the rules; InvalidInput."""
    name = normalize_name(request.name) if request.name else None
    raw_phone = request.phone or request.caller_phone
    phone = normalize_phone(raw_phone, catalog.default_region) if raw_phone else None
    email = normalize_email(request.email) if request.email else None
    if phone is None and email is None:
        raise InvalidInput(N_("I need a phone number or an email address to book."), field="phone")
    offering = catalog.offering(request.provider, request.service)
    start = check_requested_start(request.start, offering.rules, now)
    return _Plan(catalog, offering, name, phone, email, start)


def _answer(answer: BookResult, booking: BookingRequest | None = None) -> ReserveResult:
    return ReserveResult(answer=answer, booking=booking)


def _booked(
    request: BookInput,
    plan: _Plan,
    offering: Offering,
    begins: datetime,
    ends: datetime,
    *,
    moved: bool,
) -> ReserveResult:
    catalog = plan.catalog
    provider, service = offering.provider, offering.service
    booking = BookingRequest(
        org_id=request.org_id,
        booking_id=request.booking_id,
        workflow_id=booking_workflow_id(request.booking_id),
        name=plan.name,
        phone=plan.phone,
        email=plan.email,
        starts_at=begins,
        ends_at=ends,
        occupied_until=begins + service.duration + service.buffer,
        time_zone=catalog.time_zone.key,
        moved_to_this_year=moved,
        provider_id=provider.id,
        provider_name=provider.name,
        calendar_id=provider.calendar_id,
        service_id=service.id,
        service_name=service.name,
        notes=request.notes,
        locale=request.locale,
    )
    message = messages.booked(
        service=service.name,
        provider=provider.name,
        at=begins,
        tz=catalog.time_zone,
        moved=moved,
        locale=request.locale,
    )
    answer = BookResult(
        outcome="booked", booking_id=request.booking_id, start=begins, message=message
    )
    return _answer(answer, booking)


def _retried(
    request: BookInput, plan: _Plan, found: reservations.FoundBooking, *, moved: bool
) -> ReserveResult:
    """This request's own booking, made by an earlier attempt whose answer was lost."""
    if found.status not in OCCUPYING:
        return _answer(BookResult(outcome="invalid", message=_GONE, field="booking_id"))
    offering = plan.catalog.booked_offering(found.provider_id, found.service_id)
    return _booked(request, plan, offering, found.starts_at, found.ends_at, moved=moved)


def _already_booked(
    catalog: OrgCatalog, found: reservations.FoundBooking, locale: str
) -> ReserveResult:
    provider = catalog.provider_by_id(found.provider_id)
    service = catalog.service_by_id(found.service_id)
    message = messages.already_booked(
        service=service.name,
        provider=provider.name,
        at=found.starts_at,
        tz=catalog.time_zone,
        locale=locale,
    )
    return _answer(
        BookResult(
            outcome="already_booked",
            booking_id=found.booking_id,
            start=found.starts_at,
            message=message,
        )
    )


def _unavailable(refused: SlotUnavailable) -> ReserveResult:
    """The refusal as the caller's answer: phase 1 answers it rather than raising it."""
    return _answer(
        BookResult(
            outcome="unavailable", message=refused.message, alternatives=refused.alternatives
        )
    )
