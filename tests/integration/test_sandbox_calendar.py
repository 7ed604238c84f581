"""The real `google-api-python-client` + `google-auth` (through GoogleCalendarClient) against
the Google Calendar sandbox, service-account JWT grant included. No Postgres or Temporal.

One module because every case drives the same module-scoped GoogleCalendarClient against the one
sandbox calendar `CAL`, which the autouse `clean` fixture empties between cases.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psutil
import pytest

from core.domain.busy_events import busy_interval
from core.errors import PermanentServiceError, TransientServiceError
from core.vendors.calendar import EventPage, event_id_for_booking
from core.vendors.google_calendar import GoogleCalendarClient
from sandbox.google_oauth import generate_service_account
from sandbox.runner import Sandboxes, running_sandboxes
from tests.booking_helpers import local_start, wait_until

CAL = "clinic-main@group.calendar.google.com"
TZ = "America/New_York"
DELEGATE = "scheduler@clinic.example"
START = local_start(days_ahead=30).replace(hour=14).astimezone(UTC)  # 2 PM in New York
END = START + timedelta(minutes=30)


@pytest.fixture(autouse=True)
async def clean(sb: Sandboxes) -> None:
    await sb.reset()


def make_client(sb: Sandboxes, **overrides: object) -> GoogleCalendarClient:
    options: dict[str, object] = {
        "service_account_info": sb.service_account_info,
        "delegated_user": DELEGATE,
        "base_url": sb.calendar_base_url,
        "timeout": 5.0,
    }
    options.update(overrides)
    return GoogleCalendarClient(**options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(sb: Sandboxes) -> GoogleCalendarClient:
    return make_client(sb)


async def insert(client: GoogleCalendarClient, event_id: str, start: datetime = START):
    return await client.insert_event(
        calendar_id=CAL,
        event_id=event_id,
        summary="Sam Wilson",
        description="Booked by the voice agent",
        start=start,
        end=start + timedelta(minutes=30),
        time_zone=TZ,
    )


def served_connections(port: int | None) -> int:
    """Connections the in-process sandbox on `port` still holds open (its ends of them)."""
    return sum(
        c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
        for c in psutil.Process().net_connections(kind="tcp")
    )


def new_event_id() -> str:
    return event_id_for_booking(uuid.uuid4())


async def full_listing(client: GoogleCalendarClient, calendar_id: str = CAL) -> EventPage:
    """A full events.list, as a calendar sync starts (no sync token, first page)."""
    return await client.list_events(calendar_id=calendar_id, sync_token=None, page_token=None)


def busy_in(page: EventPage) -> list[tuple[str, tuple[datetime, datetime] | None]]:
    """Each listed event's id and the interval the calendar sync reads it as busy."""
    zone = ZoneInfo(page.time_zone or "UTC")
    return [(item["id"], busy_interval(item, zone)) for item in page.items]


async def test_insert_twice_creates_one_event(sb: Sandboxes, client: GoogleCalendarClient) -> None:
    event_id = new_event_id()

    first = await insert(client, event_id)
    second = await insert(client, event_id)

    assert (first.id, first.status, first.already_existed) == (event_id, "confirmed", False)
    assert (second.id, second.status, second.already_existed) == (event_id, "confirmed", True)
    assert first.start == START and first.end == END
    stored = await sb.calendar.events(CAL)
    assert [e["id"] for e in stored] == [event_id]
    assert stored[0]["creator"]["email"] == DELEGATE  # domain-wide delegation reached Google
    inserts = await sb.calendar.requests(path_contains="/events", method="POST")
    assert [r["status"] for r in inserts] == [200, 409]


async def test_delete_twice_is_fine_and_event_stays_cancelled(
    client: GoogleCalendarClient,
) -> None:
    event_id = new_event_id()
    await insert(client, event_id)

    assert await client.delete_event(calendar_id=CAL, event_id=event_id) is True
    assert await client.delete_event(calendar_id=CAL, event_id=event_id) is False
    assert await client.delete_event(calendar_id=CAL, event_id=new_event_id()) is False

    fetched = await client.get_event(calendar_id=CAL, event_id=event_id)
    assert fetched.cancelled
    # The id stays taken: inserting again reports the cancelled event instead of a new one.
    again = await insert(client, event_id)
    assert again.already_existed and again.cancelled


