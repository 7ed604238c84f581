"""The real `twilio` SDK (through TwilioSmsSender) against the Twilio sandbox.

No Postgres or Temporal: only the in-process sandboxes and a tiny status-callback receiver.

One module because the listing cases read back messages sent by the same module-scoped `sender`,
from the sandbox state the autouse `clean` fixture resets between cases.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from core.errors import PermanentServiceError, TransientServiceError
from core.vendors.sms import SentSms, TwilioSmsSender
from sandbox.runner import Sandboxes
from sandbox.server import LoopbackServer
from tests.booking_helpers import wait_until

TO = "+15551230001"
FROM = "+15550009999"


@pytest.fixture(autouse=True)
async def clean(sb: Sandboxes) -> None:
    await sb.reset()


@pytest.fixture(scope="module")
async def sender(sb: Sandboxes) -> AsyncIterator[TwilioSmsSender]:
    created = TwilioSmsSender(
        account_sid=sb.twilio_account_sid,
        auth_token=sb.twilio_auth_token,
        base_url=sb.twilio_base_url,
        timeout=2.0,
    )
    yield created
    await created.aclose()


class Receiver:
    """A status-callback endpoint that records what Twilio (the sandbox) posts to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], dict[str, str]]] = []
        self.server = LoopbackServer(
            Starlette(routes=[Route("/twilio/status", self._status, methods=["POST"])]),
            name="callback-receiver",
        )

    async def _status(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        self.calls.append((form, dict(request.headers)))
        return Response(status_code=204)

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/twilio/status?kind=confirmation"

    async def wait_for(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < n:
            assert time.monotonic() < deadline, f"only {len(self.calls)} of {n} callbacks"
            await asyncio.sleep(0.01)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    created = Receiver()
    await created.server.start()
    yield created
    await created.server.stop()


async def test_sms_is_sent_and_recorded(sb: Sandboxes, sender: TwilioSmsSender) -> None:
    sent = await sender.send(to=TO, body="Booked: Tue 2 PM", from_number=FROM)

    assert sent.sid.startswith("SM") and len(sent.sid) == 34
    assert sent.status == "queued"
    assert await sb.twilio.count_messages(to=TO, body="Booked: Tue 2 PM") == 1
    assert await sb.twilio.count_messages(to=TO, body="other") == 0
    [request] = await sb.twilio.requests(path_contains="/Messages.json")
    assert request["method"] == "POST"
    assert request["body"] == {"To": TO, "From": FROM, "Body": "Booked: Tue 2 PM"}
    assert request["headers"]["authorization"].startswith("Basic ")


@pytest.mark.parametrize(("behaviour", "code"), [("invalid", "21211"), ("opted_out", "21610")])
async def test_refused_recipient_is_permanent(
    sb: Sandboxes, sender: TwilioSmsSender, behaviour: str, code: str
) -> None:
    await sb.twilio.set_number(TO, behaviour)

    with pytest.raises(PermanentServiceError) as caught:
        await sender.send(to=TO, body="hi", from_number=FROM)

    assert caught.value.code == code
    assert caught.value.status == 400
    assert TO not in caught.value.message  # the number is masked in the error text
    assert await sb.twilio.count_messages(to=TO) == 0


async def test_malformed_number_is_21211(sender: TwilioSmsSender) -> None:
    with pytest.raises(PermanentServiceError) as caught:
        await sender.send(to="555-CALL-NOW", body="hi", from_number=FROM)
    assert caught.value.code == "21211"


@pytest.mark.parametrize(("status", "code"), [(503, None), (429, 20429)])
async def test_injected_fault_is_transient(
    sb: Sandboxes, sender: TwilioSmsSender, status: int, code: int | None
) -> None:
    await sb.twilio.add_fault(status=status, code=code, count=1, path_contains="/Messages")

    with pytest.raises(TransientServiceError) as caught:
        await sender.send(to=TO, body="hi", from_number=FROM)
    assert caught.value.status == status

    # The fault was for one request only: the retry goes through, and only it was sent.
    await sender.send(to=TO, body="hi", from_number=FROM)
    assert await sb.twilio.count_messages(to=TO) == 1


async def test_wrong_auth_token_is_permanent(sb: Sandboxes) -> None:
    wrong = TwilioSmsSender(
        account_sid=sb.twilio_account_sid, auth_token="not-the-token", base_url=sb.twilio_base_url
    )
    try:
        with pytest.raises(PermanentServiceError) as caught:
            await wrong.send(to=TO, body="hi", from_number=FROM)
    finally:
        await wrong.aclose()
    assert (caught.value.status, caught.value.code) == (401, "20003")


async def test_slow_twilio_times_out_as_transient(sb: Sandboxes) -> None:
    impatient = TwilioSmsSender(
        account_sid=sb.twilio_account_sid,
        auth_token=sb.twilio_auth_token,
        base_url=sb.twilio_base_url,
        timeout=0.2,
    )
    await sb.twilio.add_fault(latency_ms=1000, count=1)
    try:
        with pytest.raises(TransientServiceError):
            await impatient.send(to=TO, body="hi", from_number=FROM)
    finally:
        await impatient.aclose()


async def test_unreachable_twilio_is_transient(sb: Sandboxes) -> None:
    nowhere = LoopbackServer(Starlette(), name="gone")
    await nowhere.start()
    url = nowhere.base_url
    await nowhere.stop()  # nothing listens there any more
    sender = TwilioSmsSender(
        account_sid=sb.twilio_account_sid, auth_token=sb.twilio_auth_token, base_url=url
    )
    try:
        with pytest.raises(TransientServiceError):
            await sender.send(to=TO, body="hi", from_number=FROM)
    finally:
        await sender.aclose()


async def test_status_callbacks_are_signed_like_twilio(
    sb: Sandboxes, sender: TwilioSmsSender, receiver: Receiver
) -> None:
    sent = await sender.send(to=TO, body="hi", from_number=FROM, status_callback=receiver.url)

    await receiver.wait_for(2)
    validator = RequestValidator(sb.twilio_auth_token)
    statuses = []
    for params, headers in receiver.calls:
        assert validator.validate(receiver.url, params, headers["x-twilio-signature"])
        assert params["MessageSid"] == sent.sid
        assert (params["To"], params["From"]) == (TO, FROM)
        assert params["AccountSid"] == sb.twilio_account_sid
        assert "ErrorCode" not in params
        statuses.append(params["MessageStatus"])
    assert statuses == ["sent", "delivered"]
    # A tampered body no longer matches the signature.
    params, headers = receiver.calls[-1]
    forged = {**params, "MessageStatus": "failed"}
    assert not validator.validate(receiver.url, forged, headers["x-twilio-signature"])
    [message] = await sb.twilio.messages(to=TO)
    assert message["status"] == "delivered"


async def test_undelivered_number_reports_error_code(
    sb: Sandboxes, sender: TwilioSmsSender, receiver: Receiver
) -> None:
    await sb.twilio.set_number(TO, "undelivered")
    await sender.send(to=TO, body="hi", from_number=FROM, status_callback=receiver.url)

    await receiver.wait_for(2)
    last = receiver.calls[-1][0]
    assert [c[0]["MessageStatus"] for c in receiver.calls] == ["sent", "undelivered"]
    assert last["ErrorCode"] == "30003"


async def test_failing_callback_receiver_is_recorded_not_fatal(
    sb: Sandboxes, sender: TwilioSmsSender
) -> None:
    gone = LoopbackServer(Starlette(), name="gone")
    await gone.start()
    url = f"{gone.base_url}/status"
    await gone.stop()

    await sender.send(to=TO, body="hi", from_number=FROM, status_callback=url)
    deadline = time.monotonic() + 5
    attempts: list[dict[str, Any]] = []
    finished: list[dict[str, Any]] = []
    while len(finished) < 2 and time.monotonic() < deadline:
        # Only this test's callbacks (earlier deliveries may still arrive), and only attempts
        # that are over: an attempt is recorded before its POST returns.
        attempts = [a for a in await sb.twilio.callbacks() if a.get("url") == url]
        finished = [a for a in attempts if a["error"] or a["status_code"] is not None]
        await asyncio.sleep(0.01)
    assert len(attempts) == 2
    assert all(a["error"] and a["status_code"] is None for a in attempts)
    # The sandbox keeps serving.
    await sender.send(to=TO, body="again", from_number=FROM)


async def test_fault_share_fails_about_that_share(sb: Sandboxes, sender: TwilioSmsSender) -> None:
    await sb.twilio.add_fault(status=503, share=0.5, seed=7, path_contains="/Messages")

    outcomes = []
    for i in range(30):
        try:
            await sender.send(to=TO, body=f"n{i}", from_number=FROM)
            outcomes.append(True)
        except TransientServiceError:
            outcomes.append(False)

    [fault] = await sb.twilio.faults()
    assert 5 <= outcomes.count(False) <= 25
    assert fault["fired"] == outcomes.count(False)
    assert await sb.twilio.count_messages(to=TO) == outcomes.count(True)


async def test_fault_scoped_to_method_spares_other_requests(
    sb: Sandboxes, sender: TwilioSmsSender
) -> None:
    await sb.twilio.add_fault(status=500, method="GET")

    await sender.send(to=TO, body="hi", from_number=FROM)

    assert await sb.twilio.count_messages(to=TO) == 1


# Listing messages: GET /Messages.json, as the SDK's `messages.list_async` and
# `TwilioSmsSender.find_sent` call it.


def _sdk_client(sb: Sandboxes, http: AsyncTwilioHttpClient) -> Client:
    client = Client(sb.twilio_account_sid, sb.twilio_auth_token, http_client=http)
    client.api.base_url = sb.twilio_base_url
    client.edge = None
    client.region = None
    return client


async def _list_raw(sb: Sandboxes, **params: str) -> httpx.Response:
    """The list route over plain HTTP, for what the SDK would not send."""
    url = f"{sb.twilio_base_url}/2010-04-01/Accounts/{sb.twilio_account_sid}/Messages.json"
    async with httpx.AsyncClient(auth=(sb.twilio_account_sid, sb.twilio_auth_token)) as http:
        return await http.get(url, params=params)


async def test_find_sent_matches_to_from_body_and_creation_time(
    sb: Sandboxes, sender: TwilioSmsSender
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    wanted = await sender.send(to=TO, body="Booked: Tue 2 PM", from_number=FROM)
    await sender.send(to=TO, body="Booked: Wed 3 PM", from_number=FROM)
    await sender.send(to="+15551230002", body="Booked: Tue 2 PM", from_number=FROM)
    await sender.send(to=TO, body="Booked: Tue 2 PM", from_number="+15550008888")

    found = await sender.find_sent(
        to=TO, from_number=FROM, body="Booked: Tue 2 PM", created_after=before
    )
    later = await sender.find_sent(
        to=TO,
        from_number=FROM,
        body="Booked: Tue 2 PM",
        created_after=datetime.now(UTC) + timedelta(minutes=1),
    )

    assert found == [SentSms(sid=wanted.sid, status=found[0].status)]
    assert later == []
    request = (await sb.twilio.requests(method="GET", path_contains="/Messages.json"))[0]
    query = dict(parse_qsl(request["query"]))
    assert (query["To"], query["From"], request["status"]) == (TO, FROM, 200)


async def test_list_pages_newest_first_through_the_sdk(
    sb: Sandboxes, sender: TwilioSmsSender
) -> None:
    sids = [(await sender.send(to=TO, body=f"n{i}", from_number=FROM)).sid for i in range(5)]
    await sender.send(to="+15551230002", body="other", from_number=FROM)

    http = AsyncTwilioHttpClient()
    try:
        listed = await _sdk_client(sb, http).messages.list_async(to=TO, page_size=2)
    finally:
        await http.close()

    assert [m.sid for m in listed] == sids[::-1]
    requests = await sb.twilio.requests(method="GET", path_contains="/Messages.json")
    assert len(requests) == 3  # pages of 2, 2 and 1, followed by next_page_uri
    assert "PageToken=PA" in requests[1]["query"]


async def test_list_page_has_twilios_shape(sb: Sandboxes, sender: TwilioSmsSender) -> None:
    await sender.send(to=TO, body="hi", from_number=FROM)

    page = (await _list_raw(sb, To=TO, PageSize="1")).json()

    assert set(page) == {
        "end",
        "first_page_uri",
        "messages",
        "next_page_uri",
        "page",
        "page_size",
        "previous_page_uri",
        "start",
        "uri",
    }
    assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 1, 0, 0)
    assert page["next_page_uri"] is None and page["previous_page_uri"] is None
    assert page["uri"].startswith(f"/2010-04-01/Accounts/{sb.twilio_account_sid}/Messages.json?")
    [message] = page["messages"]
    assert (message["to"], message["from"], message["body"]) == (TO, FROM, "hi")


async def test_list_filters_on_date_sent(sb: Sandboxes, sender: TwilioSmsSender) -> None:
    await sender.send(to=TO, body="hi", from_number=FROM)
    today = datetime.now(UTC).date()
    deadline = time.monotonic() + 5
    while (await sb.twilio.messages(to=TO))[0]["date_sent"] is None:
        assert time.monotonic() < deadline, "the message was never sent"
        await asyncio.sleep(0.01)

    async def count(**params: str) -> int:
        response = await _list_raw(sb, To=TO, **params)
        assert response.status_code == 200, response.text
        return len(response.json()["messages"])

    assert await count(DateSent=today.isoformat()) == 1
    assert await count(**{"DateSent>": today.isoformat()}) == 1
    assert await count(**{"DateSent>": (today + timedelta(days=1)).isoformat()}) == 0
    assert await count(**{"DateSent<": today.isoformat()}) == 1
    assert await count(**{"DateSent<": (today - timedelta(days=1)).isoformat()}) == 0
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await count(**{"DateSent>": an_hour_ago}) == 1
    assert await count(**{"DateSent<": an_hour_ago}) == 0


async def test_unsent_message_matches_no_date_sent_filter(
    sb: Sandboxes, sender: TwilioSmsSender
) -> None:
    await sb.twilio.set_callback_delay(60_000)  # stays "queued", without a DateSent
    try:
        await sender.send(to=TO, body="hi", from_number=FROM)
        today = datetime.now(UTC).date().isoformat()
        unfiltered = (await _list_raw(sb, To=TO)).json()["messages"]
        by_date = (await _list_raw(sb, To=TO, DateSent=today)).json()["messages"]
        found = await sender.find_sent(
            to=TO, from_number=FROM, body="hi", created_after=datetime.now(UTC) - timedelta(1)
        )
    finally:
        await sb.twilio.set_callback_delay(10)
    assert [m["status"] for m in unfiltered] == ["queued"]
    assert by_date == []
    assert len(found) == 1  # find_sent does not filter on DateSent, for this reason


@pytest.mark.parametrize(
    "params", [{"DateSent": "yesterday"}, {"PageSize": "0"}, {"PageSize": "1001"}, {"Page": "x"}]
)
async def test_list_rejects_malformed_filters(sb: Sandboxes, params: dict[str, str]) -> None:
    response = await _list_raw(sb, **params)

    assert response.status_code == 400
    assert response.json()["code"] == 20001


async def test_list_requires_authentication(sb: Sandboxes) -> None:
    wrong = TwilioSmsSender(
        account_sid=sb.twilio_account_sid, auth_token="not-the-token", base_url=sb.twilio_base_url
    )
    try:
        with pytest.raises(PermanentServiceError) as caught:
            await wrong.find_sent(
                to=TO, from_number=FROM, body="hi", created_after=datetime.now(UTC)
            )
    finally:
        await wrong.aclose()
    assert (caught.value.status, caught.value.code) == (401, "20003")


async def test_list_fault_is_transient_and_spares_sending(
    sb: Sandboxes, sender: TwilioSmsSender
) -> None:
    await sb.twilio.add_fault(status=503, count=1, method="GET", path_contains="/Messages.json")

    await sender.send(to=TO, body="hi", from_number=FROM)
    with pytest.raises(TransientServiceError) as caught:
        await sender.find_sent(to=TO, from_number=FROM, body="hi", created_after=datetime.now(UTC))

    assert caught.value.status == 503
    assert TO not in caught.value.message


async def test_message_is_stored_although_the_client_gave_up(sb: Sandboxes) -> None:
    # What makes a lost answer possible: Twilio creates the message even if nobody waits.
    impatient = TwilioSmsSender(
        account_sid=sb.twilio_account_sid,
        auth_token=sb.twilio_auth_token,
        base_url=sb.twilio_base_url,
        timeout=0.1,
    )
    # Held back far longer than the client waits, so it is still held when the client gives up.
    await sb.twilio.add_fault(latency_ms=2000, count=1, method="POST")
    since = datetime.now(UTC) - timedelta(seconds=2)
    try:
        with pytest.raises(TransientServiceError):
            await impatient.send(to=TO, body="hi", from_number=FROM)
        # The sandbox was still holding the request back when the client gave up on it.
        [send] = await sb.twilio.requests(method="POST")
        assert send["status"] is None
        found = await wait_until(
            lambda: impatient.find_sent(to=TO, from_number=FROM, body="hi", created_after=since),
            timeout=10,
            what="the message the client gave up on to be listed",
        )
    finally:
        await impatient.aclose()
    assert len(found) == 1
    assert await sb.twilio.count_messages(to=TO) == 1
