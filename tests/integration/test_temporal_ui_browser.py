"""The operator's path through the Temporal UI, in a real (headless) Chromium against `booking dev`.

`booking dev` runs as a user runs it, with payload encryption and the codec server on. A booking
is kept `held` by a failing calendar and another one is confirmed; the operator signs in to the
codec server, finds the held booking with the search-attribute query, reads its current details
and its input (decoded through our codec: without it the UI shows encrypted binary), sends
`cancel` with a reason from the UI (encoded through the codec), and the booking ends cancelled:
the event the calendar finally created is deleted and the cancellation SMS is sent.

A screenshot of each step goes to test-artifacts/temporal-ui/<step>.png under the repository
(with booking dev's log beside them); the test prints the folder. Without Chromium
(/usr/bin/chromium, the Debian package; CHROMIUM_PATH overrides) the test is skipped, unless
REQUIRE_BROWSER=1 (set by .ci/run), where it fails instead.
"""

import base64
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.temporal import free_port

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "temporal-ui"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# The network is closed here: without these Chromium keeps opening connections of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HELD_QUERY = (
    "WorkflowType = 'BookingWorkflow' AND ExecutionStatus = 'Running' AND BookingStatus = 'held'"
)
CODEC_TOKEN = "codec-token-for-the-browser-test"
HELD_CALLER = "Robin Heldmann"
CONFIRMED_CALLER = "Alex Confirmo"
REASON = "patient called the clinic"
UI_TIMEOUT_MS = 30_000


def _require_browser() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"Chromium ({CHROMIUM}; apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("Playwright (pip install -e '.[dev]')")
    if not missing:
        return
    reason = "the browser test needs " + " and ".join(missing)
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + ", and REQUIRE_BROWSER=1 says it must run")
    pytest.skip(reason)


@dataclass
class Dev:
    """A running `booking dev` and what its banner says."""

    process: subprocess.Popen[bytes]
    banner: dict[str, str]

    def url(self, label: str) -> str:
        return self.banner[label]

    @property
    def api(self) -> str:
        return self.banner["API"]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.banner['API key']}"}


def _banner(log: Path) -> dict[str, str]:
    """The banner booking dev prints once it is up: `  <label, 14 wide> <value> ...` lines."""
    lines = log.read_text(errors="replace").split("booking dev is up.", 1)[1].splitlines()
    found = {}
    for line in lines[1:]:
        if not line.startswith("  ") or len(line) < 18:
            break
        found[line[:17].strip()] = line[17:].split()[0]
    return found


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    _require_browser()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    print(f"\nscreenshots and booking dev's log: {ARTIFACTS}")
    key = "k1:" + base64.b64encode(os.urandom(32)).decode()
    project = {"DATABASE_URL", "TEMPORAL_ADDRESS", "ADMIN_TOKEN", "TEMPORAL_UI_URL"}
    env = {k: v for k, v in os.environ.items() if k not in project}
    env.update(
        PYTHONPATH=str(REPO),
        DATA_DIR=str(tmp_path / "data"),
        API_PORT=str(free_port()),
        EMBEDDED_TEMPORAL_PORT=str(free_port()),
        EMBEDDED_TEMPORAL_UI_PORT=str(free_port()),
        PAYLOAD_ENCRYPTION_KEY=key,
        CODEC_TOKEN=CODEC_TOKEN,
        # The held booking's calendar retries come 2 s apart, so it confirms soon once the
        # calendar is back.
        ACTIVITY_RETRY_MAXIMUM_INTERVAL="2",
    )
    log = ARTIFACTS / "booking-dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "dev"],
            env=env,
            cwd=tmp_path,  # away from the repository's .env
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "Voice secret" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("booking dev did not come up:\n" + log.read_text())
            time.sleep(0.2)
        yield Dev(process, _banner(log))
    finally:
        # Ctrl-C, as a user stops it: the UI's front must not keep it from stopping cleanly.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.returncode == 0, f"booking dev did not stop cleanly; see {log}"


