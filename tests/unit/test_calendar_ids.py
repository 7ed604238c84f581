"""Calendar event ids derived from booking ids: valid Google ids, stable, distinct."""

import re
import uuid

from core.vendors.calendar import event_id_for_booking

# Google's rule for client-chosen event ids: base32hex (a-v, 0-9), 5 to 1024 characters.
GOOGLE_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")


def test_event_id_is_valid_base32hex() -> None:
    for _ in range(500):
        event_id = event_id_for_booking(uuid.uuid4())
        assert GOOGLE_EVENT_ID.match(event_id), event_id
        assert len(event_id) == 26  # 128 bits in 5-bit characters, padding stripped


def test_event_id_is_stable_for_one_booking() -> None:
    booking_id = uuid.UUID("6f1c2b9e-8d4a-4f3b-9c1e-2a7d5e0b3c4f")
    assert event_id_for_booking(booking_id) == event_id_for_booking(uuid.UUID(str(booking_id)))
    # Pinned: changing the derivation would orphan every existing event.
    assert event_id_for_booking(booking_id) == "dse2n7kd997jn70u59uls2ps9s"


def test_event_ids_differ_between_bookings() -> None:
    ids = {event_id_for_booking(uuid.uuid4()) for _ in range(2000)}
    assert len(ids) == 2000


def test_edge_uuids_are_valid() -> None:
    for booking_id in (uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)):
        assert GOOGLE_EVENT_ID.match(event_id_for_booking(booking_id))