async def test_get_unknown_event_is_permanent_not_found(client: GoogleCalendarClient) -> None:
    with pytest.raises(PermanentServiceError) as caught:
        await client.get_event(calendar_id=CAL, event_id=new_event_id())
    assert (caught.value.status, caught.value.code) == (404, "notFound")


async def test_injected_503_is_transient(sb: Sandboxes, client: GoogleCalendarClient) -> None:
    await sb.calendar.add_fault(status=503, count=1, path_contains="/events", method="POST")
    event_id = new_event_id()

    with pytest.raises(TransientServiceError) as caught:
        await insert(client, event_id)
    assert caught.value.status == 503

    assert not (await insert(client, event_id)).already_existed  # the 503 created nothing


@pytest.mark.parametrize(
    ("reason", "error_type"),
    [
        ("forbidden", PermanentServiceError),
        ("rateLimitExceeded", TransientServiceError),
        ("userRateLimitExceeded", TransientServiceError),
    ],
)
async def test_403_depends_on_reason(
    sb: Sandboxes, client: GoogleCalendarClient, reason: str, error_type: type[Exception]
) -> None:
    await sb.calendar.add_fault(status=403, code=reason, count=1)

    with pytest.raises(error_type) as caught:
        await insert(client, new_event_id())
    assert caught.value.code == reason  # type: ignore[attr-defined]


async def test_full_listing_returns_the_live_events_with_their_times(
    sb: Sandboxes, client: GoogleCalendarClient
) -> None:
    booked = new_event_id()
    await insert(client, booked)
    cancelled = new_event_id()
    await insert(client, cancelled, start=START + timedelta(hours=3))
    await client.delete_event(calendar_id=CAL, event_id=cancelled)
    blocked = await sb.calendar.add_busy(
        CAL, START + timedelta(hours=1), START + timedelta(hours=2)
    )

    page = await full_listing(client)

    # A full listing leaves deleted events out (only an incremental one reports them), and the
    # event added by hand is listed like ours, so the sync sees the clinic's own blocks.
    assert busy_in(page) == [
        (booked, (START, END)),
        (blocked, (START + timedelta(hours=1), START + timedelta(hours=2))),
    ]
    # One page, ending in the token the sync lists changes from next time.
    assert page.next_page_token is None and page.next_sync_token
    other = await full_listing(client, "other@example.com")
    assert (other.items, other.next_page_token) == ([], None)


async def test_move_event_changes_its_time(client: GoogleCalendarClient) -> None:
    event_id = new_event_id()
    await insert(client, event_id)
    later = START + timedelta(days=1)

    moved = await client.move_event(
        calendar_id=CAL,
        event_id=event_id,
        start=later,
        end=later + timedelta(hours=1),
        time_zone=TZ,
    )

    assert (moved.start, moved.end) == (later, later + timedelta(hours=1))
    # Stored so, not only answered so: a later read sees the new time, and nothing is left at
    # the old one.
    fetched = await client.get_event(calendar_id=CAL, event_id=event_id)
    assert (fetched.status, fetched.start, fetched.end) == (
        "confirmed",
        later,
        later + timedelta(hours=1),
    )
    assert busy_in(await full_listing(client)) == [(event_id, (later, later + timedelta(hours=1)))]


