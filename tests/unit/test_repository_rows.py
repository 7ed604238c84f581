"""How repositories turn a query's columns into typed rows, and the status list their SQL uses."""

from dataclasses import dataclass

import pytest

from core.domain.statuses import BookingStatus
from core.repositories import OCCUPYING_SQL, from_record, sql_statuses


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    status: BookingStatus


# Dicts stand in for asyncpg.Record below: `from_record` only reads columns by name.


def test_a_row_takes_its_columns_by_field_name_and_computed_fields_as_given() -> None:
    row = from_record(_Row, {"id": 7, "status": "held"}, status=BookingStatus.HELD)
    assert row == _Row(7, BookingStatus.HELD)
    assert type(row.status) is BookingStatus


def test_a_missing_column_fails_naming_it() -> None:
    with pytest.raises(KeyError, match="status"):
        from_record(_Row, {"id": 7, "state": "held"})


def test_statuses_become_a_literal_sql_list() -> None:
    assert OCCUPYING_SQL == "('held', 'confirmed')"
    assert sql_statuses([BookingStatus.CANCELLED]) == "('cancelled')"
