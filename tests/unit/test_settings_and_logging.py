"""Settings validation and the log filter that keeps customer contact details out of logs."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from infra.codec import new_key_entry
from infra.logging import ContactMaskingFilter, mask_contact
from infra.settings import DEV_TOKEN_SECRET, Settings


def test_default_secret_refused_outside_dev():
    with pytest.raises(ValidationError, match="TOKEN_SECRET"):
        Settings(kexiang_env="production", token_secret=DEV_TOKEN_SECRET)
    with pytest.raises(ValidationError, match="TOKEN_SECRET"):
        Settings(kexiang_env="production", token_secret="short")
    production = Settings(
        kexiang_env="production",
        token_secret="x" * 40,
        payload_encryption_keys=new_key_entry("k1"),
        journal_keys=new_key_entry("j1"),
    )
    assert production.token_secret == "x" * 40
    assert Settings(kexiang_env="dev").token_secret == DEV_TOKEN_SECRET


def test_database_url_gets_the_psycopg_driver():
    assert Settings(database_url="postgres://u:p@h/db").database_url == "postgresql+psycopg://u:p@h/db"
    assert Settings(database_url="postgresql://u@h/db").database_url == "postgresql+psycopg://u@h/db"


def test_unknown_timezone_refused():
    with pytest.raises(ValidationError, match="DEFAULT_TIMEZONE"):
        Settings(default_timezone="Mars/Olympus")


def test_env_variables_are_read(monkeypatch):
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "kx")
    settings = Settings()
    assert (settings.temporal_address, settings.temporal_namespace, settings.default_timezone) == (
        "temporal:7233",
        "kx",
        "Asia/Shanghai",
    )


def test_contact_details_are_masked():
    assert mask_contact("call 13812345678 now") == "call 138****5678 now"
    assert mask_contact("mail zhang.san@example.com") == "mail z***@example.com"
    assert mask_contact("ticket CS202405200001") == "ticket CS202405200001"  # ticket numbers are not phones


def test_log_records_are_masked(caplog):
    logger = logging.getLogger("kexiang.test.masking")
    logger.addFilter(ContactMaskingFilter())
    with caplog.at_level(logging.INFO, logger="kexiang.test.masking"):
        logger.info("customer %s rang from %s", "Li", "13912345678")
    assert "139****5678" in caplog.text and "13912345678" not in caplog.text
