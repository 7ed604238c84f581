"""SMS through Twilio, at most once per (booking, send_key), recorded in the sms_messages ledger.

The ledger row is claimed before Twilio is called and gets the SID after. A row found still
`pending` without SID therefore belongs to an earlier attempt that may have reached Twilio and
lost the answer (worker stopped or crashed mid-request). Twilio has no idempotency key, so
before sending again the activity asks Twilio for that message and adopts it if it exists.
"""

import asyncio
import logging
from datetime import timedelta

import asyncpg
from temporalio import activity

from activities.errors import typed_errors
from activities.heartbeat import heartbeating
from core.domain import messages
from core.domain.normalize import ensure_timezone
from core.errors import PermanentServiceError, TransientServiceError
from core.infra.masking import mask_phone
from core.repositories import bookings as booking_repo
from core.repositories import opt_outs
from core.repositories import sms as sms_repo
from core.repositories.bookings import Booking
from core.repositories.sms import LedgerRow
from core.temporal.models import SendSmsInput, SmsResult
from core.vendors.sms import SentSms, SmsSender

log = logging.getLogger(__name__)

# Statuses after which the ledger row is final: sending again would duplicate or is pointless.
_HANDLED = {"failed", "skipped"}
# Ledger error code of a message not sent because the recipient opted out of this sender.
_OPTED_OUT = "opted_out"
# Twilio's "Attempt to send to unsubscribed recipient".
_TWILIO_UNSUBSCRIBED = "21610"
# HTTP answers meaning Twilio turned the request away without creating anything (unlike 500,
# 502 or 504, which a gateway may answer after the message was created).
_TURNED_AWAY = frozenset({408, 429, 503})
# Twilio stamps messages by its clock, to the second; the ledger by Postgres's. Look back this
# much before the row's creation so neither difference hides the message.
_CLOCK_SKEW = timedelta(seconds=30)
# Added to the sender's request timeout when waiting out an earlier request: covers the moment
# between announcing a send and the request leaving, and Twilio's own processing.
_IN_FLIGHT_MARGIN = 1.0


