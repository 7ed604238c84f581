"""A Twilio-compatible loopback server for the Messages API, as the `twilio` SDK calls it.

Vendor routes (HTTP Basic: account SID + auth token):

    POST /2010-04-01/Accounts/{sid}/Messages.json         form To, From | MessagingServiceSid,
                                                          Body, StatusCallback → 201 message
    GET  /2010-04-01/Accounts/{sid}/Messages.json         one page of messages, newest first
                                                          (?To=&From=&DateSent=&DateSent<=
                                                          &DateSent>=&PageSize=&Page=&PageToken=)
    GET  /2010-04-01/Accounts/{sid}/Messages/{sid}.json   the message, with its current status

Control routes, besides the shared ones of `sandbox.fault_http`:

    POST /_sandbox/twilio/numbers     {"number", "behaviour"}: see `twilio_state.BEHAVIOURS`
    GET  /_sandbox/twilio/messages    accepted messages (?to=&body=)
    GET  /_sandbox/twilio/callbacks   status callback attempts and their outcome
    PUT  /_sandbox/twilio/settings    {"callback_delay_ms"}
"""

import base64
import binascii
import hmac
import re
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from sandbox.fault_http import SandboxMiddleware, control_router
from sandbox.faults import Fault, SandboxState
from sandbox.twilio_state import (
    API_VERSION,
    BEHAVIOURS,
    REJECTIONS,
    MessageQuery,
    TwilioState,
    message_page,
    rfc2822_now,
)

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Twilio's codes for plain HTTP failures, used when a fault names no code of its own.
_DEFAULT_CODES = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}


def twilio_error(status: int, code: int | None, message: str) -> JSONResponse:
    """An error body in Twilio's (legacy, non RFC-9457) format, as the SDK parses it."""
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    body["more_info"] = f"https://www.twilio.com/docs/errors/{code}" if code else None
    return JSONResponse(body, status_code=status)


def fault_response(fault: Fault, path: str) -> Response:
    status = fault.spec.status or 500
    code = fault.spec.code
    if isinstance(code, str):
        code = int(code) if code.isdigit() else None
    code = code or _DEFAULT_CODES.get(status)
    return twilio_error(status, code, fault.spec.message or HTTPStatus(status).phrase)


class NumberBehaviour(BaseModel):
    number: str
    behaviour: str


class TwilioSettings(BaseModel):
    callback_delay_ms: int = Field(ge=0)


def _authenticated(request: Request, state: TwilioState) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user, state.account_sid) and hmac.compare_digest(
        password, state.auth_token
    )


def _check_account(request: Request, state: TwilioState, account_sid: str) -> Response | None:
    if not _authenticated(request, state):
        return twilio_error(401, 20003, "Authenticate")
    if account_sid != state.account_sid:
        return twilio_error(404, 20404, f"The requested resource {request.url.path} was not found")
    return None


def _vendor_router(state: TwilioState) -> APIRouter:
    router = APIRouter(prefix=f"/{API_VERSION}/Accounts/{{account_sid}}")

    @router.post("/Messages.json")
    async def create_message(account_sid: str, request: Request) -> Response:
        """Accept an outbound SMS, or refuse it the way Twilio does for the number."""
        if refused := _check_account(request, state, account_sid):
            return refused
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        to, from_, body = form.get("To", ""), form.get("From"), form.get("Body")
        service_sid = form.get("MessagingServiceSid")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service_sid:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body and not form.get("MediaUrl"):
            return twilio_error(400, 21602, "Message body is required.")
        behaviour = state.behaviour(to)
        if not _E164.match(to):
            behaviour = "invalid"
        if behaviour in REJECTIONS:
            status, code, template = REJECTIONS[behaviour]
            return twilio_error(status, code, template.format(to=to))
        sid = "SM" + uuid.uuid4().hex
        now = rfc2822_now()
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"
        message: dict[str, Any] = {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service_sid,
            "num_media": "0",
            "num_segments": str(max(1, -(-len(body or "") // 160))),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }
        state.messages[sid] = message
        if form.get("StatusCallback"):
            state.status_callbacks[sid] = form["StatusCallback"]
        state.start_lifecycle(sid)
        return JSONResponse(message, status_code=201)

    @router.get("/Messages.json")
    async def list_messages(account_sid: str, request: Request) -> Response:
        """One page of messages, newest first, filtered the way Twilio filters them."""
        if refused := _check_account(request, state, account_sid):
            return refused
        try:
            query = MessageQuery.from_params(request.query_params)
        except ValueError as exc:
            return twilio_error(400, 20001, str(exc))
        path = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"
        return JSONResponse(message_page(list(state.messages.values()), query, path))

    @router.get("/Messages/{message_sid}.json")
    async def fetch_message(account_sid: str, message_sid: str, request: Request) -> Response:
        """One message with its current status."""
        if refused := _check_account(request, state, account_sid):
            return refused
        message = state.messages.get(message_sid)
        if message is None:
            return twilio_error(
                404, 20404, f"The requested resource {request.url.path} was not found"
            )
        return JSONResponse(message)

    return router


def _control_router(state: TwilioState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox/twilio", tags=["sandbox"])

    @router.post("/numbers", status_code=204)
    async def set_number(item: NumberBehaviour) -> None:
        """Make one number behave a given way ("ok" restores the default)."""
        if item.behaviour not in BEHAVIOURS:
            raise HTTPException(422, f"behaviour must be one of {sorted(BEHAVIOURS)}")
        state.numbers[item.number] = item.behaviour

    @router.get("/messages")
    async def list_messages(to: str | None = None, body: str | None = None) -> list[dict[str, Any]]:
        """Accepted messages, oldest first, optionally filtered by exact To and Body."""
        return [
            m
            for m in state.messages.values()
            if (to is None or m["to"] == to) and (body is None or m["body"] == body)
        ]

    @router.get("/callbacks")
    async def list_callbacks() -> list[dict[str, Any]]:
        """Status callback attempts, oldest first."""
        return [vars(a) for a in state.callbacks]

    @router.put("/settings", status_code=204)
    async def update_settings(settings: TwilioSettings) -> None:
        """Change the delay between status transitions."""
        state.callback_delay = settings.callback_delay_ms / 1000.0

    return router


def create_twilio_app(state: TwilioState, sandbox: SandboxState) -> ASGIApp:
    """The Twilio sandbox as an ASGI app, wrapped in fault injection and recording."""
    app = FastAPI(title="Twilio sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(_vendor_router(state))
    app.include_router(_control_router(state))
    app.include_router(control_router(sandbox))
    sandbox.on_reset.append(state.reset)
    return SandboxMiddleware(app, state=sandbox, responder=fault_response)
