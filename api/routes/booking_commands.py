"""The write side of `/bookings`: book, reschedule and cancel, each answered by the booking's
workflow. Reads (the list, one booking's record) are in `routes/bookings.py`; both routers share
the prefix and the `bookings` tag because to a client they are one resource.

`POST /bookings` is the REST twin of the `book_appointment` voice tool. Its `Idempotency-Key`
header plays the tool-call id's part: the same key (per org) always lands on the same booking
workflow and gets the same answer, so a client may retry freely. Route function names stay
as they are: FastAPI makes them the OpenAPI operation ids clients generate code from.
"""

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Header, Response, status

from api.actions import booking_facts
from api.auth import OrgDep
from api.changes import change_facts
from api.deps import ActionsDep, ChangesDep
from api.errors import error_response
from api.inputs import BookingFields, CancelBody, RescheduleBody
from api.limits import require_json
from core.services.orgs import Org
from core.temporal.models import LifecycleResult

router = APIRouter(prefix="/bookings", tags=["bookings"])

_ANSWER_STATUS = {
    "booked": 201,
    "already_booked": 200,
    "unavailable": 409,
    "invalid": 422,
    "error": 503,
}
_ERROR_CODES = {
    "unavailable": "slot_unavailable",
    "invalid": "invalid_input",
    "error": "unavailable",
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_json)],
    responses={
        200: {
            "description": "the contact already holds this time: that booking (`booking_id`, "
            "`Location`), no second one is made"
        },
        409: {"description": "the time is taken or not bookable; `alternatives` are offered"},
        422: {"description": "the input cannot be used; `field` names which part"},
        503: {"description": "the booking system did not answer in time; retry with the same key"},
    },
)
async def create_booking(
    fields: BookingFields,
    org: OrgDep,
    actions: ActionsDep,
    response: Response,
    idempotency_key: Annotated[
        str,
        Header(
            min_length=1,
            max_length=200,
            description="Any unique string per intended booking; retries reuse it",
        ),
    ],
) -> Any:
    """Book the slot and answer as soon as it is held; SMS and calendar follow durably."""
    org = org.speaking(fields.language)  # the caller's language, when the org serves it
    result = await actions.book(org, fields, idempotency_key=f"api:{idempotency_key}")
    facts = booking_facts(result, org)
    if result.outcome in ("booked", "already_booked"):
        response.status_code = _ANSWER_STATUS[result.outcome]
        response.headers["Location"] = f"/bookings/{result.booking_id}"
        return {**facts, "message": result.message}
    failure = error_response(
        _ANSWER_STATUS[result.outcome],
        result.message,
        code=_ERROR_CODES[result.outcome],
        field=result.field,
        alternatives=facts["alternatives"] if result.outcome == "unavailable" else None,
    )
    if result.outcome == "error":
        failure.headers["Retry-After"] = "5"
    return failure


_CHANGE_STATUS = {
    "rescheduled": 200,
    "cancelled": 200,
    "unchanged": 200,
    "unavailable": 409,
    "invalid": 422,
    "refused": 409,
    "error": 409,
}
_CHANGE_CODES = {
    "unavailable": "slot_unavailable",
    "invalid": "invalid_input",
    "refused": "not_changeable",
    "error": "change_failed",
}
_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such booking in this org"},
    409: {
        "description": "taken (with alternatives), already cancelled/failed/started, or the "
        "calendar refused the change (the booking stays as it was)"
    },
    422: {"description": "the input cannot be used"},
}
OptionalIdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="Retries with the same key get the first answer"),
]


@router.post(
    "/{booking_id}/reschedule",
    dependencies=[Depends(require_json)],
    responses=_CHANGE_RESPONSES,
)
async def reschedule_booking(
    booking_id: UUID,
    body: RescheduleBody,
    org: OrgDep,
    changes: ChangesDep,
    idempotency_key: OptionalIdempotencyKey = None,
) -> Any:
    """Move the booking: the new slot is taken in one transaction (the old one kept if the new
    one is taken), the calendar event is patched, and a "moved" SMS goes out."""
    result = await changes.change(
        org,
        body.request(),
        booking_id=str(booking_id),
        caller_phone=None,
        update_id=f"api-reschedule:{idempotency_key or uuid4()}",
    )
    return _change_response(result, org)


@router.post(
    "/{booking_id}/cancel",
    dependencies=[Depends(require_json)],
    responses=_CHANGE_RESPONSES,
)
async def cancel_booking(
    booking_id: UUID,
    org: OrgDep,
    changes: ChangesDep,
    body: CancelBody | None = None,
    idempotency_key: OptionalIdempotencyKey = None,
) -> Any:
    """Cancel the booking: the slot is released, the calendar event deleted, a cancellation
    SMS sent, and the booking's workflow ends."""
    result = await changes.change(
        org,
        (body or CancelBody()).request(),
        booking_id=str(booking_id),
        caller_phone=None,
        update_id=f"api-cancel:{idempotency_key or uuid4()}",
    )
    return _change_response(result, org)


def _change_response(result: LifecycleResult, org: Org) -> Any:
    facts = change_facts(result, org)
    status_code = _CHANGE_STATUS[result.outcome]
    if status_code == 200:
        return {"outcome": facts["outcome"], "message": result.message, "start": facts["start"]}
    return error_response(
        status_code,
        result.message,
        code=_CHANGE_CODES[result.outcome],
        alternatives=facts["alternatives"] if result.outcome == "unavailable" else None,
    )
