"""Process logging: one format, and a filter that masks phone numbers and e-mail addresses."""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_TRACEBACKS = logging.Formatter()
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+)")


def mask_contact(text: str) -> str:
    """Mask mainland mobile numbers (138****5678) and e-mail addresses (a***@example.com) in free text."""
    return _EMAIL.sub(r"\1***\2", _PHONE.sub(r"\1****\2", text))


class ContactMaskingFilter(logging.Filter):
    """Rewrites every record so customer contact details never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, masked."""
        record.msg = mask_contact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:  # a traceback quotes exception messages: mask those too
            record.exc_text = mask_contact(_TRACEBACKS.formatException(record.exc_info))
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Configure the root logger with the masking filter on every handler."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ContactMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
