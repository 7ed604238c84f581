"""How the booking workflow reads an activity's failure: retry it, and how to name it."""

from temporalio.exceptions import ActivityError, ApplicationError


def retryable(error: ActivityError) -> bool:
    """Whether another attempt may succeed: not for a final (non-retryable) refusal."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return not cause.non_retryable
    return True  # timeouts and the like


def describe(error: BaseException) -> str:
    """The innermost message of an activity failure: what an operator needs to read."""
    while isinstance(error, ActivityError) and error.cause is not None:
        error = error.cause
    if isinstance(error, ApplicationError) and error.type:
        return f"{error.type}: {error.message}"
    return str(error) or type(error).__name__


def cause_of(error: ActivityError | ApplicationError) -> BaseException:
    """What the activity raised. A local activity's failure can surface unwrapped, as the
    ApplicationError itself; an ActivityError without a cause stands for itself."""
    if isinstance(error, ActivityError):
        return error.cause or error
    return error
