"""Sealing org secrets: round trip, binding to org and column, key rotation, settings errors."""

import base64
import uuid

import pytest
from pydantic import SecretStr

from core.errors import ConfigurationError, SealedSecretUnreadable
from core.infra.config import Settings
from core.infra.keys import generate_key
from core.infra.secret_box import (
    SecretBox,
    is_sealed,
    key_id_of,
    require_secret_box,
    secret_box,
)

PLAIN = "key_retell_0123456789abcdef"
ORG = uuid.uuid4()
COLUMN = "retell_api_key"


def box(current: str, *old: str) -> SecretBox:
    configured = secret_box(settings(current, ",".join(old) or None))
    assert configured is not None
    return configured


def settings(current: str | None = None, old: str | None = None) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        secrets_encryption_key=SecretStr(current) if current else None,
        secrets_encryption_old_keys=SecretStr(old) if old else None,
    )


def test_a_sealed_value_opens_for_its_org_and_column_only() -> None:
    sealing = box(generate_key("s1"))
    stored = sealing.seal(PLAIN, org_id=ORG, column=COLUMN)
    assert sealing.open(stored, org_id=ORG, column=COLUMN) == PLAIN
    with pytest.raises(SealedSecretUnreadable, match="failed authentication"):
        sealing.open(stored, org_id=uuid.uuid4(), column=COLUMN)
    with pytest.raises(SealedSecretUnreadable, match="failed authentication"):
        sealing.open(stored, org_id=ORG, column="vapi_hmac_secret")


def test_the_stored_form_names_its_key_and_holds_no_form_of_the_value() -> None:
    stored = box(generate_key("s1")).seal(PLAIN, org_id=ORG, column=COLUMN)
    assert stored.startswith("v1:s1:") and is_sealed(stored) and key_id_of(stored) == "s1"
    for form in (PLAIN, base64.b64encode(PLAIN.encode()).decode(), PLAIN.encode().hex()):
        assert form not in stored
    # A fresh nonce each time: equal secrets are not recognisable as equal.
    assert stored != box(generate_key("s1")).seal(PLAIN, org_id=ORG, column=COLUMN)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.replace("v1:s1:", "v1:s2:"),  # relabelled with another configured key
        lambda s: s[:-4] + ("AAAA" if not s.endswith("AAAA") else "BBBB"),  # altered
        lambda s: s[:12],  # truncated
        lambda s: s + "!",  # not base64
    ],
    ids=["relabelled", "altered", "truncated", "garbled"],
)
def test_a_changed_value_does_not_open(change: object) -> None:
    s1, s2 = generate_key("s1"), generate_key("s2")
    stored = box(s1, s2).seal(PLAIN, org_id=ORG, column=COLUMN)
    with pytest.raises(SealedSecretUnreadable) as refused:
        box(s1, s2).open(change(stored), org_id=ORG, column=COLUMN)  # type: ignore[operator]
    assert PLAIN not in refused.value.message


def test_plaintext_is_not_taken_for_a_sealed_value() -> None:
    with pytest.raises(SealedSecretUnreadable, match="is not sealed"):
        box(generate_key("s1")).open(PLAIN, org_id=ORG, column=COLUMN)
    assert key_id_of(PLAIN) is None and not is_sealed(PLAIN)


def test_an_old_key_opens_what_it_sealed_and_asks_for_resealing() -> None:
    old, new = generate_key("old-may"), generate_key("new-nov")
    stored = box(old).seal(PLAIN, org_id=ORG, column=COLUMN)
    rotated = box(new, old)
    assert rotated.open(stored, org_id=ORG, column=COLUMN) == PLAIN
    assert rotated.needs_resealing(stored) and rotated.needs_resealing(PLAIN)
    resealed = rotated.seal(PLAIN, org_id=ORG, column=COLUMN)
    assert key_id_of(resealed) == "new-nov" and not rotated.needs_resealing(resealed)
    with pytest.raises(SealedSecretUnreadable, match="'old-may', which is not configured"):
        box(new).open(stored, org_id=ORG, column=COLUMN)


def test_settings_without_a_key_give_no_box_and_a_clear_error_where_one_is_needed() -> None:
    assert secret_box(settings()) is None
    with pytest.raises(ConfigurationError, match="SECRETS_ENCRYPTION_KEY is not set; it is needed"):
        require_secret_box(settings(), "by the API")


@pytest.mark.parametrize(
    ("current", "old", "message"),
    [
        (None, "OLD", "SECRETS_ENCRYPTION_OLD_KEYS is set without SECRETS_ENCRYPTION_KEY"),
        ("s1", None, "SECRETS_ENCRYPTION_KEY must look like `key-id:base64-of-32-bytes`"),
        ("s1:bm90IDMyIGJ5dGVz", None, "SECRETS_ENCRYPTION_KEY: the key must be 32 bytes"),
        ("s1:***", None, "SECRETS_ENCRYPTION_KEY: the key after `s1:` is not base64"),
        ("NEW", "s1:bm90", "SECRETS_ENCRYPTION_OLD_KEYS: the key must be 32 bytes"),
        ("NEW", "NEW", "must have distinct ids"),
    ],
)
def test_bad_key_settings_are_configuration_errors(
    current: str | None, old: str | None, message: str
) -> None:
    new = generate_key("s9")
    resolve = {"NEW": new, "OLD": generate_key("s0")}
    with pytest.raises(ConfigurationError, match=message):
        secret_box(settings(resolve.get(current or "", current), resolve.get(old or "", old)))
