"""Reading Vapi server messages: every documented shape of a tool call, pure functions.

Vapi sends `{"message": {"type": ..., "toolCallList": [...], "call": {...}, ...}}`. The SDK's
`ToolCall` is `{id, type, function: {name, arguments: "<JSON string>"}}`; its docs also show
`arguments` as an object, a flat `{id, name, arguments}` and a flat `{id, name, parameters}`.
Older payloads carry the calls only in `toolWithToolCallList[].toolCall`. All are accepted.
"""

import json
from dataclasses import dataclass
from typing import Any

from api.voice.calls import ToolAnswer, ToolCall, usable_text
from core.domain.language import N_
from core.domain.speech import one_line
from core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class VapiMessage:
    type: str
    tool_calls: list[ToolCall]
    caller_phone: str | None
    call_id: str | None


def idempotency_key(tool_call_id: str) -> str:
    """The booking key of one Vapi tool call: a retried request (Vapi's backoff plan) carries
    the same tool-call id, so every copy lands on one booking."""
    return f"vapi:{tool_call_id}"


def parse_message(payload: Any) -> VapiMessage:
    """The message inside a Vapi webhook body; InvalidInput when there is none."""
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        raise InvalidInput("the body has no `message` object", field="message")
    kind = message.get("type")
    if not isinstance(kind, str):
        raise InvalidInput("the message has no `type`", field="message.type")
    call = _object(message.get("call"))
    return VapiMessage(
        type=kind,
        tool_calls=[_tool_call(raw, index) for index, raw in enumerate(_raw_tool_calls(message))]
        if kind == "tool-calls"
        else [],
        caller_phone=_caller_phone(message, call),
        call_id=usable_text(call.get("id")),
    )


def results_body(calls: list[ToolCall], answers: list[ToolAnswer]) -> dict[str, Any]:
    """`{"results": [{"toolCallId", "name", "result" | "error"}]}`, one per call, in order
    (Vapi's `ToolCallResult` requires both `toolCallId` and `name`)."""
    return {
        "results": [
            {
                "toolCallId": call.id,
                "name": call.name,
                "error" if answer.is_error else "result": one_line(answer.text),
            }
            for call, answer in zip(calls, answers, strict=True)
        ]
    }


def _raw_tool_calls(message: dict[str, Any]) -> list[Any]:
    calls = message.get("toolCallList")
    if isinstance(calls, list) and calls:
        return calls
    wrapped = message.get("toolWithToolCallList")
    if isinstance(wrapped, list):
        return [item.get("toolCall") if isinstance(item, dict) else item for item in wrapped]
    return []


def _tool_call(raw: Any, index: int) -> ToolCall:
    if not isinstance(raw, dict):
        return ToolCall(id=f"#{index}", name="", problem=N_("a tool call must be an object"))
    call_id = usable_text(raw.get("id"))
    if not call_id:
        # Without its id the answer cannot be matched to the call, nor a retry recognised.
        return ToolCall(id=f"#{index}", name="", problem=N_("the tool call has no id"))
    function = _object(raw.get("function"))
    name = usable_text(function.get("name")) or usable_text(raw.get("name"))
    if not name:
        return ToolCall(id=call_id, name="", problem=N_("the tool call has no function name"))
    arguments = _first_present(function, raw, keys=("arguments", "parameters"))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except (ValueError, RecursionError):
            return ToolCall(id=call_id, name=name, problem=N_("the arguments are not valid JSON"))
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return ToolCall(id=call_id, name=name, problem=N_("the arguments must be a JSON object"))
    return ToolCall(id=call_id, name=name, arguments=arguments)


def _first_present(*sources: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The first of `keys` found, looking in each source in turn (nested before flat)."""
    for source in sources:
        for key in keys:
            if key in source:
                return source[key]
    return None


def _caller_phone(message: dict[str, Any], call: dict[str, Any]) -> str | None:
    for holder in (_object(call.get("customer")), _object(message.get("customer"))):
        number = usable_text(holder.get("number"))
        if number:
            return number
    return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
