"""Runtime settings from the environment (never imported by workflow code)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from infra.codec import DEV_KEY, DEV_KEY_ID, parse_key_ring

DEV_TOKEN_SECRET = "dev-only-insecure-token-secret-change-me"
DEV_JOURNAL_KEY_ID = "dev"
DEV_JOURNAL_KEY = hashlib.sha256(b"kexiang dev-only journal key; never use outside dev and test").digest()
# Where the Temporal web UI runs (compose, then `make run`): browsers there call the codec endpoint.
DEFAULT_CODEC_ORIGINS = [
    "http://localhost:8080",
    "http://127.0.0.1:8080",
    "http://localhost:8233",
    "http://127.0.0.1:8233",
]


class Settings(BaseSettings):
    """Everything kexiang reads from its environment, validated once at start."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    kexiang_env: Literal["dev", "test", "production"] = "dev"
    database_url: str | None = None  # the app role (db/roles.py): API and worker
    migration_database_url: str | None = None  # the owner role: migrations and seeding; DATABASE_URL when unset
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "kexiang"
    token_secret: str = DEV_TOKEN_SECRET
    token_ttl_minutes: int = 8 * 60
    console_session_minutes: PositiveInt = 8 * 60  # the web console's sign-in cookie (api/console/session.py)
    # Sign-in throttling (core/login_throttle.py): per attempted username, then per client address.
    login_free_failures: NonNegativeInt = 5
    login_lockout_after: PositiveInt = 10
    login_lockout_minutes: PositiveInt = 30
    login_address_free_failures: NonNegativeInt = 50
    login_base_delay_seconds: PositiveFloat = 1.0
    login_max_delay_seconds: PositiveFloat = 300.0
    login_reset_minutes: PositiveInt = 15
    default_timezone: str = "Asia/Shanghai"
    default_calendar: str = "cn-mainland"
    default_sla_policy: str = "standard"
    temporal_rpc_timeout_seconds: float = 5.0
    # The API's lists (GET /api/tasks, the TMF lists) count at most this many matching rows for their total, then
    # report the cap and say so (total_capped, X-Total-Count-Capped): an exact count of a million rows on every
    # request would cost more than the page.
    list_count_cap: PositiveInt = 10_000
    temporal_ui_url: str = "http://127.0.0.1:8233"  # Temporal's web UI, linked from the auditor's desk
    worker_heartbeat_seconds: float = 2.5  # how often a worker writes its heartbeat row
    worker_stale_seconds: float = 8.0  # a worker whose newest heartbeat is older than this is dead
    # Worker tuning, per worker process (infra/worker_factory.py); the figures: bench/README.md, "Worker tuning".
    # Sticky cache: ~77 KB per workflow; 1000 (the SDK's) holds the hot tickets of one worker. A miss replays.
    worker_max_cached_workflows: NonNegativeInt = 1000
    # Workflow tasks at once: 5, not the SDK's 100. One Python process runs them on one core, so more at once
    # only makes each slower; with 100 a busy box let tasks run past Temporal's 10 s timeout and retry (intake
    # never settled), with 5 it did. Sticky + normal queue need at least 2.
    worker_max_concurrent_workflow_tasks: int = Field(default=5, ge=2)
    worker_max_concurrent_activities: PositiveInt = 100  # SDK default, not swept
    worker_max_concurrent_local_activities: PositiveInt = 100  # SDK default, not swept
    worker_workflow_task_pollers: int = Field(default=5, ge=2)  # SDK default, not swept; sticky + normal queue
    worker_activity_task_pollers: PositiveInt = 5  # SDK default, not swept
    worker_database_pool_size: PositiveInt = 10  # pooled PostgreSQL connections (plus 10 overflow), docs/sizing.md
    data_dir: str = ".data"
    public_base_url: str = "http://127.0.0.1:8000"  # where customers reach survey links
    group_dispatch_url: str | None = (
        None  # the group dispatch system; unset: the simulator the API mounts (not in production)
    )
    group_dispatch_token: str | None = None
    # The outbox's channels (core/outbox.py): SMTP for e-mail, an HTTP gateway for SMS; unset gateway: the API's
    # own simulator (not in production). MAIL_SINK_DIR is where the local SMTP server of `make run` keeps mail.
    smtp_host: str = "127.0.0.1"
    smtp_port: PositiveInt = 2525
    smtp_sender: str = "kexiang@localhost"
    mail_sink_dir: str | None = None
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    outbox_dispatcher_workflow_id: str = "outbox-dispatcher"
    # TMF688 listener callbacks to loopback/private addresses: refused unless allowed (unset: allowed in dev and
    # test, whose receivers listen on 127.0.0.1; refused in production).
    hub_allow_private_callbacks: bool | None = None
    payload_encryption_keys: str | None = None  # "kid:base64key,kid2:base64key"; the first one encrypts
    journal_keys: str | None = None  # audit-chain HMAC keys, same form; the first one seals new rows
    journal_anchor_workflow_id: str = "journal-anchor"
    journal_anchor_minutes: PositiveInt = 10
    codec_cors_origins: Annotated[list[str], NoDecode] = DEFAULT_CODEC_ORIGINS
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)  # every request body; larger ones answer 413
    max_upload_bytes: int = Field(default=32 * 1024 * 1024, gt=0)  # documents and histories (api/edge.py)

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _psycopg_driver(cls, value: str | None) -> str | None:
        """Accept plain postgres:// URLs and pin the psycopg 3 driver."""
        if value is None:
            return None
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """Refuse a time zone the IANA database does not know."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"DEFAULT_TIMEZONE {value!r} is not an IANA time zone") from exc
        return value

    @field_validator("payload_encryption_keys", "journal_keys")
    @classmethod
    def _valid_key_ring(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Refuse a malformed key ring at start rather than at the first payload or journal row."""
        if value is not None:
            try:
                parse_key_ring(value)
            except ValueError as exc:
                raise ValueError(f"{(info.field_name or '').upper()}: {exc}") from None
        return value

    @field_validator("codec_cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """CODEC_CORS_ORIGINS is a comma-separated list of origins."""
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def payload_key_ring(self) -> dict[str, bytes]:
        """Key id -> AES key; the first encrypts. The well-known dev key when unset (dev and test only)."""
        if self.payload_encryption_keys is None:
            return {DEV_KEY_ID: DEV_KEY}
        return parse_key_ring(self.payload_encryption_keys)

    @property
    def journal_key_ring(self) -> dict[str, bytes]:
        """Key id -> HMAC key of the audit chain; the first seals new rows. The public dev key when unset."""
        if self.journal_keys is None:
            return {DEV_JOURNAL_KEY_ID: DEV_JOURNAL_KEY}
        return parse_key_ring(self.journal_keys)

    @property
    def owner_database_url(self) -> str | None:
        """Where migrations and seeding connect: the owner role's URL, else DATABASE_URL."""
        return self.migration_database_url or self.database_url

    @property
    def dispatch_url(self) -> str:
        """Where completion reports go: the configured system, else the API's own simulator."""
        return self.group_dispatch_url or f"{self.public_base_url.rstrip('/')}/sim/group-dispatch"

    @property
    def private_callbacks_allowed(self) -> bool:
        """Whether listener callbacks may point at loopback or private addresses."""
        if self.hub_allow_private_callbacks is not None:
            return self.hub_allow_private_callbacks
        return self.kexiang_env != "production"

    @property
    def sms_url(self) -> str:
        """Where text messages go: the configured gateway, else the API's own simulator."""
        return self.sms_gateway_url or f"{self.public_base_url.rstrip('/')}/sim/sms/messages"

    @model_validator(mode="after")
    def _secret_outside_dev(self) -> Settings:
        """A default or short token secret is only acceptable in dev and test."""
        if self.kexiang_env == "production" and (self.token_secret == DEV_TOKEN_SECRET or len(self.token_secret) < 32):
            raise ValueError("TOKEN_SECRET must be set to a random value of 32+ characters outside dev mode")
        return self

    @model_validator(mode="after")
    def _payload_keys_outside_dev(self) -> Settings:
        """Production needs its own payload keys: the dev key is public."""
        if self.kexiang_env == "production" and (
            self.payload_encryption_keys is None or DEV_KEY in self.payload_key_ring.values()
        ):
            raise ValueError("PAYLOAD_ENCRYPTION_KEYS must be set to your own key(s) outside dev mode")
        return self

    @model_validator(mode="after")
    def _journal_keys_outside_dev(self) -> Settings:
        """Production seals the journal with its own keys: the dev key is public."""
        if self.kexiang_env == "production" and (
            self.journal_keys is None or DEV_JOURNAL_KEY in self.journal_key_ring.values()
        ):
            raise ValueError("JOURNAL_KEYS must be set to your own key(s) outside dev mode")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
