"""The confirmation SMS goes out once even when an attempt's answer from Twilio is lost.

`SmsActivities.send_sms` is called directly (it is a plain async method) with the real pool
and a real `TwilioSmsSender` against the Twilio sandbox. The lost answer is set up by hand:
the ledger row is claimed `pending` without SID through the repository, and the message is sent
(or left in flight) through the SDK, as a worker that stopped mid-request would have left it.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote
from uuid import UUID

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.sms import SmsActivities
from core.domain import messages
from core.domain.normalize import ensure_timezone
from core.repositories import bookings as booking_repo
from core.repositories import sms as sms_repo
from core.temporal.models import BookingRef, SendSmsInput
from core.vendors.sms import TwilioSmsSender
from sandbox.runner import Sandboxes
from tests.booking_helpers import local_start, unique_phone, wait_until
from tests.conftest import MakeOrg
from tests.factories import TestOrg, insert_booking

# The sender's timeout bounds how long an earlier request may be in flight, so it sets how
# long `send_sms` waits before looking one up; short here to keep the tests quick.
TIMEOUT = 1.0


@dataclass(frozen=True)
class Booked:
    org: TestOrg
    booking_id: UUID
    phone: str
    sender_number: str
    body: str

    @property
    def request(self) -> SendSmsInput:
        ref = BookingRef(org_id=self.org.id, booking_id=self.booking_id)
        return SendSmsInput(booking=ref, kind="confirmation", send_key="confirmation")


@pytest.fixture
async def twilio(sandboxes: Sandboxes) -> AsyncIterator[Sandboxes]:
    """The shared Twilio sandbox, without faults left by others (or by this test)."""
    await sandboxes.twilio.clear_faults()
    yield sandboxes
    await sandboxes.twilio.clear_faults()


@pytest.fixture
async def sender(twilio: Sandboxes) -> AsyncIterator[TwilioSmsSender]:
    created = TwilioSmsSender(
        account_sid=twilio.twilio_account_sid,
        auth_token=twilio.twilio_auth_token,
        base_url=twilio.twilio_base_url,
        timeout=TIMEOUT,
    )
    yield created
    await created.aclose()


@pytest.fixture
def activities(pool: asyncpg.Pool, sender: TwilioSmsSender) -> SmsActivities:
    # Nobody listens there: status callbacks are not what these tests look at.
    return SmsActivities(pool, sender, "http://127.0.0.1:9/twilio/status")


async def book_directly(pool: asyncpg.Pool, org: TestOrg, phone: str | None = None) -> Booked:
    """A held booking of `org` written through the repositories (three days ahead), and the
    confirmation text for it."""
    phone = phone or unique_phone()
    booking_id = await insert_booking(pool, org, local_start(days_ahead=3), phone=phone)
    row = await booking_repo.get(pool, org_id=org.id, booking_id=booking_id)
    body = messages.sms_body(
        "confirmation",
        org=row.org_name,
        service=row.service_name,
        provider=row.provider_name,
        at=row.starts_at,
        tz=ensure_timezone(row.time_zone),
    )
    return Booked(org, booking_id, phone, row.sms_sender, body)


async def claim_pending(pool: asyncpg.Pool, booked: Booked) -> None:
    """The ledger row as an attempt leaves it just before calling Twilio."""
    row = await sms_repo.claim(
        pool,
        org_id=booked.org.id,
        booking_id=booked.booking_id,
        kind="confirmation",
        send_key="confirmation",
        to_phone=booked.phone,
        body=booked.body,
    )
    assert (row.created, row.status, row.twilio_sid) == (True, "pending", None)


async def ledger(pool: asyncpg.Pool, booked: Booked) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT status, twilio_sid, error_code FROM sms_messages WHERE booking_id = $1",
        booked.booking_id,
    )
    assert row is not None
    return row


async def lookups(twilio: Sandboxes, phone: str) -> int:
    """How many times the list route was asked about `phone`."""
    requests = await twilio.twilio.requests(method="GET", path_contains="/Messages.json")
    return sum(f"To={quote(phone)}" in r["query"] for r in requests)


async def all_answered(twilio: Sandboxes, phone: str) -> None:
    """Wait until the sandbox has finished every send request to `phone`."""

    async def answered() -> bool:
        sends = await twilio.twilio.requests(method="POST", path_contains="/Messages.json")
        return all(r["status"] is not None for r in sends if r["body"]["To"] == phone)

    await wait_until(answered, timeout=5, what=f"the sandbox to answer every send to {phone}")


async def sends(twilio: Sandboxes, phone: str) -> int:
    """How many send requests to `phone` reached the sandbox (answered or not)."""
    requests = await twilio.twilio.requests(method="POST", path_contains="/Messages.json")
    return sum(r["body"]["To"] == phone for r in requests)


@pytest.fixture
def sms_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """What send_sms logs, from INFO: where it says it waits out an earlier request."""
    caplog.set_level(logging.INFO, logger="activities.sms")
    return caplog


def waited_for_an_earlier_request(log: pytest.LogCaptureFixture) -> bool:
    """Whether send_sms waited out an earlier attempt's request before looking it up."""
    return any("may be in flight" in r.getMessage() for r in log.records)


