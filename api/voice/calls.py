"""A tool call as both voice platforms send it, once read: name, arguments, who is calling."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call from the voice agent's LLM.

    `problem` is set when the call itself could not be read (arguments that are not JSON, no
    name); it is answered with an error result instead of being run.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ToolAnswer:
    """What the agent is told: one speakable line, whether it is an error, and the facts."""

    text: str
    is_error: bool = False
    data: dict[str, Any] = field(default_factory=dict)


def usable_text(value: Any, limit: int = 500) -> str | None:
    """`value` stripped, if it is a non-empty string of at most `limit` characters that UTF-8
    can encode; None otherwise. Ids and names echoed back must pass this, or writing the answer
    would fail (a lone surrogate) or it would be absurdly long."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > limit:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def transport_error_body(message: str) -> dict[str, Any]:
    """The HTTP 200 body for a request whose tool calls could not even be read.

    Both platforms ignore non-2xx answers, so the reason goes in the body, in the fields each
    reads: Vapi's `results` (empty: no call id to answer) and `error`, Retell's `result`.
    """
    return {"results": [], "result": message, "error": message}
