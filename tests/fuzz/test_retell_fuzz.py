"""Fuzzing POST /voice/retell: validly signed bodies of any shape are answered HTTP 200 with
`{"result": ...}`; a bad, expired or missing signature is 401; refusals write nothing."""

import time
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from api.voice.retell import sign
from tests.conftest import MakeOrg
from tests.factories import TestOrg
from tests.fuzz.bodies import broken_bodies, content_types, encoded, header_bytes, retell_request
from tests.fuzz.conftest import RETELL_KEY
from tests.fuzz.harness import Ledger, assert_speakable, fuzz_settings
from tests.fuzz.strategies import hostile_text, weighted
from tests.voice_helpers import org_row_counts

pytestmark = pytest.mark.integration

_WRITES = ("booked", "rescheduled", "cancelled")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _query(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def signed_requests(draw: st.DrawFn) -> tuple[bytes, str | None, str, bool]:
    """(raw body, ?tool=, content type, org in the path or in ?org=)."""
    payload, tool = draw(retell_request())
    raw = weighted(
        draw,
        (6, st.just(encoded(payload))),
        (1, broken_bodies(retell_request().map(lambda request: request[0]))),
    )
    content_type = weighted(draw, (6, st.just("application/json")), (1, content_types))
    return raw, tool, content_type, draw(st.booleans())


@fuzz_settings(200)
@given(request=signed_requests())
async def test_signed_calls_of_any_shape_get_a_200_answer(
    api: httpx.AsyncClient, seeded: Ledger, request: tuple[bytes, str | None, str, bool]
) -> None:
    raw, tool, content_type, org_in_path = request
    ledger = seeded
    raw = ledger.resolve(raw)
    slug = ledger.org.slug
    url = f"/voice/retell/{slug}" if org_in_path else f"/voice/retell?org={slug}"
    if tool is not None:
        url += ("?" if org_in_path else "&") + f"tool={_query(tool)}"
    headers = {
        "X-Retell-Signature": sign(raw, RETELL_KEY, _now_ms()),
        "Content-Type": content_type,
    }
    before = await ledger.snapshot()
    response = await api.post(url, content=raw, headers=headers)
    what = f"{response.status_code} {response.text[:300]!r} for {url} {raw[:300]!r}"
    assert response.status_code == 200, what
    answer: dict[str, Any] = response.json()
    assert isinstance(answer, dict), what
    assert_speakable(answer.get("result"), what)
    if "error" in answer:
        assert answer["error"] == answer["result"], what
        assert answer.get("outcome") not in _WRITES, what
    outcome = answer.get("outcome")
    event(f"outcome: {outcome}" if outcome else " ".join(answer["result"].split()[:5]))
    booked = {UUID(answer["booking_id"])} if outcome == "booked" else set()
    await ledger.check_writes(before, booked=booked, may_write=outcome in _WRITES, what=what)


@pytest.mark.parametrize("name", ["\x1b", "book\nappointment", "x" * 500])
async def test_an_answer_that_echoes_the_function_name_is_one_line(
    api: httpx.AsyncClient, ledger: Ledger, name: str
) -> None:
    """Found by the fuzzer: the unknown-tool answer echoed the name with its control
    characters (Vapi's answers went through one_line, Retell's did not)."""
    raw = encoded({"name": name, "call": {"call_id": "retell-echo"}, "args": {}})
    response = await api.post(
        f"/voice/retell/{ledger.org.slug}",
        content=raw,
        headers={
            "X-Retell-Signature": sign(raw, RETELL_KEY, _now_ms()),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["result"].startswith("There is no tool called")
    assert_speakable(answer["result"], response.text)
    assert answer["error"] == answer["result"]


BAD_SIGNATURES = (
    "missing",
    "wrong key",
    "expired",
    "from the future",
    "over other bytes",
    "upper-case digest",
    "garbage header",
    "garbage timestamp",
    "unknown org",
    "org without a Retell key",
    "odd slug",
)


@pytest.fixture
async def keyless_org(make_org: MakeOrg) -> TestOrg:
    return await make_org()


@fuzz_settings(25)
@given(
    payload=retell_request().map(lambda request: request[0]),
    junk=header_bytes,
    slug=hostile_text.map(lambda text: f"org-{text}"),
)
async def test_bad_signatures_are_401_and_write_nothing(
    api: httpx.AsyncClient,
    seeded: Ledger,
    keyless_org: TestOrg,
    payload: Any,
    junk: bytes,
    slug: str,
) -> None:
    """Each example tries every way of getting the signature or the org wrong."""
    ledger = seeded
    raw = ledger.resolve(encoded(payload))
    for case in BAD_SIGNATURES:
        path, signature = _unsigned(case, raw, ledger, keyless_org, junk, slug)
        headers: dict[bytes, bytes] = {b"content-type": b"application/json"}
        if signature is not None:
            headers[b"x-retell-signature"] = signature
        before = await ledger.snapshot()
        response = await api.post(f"/voice/retell/{path}", content=raw, headers=headers)
        what = f"{case}: {response.status_code} {response.text[:200]!r} for {path!r} {signature!r}"
        if case == "odd slug" and response.status_code in (307, 404, 405):
            # A slug with an encoded "/" leaves the route; an empty one is redirected.
            event(f"{case}: {response.status_code}")
        else:
            assert response.status_code == 401, what
            assert response.json()["error"]["code"] == "unauthorized", what
        await ledger.check_writes(before, booked=set(), may_write=False, what=what)
    assert await org_row_counts(ledger.pool, keyless_org) == {
        "bookings": 0,
        "contacts": 0,
        "sms_messages": 0,
    }


def _unsigned(
    case: str, raw: bytes, ledger: Ledger, keyless_org: TestOrg, junk: bytes, slug: str
) -> tuple[str, bytes | None]:
    """The URL path segment and signature header for one bad-signature case."""
    now = _now_ms()
    valid = sign(raw, RETELL_KEY, now)
    stamp, digest = valid.split(",d=")
    signatures: dict[str, bytes | None] = {
        "missing": None,
        "wrong key": sign(raw, RETELL_KEY + "x", now).encode(),
        "expired": sign(raw, RETELL_KEY, now - 6 * 60 * 1000).encode(),
        "from the future": sign(raw, RETELL_KEY, now + 6 * 60 * 1000).encode(),
        "over other bytes": sign(raw + b" ", RETELL_KEY, now).encode(),
        "upper-case digest": f"{stamp},d={digest.upper()}".encode(),
        "garbage header": junk,
        "garbage timestamp": b"v=" + junk + b",d=" + digest.encode(),
    }
    paths = {
        "unknown org": f"{ledger.org.slug}-not",
        "org without a Retell key": keyless_org.slug,
        "odd slug": _query(slug),
    }
    if case in signatures:
        return ledger.org.slug, signatures[case]
    return paths[case], valid.encode()