class SmsActivities:
    def __init__(self, pool: asyncpg.Pool, sender: SmsSender, status_callback_url: str) -> None:
        self._pool = pool
        self._sender = sender
        self._status_callback_url = status_callback_url

    @activity.defn
    @typed_errors
    async def send_sms(self, request: SendSmsInput) -> SmsResult:
        """Send the booking's message of this kind once (see `deliver`)."""
        async with heartbeating():
            return await self.deliver(request)

    async def deliver(self, request: SendSmsInput, booking: Booking | None = None) -> SmsResult:
        """Send the booking's message of this kind once. `booking` is the booking's row
        (`bookings.get`) when the caller has just read it, saving a second read.

        A recipient who opted out of the org's sender number is not texted: the row is recorded
        `skipped` / `opted_out`. A permanent refusal (invalid number, opted out) is recorded
        `failed` with Twilio's code and returned, not raised: a lost text must never undo a
        booking; a 21610 refusal also records the opt-out. Transient errors raise and Temporal
        retries. A message an earlier attempt got Twilio to create without recording it is
        found and recorded instead of being sent again.
        """
        ref = request.booking
        if booking is None:
            booking = await booking_repo.get(
                self._pool, org_id=ref.org_id, booking_id=ref.booking_id
            )
        phone = booking.contact_phone
        if phone is None:
            return SmsResult(status="skipped", error_code="no_phone")
        body = messages.sms_body(
            request.kind,
            org=booking.org_name,
            service=booking.service_name,
            provider=booking.provider_name,
            at=booking.starts_at,
            tz=ensure_timezone(booking.time_zone),
            locale=booking.locale,
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
        if row.twilio_sid is not None or row.status in _HANDLED:
            return SmsResult(
                status=row.status, twilio_sid=row.twilio_sid, error_code=row.error_code
            )
        sender = booking.sms_sender
        if not sender:
            await sms_repo.record_outcome(
                self._pool, message_id=row.id, status="skipped", error_code="no_sender"
            )
            return SmsResult(status="skipped", error_code="no_sender")
        if _may_have_reached_twilio(row):
            adopted = await self._adopt_earlier_send(row, to=phone, from_number=sender, body=body)
            if adopted is not None:
                return SmsResult(status=adopted.status, twilio_sid=adopted.sid)
        if await opt_outs.is_opted_out(self._pool, sender=sender, phone=phone):
            # Twilio would refuse it anyway (21610); not asking keeps the ledger honest.
            log.info("sms %s to %s skipped: opted out", request.kind, mask_phone(phone))
            await sms_repo.record_outcome(
                self._pool, message_id=row.id, status="skipped", error_code=_OPTED_OUT
            )
            return SmsResult(status="skipped", error_code=_OPTED_OUT)
        return await self._send(row, request.kind, to=phone, from_number=sender, body=body)

    async def _adopt_earlier_send(
        self, row: LedgerRow, *, to: str, from_number: str, body: str
    ) -> SentSms | None:
        """The message an earlier attempt got Twilio to create for this row, now recorded in
        the ledger; None if Twilio has none."""
        wait = self._sender.request_timeout + _IN_FLIGHT_MARGIN - row.seconds_since_update
        if wait > 0:
            # The earlier request may still be on its way, and Twilio would create the message
            # after a lookup made now. Look once that request would have timed out.
            log.info(
                "sms to %s: earlier send may be in flight, waiting %.1fs", mask_phone(to), wait
            )
            await asyncio.sleep(wait)
        candidates = await self._sender.find_sent(
            to=to, from_number=from_number, body=body, created_after=row.created_at - _CLOCK_SKEW
        )
        # The same text to the same number just before (another booking's) is not ours.
        taken = await sms_repo.recorded_sids(self._pool, sids=[c.sid for c in candidates])
        found = next((c for c in candidates if c.sid not in taken), None)
        if found is None:
            return None
        log.info("sms to %s: recording %s, sent by an earlier attempt", mask_phone(to), found.sid)
        await sms_repo.record_sent(
            self._pool, message_id=row.id, twilio_sid=found.sid, status=found.status
        )
        return found

    async def _send(
        self, row: LedgerRow, kind: str, *, to: str, from_number: str, body: str
    ) -> SmsResult:
        """Hand the message to Twilio and record what came of it."""
        if not row.created:
            # A row this attempt just created needs no mark: its updated_at is already now.
            await sms_repo.mark_sending(self._pool, message_id=row.id)
        try:
            sent = await self._sender.send(
                to=to, body=body, from_number=from_number, status_callback=self._status_callback_url
            )
        except PermanentServiceError as error:
            log.warning("sms %s to %s refused: %s", kind, mask_phone(to), error.code)
            if error.code == _TWILIO_UNSUBSCRIBED:
                # The recipient texted STOP where we did not see it (e.g. before this number
                # was wired to /twilio/inbound); remember it so later sends are skipped.
                await opt_outs.record(
                    self._pool, sender=from_number, phone=to, source=opt_outs.TWILIO_REFUSAL_SOURCE
                )
            await sms_repo.record_outcome(
                self._pool, message_id=row.id, status="failed", error_code=error.code
            )
            return SmsResult(status="failed", error_code=error.code)
        except TransientServiceError as error:
            if error.status in _TURNED_AWAY:
                # Nothing was created: the retry may send without looking for this request.
                code = error.code or f"http_{error.status}"
                await sms_repo.record_turned_away(self._pool, message_id=row.id, error_code=code)
            raise
        await sms_repo.record_sent(
            self._pool, message_id=row.id, twilio_sid=sent.sid, status=sent.status
        )
        return SmsResult(status=sent.status, twilio_sid=sent.sid)


def _may_have_reached_twilio(row: LedgerRow) -> bool:
    """Whether an earlier attempt's request for this pending row may have created a message.

    Not for a row this attempt created, nor for one whose last request Twilio turned away
    (its error code is kept while the row stays pending).
    """
    return not row.created and row.error_code is None
