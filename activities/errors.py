"""Turns the project's typed errors into Temporal `ApplicationError`s with a stable `type`.

The workflow and the API branch on `type` (the error class name); transient vendor errors stay
retryable, everything else the project raises on purpose is final.
"""

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from temporalio.exceptions import ApplicationError

from core.errors import BookingError, SlotUnavailable, TransientServiceError

P = ParamSpec("P")
R = TypeVar("R")


def to_application_error(error: BookingError) -> ApplicationError:
    """One details dict: `alternatives` (ISO strings), `field`, `code` where they apply."""
    details = {
        "alternatives": [at.isoformat() for at in error.alternatives]
        if isinstance(error, SlotUnavailable)
        else [],
        "field": getattr(error, "field", None),
        "code": getattr(error, "code", None),
    }
    return ApplicationError(
        error.message,
        details,
        type=type(error).__name__,
        non_retryable=not isinstance(error, TransientServiceError),
    )


def typed_errors(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate an activity so BookingErrors leave it as typed ApplicationErrors."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except BookingError as error:
            raise to_application_error(error) from error

    return wrapper
