"""The Python step of the migrations: SQL has no key, so `booking migrate` runs this after the
`.sql` files. It seals every org secret still stored in clear (rows from before
0009_sealed_vendor_secrets.sql), re-seals those sealed under a former key with the current one
(rotation), then validates the constraints that refuse plaintext.

Idempotent and safe beside running processes: each value is replaced only if it is still the
one read (compare-and-swap), and a value already sealed under the current key is left alone.
"""

import logging
from dataclasses import dataclass

import asyncpg

from core.errors import ConfigurationError, SealedSecretUnreadable
from core.infra.secret_box import SecretBox, is_sealed, key_id_of
from core.repositories import sealed_secrets as repo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SealReport:
    """What one run did: plaintext sealed, values re-sealed under the current key, values that
    failed authentication (altered, or copied from another org: left as they are)."""

    sealed: int = 0
    resealed: int = 0
    unreadable: int = 0

    def __add__(self, other: "SealReport") -> "SealReport":
        return SealReport(
            self.sealed + other.sealed,
            self.resealed + other.resealed,
            self.unreadable + other.unreadable,
        )

    def summary(self) -> str:
        return f"sealed {self.sealed}, re-sealed {self.resealed} under the current key" + (
            f", {self.unreadable} unreadable (see the log)" if self.unreadable else ""
        )


async def seal_stored_secrets(dsn: str, box: SecretBox | None) -> SealReport:
    """Seal and re-seal the org secrets in the database at `dsn` with `box`.

    Without a box, a database that holds plaintext is a ConfigurationError telling the operator
    to set SECRETS_ENCRYPTION_KEY; one that holds none has nothing to do. A value sealed under a
    key id that is not configured is a ConfigurationError too (it could never be opened)."""
    conn = await asyncpg.connect(dsn)
    try:
        report = await _seal_all(conn, box)
        for constraint in await repo.unvalidated_constraints(conn):
            await repo.validate_constraint(conn, constraint)
        return report
    finally:
        await conn.close()


async def _seal_all(conn: asyncpg.Connection, box: SecretBox | None) -> SealReport:
    rows = await repo.stored_secrets(conn)
    if box is None:
        clear = sorted({c for row in rows for c, v in row.values.items() if not is_sealed(v)})
        if clear:
            count = sum(not is_sealed(v) for row in rows for v in row.values.values())
            raise ConfigurationError(
                f"{count} org secret(s) are stored in clear ({', '.join(clear)}): set "
                "SECRETS_ENCRYPTION_KEY and run `booking migrate` again to seal them"
            )
        return SealReport()
    configured = {box.current_key_id, *box.old_key_ids}
    missing = sorted(
        {
            key_id
            for row in rows
            for value in row.values.values()
            if (key_id := key_id_of(value)) and key_id not in configured
        }
    )
    if missing:
        raise ConfigurationError(
            f"org secrets are sealed with key(s) {', '.join(missing)}, which are not configured: "
            "add them to SECRETS_ENCRYPTION_OLD_KEYS so they can be re-sealed"
        )
    total = SealReport()
    for row in rows:
        total = total + await _reseal_row(conn, box, row)
    return total


async def _reseal_row(
    conn: asyncpg.Connection, box: SecretBox, row: repo.StoredSecrets
) -> SealReport:
    after = dict(row.values)
    sealed = resealed = unreadable = 0
    for column, stored in row.values.items():
        if not box.needs_resealing(stored):
            continue
        if not is_sealed(stored):
            after[column] = box.seal(stored, org_id=row.org_id, column=column)
            sealed += 1
            continue
        try:
            plain = box.open(stored, org_id=row.org_id, column=column)
        except SealedSecretUnreadable as error:
            log.warning("not re-sealed: %s", error.message)
            unreadable += 1
            continue
        after[column] = box.seal(plain, org_id=row.org_id, column=column)
        resealed += 1
    if after == row.values or not await repo.replace_stored(conn, before=row, after=after):
        # Nothing to write, or the row changed since it was read (then sealed by its writer).
        return SealReport(unreadable=unreadable)
    return SealReport(sealed=sealed, resealed=resealed, unreadable=unreadable)
