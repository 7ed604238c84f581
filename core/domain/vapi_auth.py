"""How an org's Vapi assistant proves that a call is its own, as Vapi's webhook credentials offer
it (vapi-server-sdk `BearerAuthenticationPlan`, `HmacAuthenticationPlan`): the settings in the org
spec and the pure HMAC check. No I/O: the route reads headers and body and passes them in.

The voice secret (Bearer or the legacy `X-Vapi-Secret`) is a bearer token, stored only as a hash.
HMAC needs the secret itself on every request, so an org that wants HMAC sets its own signing
secret (the same value it pastes into the Vapi credential's `secretKey`); like the Retell API key,
it is stored sealed (core/infra/secret_box.py) in a column no response reads.
"""

import base64
import hmac
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

Algorithm = Literal["sha256", "sha512", "sha1"]
Encoding = Literal["hex", "base64"]

# Placeholders Vapi documents for `payloadFormat` that we can rebuild exactly. `{url}` is left
# out on purpose: behind a proxy the URL we see is not the one Vapi signed.
PLACEHOLDERS = ("{timestamp}", "{body}", "{method}")
# Unix seconds reach 10**11 only in the year 5138: anything larger is milliseconds.
_MILLISECONDS_FROM = 10**11


def _header_name(value: str) -> str:
    # HTTP header names are case-insensitive tokens; stored lower-case, as Starlette reads them.
    name = value.strip().lower()
    if not 1 <= len(name) <= 64 or not all(c.isascii() and (c.isalnum() or c == "-") for c in name):
        raise ValueError("must be a header name of 1-64 letters, digits and dashes")
    return name


def _signing_secret(value: SecretStr) -> SecretStr:
    secret = value.get_secret_value()
    if not 16 <= len(secret) <= 512 or any(c.isspace() or not c.isprintable() for c in secret):
        raise ValueError("must be a single token of 16-512 printable characters")
    return value


HeaderName = Annotated[str, AfterValidator(_header_name)]
SigningSecret = Annotated[SecretStr, AfterValidator(_signing_secret)]


class _Settings(BaseModel):
    # A typo must be an error; errors never echo input (it may hold the signing secret).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)


class HmacSettings(_Settings):
    """Vapi's HMAC credential: every request signed over the payload, with a fresh timestamp."""

    secret: SigningSecret = Field(
        description="The Vapi credential's secretKey. Stored, never returned."
    )
    signature_header: HeaderName = "x-signature"
    timestamp_header: HeaderName = "x-timestamp"
    payload_format: str = Field(
        default="{timestamp}.{body}",
        description="What is signed: `{timestamp}`, `{body}` (raw) and optionally `{method}`.",
    )
    algorithm: Algorithm = "sha256"
    encoding: Encoding = "hex"
    signature_prefix: str = Field(
        default="", max_length=32, description="Put before the digest, e.g. `sha256=`."
    )
    max_age_seconds: int = Field(
        default=300,
        ge=5,
        le=3600,
        description="How far the timestamp may be from now, either way, before refusing the call.",
    )

    @field_validator("payload_format")
    @classmethod
    def _signs_body_and_time(cls, value: str) -> str:
        # Without the timestamp in what is signed, an old request could be replayed with a new
        # timestamp header; without the body, any body would pass.
        if "{timestamp}" not in value or "{body}" not in value:
            raise ValueError("must contain {timestamp} and {body}")
        rest = value
        for placeholder in PLACEHOLDERS:
            rest = rest.replace(placeholder, "")
        if "{" in rest or "}" in rest or len(value) > 200:
            raise ValueError("may use only {timestamp}, {body} and {method}")
        return value

    @field_validator("signature_prefix")
    @classmethod
    def _printable_prefix(cls, value: str) -> str:
        if any(c.isspace() or not c.isprintable() for c in value):
            raise ValueError("must be printable, without spaces")
        return value


class VapiAuthSettings(_Settings):
    """How /voice/vapi/{org} checks a call. Without `hmac`, the org's voice secret is accepted
    in `bearer_header` (`Bearer <secret>`, or bare with `bearer_prefix` false) or in the legacy
    `X-Vapi-Secret`; with `hmac`, only calls signed with it are."""

    bearer_header: HeaderName = Field(
        default="authorization", description="Header the Vapi Bearer credential sends."
    )
    bearer_prefix: bool = Field(default=True, description="The value starts with `Bearer `.")
    hmac: HmacSettings | None = None

    def public(self) -> dict[str, object]:
        """The settings as stored in the clear and shown back: everything but the secret."""
        return self.model_dump(exclude={"hmac": {"secret"}})


def presented_secret(settings: VapiAuthSettings, headers: Mapping[str, str]) -> str | None:
    """The voice secret a Bearer-style credential carries, if any (configured header first)."""
    value = headers.get(settings.bearer_header, "").strip()
    if value and settings.bearer_prefix:
        scheme, _, token = value.partition(" ")
        value = token.strip() if scheme.lower() == "bearer" else ""
    return value or headers.get("x-vapi-secret", "").strip() or None


def sign(plan: HmacSettings, *, body: bytes, timestamp: str, method: str = "POST") -> str:
    """The signature header value Vapi sends for this body and timestamp."""
    payload = (
        plan.payload_format.encode()
        .replace(b"{timestamp}", timestamp.encode())
        .replace(b"{method}", method.upper().encode())
        # Last, so text inside the body is never taken for a placeholder.
        .replace(b"{body}", body)
    )
    digest = hmac.new(plan.secret.get_secret_value().encode(), payload, plan.algorithm).digest()
    encoded = digest.hex() if plan.encoding == "hex" else base64.b64encode(digest).decode()
    return plan.signature_prefix + encoded


def signature_problem(
    plan: HmacSettings, *, body: bytes, headers: Mapping[str, str], method: str, now: float
) -> str | None:
    """None when the request is signed with the org's secret within the window; otherwise a
    short reason (safe to send back: it names no secret and no expected value)."""
    signature = headers.get(plan.signature_header, "").strip()
    stamp = headers.get(plan.timestamp_header, "").strip()
    if not signature or not stamp:
        return f"missing {plan.signature_header} or {plan.timestamp_header} header"
    seconds = timestamp_seconds(stamp)
    if seconds is None:
        return f"{plan.timestamp_header} is not a Unix timestamp"
    if abs(now - seconds) > plan.max_age_seconds:
        return f"{plan.timestamp_header} is outside the allowed {plan.max_age_seconds} seconds"
    expected = sign(plan, body=body, timestamp=stamp, method=method)
    # Bytes: compare_digest refuses non-ASCII str, and a header may hold anything.
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return "the signature does not match"
    return None


def timestamp_seconds(stamp: str) -> float | None:
    """Unix time in seconds from a header in seconds or milliseconds (Vapi does not document
    which it sends, so both are read); None when it is not a plain integer."""
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 16:
        return None
    value = int(stamp)
    return value / 1000 if value >= _MILLISECONDS_FROM else float(value)
