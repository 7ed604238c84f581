"""The AES-GCM payload codec: round trips, key rotation, tampering and key parsing."""

import base64

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload

from core.errors import ConfigurationError
from core.infra.config import Settings
from core.temporal.codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    generate_key,
    parse_key,
    payload_codec,
)

CLEAR = Payload(metadata={"encoding": b"json/plain"}, data=b'{"phone": "+12125550123"}')


def codec(current: str, *old: str) -> EncryptionCodec:
    return EncryptionCodec(parse_key(current, "K"), [parse_key(o, "K") for o in old])


async def test_round_trip_hides_the_data_and_names_the_key() -> None:
    key = generate_key("k1")
    [sealed] = await codec(key).encode([CLEAR])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"k1"
    assert b"2125550123" not in sealed.SerializeToString()
    assert await codec(key).decode([sealed]) == [CLEAR]


async def test_each_encryption_uses_a_fresh_nonce() -> None:
    key = codec(generate_key("k1"))
    first, second = await key.encode([CLEAR, CLEAR])
    assert first.data != second.data


async def test_after_rotation_old_histories_stay_readable_and_new_ones_use_the_new_key() -> None:
    old_key, new_key = generate_key("2026-05"), generate_key("2026-11")
    [written_before] = await codec(old_key).encode([CLEAR])
    rotated = codec(new_key, old_key)
    assert await rotated.decode([written_before]) == [CLEAR]
    [written_after] = await rotated.encode([CLEAR])
    assert written_after.metadata[KEY_ID_METADATA] == b"2026-11"


async def test_a_dropped_old_key_fails_loudly_naming_the_setting() -> None:
    [sealed] = await codec(generate_key("gone")).encode([CLEAR])
    with pytest.raises(ValueError, match="PAYLOAD_ENCRYPTION_OLD_KEYS"):
        await codec(generate_key("k2")).decode([sealed])


async def test_tampered_data_or_relabelled_key_id_fails_authentication() -> None:
    both = codec(generate_key("k1"), generate_key("k2"))
    [sealed] = await both.encode([CLEAR])  # under k1, the current key
    flipped = Payload(
        metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID_METADATA: b"k2"}, data=sealed.data)
    for bad in (flipped, relabelled):
        with pytest.raises(ValueError, match="failed authentication"):
            await both.decode([bad])


async def test_payloads_written_before_encryption_pass_through() -> None:
    assert await codec(generate_key("k1")).decode([CLEAR]) == [CLEAR]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("no-separator", "key-id:base64"),
        (":" + base64.b64encode(bytes(32)).decode(), "key-id:base64"),
        ("k1:not base64!", "not base64"),
        ("k1:" + base64.b64encode(bytes(16)).decode(), "32 bytes"),
        ("k 1:" + base64.b64encode(bytes(32)).decode(), "letters, digits"),
    ],
)
def test_malformed_keys_are_refused_with_the_reason(text: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        parse_key(text, "PAYLOAD_ENCRYPTION_KEY")


def test_the_secret_never_shows_in_repr() -> None:
    key = parse_key("k1:" + base64.b64encode(b"s" * 32).decode(), "K")
    assert "c3Nz" not in repr(key) and "sss" not in repr(key)


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **{k: SecretStr(v) for k, v in values.items()})  # type: ignore[call-arg,arg-type]


def test_settings_without_a_key_mean_no_encryption() -> None:
    assert payload_codec(settings()) is None


def test_old_keys_without_a_current_key_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="without PAYLOAD_ENCRYPTION_KEY"):
        payload_codec(settings(payload_encryption_old_keys=generate_key("k0")))


def test_duplicate_key_ids_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="distinct ids"):
        payload_codec(
            settings(
                payload_encryption_key=generate_key("k1"),
                payload_encryption_old_keys=f"{generate_key('k0')}, {generate_key('k1')}",
            )
        )


async def test_settings_with_old_keys_decode_what_each_wrote() -> None:
    k0, k1 = generate_key("k0"), generate_key("k1")
    [by_k0] = await codec(k0).encode([CLEAR])
    configured = payload_codec(
        settings(
            payload_encryption_key=generate_key("k2"), payload_encryption_old_keys=f"{k0},{k1}"
        )
    )
    assert configured is not None
    assert await configured.decode([by_k0]) == [CLEAR]