def _book(dev: Dev, name: str, phone: str, start: str) -> str:
    answer = httpx.post(
        f"{dev.api}/bookings",
        headers={**dev.auth, "Idempotency-Key": f"browser-{name}"},
        json={"name": name, "phone": phone, "start": start},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    booking_id: str = answer.json()["booking_id"]
    return booking_id


def _booking(dev: Dev, booking_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{dev.api}/bookings/{booking_id}", headers=dev.auth, timeout=10)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.3)


def _two_free_starts(dev: Dev) -> tuple[str, str]:
    """Two free local start times (`YYYY-MM-DDTHH:MM`) on the next open day a week out."""
    day = date.today() + timedelta(days=7)
    for _ in range(14):
        answer = httpx.get(
            f"{dev.api}/availability", params={"date": day.isoformat()}, headers=dev.auth
        )
        assert answer.status_code == 200, answer.text
        starts = [start[:16] for start in answer.json()["free_starts"]]
        if len(starts) >= 2:
            return starts[0], starts[1]
        day += timedelta(days=1)
    raise AssertionError("no day with two free times in two weeks")


def _sandbox(dev: Dev, label: str) -> str:
    return dev.url(label).removesuffix("/_sandbox/requests")


def test_operator_finds_a_held_booking_reads_it_decoded_and_cancels_it_from_the_ui(
    dev: Dev,
) -> None:
    """Screenshots: test-artifacts/temporal-ui/{1-codec-sign-in, 2-held-bookings,
    3-workflow-input, 4-current-details, 5-send-cancel-signal, 6-cancelled}.png."""
    from playwright.sync_api import Page, expect, sync_playwright

    calendar, twilio = _sandbox(dev, "Google sandbox"), _sandbox(dev, "Twilio sandbox")
    first, second = _two_free_starts(dev)

    # 1. One booking confirmed, one held: the calendar fails every insert from now on.
    confirmed_id = _book(dev, CONFIRMED_CALLER, "(212) 555-0141", first)
    _wait_for(
        "the first booking confirmed", lambda: _booking(dev, confirmed_id)["status"] == "confirmed"
    )
    fault = httpx.post(
        f"{calendar}/_sandbox/faults",
        json={"status": 503, "method": "POST", "path_contains": "/events"},
    )
    assert fault.status_code in (200, 201), fault.text
    held_id = _book(dev, HELD_CALLER, "(212) 555-0142", second)
    assert _booking(dev, held_id)["status"] == "held"
    held_workflow, confirmed_workflow = f"booking-{held_id}", f"booking-{confirmed_id}"

    codec_calls: list[tuple[str, str, int]] = []

    def shot(page: Page, step: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{step}.png"))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # The browser's Basic sign-in dialog, answered as the operator would: any user name,
        # CODEC_TOKEN as the password, for the API's origin only.
        context = browser.new_context(
            http_credentials={
                "username": "operator",
                "password": CODEC_TOKEN,
                "origin": dev.api,
            },
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        expect.set_options(timeout=UI_TIMEOUT_MS)
        page = context.new_page()
        page.on(
            "response",
            lambda r: (
                codec_calls.append((r.request.method, r.url, r.status))
                if "/codec/" in r.url
                else None
            ),
        )
        try:
            # Sign in to the codec server once, at the address booking dev printed.
            page.goto(dev.url("Codec sign-in"))
            expect(page.locator("body")).to_contain_text("Signed in to the codec server")
            shot(page, "1-codec-sign-in")

            # 2. The held bookings, with the query from README's table.
            page.goto(f"{dev.url('Temporal UI')}/namespaces/default/workflows")
            page.get_by_test_id("toggle-manual-query").click()
            page.get_by_test_id("workflow-manual-search-input").fill(HELD_QUERY)
            page.get_by_test_id("workflow-manual-search-button").click()
            rows = page.get_by_test_id("workflows-summary-configurable-table-row")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text(held_workflow)
            expect(page.get_by_text(confirmed_workflow)).to_have_count(0)
            shot(page, "2-held-bookings")

            # 3. Open it: its input in clear, decoded by our codec.
            rows.first.get_by_role("link", name=held_workflow).click()
            expect(page.get_by_text(f'"name": "{HELD_CALLER}"')).to_be_visible()
            expect(page.get_by_text('"phone": "(212) 555-0142"')).to_be_visible()
            shot(page, "3-workflow-input")

            # 4. Its current details: what it is waiting for.
            page.get_by_role("tab", name="User Metadata").click()
            details = page.frame_locator("#user-metadata-current-details").locator("body")
            expect(details).to_contain_text("calendar: creating the event: attempt")
            expect(details).to_contain_text("503")
            shot(page, "4-current-details")

            # 5. Send `cancel` with a reason (encoded through our codec on the way).
            page.get_by_role("button", name="More Actions").click()
            page.get_by_test_id("signal-button").filter(visible=True).click()
            page.get_by_test_id("signal-select-button").filter(visible=True).click()
            page.get_by_role("option", name="cancel", exact=True).filter(visible=True).click()
            data = page.get_by_role("textbox", name="Data").filter(visible=True)
            data.fill(f'{{"reason": "{REASON}"}}')
            expect(data).to_contain_text(REASON)
            shot(page, "5-send-cancel-signal")
            page.get_by_role("button", name="Submit").filter(visible=True).click()
            expect(page.get_by_role("button", name="Submit").filter(visible=True)).to_have_count(0)
            assert any(
                method == "POST" and "/codec/encode" in url and status == 200
                for method, url, status in codec_calls
            ), codec_calls

            # The calendar is back: phase 2 creates the event and confirms, then the cancel,
            # waiting until then, frees the slot, deletes the event and texts the caller.
            assert httpx.delete(f"{calendar}/_sandbox/faults").status_code in (200, 204)
            _wait_for(
                "the held booking cancelled with its SMS sent",
                lambda: _cancelled_and_texted(_booking(dev, held_id)),
            )

            # 6. The workflow page shows it done: completed, current details "cancelled",
            # and the signal with its reason, decoded, in the history.
            page.reload()
            expect(page.get_by_text("Completed", exact=True).first).to_be_visible()
            page.get_by_role("tab", name="User Metadata").click()
            details = page.frame_locator("#user-metadata-current-details").locator("body")
            expect(details).to_have_text("cancelled")
            shot(page, "6-cancelled")
        finally:
            page.screenshot(path=str(ARTIFACTS / "last-page.png"))
            browser.close()

    # The database, the calendar and Twilio agree: cancelled, event deleted, caller texted.
    booking = _booking(dev, held_id)
    assert booking["status"] == "cancelled"
    created = httpx.get(f"{calendar}/_sandbox/calendar/created").json()
    event_ids = {event["id"] for event in created}
    events = httpx.get(f"{calendar}/_sandbox/calendar/events").json()
    held_events = [event for event in events if HELD_CALLER in str(event)]
    assert len(held_events) == 1 and held_events[0]["id"] in event_ids, events
    assert held_events[0]["status"] == "cancelled", held_events
    texts = httpx.get(f"{twilio}/_sandbox/twilio/messages", params={"to": "+12125550142"}).json()
    bodies = [message["body"] for message in texts]
    assert any("cancel" in body.lower() for body in bodies), bodies
    assert _booking(dev, confirmed_id)["status"] == "confirmed"


def _cancelled_and_texted(booking: dict[str, Any]) -> bool:
    """Cancelled in the database, and the cancellation SMS accepted by Twilio."""
    return booking["status"] == "cancelled" and any(
        sms["kind"] == "cancelled" and sms["twilio_sid"] for sms in booking["sms_messages"]
    )
