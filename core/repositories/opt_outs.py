"""SQL for SMS opt-outs: who must not be texted from which sender number.

Keyed by (sender number, recipient phone), not by org. Twilio enforces STOP per sender number:
once +1 555 0100 is told STOP, Twilio refuses (21610) every later message from +1 555 0100 to
that person, whichever org sends it. Keying by sender records exactly that fact once, so orgs
sharing a number agree by construction, an org added to the number later inherits the block,
and the inbound webhook needs no org lookup (it knows only `To`, the sender). A per-org table
would need one row per org sharing the number and would drift when an org changes its sender.
Conversely an org that moves to a new number may text the person again, as Twilio would let it.

No tenant reads another's data here: the rows hold no org data, only what Twilio itself blocks.
"""

from core.repositories import Executor

# Written as `source` when Twilio, not the recipient's own text, told us about the opt-out.
TWILIO_REFUSAL_SOURCE = "twilio:21610"


async def record(conn: Executor, *, sender: str, phone: str, source: str) -> None:
    """`phone` opted out of texts from `sender`; recording it again keeps the first record."""
    await conn.execute(
        """
        INSERT INTO sms_opt_outs (sender, phone, source) VALUES ($1, $2, $3)
        ON CONFLICT (sender, phone) DO NOTHING
        """,
        sender,
        phone,
        source,
    )


async def remove(conn: Executor, *, sender: str, phone: str) -> bool:
    """`phone` opted back in (START); True if an opt-out was removed."""
    removed: str | None = await conn.fetchval(
        "DELETE FROM sms_opt_outs WHERE sender = $1 AND phone = $2 RETURNING phone",
        sender,
        phone,
    )
    return removed is not None


async def is_opted_out(conn: Executor, *, sender: str, phone: str) -> bool:
    """Whether `phone` asked not to be texted from `sender`."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM sms_opt_outs WHERE sender = $1 AND phone = $2)",
        sender,
        phone,
    )
    return found
