"""Runtime settings from the environment (never imported by workflow code)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_TOKEN_SECRET = "dev-only-insecure-token-secret-change-me"


class Settings(BaseSettings):
    """Everything kexiang reads from its environment, validated once at start."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    kexiang_env: Literal["dev", "test", "production"] = "dev"
    database_url: str | None = None
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "kexiang"
    token_secret: str = DEV_TOKEN_SECRET
    token_ttl_minutes: int = 8 * 60
    default_timezone: str = "Asia/Shanghai"
    default_calendar: str = "cn-mainland"
    default_sla_policy: str = "standard"
    temporal_rpc_timeout_seconds: float = 5.0
    data_dir: str = ".data"

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str | None) -> str | None:
        """Accept plain postgres:// URLs and pin the psycopg 3 driver."""
        if value is None:
            return None
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
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

    @model_validator(mode="after")
    def _secret_outside_dev(self) -> "Settings":
        """A default or short token secret is only acceptable in dev and test."""
        if self.kexiang_env == "production" and (
            self.token_secret == DEV_TOKEN_SECRET or len(self.token_secret) < 32
        ):
            raise ValueError("TOKEN_SECRET must be set to a random value of 32+ characters outside dev mode")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
