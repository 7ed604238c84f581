"""SQL for contacts: one atomic upsert per identification path, so concurrent callers never race."""

from uuid import UUID

from core.repositories import Executor


async def upsert_by_phone(
    conn: Executor,
    *,
    org_id: UUID,
    phone: str,
    email: str | None,
    name: str | None,
) -> UUID:
    """The org's contact with this E.164 phone, created if new; fills email and name when given."""
    contact_id: UUID = await conn.fetchval(
        """
        INSERT INTO contacts (org_id, phone, email, name) VALUES ($1, $2, $3, $4)
        ON CONFLICT (org_id, phone) DO UPDATE
            SET email = COALESCE(EXCLUDED.email, contacts.email),
                name = COALESCE(EXCLUDED.name, contacts.name),
                updated_at = now()
        RETURNING id
        """,
        org_id,
        phone,
        email,
        name,
    )
    return contact_id


async def upsert_by_email(conn: Executor, *, org_id: UUID, email: str, name: str | None) -> UUID:
    """The org's phone-less contact with this lower-cased email, created if new."""
    contact_id: UUID = await conn.fetchval(
        """
        INSERT INTO contacts (org_id, email, name) VALUES ($1, $2, $3)
        ON CONFLICT (org_id, email) WHERE phone IS NULL DO UPDATE
            SET name = COALESCE(EXCLUDED.name, contacts.name), updated_at = now()
        RETURNING id
        """,
        org_id,
        email,
        name,
    )
    return contact_id