async def test_message_sent_by_a_lost_attempt_is_recorded_not_sent_again(
    pool: asyncpg.Pool,
    twilio: Sandboxes,
    sender: TwilioSmsSender,
    activities: SmsActivities,
    org: TestOrg,
) -> None:
    booked = await book_directly(pool, org)
    await claim_pending(pool, booked)
    # The earlier attempt's request reached Twilio; its answer (the SID) never got recorded.
    lost = await sender.send(to=booked.phone, body=booked.body, from_number=booked.sender_number)

    result = await ActivityEnvironment().run(activities.send_sms, booked.request)

    assert result.twilio_sid == lost.sid
    assert await twilio.twilio.count_messages(to=booked.phone) == 1
    row = await ledger(pool, booked)
    assert row["twilio_sid"] == lost.sid
    assert row["status"] == result.status != "pending"


async def test_request_still_in_flight_is_waited_for_not_duplicated(
    pool: asyncpg.Pool,
    twilio: Sandboxes,
    sender: TwilioSmsSender,
    activities: SmsActivities,
    sms_log: pytest.LogCaptureFixture,
    org: TestOrg,
) -> None:
    # The CI failure, without worker timing: Twilio is slow, the attempt goes away while its
    # request is being handled, and the retry comes before Twilio has created the message.
    booked = await book_directly(pool, org)
    await claim_pending(pool, booked)
    await twilio.twilio.add_fault(latency_ms=600, count=1, method="POST")
    attempt = asyncio.create_task(
        sender.send(to=booked.phone, body=booked.body, from_number=booked.sender_number)
    )
    await wait_until(
        lambda: sends(twilio, booked.phone), what="the attempt's request to reach Twilio"
    )
    attempt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attempt
    assert await twilio.twilio.count_messages(to=booked.phone) == 0  # not created yet

    result = await ActivityEnvironment().run(activities.send_sms, booked.request)

    await all_answered(twilio, booked.phone)  # the slow request has landed by now, too
    # It waited out the earlier request, then looked once and found that request's message:
    # looking before it landed would have found nothing and sent a second one.
    assert waited_for_an_earlier_request(sms_log)
    assert (await lookups(twilio, booked.phone), await sends(twilio, booked.phone)) == (1, 1)
    [message] = await twilio.twilio.messages(to=booked.phone)
    assert message["sid"] == result.twilio_sid
    assert (await ledger(pool, booked))["twilio_sid"] == result.twilio_sid


async def test_pending_row_without_a_message_at_twilio_sends_once(
    pool: asyncpg.Pool, twilio: Sandboxes, activities: SmsActivities, org: TestOrg
) -> None:
    booked = await book_directly(pool, org)
    await claim_pending(pool, booked)  # the earlier attempt stopped before reaching Twilio

    result = await ActivityEnvironment().run(activities.send_sms, booked.request)
    again = await ActivityEnvironment().run(activities.send_sms, booked.request)

    [message] = await twilio.twilio.messages(to=booked.phone, body=booked.body)
    assert result.twilio_sid == again.twilio_sid == message["sid"]
    assert (await ledger(pool, booked))["twilio_sid"] == message["sid"]
    assert await lookups(twilio, booked.phone) == 1  # the second call read the ledger only


async def test_fresh_row_sends_without_looking_up_or_waiting(
    pool: asyncpg.Pool,
    twilio: Sandboxes,
    activities: SmsActivities,
    sms_log: pytest.LogCaptureFixture,
    org: TestOrg,
) -> None:
    booked = await book_directly(pool, org)

    result = await ActivityEnvironment().run(activities.send_sms, booked.request)

    assert result.twilio_sid is not None
    assert not waited_for_an_earlier_request(sms_log)
    assert await lookups(twilio, booked.phone) == 0
    assert await twilio.twilio.count_messages(to=booked.phone) == 1


async def test_retry_after_twilio_turned_the_request_away_sends_without_looking_up(
    pool: asyncpg.Pool,
    twilio: Sandboxes,
    activities: SmsActivities,
    sms_log: pytest.LogCaptureFixture,
    org: TestOrg,
) -> None:
    booked = await book_directly(pool, org)
    await twilio.twilio.add_fault(status=429, code=20429, count=1, method="POST")

    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.send_sms, booked.request)
    assert caught.value.type == "TransientServiceError" and not caught.value.non_retryable
    turned_away = await ledger(pool, booked)
    assert (turned_away["status"], turned_away["error_code"]) == ("pending", "20429")

    result = await ActivityEnvironment().run(activities.send_sms, booked.request)

    assert not waited_for_an_earlier_request(sms_log)
    assert await lookups(twilio, booked.phone) == 0
    assert await twilio.twilio.count_messages(to=booked.phone) == 1
    row = await ledger(pool, booked)
    assert (row["twilio_sid"], row["error_code"]) == (result.twilio_sid, None)


async def test_same_text_already_recorded_for_another_booking_is_not_adopted(
    pool: asyncpg.Pool,
    twilio: Sandboxes,
    activities: SmsActivities,
    org: TestOrg,
    make_org: MakeOrg,
) -> None:
    # Two clinics with the same names and sender number book the same caller at the same
    # time: the texts are identical, and the first one is the other booking's.
    other = await book_directly(pool, await make_org())
    booked = await book_directly(pool, org, phone=other.phone)
    assert (booked.body, booked.sender_number) == (other.body, other.sender_number)
    first = await ActivityEnvironment().run(activities.send_sms, other.request)
    await claim_pending(pool, booked)

    result = await ActivityEnvironment().run(activities.send_sms, booked.request)

    assert result.twilio_sid not in (None, first.twilio_sid)
    assert await twilio.twilio.count_messages(to=booked.phone, body=booked.body) == 2
    assert await lookups(twilio, booked.phone) == 1
