"""Pure reading of Vapi and Retell requests: signatures, shapes, caller numbers."""

import json

import pytest

from api.voice import retell, vapi
from core.errors import InvalidInput

BODY = b'{"name":"check_availability","args":{"date":"2027-01-05"}}'
KEY = "key_abc"
NOW = 1_800_000_000_000


def test_signature_round_trip_and_window() -> None:
    header = retell.sign(BODY, KEY, NOW)
    assert header.startswith(f"v={NOW},d=")
    assert retell.signature_valid(BODY, header, KEY, NOW)
    assert retell.signature_valid(BODY, header, KEY, NOW + 5 * 60 * 1000)
    assert not retell.signature_valid(BODY, header, KEY, NOW + 5 * 60 * 1000 + 1)
    assert not retell.signature_valid(BODY, header, KEY, NOW - 5 * 60 * 1000 - 1)


@pytest.mark.parametrize(
    "header",
    [None, "", "v=,d=", "d=abc", f"v={NOW}", f"v={NOW},d=zz", "garbage", f"v=-{NOW},d=00"],
)
def test_malformed_signature_headers_are_invalid(header: str | None) -> None:
    assert not retell.signature_valid(BODY, header, KEY, NOW)


def test_signature_covers_every_byte_of_the_raw_body() -> None:
    header = retell.sign(BODY, KEY, NOW)
    reformatted = json.dumps(json.loads(BODY)).encode()  # same JSON, other bytes
    assert reformatted != BODY
    assert not retell.signature_valid(reformatted, header, KEY, NOW)


def test_retell_idempotency_key_ignores_argument_order_but_not_values() -> None:
    a = retell.idempotency_key("call", "book_appointment", {"name": "A", "start": "x"})
    b = retell.idempotency_key("call", "book_appointment", {"start": "x", "name": "A"})
    c = retell.idempotency_key("call", "book_appointment", {"start": "y", "name": "A"})
    assert a == b != c


def test_vapi_caller_number_from_call_or_message_customer() -> None:
    nested = {"message": {"type": "tool-calls", "call": {"customer": {"number": "+1212"}}}}
    top = {"message": {"type": "tool-calls", "customer": {"number": "+1313"}}}
    assert vapi.parse_message(nested).caller_phone == "+1212"
    assert vapi.parse_message(top).caller_phone == "+1313"


@pytest.mark.parametrize("payload", [[], "x", {}, {"message": []}, {"message": {"type": 3}}])
def test_vapi_body_without_a_message_is_invalid(payload: object) -> None:
    with pytest.raises(InvalidInput):
        vapi.parse_message(payload)


def test_vapi_arguments_prefer_the_call_over_a_schema() -> None:
    # toolWithToolCallList items carry the tool's JSON schema as `function.parameters`;
    # the arguments come from the nested toolCall, never from that schema.
    message = {
        "message": {
            "type": "tool-calls",
            "toolWithToolCallList": [
                {
                    "function": {"name": "check_availability", "parameters": {"type": "object"}},
                    "toolCall": {
                        "id": "t1",
                        "function": {"name": "check_availability", "arguments": '{"date": "d"}'},
                    },
                }
            ],
        }
    }
    [call] = vapi.parse_message(message).tool_calls
    assert (call.id, call.name, call.arguments, call.problem) == (
        "t1",
        "check_availability",
        {"date": "d"},
        None,
    )


def test_vapi_empty_argument_string_means_no_arguments() -> None:
    message = {
        "message": {
            "type": "tool-calls",
            "toolCallList": [{"id": "a", "function": {"name": "x", "arguments": "  "}}],
        }
    }
    assert vapi.parse_message(message).tool_calls[0].arguments == {}
