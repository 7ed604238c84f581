"""Hypothesis strategies for whole requests: Vapi messages, Retell bodies, raw bodies that are
not what a route reads, content types, header values and query strings."""

import base64
import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

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
    json_values,
    oversized,
    phones,
    tool_arguments,
    tool_names,
    weighted,
    without_missing,
)

# Vapi ----------------------------------------------------------------------------------------


@st.composite
def vapi_tool_call(draw: st.DrawFn) -> Any:
    """One entry of `toolCallList`, in one of the shapes Vapi documents or a broken one."""
    if draw(st.integers(0, 19)) == 19:
        return draw(json_values)  # not an object at all
    name = weighted(draw, (8, st.sampled_from(TOOLS)), (2, tool_names))
    arguments: Any = draw(tool_arguments(name if isinstance(name, str) else ""))
    shape = weighted(
        draw,
        (4, st.just("sdk")),
        (3, st.sampled_from(("object", "flat", "parameters"))),
        (1, st.sampled_from(("broken", "not-an-object"))),
    )
    if shape == "broken":
        text = json.dumps(arguments)
        arguments = draw(st.sampled_from((text[:-1], "{", "not json", "[" * 5000, "")))
    elif shape == "not-an-object":
        arguments = draw(json_values)
    call_id = weighted(draw, (6, st.uuids().map(lambda u: f"call_{u.hex}")), (2, call_ids))
    call: dict[str, Any] = {"id": call_id, "type": "function"}
    if shape in ("sdk", "broken"):
        encoded_arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
        call["function"] = {"name": name, "arguments": encoded_arguments}
    elif shape in ("object", "not-an-object"):
        call["function"] = {"name": name, "arguments": arguments}
    else:
        call.update({"name": name, shape if shape == "parameters" else "arguments": arguments})
    return without_missing(call)


@st.composite
def vapi_message(draw: st.DrawFn) -> dict[str, Any]:
    """A whole Vapi webhook body: mostly tool calls (1-4), sometimes another message type."""
    calls = weighted(
        draw,
        (6, st.lists(vapi_tool_call(), min_size=1, max_size=2)),
        (2, st.lists(vapi_tool_call(), min_size=3, max_size=4)),
        (1, st.just([])),
    )
    kind = weighted(
        draw,
        (10, st.just("tool-calls")),
        (1, st.sampled_from(("status-update", "end-of-call-report", "assistant-request", ""))),
        (1, hostile_value),
    )
    caller = weighted(
        draw, (3, st.sampled_from(VALID_PHONES[:3])), (1, phones), (1, st.just(MISSING))
    )
    message: dict[str, Any] = {"type": kind}
    if draw(st.integers(0, 4)) > 0:
        message["toolCallList"] = calls
    else:
        message["toolWithToolCallList"] = [{"type": "function", "toolCall": c} for c in calls]
    call: dict[str, Any] = {"id": draw(st.one_of(call_ids, st.just("vapi-call-1")))}
    if caller is not MISSING:
        holder = call if draw(st.booleans()) else message
        holder["customer"] = {"number": caller}
    message["call"] = without_missing(call)
    return {"message": without_missing(message)}


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
