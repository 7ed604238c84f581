"""Voice-agent webhooks: `POST /voice/vapi` and `POST /voice/retell`.

Authentication failures are 401 (the platform shows them to whoever set it up). Everything
after that is HTTP 200: both platforms ignore other statuses, so an unreadable body or a bad
argument is answered with a sentence the agent can say.
"""

import json
import logging
import re
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from api.auth import authenticated_org
from api.deps import PoolDep, SecretBoxDep, VoiceToolsDep
from api.limits import is_json
from api.voice import retell, vapi, vapi_auth
from api.voice.calls import ToolAnswer, transport_error_body
from core.domain.org_spec import SLUG_PATTERN
from core.domain.speech import one_line
from core.errors import InvalidInput, SealedSecretUnreadable
from core.repositories import orgs as org_repo
from core.services.orgs import Org

log = logging.getLogger(__name__)

router = APIRouter(prefix="/voice", tags=["voice"])

_UNSIGNED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED, detail="missing or invalid Retell signature"
)


@router.post("/vapi")
async def vapi_webhook(request: Request, pool: PoolDep, tools: VoiceToolsDep) -> dict[str, Any]:
    """Vapi server messages. Auth: `Authorization: Bearer <voice secret>` or
    `X-Vapi-Secret: <voice secret>`. Tool calls are answered `{"results": [...]}` in order;
    other message types get `{}`."""
    return await _vapi(request, tools, await vapi_auth.org_by_voice_secret(request, pool))


@router.post("/vapi/{org_slug}")
async def vapi_webhook_for_org(
    request: Request, pool: PoolDep, secrets: SecretBoxDep, tools: VoiceToolsDep, org_slug: str
) -> dict[str, Any]:
    """Vapi server messages for one org, checked as it configured (`vapi_auth`): the voice
    secret in its Bearer header or `X-Vapi-Secret`, or an HMAC signature. Answers as `/vapi`."""
    return await _vapi(
        request, tools, await vapi_auth.org_by_slug(request, pool, secrets, org_slug)
    )


async def _vapi(request: Request, tools: VoiceToolsDep, org: Org) -> dict[str, Any]:
    payload, problem = await _json_body(request)
    if problem:
        return transport_error_body(problem)
    try:
        message = vapi.parse_message(payload)
    except InvalidInput as error:
        return transport_error_body(error.message)
    if message.type != "tool-calls":
        return {}
    answers: list[ToolAnswer] = []
    # In order, one after another: a message may check a time and then book it.
    for call in message.tool_calls:
        answers.append(
            await tools.run(
                org,
                call,
                idempotency_key=vapi.idempotency_key(call.id),
                caller_phone=message.caller_phone,
                platform="vapi",
            )
        )
    return vapi.results_body(message.tool_calls, answers)


@router.post("/retell")
async def retell_webhook_by_query(
    request: Request,
    pool: PoolDep,
    secrets: SecretBoxDep,
    tools: VoiceToolsDep,
    org: str | None = None,
) -> dict[str, Any]:
    """Retell custom functions, org named as `?org=<slug>`; see `/voice/retell/{org_slug}`."""
    return await _retell(request, pool, secrets, tools, org)


@router.post("/retell/{org_slug}")
async def retell_webhook(
    request: Request, pool: PoolDep, secrets: SecretBoxDep, tools: VoiceToolsDep, org_slug: str
) -> dict[str, Any]:
    """Retell custom functions. `X-Retell-Signature` is checked over the raw body with the
    org's Retell API key. The function is the body's `name` (or `?tool=` with args_at_root).
    Answer: `{"result": "<sentence>", ...facts}`."""
    return await _retell(request, pool, secrets, tools, org_slug)


async def _retell(
    request: Request, pool: PoolDep, secrets: SecretBoxDep, tools: VoiceToolsDep, slug: str | None
) -> dict[str, Any]:
    org = await _retell_org(request, pool, secrets, slug)
    payload, problem = await _json_body(request)
    if problem:
        return transport_error_body(problem)
    parsed = retell.parse_request(payload, tool_from_url=request.query_params.get("tool"))
    call = parsed.tool_call
    # Without a call id a retry cannot be recognised, so booking tools refuse an empty key.
    key = ""
    if parsed.call_id:
        key = retell.idempotency_key(parsed.call_id, call.name, call.arguments)
    answer = await tools.run(
        org, call, idempotency_key=key, caller_phone=parsed.caller_phone, platform="retell"
    )
    # One speakable line, as Vapi's results are: an answer may echo what the caller sent.
    text = one_line(answer.text)
    body: dict[str, Any] = {"result": text, **answer.data}
    if answer.is_error:
        body["error"] = text
    return body


async def _retell_org(
    request: Request, pool: PoolDep, secrets: SecretBoxDep, slug: str | None
) -> Org:
    """The org named in the URL, if the body carries a valid signature made with its key.

    Unknown org, org without a Retell key and bad signature all answer the same 401."""
    # A slug that cannot exist is not looked up (a NUL byte would make Postgres refuse it).
    known_shape = slug is not None and re.fullmatch(SLUG_PATTERN, slug) is not None
    try:
        found = (
            await org_repo.find_by_slug(pool, slug=slug, secrets=secrets)
            if known_shape and slug
            else None
        )
    except SealedSecretUnreadable as error:
        # Fails closed, like a bad signature: a key that does not open verifies nothing.
        log.error("Retell call refused: %s", error.message)
        raise _UNSIGNED from None
    if found is None or not found.retell_api_key:
        if found is not None:
            log.warning("Retell call for org %s, which has no Retell API key set", found.org.slug)
        raise _UNSIGNED
    body = await request.body()
    signature = request.headers.get("x-retell-signature")
    key = found.retell_api_key.get_secret_value()
    if not retell.signature_valid(body, signature, key, _now_ms()):
        raise _UNSIGNED
    return authenticated_org(Org.from_row(found.org))


async def _json_body(request: Request) -> tuple[Any, str | None]:
    """The parsed JSON body, or why it cannot be read."""
    if not is_json(request.headers.get("content-type")):
        return None, "the request must be sent as application/json"
    raw = await request.body()
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return None, "the request body is not valid JSON"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
