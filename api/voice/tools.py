"""The voice tools, shared by Vapi and Retell: arguments checked, action run, answer phrased.

Every outcome becomes a `ToolAnswer`, never an exception: the platforms only read HTTP 200
bodies, so a failure must be a short sentence the agent can say, not a status code.
"""

import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg
from pydantic import BaseModel, ValidationError

from api.actions import BookingActions, booking_facts
from api.appointments import find_upcoming
from api.changes import BookingChanges, change_facts
from api.inputs import (
    AvailabilityQuery,
    BookingFields,
    CancelArguments,
    FindAppointmentsArguments,
    RescheduleArguments,
)
from api.metrics import ApiMetrics, Platform
from api.voice.calls import ToolAnswer, ToolCall
from core.domain import messages
from core.domain.language import DEFAULT_LOCALE, N_, catalog
from core.errors import BackendUnavailable, InvalidInput, NotFound
from core.services.orgs import Org
from core.temporal.models import LifecycleResult, RescheduleChange

log = logging.getLogger(__name__)

# Each tool's arguments; examples/vapi-tools.json and retell-functions.json mirror these (tested).
TOOL_ARGUMENTS: dict[str, type[BaseModel]] = {
    "check_availability": AvailabilityQuery,
    "book_appointment": BookingFields,
    "reschedule_appointment": RescheduleArguments,
    "cancel_appointment": CancelArguments,
    "find_appointments": FindAppointmentsArguments,
}


class VoiceTools:
    """Runs one tool call for an authenticated org."""

    def __init__(
        self,
        actions: BookingActions,
        changes: BookingChanges,
        metrics: ApiMetrics,
        *,
        pool: asyncpg.Pool,
    ) -> None:
        self._actions = actions
        self._changes = changes
        self._metrics = metrics
        self._pool = pool
        handlers: dict[str, Callable[..., Awaitable[ToolAnswer]]] = {
            "check_availability": self._check_availability,
            "book_appointment": self._book_appointment,
            "reschedule_appointment": self._change_appointment,
            "cancel_appointment": self._change_appointment,
            "find_appointments": self._find_appointments,
        }
        self._tools = {name: (TOOL_ARGUMENTS[name], handlers[name]) for name in TOOL_ARGUMENTS}

    async def run(
        self,
        org: Org,
        call: ToolCall,
        *,
        idempotency_key: str,
        caller_phone: str | None,
        platform: Platform,
    ) -> ToolAnswer:
        """The tool's answer; a known tool's run time is recorded by tool and platform."""
        if call.problem:
            # The problem is a message id (api/voice/vapi.py, retell.py), said in the org's words.
            problem = catalog(org.locale).gettext(call.problem)
            said = messages.say(_UNREADABLE_CALL, org.locale, problem=problem)
            return ToolAnswer(said, is_error=True)
        tool = self._tools.get(call.name)
        if tool is None:
            # Tool names are identifiers the agent uses: quoted as they are, in any locale.
            known = ", ".join(self._tools)
            return ToolAnswer(
                messages.say(_NO_SUCH_TOOL, org.locale, name=call.name, known=known), is_error=True
            )
        model, handler = tool
        try:
            arguments = model.model_validate(call.arguments)
        except ValidationError as error:
            # The arguments did not validate, so a per-call `language` is not known: the org's.
            return ToolAnswer(describe_argument_errors(call.name, error, org.locale), is_error=True)
        # The caller's language, when the org serves it, for the answer and the booking's texts.
        org = org.speaking(getattr(arguments, "language", None))
        started = time.perf_counter()
        try:
            return await handler(
                org,
                arguments,
                idempotency_key=idempotency_key,
                caller_phone=caller_phone,
                channel=platform,
            )
        except (InvalidInput, NotFound, BackendUnavailable) as error:
            return ToolAnswer(_error_said(error, org.locale), is_error=True)
        except Exception:  # noqa: BLE001 - the agent must hear an answer whatever broke
            log.exception("tool %s failed for org %s", call.name, org.slug)
            return ToolAnswer(messages.say(messages.TOOL_FAILED, org.locale), is_error=True)
        finally:
            elapsed = time.perf_counter() - started
            self._metrics.tool_duration.labels(call.name, platform).observe(elapsed)

    async def _check_availability(
        self, org: Org, query: AvailabilityQuery, **_: object
    ) -> ToolAnswer:
        answer = await self._actions.availability(org, query)
        return ToolAnswer(answer.message, data=answer.facts(org))

    async def _book_appointment(
        self,
        org: Org,
        fields: BookingFields,
        *,
        idempotency_key: str,
        caller_phone: str | None,
        channel: Platform,
    ) -> ToolAnswer:
        if not idempotency_key:
            return ToolAnswer(
                messages.say(
                    N_("I can't book without the call's id; please try again."), org.locale
                ),
                True,
            )
        result = await self._actions.book(
            org,
            fields,
            idempotency_key=idempotency_key,
            caller_phone=caller_phone,
            channel=channel,
        )
        # "unavailable" is an answer the agent relays (with alternatives), not a failure.
        is_error = result.outcome in ("invalid", "error")
        return ToolAnswer(
            _said(result.message, org), is_error=is_error, data=booking_facts(result, org)
        )

    async def _change_appointment(
        self,
        org: Org,
        arguments: RescheduleArguments | CancelArguments,
        *,
        idempotency_key: str,
        caller_phone: str | None,
        channel: Platform,
    ) -> ToolAnswer:
        if not idempotency_key:
            return ToolAnswer(
                messages.say(N_("I can't change a booking without the call's id."), org.locale),
                True,
            )
        request = arguments.request()
        change = "reschedule" if isinstance(request, RescheduleChange) else "cancel"
        result = await self._changes.change(
            org,
            request,
            booking_id=arguments.booking_id,
            caller_phone=caller_phone,
            update_id=f"{change}:{idempotency_key}",
            channel=channel,
        )
        return _change_answer(result, org)

    async def _find_appointments(
        self,
        org: Org,
        arguments: FindAppointmentsArguments,
        *,
        caller_phone: str | None,
        **_: object,
    ) -> ToolAnswer:
        # Nothing upcoming is an answer, not a failure; a missing or bad number is InvalidInput.
        answer = await find_upcoming(
            self._pool, org, phone=arguments.phone, caller_phone=caller_phone
        )
        return ToolAnswer(answer.message, data=answer.facts(org))


