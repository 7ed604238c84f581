"""Codec server: lets the Temporal UI (and `temporal --codec-endpoint`) show encrypted payloads.

The UI calls `<endpoint>/decode` from the operator's browser, so the routes answer CORS for the
configured UI origin (TEMPORAL_UI_URL) only, with credentials allowed. Callers authenticate with
`Authorization: Bearer <CODEC_TOKEN>` (the CLI's `--codec-auth`), or with HTTP Basic whose
password is that token: a browser that has signed in once at `GET /codec/` sends it along with
the UI's requests (TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true on the UI).
"""

import base64
import binascii
import hmac
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import PlainTextResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.deps import SettingsDep
from core.infra.config import Settings
from core.temporal.codec import EncryptionCodec

router = APIRouter(prefix="/codec", tags=["codec"], include_in_schema=False)

_ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


def ui_origin(settings: Settings) -> str:
    """`scheme://host[:port]` of TEMPORAL_UI_URL: the one origin allowed to call us."""
    parts = urlsplit(settings.temporal_ui_url)
    return f"{parts.scheme}://{parts.netloc}"


def _cors_headers(request: Request, settings: Settings) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin is None or origin != ui_origin(settings):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def _presented_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


async def _require_codec_access(request: Request, settings: SettingsDep) -> EncryptionCodec:
    codec: EncryptionCodec | None = request.app.state.codec
    cors = _cors_headers(request, settings)
    if codec is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "payload encryption is off: set PAYLOAD_ENCRYPTION_KEY",
            headers=cors,
        )
    expected = settings.codec_token.get_secret_value() if settings.codec_token else ""
    if not expected:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "the codec server is disabled: set CODEC_TOKEN to enable it",
            headers=cors,
        )
    token = _presented_token(request)
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid codec credentials",
            headers={**cors, "WWW-Authenticate": 'Basic realm="booking codec"'},
        )
    return codec


CodecDep = Annotated[EncryptionCodec, Depends(_require_codec_access)]


@router.get("/", response_class=PlainTextResponse)
async def sign_in(_: CodecDep) -> str:
    """Browser sign-in: after this, the Temporal UI in this browser can decode payloads."""
    return "Signed in to the codec server. The Temporal UI in this browser can now decode.\n"


@router.options("/{action}")
async def preflight(action: str, request: Request, settings: SettingsDep) -> Response:
    """CORS preflight from the Temporal UI (sent without credentials)."""
    headers = _cors_headers(request, settings)
    if headers and action in ("encode", "decode"):
        headers |= {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
        }
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)


@router.post("/encode")
async def encode(request: Request, codec: CodecDep, settings: SettingsDep) -> Response:
    """Encrypt payloads (the UI encodes a signal's input before sending it)."""
    payloads = await _read_payloads(request)
    encoded = await codec.encode(payloads.payloads)
    return _payloads_response(encoded, request, settings)


@router.post("/decode")
async def decode(request: Request, codec: CodecDep, settings: SettingsDep) -> Response:
    """Decrypt payloads; payloads that were never encrypted come back unchanged."""
    payloads = await _read_payloads(request)
    try:
        decoded = await codec.decode(payloads.payloads)
    except ValueError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            str(error),
            headers=_cors_headers(request, settings),
        ) from None
    return _payloads_response(decoded, request, settings)


async def _read_payloads(request: Request) -> Payloads:
    """`{"payloads": [...]}` in protobuf JSON, as the codec server protocol sends it."""
    body = await request.body()
    try:
        return json_format.Parse(body, Payloads())
    except (json_format.ParseError, UnicodeDecodeError, RecursionError):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, 'expected {"payloads": [...]} in protobuf JSON'
        ) from None


def _payloads_response(
    payloads: Sequence[Payload], request: Request, settings: Settings
) -> Response:
    body = json_format.MessageToJson(Payloads(payloads=payloads), indent=None)
    return Response(body, media_type="application/json", headers=_cors_headers(request, settings))
