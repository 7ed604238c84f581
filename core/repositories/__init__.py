"""All SQL of the project lives in these modules; everything else calls their functions.

They return small typed rows (frozen dataclasses, built by `from_record`), never
`asyncpg.Record`s: a caller reads `booking.calendar_id`, mypy checks the name, and a renamed
column fails where the row is built, not wherever it is read.
"""

from collections.abc import Iterable
from dataclasses import fields
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import asyncpg

from core.domain.statuses import OCCUPYING, BookingStatus

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Repository functions accept either; a Connection lets the caller group calls in a transaction.
Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool

_Row = TypeVar("_Row", bound="DataclassInstance")


def from_record(row_type: type[_Row], record: asyncpg.Record, **computed: object) -> _Row:
    """A `row_type` from the record's columns named as its fields, except the fields given in
    `computed` (values made from columns: an enum, a range as a tuple). A query's column that
    is renamed or missing raises KeyError here, naming it."""
    return row_type(
        **{
            field.name: computed[field.name] if field.name in computed else record[field.name]
            for field in fields(row_type)
        }
    )


def sql_statuses(statuses: Iterable[BookingStatus]) -> str:
    """The statuses as a literal SQL list, `('held', 'confirmed')`, for `status IN ...`.

    A literal rather than a parameter (`status = ANY($n)`): Postgres uses a partial index, like
    the exclusion constraint's `WHERE status IN ('held', 'confirmed')`, only when it can prove
    the query's condition implies the index's, and a generic plan (which asyncpg's prepared
    statements get after a few runs) cannot see a parameter's value. The values are the enum's
    own, never input.
    """
    return "(" + ", ".join(f"'{BookingStatus(status).value}'" for status in statuses) + ")"


# `status IN {OCCUPYING_SQL}`: the bookings that occupy their time, as the exclusion constraint
# and the migrations' SQL functions (provider_busy, held_by_caller) count them.
OCCUPYING_SQL = sql_statuses(OCCUPYING)
