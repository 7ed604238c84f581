"""Build the vendor clients from `Settings`; the one place credentials are turned into clients.

Base URLs come from settings (the embedded stack and tests point them at the sandboxes); unset
means the vendor's real endpoint.
"""

import json
from typing import Any

from pydantic import SecretStr

from core.errors import ConfigurationError
from core.infra.config import Settings
from core.vendors.google_calendar import GoogleCalendarClient
from core.vendors.sms import TwilioSmsSender


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def build_sms_sender(settings: Settings) -> TwilioSmsSender:
    """A Twilio sender for the configured account.

    Raises ConfigurationError unless both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set
    (the embedded stack sets them to the sandbox's generated credentials).
    """
    account_sid = settings.twilio_account_sid
    auth_token = _secret(settings.twilio_auth_token)
    if not account_sid or not auth_token:
        raise ConfigurationError(
            "Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
            "(or leave both unset and run the embedded stack, which uses the sandbox)."
        )
    return TwilioSmsSender(
        account_sid=account_sid, auth_token=auth_token, base_url=settings.twilio_base_url
    )


def load_service_account_info(settings: Settings) -> dict[str, Any]:
    """The service-account JSON from GOOGLE_SERVICE_ACCOUNT_JSON, else from the file it names.

    Raises ConfigurationError when neither is set or the JSON is unusable.
    """
    raw = _secret(settings.google_service_account_json)
    source = "GOOGLE_SERVICE_ACCOUNT_JSON"
    if not raw and settings.google_service_account_file is not None:
        source = f"GOOGLE_SERVICE_ACCOUNT_FILE ({settings.google_service_account_file})"
        try:
            raw = settings.google_service_account_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"Cannot read {source}: {exc.strerror}") from exc
    if not raw:
        raise ConfigurationError(
            "Google Calendar is not configured: set GOOGLE_SERVICE_ACCOUNT_JSON or "
            "GOOGLE_SERVICE_ACCOUNT_FILE (or leave both unset and run the embedded stack)."
        )
    try:
        info = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{source} is not valid JSON") from exc
    if not isinstance(info, dict):
        raise ConfigurationError(f"{source} is not a service-account key (not a JSON object)")
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise ConfigurationError(f"{source} is not a service-account key: missing {missing}")
    return info


def build_calendar_client(settings: Settings) -> GoogleCalendarClient:
    """A Google Calendar client for the configured service account (and delegated user)."""
    try:
        return GoogleCalendarClient(
            service_account_info=load_service_account_info(settings),
            delegated_user=settings.google_delegated_user,
            base_url=settings.google_calendar_base_url,
        )
    except ValueError as exc:  # google-auth rejects a malformed private key this way
        raise ConfigurationError(f"Google service account key is unusable: {exc}") from exc
