"""SQL of the step that seals the org secrets stored in clear and re-seals those under a former
key (core/ops/sealed_secrets.py). Per-request reads and writes of these columns are in orgs.py.

A row is rewritten whole (every sealed column in one UPDATE): Postgres checks each CHECK
constraint against the new row, so sealing one column while another still holds plaintext
would fail on the other's constraint.
"""

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from core.repositories.orgs import SEALED_COLUMNS

# The CHECK constraints of 0009_sealed_vendor_secrets.sql, one per sealed column.
SEALED_CONSTRAINTS = {column: f"organizations_{column}_sealed" for column in SEALED_COLUMNS}

# Column names come from our own tuple, never from input.
_SELECT = (
    f"SELECT id, {', '.join(SEALED_COLUMNS)} FROM organizations "
    f"WHERE {' OR '.join(f'{c} IS NOT NULL' for c in SEALED_COLUMNS)}"
)
_REPLACE = (
    "UPDATE organizations SET "
    + ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(SEALED_COLUMNS))
    + " WHERE id = $1 AND "
    + " AND ".join(
        f"{c} IS NOT DISTINCT FROM ${i + 2 + len(SEALED_COLUMNS)}"
        for i, c in enumerate(SEALED_COLUMNS)
    )
)


@dataclass(frozen=True, slots=True)
class StoredSecrets:
    """One org's stored values of the sealed columns, as they are in the row (sealed or not;
    a column without a value is absent)."""

    org_id: UUID
    values: dict[str, str]


async def stored_secrets(conn: asyncpg.Connection) -> list[StoredSecrets]:
    """Every org that has a value in a sealed column."""
    return [
        StoredSecrets(row["id"], {c: row[c] for c in SEALED_COLUMNS if row[c] is not None})
        for row in await conn.fetch(_SELECT)
    ]


async def replace_stored(
    conn: asyncpg.Connection, *, before: StoredSecrets, after: dict[str, str]
) -> bool:
    """Write `after` in place of the values read, unless the row changed since (an admin set a
    new secret meanwhile: theirs wins, and it was sealed when written)."""
    status: str = await conn.execute(
        _REPLACE,
        before.org_id,
        *(after.get(c) for c in SEALED_COLUMNS),
        *(before.values.get(c) for c in SEALED_COLUMNS),
    )
    return status == "UPDATE 1"


async def unvalidated_constraints(conn: asyncpg.Connection) -> list[str]:
    """The sealed-form constraints still NOT VALID (rows from before they existed unchecked)."""
    rows = await conn.fetch(
        "SELECT conname FROM pg_constraint WHERE conname = ANY($1::text[]) AND NOT convalidated",
        list(SEALED_CONSTRAINTS.values()),
    )
    return sorted(row["conname"] for row in rows)


async def validate_constraint(conn: asyncpg.Connection, name: str) -> None:
    """Check every row against the constraint; from then on it holds for the whole table."""
    assert name in SEALED_CONSTRAINTS.values()  # an identifier, so it cannot be a parameter
    await conn.execute(f"ALTER TABLE organizations VALIDATE CONSTRAINT {name}")
