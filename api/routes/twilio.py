"""Twilio webhooks: message status callbacks and inbound SMS (STOP / START keywords).

Twilio signs each webhook with `X-Twilio-Signature`: an HMAC of the URL it called plus the
sorted form parameters, keyed by the account's auth token. The URL checked is the *public* one,
`public_base_url` + path (+ query), not the address the request arrived on: behind a proxy or a
tunnel the two differ, and checking the local one would refuse every genuine callback. A missing
or wrong signature is answered 403 and nothing is written.

Opt-outs are recorded per (sender number, recipient), not per org; core/repositories/opt_outs.py
says why. Twilio's own STOP handling still blocks messages on its side; recording the opt-out
lets the SMS activity skip the send (and say so in the ledger) instead of collecting refusals.
"""

import logging
import re
from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from api.deps import PoolDep, SettingsDep
from core.errors import ConfigurationError
from core.infra.config import Settings
from core.infra.masking import mask_phone
from core.repositories import opt_outs
from core.repositories import sms as sms_repo

log = logging.getLogger(__name__)

router = APIRouter(prefix="/twilio", tags=["twilio"])

# Twilio's default opt-out and opt-in keywords; the whole message must be the keyword.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})

OptIntent = Literal["opt_out", "opt_in"]

# With Advanced Opt-Out (custom or localized keywords) Twilio names its own decision here.
_OPT_OUT_TYPES: dict[str, OptIntent] = {"STOP": "opt_out", "START": "opt_in"}

_FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# Twilio sends a few dozen fields at most; more is not Twilio.
_MAX_FORM_FIELDS = 200
# The same shape the sms_opt_outs.phone CHECK accepts.
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def opt_intent(body: str, opt_out_type: str | None = None) -> OptIntent | None:
    """What an inbound text asks for: "opt_out", "opt_in" or None (an ordinary message).

    Twilio's `OptOutType` wins when present; otherwise the trimmed body, in any case, must be
    one keyword on its own ("stop" opts out, "please stop" does not, as with Twilio).
    """
    if opt_out_type:
        return _OPT_OUT_TYPES.get(opt_out_type.strip().upper())
    keyword = body.strip().upper()
    if keyword in OPT_OUT_KEYWORDS:
        return "opt_out"
    if keyword in OPT_IN_KEYWORDS:
        return "opt_in"
    return None


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio was given and signed: public base URL + path (+ query)."""
    url = settings.resolved_public_base_url.rstrip("/") + request.url.path
    query = request.url.query
    return f"{url}?{query}" if query else url


def _parse_form(raw: bytes) -> ImmutableMultiDict[str, str]:
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,  # blank fields are signed too
            errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except ValueError as exc:  # includes UnicodeDecodeError
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not a valid form") from exc
    # Postgres text cannot hold NUL; refuse it here rather than fail in the database.
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the form contains a NUL character")
    return ImmutableMultiDict(pairs)


async def signed_form(request: Request, settings: SettingsDep) -> ImmutableMultiDict[str, str]:
    """The webhook's form parameters, once the Twilio signature over them checks out."""
    signature = request.headers.get("x-twilio-signature")
    if not signature:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "X-Twilio-Signature is missing")
    media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != _FORM_MEDIA_TYPE:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"send the body as {_FORM_MEDIA_TYPE}"
        )
    params = _parse_form(await request.body())
    token = settings.twilio_auth_token
    if token is None:
        raise ConfigurationError("TWILIO_AUTH_TOKEN is not set: Twilio webhooks cannot be verified")
    url = public_url(request, settings)
    if not RequestValidator(token.get_secret_value()).validate(url, params, signature):
        log.warning("twilio webhook: bad signature for %s", url)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "X-Twilio-Signature does not match")
    return params


SignedForm = Annotated[ImmutableMultiDict[str, str], Depends(signed_form)]


@router.post("/status", response_class=Response)
async def message_status(form: SignedForm, pool: PoolDep) -> Response:
    """Record a message's delivery status; a late callback never moves a message backwards."""
    sid = form.get("MessageSid", "").strip()
    new_status = form.get("MessageStatus", "").strip().lower()
    if not sid or not new_status:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "MessageSid and MessageStatus are required"
        )
    error_code = form.get("ErrorCode", "").strip() or None
    outcome = await sms_repo.apply_status_callback(
        pool, twilio_sid=sid, status=new_status, error_code=error_code
    )
    if outcome == "unknown_sid":
        # 200 all the same: an error would only make Twilio retry a callback we cannot use.
        log.info("twilio status %s for unknown message %s: ignored", new_status, sid)
    elif outcome == "stale":
        log.info("twilio status %s for %s is not newer than the recorded one", new_status, sid)
    return Response(status_code=status.HTTP_200_OK)


@router.post("/inbound", response_class=Response)
async def inbound_sms(form: SignedForm, pool: PoolDep) -> Response:
    """Honour STOP / START texted to one of our sender numbers; answers empty TwiML."""
    # Empty TwiML: no reply of ours. Twilio answers STOP / START itself.
    no_reply = Response(content=_EMPTY_TWIML, media_type="text/xml")
    intent = opt_intent(form.get("Body", ""), form.get("OptOutType"))
    if intent is None:
        return no_reply
    sender, phone = form.get("To", "").strip(), form.get("From", "").strip()
    if not sender or not _E164.match(phone):
        log.warning("twilio inbound %s without a usable From / To: ignored", intent)
        return no_reply
    if intent == "opt_out":
        source = (form.get("OptOutType") or form.get("Body", "")).strip().upper()[:64]
        await opt_outs.record(pool, sender=sender, phone=phone, source=source)
        log.info("sms opt-out: %s from %s (%s)", mask_phone(phone), mask_phone(sender), source)
    else:
        removed = await opt_outs.remove(pool, sender=sender, phone=phone)
        log.info(
            "sms opt-in: %s to %s (was opted out: %s)",
            mask_phone(phone),
            mask_phone(sender),
            removed,
        )
    return no_reply
