"""`POST /bookings`: the REST twin of the `book_appointment` voice tool.

The `Idempotency-Key` header plays the tool-call id's part: the same key (per org) always
lands on the same booking workflow and gets the same answer, so a client may retry freely.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response, status

from api.actions import booking_facts
from api.auth import OrgDep
from api.deps import ActionsDep
from api.errors import error_response
from api.inputs import BookingFields
from api.limits import require_json

router = APIRouter(prefix="/bookings", tags=["bookings"])

_ANSWER_STATUS = {"booked": 201, "unavailable": 409, "invalid": 422, "error": 503}
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
    result = await actions.book(org, fields, idempotency_key=f"api:{idempotency_key}")
    facts = booking_facts(result, org)
    if result.outcome == "booked":
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
