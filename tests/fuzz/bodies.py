"""Hypothesis strategies for whole requests: Vapi messages, Retell bodies, raw bodies that are
not what a route reads, content types, header values and query strings.

One module because the broken and oddly sent bodies are built over the valid ones above them
(`broken_bodies(valid)`, `vapi_raw_bodies` from `vapi_message`), for the same three fuzz tests.
"""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from hypothesis import strategies as st
from vapi.types import (
    Call,
    CreateCustomerDto,
    FunctionToolWithToolCall,
    OpenAiFunction,
    OpenAiFunctionParameters,
    ServerMessageToolCalls,
    ToolCall,
    ToolCallFunction,
)

from tests.fuzz.strategies import (
    MISSING,
    PROVIDER,
    SERVICE,
    TOOLS,
    VALID_PHONES,
    any_time,
    bookable_day,
    call_ids,
    hostile_text,
    hostile_value,
    json_scalars,
    json_values,
    oversized,
    phones,
    tool_arguments,
    tool_names,
    weighted,
    without_missing,
)

# Vapi ----------------------------------------------------------------------------------------
#
# Every drawn message carries the answer it must get, worked out here from what was drawn (with
# literal tables), never by asking the parser: whether it is answered at all, which toolCallId
# each result carries and in which order, and which calls must be answered with an error
# because they cannot be run. Well-formed calls and the envelope are built with the types of
# Vapi's own server SDK (`vapi-server-sdk`) and serialized as it serializes them; the shapes
# its types do not have (flat calls, arguments as an object, broken ones) by hand.

VapiKind = Literal["tool calls", "ignored", "unreadable"]


@dataclass(frozen=True)
class ExpectedResult:
    """One entry of `results`: the toolCallId it must carry, and whether it must be an error
    (no usable id, no known tool, or arguments that are not a JSON object)."""

    tool_call_id: str
    must_fail: bool


@dataclass(frozen=True)
class VapiBody:
    body: dict[str, Any]
    kind: VapiKind
    results: tuple[ExpectedResult, ...]


# Ids a call may carry, and the toolCallId its answer must carry; None: the id cannot be used
# (the call is answered as "#<its index>", and not run).
CALL_IDS: tuple[tuple[Any, str | None], ...] = (
    ("call_1", "call_1"),  # shared between examples and calls: retries and duplicates
    ("call_2", "call_2"),
    (" call_1 ", "call_1"),  # surrounding whitespace is not part of the id
    ("x" * 500, "x" * 500),
    ("x" * 501, None),  # too long to echo back
    ("", None),
    ("   ", None),
    ("\ud800", None),  # a lone surrogate cannot be written back as UTF-8
    (None, None),
    (42, None),
    (["call_1"], None),
    ({"id": "call_1"}, None),
    (MISSING, None),
)
# Function names other than our four tools' (which are known, also with spaces around them).
OTHER_NAMES: tuple[Any, ...] = (
    " BOOK_APPOINTMENT ",
    "book",
    "bookAppointment",
    "",
    "transfer_call",
    None,
    7,
    ["book_appointment"],
    MISSING,
)
_KNOWN_NAMES = st.one_of(
    st.sampled_from(TOOLS), st.sampled_from(TOOLS).map(lambda name: f" {name} ")
)
_UNKNOWN_NAMES = st.one_of(
    st.sampled_from(OTHER_NAMES), hostile_text.filter(lambda text: text.strip() not in TOOLS)
)
# Argument values that are not a JSON object, for each way of carrying them.
_NOT_OBJECTS = st.one_of(
    st.booleans(), st.integers(), st.floats(), st.lists(json_scalars, max_size=3)
)
_NOT_OBJECT_STRINGS = st.sampled_from(('"text"', "[1, 2]", "3", "null x", "{", "not json"))