def _change_answer(result: LifecycleResult, org: Org) -> ToolAnswer:
    # A taken time (with alternatives) or "already there" is an answer, not a failure.
    is_error = result.outcome in ("invalid", "refused", "error")
    return ToolAnswer(_said(result.message, org), is_error=is_error, data=change_facts(result, org))


def _said(message: str, org: Org) -> str:
    # A refusal passed on by the workflow as a fixed sentence (InvalidInput in an activity) is a
    # message id; translating a sentence already in the caller's words leaves it as it is.
    return messages.say(message, org.locale)


def _error_said(error: InvalidInput | NotFound | BackendUnavailable, locale: str) -> str:
    # A sentence quoting the input is said by the error itself; other refusals raised as errors
    # are message ids where they are fixed sentences.
    if isinstance(error, InvalidInput) and error.in_locale is not None:
        return error.in_locale(locale)
    return messages.say(error.message, locale)


_UNREADABLE_CALL = N_("I couldn't read that request: {problem}.")
_NO_SUCH_TOOL = N_("There is no tool called {name}; use {known}.")
# What is wrong with one argument, by pydantic's error type; argument names are quoted as the
# tool definitions spell them, since the agent must send them so.
_ARGUMENT_PROBLEMS = {
    "missing": N_("{name} is missing"),
    "string_type": N_("{name} must be text"),
    "string_unicode": N_("{name} must be text"),
    "string_too_short": N_("{name} is empty"),
    "string_too_long": N_("{name} is too long"),
    "model_type": N_("the arguments must be an object"),
    "value_error": N_("{name} contains characters I can't use"),
}
_INVALID_ARGUMENT = N_("{name} is invalid")
_ARGUMENT_ERRORS = N_("{tool}: {problems}.")


def describe_argument_errors(
    tool: str, error: ValidationError, locale: str = DEFAULT_LOCALE
) -> str:
    """ "book_appointment: start is missing; name must be text." from pydantic's errors."""
    words = catalog(locale)
    problems = []
    for item in error.errors()[:4]:
        name = ".".join(str(part) for part in item["loc"]) or "arguments"
        problem = _ARGUMENT_PROBLEMS.get(item["type"], _INVALID_ARGUMENT)
        problems.append(words.gettext(problem).format(name=name))
    return messages.say(_ARGUMENT_ERRORS, locale, tool=tool, problems="; ".join(problems))
