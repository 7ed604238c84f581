"""`GET /availability`: free start times on a day, from the same engine the voice tools use."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth import OrgDep
from api.deps import ActionsDep
from api.inputs import AvailabilityQuery

router = APIRouter(tags=["availability"])


@router.get("/availability")
async def availability(
    org: OrgDep, actions: ActionsDep, query: Annotated[AvailabilityQuery, Query()]
) -> dict[str, Any]:
    """Free starts on `date` (local times in the org's zone) and, if none, the next open day.
    `message` is the sentence a voice agent would say."""
    answer = await actions.availability(org, query)
    return {**answer.facts(org), "message": answer.message}
