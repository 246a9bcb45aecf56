"""Settings validation and the log filter that keeps customer contact details out of logs."""

from __future__ import annotations

import logging
import logging.config

import pytest
from pydantic import ValidationError

from infra.codec import new_key_entry
from infra.logging import ContactMaskingFilter, configure_logging, redact, redact_target
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


def test_contact_details_and_link_secrets_are_redacted():
    assert redact("call 13812345678 now") == "call 138****5678 now"
    assert redact("mail zhang.san@example.com") == "mail z***@example.com"
    assert redact("ticket CS202405200001") == "ticket CS202405200001"  # ticket numbers are not phones
    assert redact('"POST /api/survey/AbC-12_xyzAbC-12_xyzAbC-12 HTTP/1.1" 200') == '"POST /api/survey/*** HTTP/1.1" 200'
    assert redact("GET /api/survey/tok3n?x=1") == "GET /api/survey/***?x=1"
    searched = "/api/knowledge?customer=%E5%8D%8E%E4%BF%A1&limit=5"
    assert redact_target(searched) == "/api/knowledge?customer=***&limit=***"
    assert redact_target("/api/survey/abc") == "/api/survey/***"


def test_uvicorn_access_lines_are_redacted(capsys):
    """uvicorn's own logging config, then the app's: the access line keeps its format, the secret does not."""
    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)
    configure_logging()
    try:
        access = logging.getLogger("uvicorn.access")
        secret = "q7V2m9XkLw3pR8sT1uY4zA6bC0dE5fG2hJ8kL1mN3pQ"
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", f"/api/survey/{secret}", "1.1", 200)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/knowledge?text=13912345678", "1.1", 200)
        logging.getLogger("uvicorn.error").info("client %s rang", "13912345678")
        out = capsys.readouterr()
        logged = out.out + out.err
        assert '127.0.0.1:5000 - "POST /api/survey/*** HTTP/1.1" 200' in logged
        assert '"GET /api/knowledge?text=*** HTTP/1.1" 200' in logged
        assert "client 139****5678 rang" in logged
        assert secret not in logged and "13912345678" not in logged
    finally:
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).handlers.clear()
        logging.getLogger().handlers.clear()


def test_log_records_are_masked(caplog):
    logger = logging.getLogger("kexiang.test.masking")
    logger.addFilter(ContactMaskingFilter())
    with caplog.at_level(logging.INFO, logger="kexiang.test.masking"):
        logger.info("customer %s rang from %s", "Li", "13912345678")
    assert "139****5678" in caplog.text and "13912345678" not in caplog.text
