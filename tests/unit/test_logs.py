"""The JSON and text log formats, and the context every line carries; masking is test_masking."""

import asyncio
import dataclasses
import io
import json
import logging
import uuid
from typing import Any, Literal

import pytest
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from core.errors import ConfigurationError
from core.infra.config import Settings
from core.infra.logs import (
    FreshLogContext,
    bind_log_context,
    configure_logging,
    log_context,
)


def configured(log_format: Literal["json", "text"] = "json", level: str = "DEBUG") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(
        Settings(_env_file=None, log_format=log_format, log_level=level),  # type: ignore[call-arg]
        stream,
    )
    return stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


BOOKING = "3f0c8a52-6f7e-4f0e-9a53-5b7e0e3c1d21"


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_the_context_and_mask_message_args_extras_and_exceptions() -> None:
    stream = configured()
    log = logging.getLogger("tests.logs")
    with log_context(org="acme", org_id=uuid.UUID(int=7), workflow_id=f"booking-{BOOKING}"):
        log.info(
            "texting %s (%s)",
            "+14155550123",
            "sam@example.com",
            extra={"to": "(415) 555-0123", "dialled": 4155550123, "count": 3, "obj": object()},
        )
        try:
            raise ValueError("Twilio refused +14155550123")
        except ValueError:
            log.exception("send to 415-555-0123 failed")
    log.warning("outside")
    first, failure, outside = lines(stream)
    assert list(first)[:4] == ["ts", "level", "logger", "message"]
    assert first["ts"].endswith("Z") and first["ts"][10] == "T"
    assert first["level"] == "INFO" and first["logger"] == "tests.logs"
    assert first["message"] == "texting +1******0123 (s***@example.com)"
    assert first["org"] == "acme" and first["org_id"] == str(uuid.UUID(int=7))
    assert first["workflow_id"] == f"booking-{BOOKING}"
    assert first["booking_id"] == BOOKING
    assert first["to"] == "(***) ***-0123"
    assert first["dialled"] == "******0123"
    assert first["count"] == 3
    assert "obj" not in first
    assert failure["message"] == "send to ***-***-0123 failed"
    assert "ValueError: Twilio refused +1******0123" in failure["exc"]
    assert "Traceback" in failure["exc"]
    assert "org" not in outside and "booking_id" not in outside
    assert "4155550123" not in stream.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_temporal_logger_details_become_keys() -> None:
    stream = configured()
    activity.logger.info(
        "sent",
        extra={
            "temporal_activity": {
                "activity_id": "3",
                "activity_type": "send_sms",
                "attempt": 2,
                "workflow_id": f"booking-{BOOKING}",
                "workflow_run_id": "0199a3b2-7c1e-7a3b-9f00-234567890123",
                "workflow_type": "BookingWorkflow",
            }
        },
    )
    logging.getLogger("temporalio.workflow").error(
        "phase 1 failed",
        extra={
            "temporal_workflow": {
                "attempt": 1,
                "run_id": "r-1",
                "workflow_id": "other-workflow",
                "workflow_type": "BookingWorkflow",
                "update_name": "reschedule_booking",
            }
        },
    )
    sent, failed = lines(stream)
    assert sent["workflow_id"] == f"booking-{BOOKING}" and sent["booking_id"] == BOOKING
    assert sent["run_id"] == "0199a3b2-7c1e-7a3b-9f00-234567890123"
    assert (sent["activity_type"], sent["attempt"]) == ("send_sms", 2)
    assert sent["workflow_type"] == "BookingWorkflow"
    assert "temporal_activity" not in sent
    assert failed["workflow_id"] == "other-workflow" and "booking_id" not in failed
    assert (failed["run_id"], failed["update_name"]) == ("r-1", "reschedule_booking")
    assert "attempt" not in failed


@pytest.mark.usefixtures("restore_logging")
async def test_any_logger_inside_an_activity_gets_the_activity_context() -> None:
    stream = configured()
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, workflow_id=f"booking-{BOOKING}", activity_type="create_calendar_event"
    )

    async def an_activity() -> None:
        logging.getLogger("core.vendors.calendar").info("inserted")

    await env.run(an_activity)
    (line,) = lines(stream)
    assert line["booking_id"] == BOOKING
    assert line["activity_type"] == "create_calendar_event"


@pytest.mark.usefixtures("restore_logging")
def test_text_format_appends_the_context_as_key_values() -> None:
    stream = configured("text")
    with log_context(org="acme", booking_id=BOOKING):
        logging.getLogger("tests.logs").info("booked for sam@example.com", extra={"n": "a b"})
    line = stream.getvalue().rstrip("\n")
    assert "\n" not in line
    assert " INFO    tests.logs: booked for s***@example.com  " in line
    assert line.endswith(f'org=acme booking_id={BOOKING} n="a b"')


@pytest.mark.usefixtures("restore_logging")
def test_configuring_again_replaces_the_handler_and_routes_uvicorn_to_it() -> None:
    access_logger = logging.getLogger("uvicorn.access")
    access_logger.addHandler(logging.StreamHandler(io.StringIO()))
    access_logger.propagate = False
    access_logger.setLevel(logging.WARNING)  # as an in-process uvicorn (the sandboxes) leaves it
    configured()
    stream = configured(level="INFO")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_booking_log_handler", False)]
    assert len(ours) == 1 and ours[0].stream is stream  # type: ignore[attr-defined]
    assert access_logger.handlers == [] and access_logger.propagate
    assert access_logger.level == logging.NOTSET
    access_logger.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5",
        "GET",
        "/bookings?phone=%2B14155550123",
        "1.1",
        200,
    )
    logging.getLogger("httpx").info("HTTP Request: GET http://x")
    (access,) = lines(stream)
    assert access["message"] == '127.0.0.1:5 - "GET /bookings?phone=%2B1******0123 HTTP/1.1" 200'
    assert logging.getLogger("httpx").level == logging.WARNING
    configured(level="debug")
    assert logging.getLogger("httpx").level == logging.NOTSET


def test_an_unknown_log_level_is_a_configuration_error() -> None:
    settings = Settings(_env_file=None, log_level="verbose")  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="LOG_LEVEL 'verbose'"):
        configure_logging(settings, io.StringIO())


@pytest.mark.usefixtures("restore_logging")
async def test_context_bound_in_a_task_stays_in_that_task() -> None:
    stream = configured()
    log = logging.getLogger("tests.logs")

    async def request(org: str) -> None:
        bind_log_context(org=org)
        await asyncio.sleep(0)
        log.info("in request")

    await asyncio.gather(request("a"), request("b"))
    log.info("after")
    *in_requests, after = lines(stream)
    assert sorted(line["org"] for line in in_requests) == ["a", "b"]
    assert "org" not in after


@pytest.mark.usefixtures("restore_logging")
async def test_each_request_starts_with_an_empty_context() -> None:
    stream = configured()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        logging.getLogger("tests.logs").info("request %s", scope["path"])
        bind_log_context(org=scope["path"])

    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: Any) -> None:
        return None

    # In one task, as httpx.ASGITransport runs the app: the first request's org must not leak.
    middleware = FreshLogContext(app)
    await middleware({"type": "http", "path": "/first"}, receive, send)
    await middleware({"type": "http", "path": "/second"}, receive, send)
    assert [line.get("org") for line in lines(stream)] == [None, None]
    bind_log_context(org=None)
