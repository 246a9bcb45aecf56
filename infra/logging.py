"""Process logging: one format, and filters that keep customer contact details and link secrets out of every log."""

from __future__ import annotations

import logging
import re

from core.contacts import mask_contacts

# Capability links carry their secret in the path: /api/survey/<token> (and the console's page /survey/<token>)
# is logged as /api/survey/***.
_PATH_SECRET = re.compile(r"(/(?:api/)?survey/)[^/?#\s\"']+")
# uvicorn's own handlers (it configures them before the app starts); their records skip the root handler.
_TRACEBACKS = logging.Formatter()
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def redact(text: str) -> str:
    """Log text with link secrets replaced by *** and phone numbers and e-mail addresses masked."""
    return mask_contacts(_PATH_SECRET.sub(r"\1***", text))


def redact_target(target: str) -> str:
    """A request path for the access log: link secrets and every query value (names, numbers, text) as ***."""
    path, question, query = target.partition("?")
    if question:
        query = "&".join(f"{pair.partition('=')[0]}=***" for pair in query.split("&"))
    return redact(path) + question + query


class ContactMaskingFilter(logging.Filter):
    """Rewrites every record so customer contact details and link secrets never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redacted; uvicorn's access records keep their argument tuple, each redacted."""
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            # uvicorn's AccessFormatter unpacks (client, method, path with query, http version, status).
            client, method, target, version, code = record.args
            record.args = (client, method, redact_target(str(target)), version, code)
            return True
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:  # a traceback quotes exception messages: redact those too
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        return True


def _ensure_filter(handler: logging.Handler) -> None:
    if not any(isinstance(f, ContactMaskingFilter) for f in handler.filters):
        handler.addFilter(ContactMaskingFilter())


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """The log format with every finished line redacted, leaving the record as it was: for a handler added beside
    others (the test run's log file) that must not change what the others see."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted line (traceback included), redacted."""
        return redact(super().format(record))


def configure_logging(level: int = logging.INFO) -> None:
    """Configure the root logger, and every handler uvicorn set up, with the redacting filter."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(ContactMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        for uvicorn_handler in logging.getLogger(name).handlers:
            _ensure_filter(uvicorn_handler)