async def test_latency_fault_delays_and_short_timeout_is_transient(sb: Sandboxes) -> None:
    patient = make_client(sb)
    await patient.get_event(calendar_id=CAL, event_id=(await insert(patient, new_event_id())).id)
    await sb.calendar.add_fault(latency_ms=300, path_contains="/events/")

    # events.list asks for …/events, without the slash of one event's path: not delayed.
    await full_listing(patient)
    [fault] = await sb.calendar.faults()
    assert fault["fired"] == 0
    event_id = (await sb.calendar.events())[0]["id"]
    assert await patient.delete_event(calendar_id=CAL, event_id=event_id) is True
    [fault] = await sb.calendar.faults()
    assert fault["fired"] == 1  # the delete was held back, and its answer waited for
    [delete] = await sb.calendar.requests(method="DELETE")
    assert delete["status"] == 204
    await sb.calendar.clear_faults()
    await sb.calendar.clear_requests()

    impatient = make_client(sb, timeout=0.2)
    await sb.calendar.add_fault(latency_ms=1000, path_contains="/events", method="GET")
    with pytest.raises(TransientServiceError) as caught:
        await full_listing(impatient)
    # It gave up waiting (a timeout, not a refused connection or an error answer) on a request
    # the sandbox received and was holding back.
    assert "TimeoutError" in caught.value.message
    assert isinstance(caught.value.__cause__, TimeoutError)
    [fault] = await sb.calendar.faults()
    assert fault["fired"] == 1
    [held] = await sb.calendar.requests(path_contains="/events", method="GET")
    assert held["path"].endswith(f"/calendars/{CAL}/events")


async def test_fault_share_fails_about_that_share(
    sb: Sandboxes, client: GoogleCalendarClient
) -> None:
    await sb.calendar.add_fault(
        status=500, share=0.5, seed=3, path_contains="/events", method="GET"
    )

    failures = 0
    for _ in range(30):
        try:
            await full_listing(client)
        except TransientServiceError:
            failures += 1

    assert 5 <= failures <= 25
    [fault] = await sb.calendar.faults()
    assert fault["fired"] == failures


async def test_revoked_token_is_refreshed_transparently(
    sb: Sandboxes, client: GoogleCalendarClient
) -> None:
    await insert(client, new_event_id())
    await sb.calendar.revoke_tokens()
    await sb.calendar.clear_requests()

    await insert(client, new_event_id())

    [grant] = await sb.calendar.requests(path_contains="/token")
    assert grant["body"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    statuses = [r["status"] for r in await sb.calendar.requests(path_contains="/calendar/v3/")]
    assert statuses == [401, 200]


async def test_untrusted_service_account_is_permanent(sb: Sandboxes) -> None:
    stranger, _ = generate_service_account(sb.token_uri, client_email="stranger@elsewhere.test")
    client = make_client(sb, service_account_info=stranger)

    with pytest.raises(PermanentServiceError) as caught:
        await insert(client, new_event_id())
    assert caught.value.code == "invalid_grant"


async def test_token_endpoint_outage_is_transient(sb: Sandboxes) -> None:
    fresh = make_client(sb)  # no cached token yet
    await sb.calendar.add_fault(status=503, path_contains="/token")

    with pytest.raises(TransientServiceError):
        await insert(fresh, new_event_id())


async def test_connections_the_server_closed_while_idle_are_replaced_not_failed() -> None:
    """Sandboxes of the test's own that close idle keep-alive connections after 2 s, as Google
    does after its own idle time; the next request on such a connection must not fail."""
    async with running_sandboxes(keep_alive_s=2) as quick_to_close:
        await connections_closed_while_idle_are_replaced(quick_to_close)


async def connections_closed_while_idle_are_replaced(sb: Sandboxes) -> None:
    client = make_client(sb)  # fresh connections, one per worker thread

    # Enough calls at once to open a connection on every thread of the default executor.
    await asyncio.gather(*[full_listing(client) for _ in range(12)])
    port = urlsplit(sb.calendar_base_url).port
    assert served_connections(port) > 0
    # uvicorn closes them once idle for its keep-alive time; the client's ends stay open.
    await wait_until(
        lambda: served_connections(port) == 0,
        timeout=30,
        what="the sandbox to close its idle keep-alive connections",
    )
    results = await asyncio.gather(
        *[full_listing(client) for _ in range(12)], return_exceptions=True
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
