"""Reading Retell custom-function requests and checking their signature, pure functions.

Retell POSTs `{"name", "call": {call_id, from_number, to_number, direction, ...}, "args"}` (or,
with `args_at_root`, the arguments at the root) and signs the raw body:
`X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256(key=Retell API key, raw body + ms)>`.
"""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from api.voice.calls import ToolCall, usable_text
from core.domain.language import N_

SIGNATURE_WINDOW_MS = 5 * 60 * 1000
# Plain ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
_TIMESTAMP = re.compile(r"[0-9]{1,16}")
_ENVELOPE_KEYS = frozenset({"name", "call", "args"})


@dataclass(frozen=True, slots=True)
class RetellRequest:
    tool_call: ToolCall
    call_id: str | None
    caller_phone: str | None


def sign(body: bytes, api_key: str, timestamp_ms: int) -> str:
    """The header value Retell would send for `body` at `timestamp_ms`."""
    digest = hmac.new(api_key.encode(), body + str(timestamp_ms).encode(), hashlib.sha256)
    return f"v={timestamp_ms},d={digest.hexdigest()}"


def signature_valid(body: bytes, header: str | None, api_key: str, now_ms: int) -> bool:
    """True only for a well-formed header, signed with `api_key` over these exact bytes, within
    five minutes of `now_ms` either way."""
    if not header:
        return False
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    timestamp, digest = fields.get("v", ""), fields.get("d", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not digest:
        return False
    if abs(now_ms - int(timestamp)) > SIGNATURE_WINDOW_MS:
        return False
    expected = sign(body, api_key, int(timestamp)).partition(",d=")[2]
    return hmac.compare_digest(expected.encode(), digest.encode())


def parse_request(payload: Any, *, tool_from_url: str | None) -> RetellRequest:
    """The function call in a Retell body; the URL may name the function (`?tool=`) when the
    body does not, as with `args_at_root`."""
    body: dict[str, Any] = payload if isinstance(payload, dict) else {}
    raw_call = body.get("call")
    call: dict[str, Any] = raw_call if isinstance(raw_call, dict) else {}
    name = usable_text(body.get("name")) or usable_text(tool_from_url)
    call_id = usable_text(call.get("call_id"))
    if not isinstance(payload, dict):
        problem: str | None = N_("the body must be a JSON object")
        arguments: Any = {}
    elif "args" in body:
        arguments, problem = body["args"], None
    else:
        arguments = {k: v for k, v in body.items() if k not in _ENVELOPE_KEYS}
        problem = None
    if arguments is None:
        arguments = {}
    if problem is None and not isinstance(arguments, dict):
        problem = N_("args must be a JSON object")
    if problem is None and not name:
        problem = N_("the request names no function")
    return RetellRequest(
        tool_call=ToolCall(
            id=call_id or "",
            name=name or "",
            arguments=arguments if isinstance(arguments, dict) else {},
            problem=problem,
        ),
        call_id=call_id,
        caller_phone=_customer_number(call),
    )


def idempotency_key(call_id: str, name: str, arguments: dict[str, Any]) -> str:
    """call id + function + a hash of the arguments: Retell retries a failed request up to
    twice with the same body, and one call may book twice with different arguments."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"retell:{call_id}:{name}:{digest}"


def _customer_number(call: dict[str, Any]) -> str | None:
    # On an outbound call the customer is the number dialled, not the one calling.
    key = "to_number" if call.get("direction") == "outbound" else "from_number"
    return usable_text(call.get(key))