def _utf8(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _sdk_dict(model: Any) -> dict[str, Any]:
    """A Vapi SDK model as the SDK serializes it (by alias, unset fields left out)."""
    loaded: dict[str, Any] = json.loads(model.json())
    return loaded


@st.composite
def vapi_tool_call(draw: st.DrawFn) -> tuple[Any, str | None, bool]:
    """One tool call in a shape Vapi documents or a broken one: (the call, the toolCallId its
    answer must carry or None for "#<index>", whether its answer must be an error)."""
    if draw(st.integers(0, 19)) == 19:
        return draw(_NOT_OBJECTS), None, True  # not an object at all
    known = draw(st.integers(0, 9)) < 8
    name = draw(_KNOWN_NAMES if known else _UNKNOWN_NAMES)
    arguments: Any = draw(tool_arguments(name.strip() if known else ""))
    call_id, expected_id = weighted(
        draw,
        (6, st.uuids().map(lambda u: (f"call_{u.hex}", f"call_{u.hex}"))),
        (2, st.sampled_from(CALL_IDS)),
    )
    shape = weighted(
        draw,
        (4, st.just("sdk")),
        (3, st.sampled_from(("object", "flat", "parameters", "empty string"))),
        (1, st.sampled_from(("broken string", "not an object"))),
    )
    readable = shape not in ("broken string", "not an object")
    if shape == "sdk" and _utf8(call_id) and _utf8(name):
        call: Any = _sdk_dict(
            ToolCall(
                id=call_id,
                type="function",
                function=ToolCallFunction(name=name, arguments=json.dumps(arguments)),
            )
        )
    else:
        call = {"id": call_id, "type": "function"}
        if shape in ("flat", "parameters"):
            call.update({"name": name, "arguments" if shape == "flat" else "parameters": arguments})
        else:
            encoded_arguments = {
                "sdk": json.dumps(arguments),
                "object": arguments,
                "empty string": draw(st.sampled_from(("", "  "))),  # no arguments at all
                "broken string": draw(st.one_of(_NOT_OBJECT_STRINGS, st.just("[" * 5000))),
                "not an object": draw(_NOT_OBJECTS),
            }[shape]
            call["function"] = {"name": name, "arguments": encoded_arguments}
        call = without_missing(call)
        if "function" in call:
            call["function"] = without_missing(call["function"])
    return call, expected_id, expected_id is None or not known or not readable


def _wrapped(call: Any) -> Any:
    """The call as an item of `toolWithToolCallList`: with the tool's own definition beside it
    (a JSON schema under `function.parameters`, which is not the arguments)."""
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        return {"type": "function", "toolCall": call}
    try:
        tool_call = ToolCall.model_validate(call)
        name = tool_call.function.name
        item = FunctionToolWithToolCall(
            type="function",
            tool_call=tool_call,
            function=OpenAiFunction(
                name=name, parameters=OpenAiFunctionParameters(type="object", properties={})
            ),
        )
        return _sdk_dict(item)
    except (ValueError, TypeError):
        return {"type": "function", "toolCall": call}


@st.composite
def vapi_message(draw: st.DrawFn) -> VapiBody:
    """A whole Vapi webhook body (mostly tool calls, 0-4 of them; sometimes another message
    type) and the answer it must get."""
    drawn = weighted(
        draw,
        (6, st.lists(vapi_tool_call(), min_size=1, max_size=2)),
        (2, st.lists(vapi_tool_call(), min_size=3, max_size=4)),
        (1, st.just([])),
    )
    message_type = weighted(
        draw,
        (10, st.just("tool-calls")),
        (1, st.sampled_from(("status-update", "end-of-call-report", "assistant-request", ""))),
        (1, hostile_value.filter(lambda value: value != "tool-calls")),
    )
    caller = weighted(
        draw, (3, st.sampled_from(VALID_PHONES[:3])), (1, phones), (1, st.just(MISSING))
    )
    now = datetime.now(UTC)
    call = Call(
        id=f"vapi-call-{draw(st.integers(0, 3))}", org_id="org-fuzz", created_at=now, updated_at=now
    )
    message = _sdk_dict(
        ServerMessageToolCalls(
            type="tool-calls", tool_call_list=[], tool_with_tool_call_list=[], call=call
        )
    )
    calls = [raw for raw, _, _ in drawn]
    # Vapi sends both lists; older payloads have only the wrapped one.
    lists = draw(st.sampled_from(("both", "toolCallList", "toolWithToolCallList")))
    if lists in ("both", "toolCallList"):
        message["toolCallList"] = calls
    if lists in ("both", "toolWithToolCallList"):
        message["toolWithToolCallList"] = [_wrapped(raw) for raw in calls]
    message["type"] = message_type
    if caller is not MISSING:
        holder = message["call"] if draw(st.booleans()) else message
        holder["customer"] = (
            _sdk_dict(CreateCustomerDto(number=caller)) if _utf8(caller) else {"number": caller}
        )
    if message_type == "tool-calls":
        kind: VapiKind = "tool calls"
    else:
        kind = "ignored" if isinstance(message_type, str) else "unreadable"
    results = tuple(
        ExpectedResult(expected_id or f"#{index}", must_fail)
        for index, (_, expected_id, must_fail) in enumerate(drawn)
    )
    return VapiBody({"message": message}, kind, results)


def _no_message(value: Any) -> bool:
    return not (isinstance(value, dict) and "message" in value)


def _as_sent(body: VapiBody) -> tuple[bytes, VapiBody | None]:
    """UTF-8 as is (not escaped): a lone surrogate makes the bytes invalid, so unreadable."""
    raw = json.dumps(body.body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw, None
    return raw, body


def vapi_raw_bodies() -> st.SearchStrategy[tuple[bytes, VapiBody | None]]:
    """Raw bodies and the answer each must get (None: a transport error, nothing run)."""
    unreadable = st.one_of(
        json_values.filter(_no_message).map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=64).filter(lambda raw: b"message" not in raw),
        st.sampled_from(
            (
                b"",
                b"null",
                b"{",
                b"NaN",
                b"\xef\xbb\xbf{}",
                b"{}" * 3,
                b'{"message": null}',
                b'{"message": {"type": 3}}',
                b'{"message": {"toolCallList": []}}',
            )
        ),
        st.sampled_from((2, 900, 1100, 100_000)).map(_deep),
        # Past the 256 KiB limit: refused before any route reads it.
        oversized.map(lambda text: json.dumps({"message": text, "name": text}).encode()),
        vapi_message().map(lambda body: json.dumps(body.body).encode()[:-1]),
    )
    readable = st.one_of(
        vapi_message().map(lambda body: (encoded(body.body), body)),
        vapi_message().map(_as_sent),
        # JSON is read as Python's json reads bytes, which takes UTF-16 as well.
        vapi_message().map(lambda body: (json.dumps(body.body).encode("utf-16"), body)),
    )
    # Mostly broken: the readable ones are what the other test fuzzes at length.
    nothing = unreadable.map(lambda raw: (raw, None))
    return st.one_of(nothing, nothing, readable)


# Raw bodies and content types -------------------------------------------------------------------

JSON_TYPES = ("application/json", "application/json; charset=utf-8", "application/vnd.api+json")
content_types = st.one_of(
    st.sampled_from(JSON_TYPES),
    st.sampled_from(JSON_TYPES),
    st.sampled_from(
        (
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "APPLICATION/JSON",
            "application/jsonx",
            "json",
            "",
        )
    ),
)


def _deep(depth: int) -> bytes:
    return b'{"message": ' + b"[" * depth + b"]" * depth + b"}"


def broken_bodies(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Bodies that are not what the route reads: random JSON of any type, non-JSON bytes,
    deep nesting, invalid UTF-8, other encodings, truncation, and `valid` bodies spoiled."""
    return st.one_of(
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=64),
        st.sampled_from((b"", b"null", b"{", b"NaN", b"\xef\xbb\xbf{}", b"{}" * 3)),
        st.sampled_from((2, 900, 1100, 100_000)).map(_deep),
        # Past the 256 KiB limit: refused before any route reads it.
        oversized.map(lambda text: json.dumps({"message": text, "name": text}).encode()),
        valid.map(lambda value: json.dumps(value).encode()[:-1]),
        valid.map(lambda value: json.dumps(value).encode("utf-16")),
        # Raw lone surrogates, not \\u escapes: not UTF-8 at all.
        valid.map(
            lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
        ),
    )


def encoded(value: Any) -> bytes:
    """JSON as a client would send it: escaped (ensure_ascii) so even lone surrogates travel."""
    return json.dumps(value).encode()


# Retell --------------------------------------------------------------------------------------


@st.composite
def retell_request(draw: st.DrawFn) -> tuple[Any, str | None]:
    """A Retell custom-function body (or a broken one) and the `?tool=` the URL carries."""
    name = weighted(draw, (8, st.sampled_from(TOOLS)), (2, tool_names))
    arguments: Any = draw(tool_arguments(name if isinstance(name, str) else ""))
    caller = weighted(draw, (3, st.sampled_from(VALID_PHONES[:3])), (1, phones))
    call: dict[str, Any] = {
        "call_id": weighted(draw, (6, st.uuids().map(lambda u: f"retell-{u.hex}")), (2, call_ids)),
        "agent_id": "agent_fuzz",
        "from_number": caller,
        "to_number": caller,
        "direction": weighted(
            draw, (4, st.just("inbound")), (1, st.just("outbound")), (1, hostile_value)
        ),
    }
    shape = weighted(
        draw,
        (6, st.just("envelope")),
        (2, st.just("args at root")),
        (1, st.sampled_from(("args not an object", "call not an object", "no name"))),
    )
    tool: str | None = None
    if shape == "args at root":
        tool = name if isinstance(name, str) else None
        return arguments, tool
    payload: dict[str, Any] = {"name": name, "call": without_missing(call), "args": arguments}
    if shape == "args not an object":
        payload["args"] = draw(json_values)
    elif shape == "call not an object":
        payload["call"] = draw(json_values)
    elif shape == "no name":
        del payload["name"]
    return payload, tool


def _latin1(text: str) -> bytes:
    return text.encode("latin-1")


# Header values a real server lets through: latin-1 without control characters.
header_text = st.text(
    st.characters(codec="latin-1", categories=["L", "M", "N", "P", "S", "Zs"]), max_size=40
)
header_bytes = st.one_of(
    header_text.map(_latin1),
    # UTF-8 (lone surrogates too) where latin-1 is expected.
    st.text(st.characters(min_codepoint=0xA0), max_size=20).map(
        lambda text: text.encode("utf-8", "surrogatepass")
    ),
)


# REST ----------------------------------------------------------------------------------------

idempotency_keys: st.SearchStrategy[Any] = st.one_of(
    st.uuids().map(lambda u: str(u).encode()),
    st.sampled_from((b"order-1", b"order-2")),  # shared between examples: replays
    st.sampled_from((MISSING, b"", b" ", b"k" * 200, b"k" * 201, b"k" * 5000)),
    header_bytes,
)
_STATUSES = ("held", "confirmed", "cancelled", "failed")
_QUERY_VALUES: dict[str, st.SearchStrategy[str]] = {
    "status": st.one_of(
        st.sampled_from(_STATUSES),
        st.lists(st.sampled_from(_STATUSES), max_size=4).map(",".join),
        st.sampled_from(("HELD", " held ", ",,", "held,nope", "booked")),
        hostile_text,
    ),
    "from": st.one_of(bookable_day, any_time),
    "to": st.one_of(bookable_day, any_time),
    "phone": phones,
    "cursor": st.one_of(
        hostile_text,
        json_values.map(lambda value: json.dumps(value).encode()).map(
            lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")
        ),
        st.sampled_from(
            (
                '["2026-11-25T10:00:00+00:00", "not-a-uuid"]',
                '["2026-11-25T10:00:00", "6f1c6f4e-8b1a-4a5e-9a3e-2b1f0c9d8e7f"]',
                '["9999-12-31T23:59:59-12:00", "6f1c6f4e-8b1a-4a5e-9a3e-2b1f0c9d8e7f"]',
                '["0001-01-01T00:00:00+14:00", "6f1c6f4e-8b1a-4a5e-9a3e-2b1f0c9d8e7f"]',
            )
        ).map(lambda text: base64.urlsafe_b64encode(text.encode()).decode()),
    ),
    "limit": st.one_of(
        st.integers(-5, 300).map(str),
        st.sampled_from(("", "1e3", "0x10", "\u0663", "9" * 30, " 5 ", "NaN", "-0")),
    ),
    "date": st.one_of(bookable_day, any_time),
    "service": st.one_of(st.just(SERVICE), hostile_text),
    "provider": st.one_of(st.just(PROVIDER), hostile_text),
}


_MAX_URL_PART = 8 * 1024


def _query_text(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


# A path segment from any text, percent-encoded from its UTF-8 bytes, never empty.
odd_path_segments = hostile_text.map(lambda text: _query_text(text)[:_MAX_URL_PART] or "%00")


@st.composite
def query_strings(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    """A query string over `names` (repeated, unknown and raw-broken ones too), each value
    percent-encoded from its UTF-8 bytes (lone surrogates give bytes that are not UTF-8)."""
    pairs = draw(
        st.lists(
            st.one_of(
                st.sampled_from(names).flatmap(
                    lambda name: _QUERY_VALUES[name].map(lambda value: (name, value))
                ),
                st.tuples(hostile_text, hostile_text),
            ),
            max_size=5,
        )
    )
    query = "&".join(f"{_query_text(name)}={_query_text(value)}" for name, value in pairs)
    raw_tail = draw(
        st.sampled_from(
            ("", "", "", "&%zz", "&from=2026-11-25T10:00+02:00", "&&&", "&=x", "&limit")
        )
    )
    # Servers refuse longer request lines before any app sees them (and httpx will not send
    # one past 64 KiB); a cut through a %XX escape is one more broken input.
    return (query + raw_tail)[:_MAX_URL_PART]
