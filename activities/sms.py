"""SMS through Twilio, at most once per (booking, send_key), recorded in the sms_messages ledger."""

import logging

import asyncpg
from temporalio import activity

from activities.errors import typed_errors
from core import messages
from core.errors import PermanentServiceError
from core.models import SendSmsInput, SmsResult
from core.normalize import ensure_timezone
from core.repositories import bookings as booking_repo
from core.repositories import opt_outs
from core.repositories import sms as sms_repo
from core.sms import SmsSender, mask_phone

log = logging.getLogger(__name__)

# Statuses after which the ledger row is final: sending again would duplicate or is pointless.
_HANDLED = {"failed", "skipped"}
# Ledger error code of a message not sent because the recipient opted out of this sender.
_OPTED_OUT = "opted_out"
# Twilio's "Attempt to send to unsubscribed recipient".
_TWILIO_UNSUBSCRIBED = "21610"


class SmsActivities:
    def __init__(self, pool: asyncpg.Pool, sender: SmsSender, status_callback_url: str) -> None:
        self._pool = pool
        self._sender = sender
        self._status_callback_url = status_callback_url

    @activity.defn
    @typed_errors
    async def send_sms(self, request: SendSmsInput) -> SmsResult:
        """Send the booking's message of this kind once.

        A recipient who opted out of the org's sender number is not texted: the row is recorded
        `skipped` / `opted_out`. A permanent refusal (invalid number, opted out) is recorded
        `failed` with Twilio's code and returned, not raised: a lost text must never undo a
        booking; a 21610 refusal also records the opt-out. Transient errors raise and Temporal
        retries.
        """
        ref = request.booking
        booking = await booking_repo.get(self._pool, org_id=ref.org_id, booking_id=ref.booking_id)
        phone = booking["contact_phone"]
        if phone is None:
            return SmsResult(status="skipped", error_code="no_phone")
        body = messages.sms_body(
            request.kind,
            org=booking["org_name"],
            service=booking["service_name"],
            provider=booking["provider_name"],
            at=booking["starts_at"],
            tz=ensure_timezone(booking["time_zone"]),
        )
        row = await sms_repo.claim(
            self._pool,
            org_id=ref.org_id,
            booking_id=ref.booking_id,
            kind=request.kind,
            send_key=request.send_key,
            to_phone=phone,
            body=body,
        )
        if row["twilio_sid"] is not None or row["status"] in _HANDLED:
            return SmsResult(
                status=row["status"], twilio_sid=row["twilio_sid"], error_code=row["error_code"]
            )
        sender = booking["sms_sender"]
        if not sender:
            await sms_repo.record_outcome(
                self._pool, message_id=row["id"], status="skipped", error_code="no_sender"
            )
            return SmsResult(status="skipped", error_code="no_sender")
        if await opt_outs.is_opted_out(self._pool, sender=sender, phone=phone):
            # Twilio would refuse it anyway (21610); not asking keeps the ledger honest.
            log.info("sms %s to %s skipped: opted out", request.kind, mask_phone(phone))
            await sms_repo.record_outcome(
                self._pool, message_id=row["id"], status="skipped", error_code=_OPTED_OUT
            )
            return SmsResult(status="skipped", error_code=_OPTED_OUT)
        try:
            sent = await self._sender.send(
                to=phone,
                body=body,
                from_number=sender,
                status_callback=self._status_callback_url,
            )
        except PermanentServiceError as error:
            log.warning("sms %s to %s refused: %s", request.kind, mask_phone(phone), error.code)
            if error.code == _TWILIO_UNSUBSCRIBED:
                # The recipient texted STOP where we did not see it (e.g. before this number
                # was wired to /twilio/inbound); remember it so later sends are skipped.
                await opt_outs.record(
                    self._pool, sender=sender, phone=phone, source=opt_outs.TWILIO_REFUSAL_SOURCE
                )
            await sms_repo.record_outcome(
                self._pool, message_id=row["id"], status="failed", error_code=error.code
            )
            return SmsResult(status="failed", error_code=error.code)
        await sms_repo.record_sent(
            self._pool, message_id=row["id"], twilio_sid=sent.sid, status=sent.status
        )
        return SmsResult(status=sent.status, twilio_sid=sent.sid)
