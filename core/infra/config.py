"""The one place configuration is read from: environment variables and `.env`.

Every external address and credential is a field, so the embedded stack and the tests can
redirect the real SDKs to loopback servers. A field left unset selects the embedded default
(`DATABASE_URL` → embedded Postgres, `TEMPORAL_ADDRESS` → embedded Temporal dev server,
no Twilio / Google credentials → the loopback sandboxes).
"""

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Typed configuration; environment variable names are the upper-cased field names."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Infrastructure. Unset means "start the embedded one".
    database_url: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_task_queue: str = "bookings"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    # mTLS client certificate (Temporal Cloud without an API key, or a self-hosted cluster).
    temporal_tls_client_cert_path: Path | None = None
    temporal_tls_client_key_path: Path | None = None
    data_dir: Path = Path(".data")

    # Embedded Temporal dev server ports (used only when TEMPORAL_ADDRESS is unset).
    embedded_temporal_port: int = 7233
    embedded_temporal_ui_port: int = 8233

    # HTTP API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str | None = None
    admin_token: SecretStr | None = None
    # A voice agent gives up after 20 s (Vapi's default); answer before that, even if only with
    # "try again" (a retry with the same tool-call id joins the same booking).
    booking_answer_timeout: timedelta = timedelta(seconds=15)
    db_pool_min_size: int = 2
    db_pool_max_size: int = 20

    # Twilio. No account SID means "use the loopback sandbox".
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_base_url: str | None = None

    # Google Calendar. No service account means "use the loopback sandbox".
    google_service_account_file: Path | None = None
    google_service_account_json: SecretStr | None = None
    google_delegated_user: str | None = None
    google_calendar_base_url: str | None = None
    # Busy times of each provider's calendar are synced into Postgres (never fetched while a
    # caller waits): on every push notification, and at least this often in case Google
    # dropped one.
    calendar_reconcile_interval: timedelta = timedelta(minutes=10)
    # Google notifies on every change, our own event inserts included: the notifications for
    # one calendar within this window wake its sync once.
    calendar_notification_coalesce: timedelta = timedelta(seconds=1)
    # Push channels live this long (Google's maximum for events is about a month); a new one
    # is opened this long before the old one expires.
    calendar_channel_ttl: timedelta = timedelta(days=7)
    calendar_channel_renew_before: timedelta = timedelta(hours=12)
    # The side-effect worker starts the sync of every provider calendar that has none, at start
    # and every reconcile interval. Off only where something else starts them (tests).
    calendar_sync_autostart: bool = True

    # Timers, as settings so tests (which cannot skip time) can shorten them. These and the
    # calendar sync's intervals above are the only defaults: workflows.client builds the
    # workflows' WorkflowTimings / CalendarSyncTimings from them.
    reminder_lead_time: timedelta = timedelta(hours=24)
    completion_grace: timedelta = timedelta(hours=2)
    # Calendar step still failing this long before the appointment → compensate. Zero means
    # "keep retrying until the appointment starts".
    calendar_deadline_before_start: timedelta = timedelta(0)

    # Backoff of retried side effects (calendar, SMS, confirmation, compensation).
    activity_retry_initial_interval: timedelta = timedelta(seconds=1)
    activity_retry_maximum_interval: timedelta = timedelta(minutes=1)

    # Workflow payloads (names, phone numbers) are AES-GCM encrypted before they reach Temporal
    # when a key is set: `key-id:base64-32-bytes`. Keys that encrypted older histories stay
    # readable through PAYLOAD_ENCRYPTION_OLD_KEYS (comma-separated, same form).
    payload_encryption_key: SecretStr | None = None
    payload_encryption_old_keys: SecretStr | None = None
    # Vendor secrets stored per org (Retell API keys, Vapi HMAC secrets) are sealed with AES-GCM
    # under this key (`key-id:base64-32-bytes`, core/infra/secret_box.py); keys that sealed older
    # values stay readable through SECRETS_ENCRYPTION_OLD_KEYS until `booking migrate` re-seals
    # them. No default: the API refuses to start without it, `booking dev` keeps one in DATA_DIR.
    secrets_encryption_key: SecretStr | None = None
    secrets_encryption_old_keys: SecretStr | None = None
    # Bearer token for the codec server (/codec/decode) that lets the Temporal UI show payloads.
    codec_token: SecretStr | None = None

    # Observability. Without METRICS_TOKEN, /metrics is open (keep it off the public ingress).
    metrics_token: SecretStr | None = None
    worker_metrics_address: str | None = None  # e.g. 0.0.0.0:9464 → Prometheus exporter
    log_level: str = Field(default="INFO")
    log_format: Literal["json", "text"] = "json"

    # How many calendar, SMS and compensation activities one worker runs at once. They wait on
    # the server beyond this, so a burst of phase 2 work leaves the CPU to callers' answers.
    worker_side_effect_slots: int = Field(default=20, ge=1, le=1000)

    # How long a stopping API or worker lets in-flight requests and activities finish.
    shutdown_grace: timedelta = timedelta(seconds=30)

    @field_validator("*", mode="before")
    @classmethod
    def _seconds_as_duration(cls, value: object, info: ValidationInfo) -> object:
        """Durations accept plain seconds (`SHUTDOWN_GRACE=30`) as well as ISO 8601 (`PT30S`)."""
        field = cls.model_fields.get(info.field_name or "")
        if field is None or field.annotation is not timedelta or not isinstance(value, str):
            return value
        try:
            return float(value)
        except ValueError:
            return value

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def resolved_public_base_url(self) -> str:
        """Where Twilio reaches us; the API's own address unless configured."""
        return self.public_base_url or f"http://{self.api_host}:{self.api_port}"
