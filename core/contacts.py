"""Customer contact details as they may be shown: the contact field and contact patterns in free text, masked.

One rule everywhere (views, logs, timeline): a phone number keeps its first three and last four characters
(138****5678, 010*****5678), an e-mail address its first character and domain (z***@example.com). The whole
value is shown only through the audited reveal (POST /api/tickets/{ticket_no}/contact/reveal).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

# Mainland mobiles (optionally +86, optionally split 3-4-4) and landlines with an area code (010-12345678,
# (0755) 1234567). Digits or Latin letters right before or after do not belong to a phone number (ticket numbers,
# amounts, hex identifiers such as workflow and task ids); Chinese text around a number does not protect it.
_PHONE = re.compile(
    r"(?<![\dA-Za-z+])(?:(?:\+|00)86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?![\dA-Za-z])"
    r"|(?<![\dA-Za-z(])(?:\(0[1-9]\d{1,2}\)|0[1-9]\d{1,2})[- ]?\d{7,8}(?![\dA-Za-z])"
)
# An address ends in a top-level domain of letters: `temporal-system@127.0.0.1` (a worker identity) is not one.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])")


def masked_contact(contact: str | None) -> str | None:
    """A contact as it may be shown: 138****5678 for a phone number, z***@example.com for an e-mail address."""
    if not contact:
        return contact
    if "@" in contact:
        name, _, domain = contact.partition("@")
        return f"{name[:1]}***@{domain}"
    value = contact.strip()
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def _masked_match(match: re.Match[str]) -> str:
    return masked_contact(match.group()) or ""


def mask_contacts(text: str) -> str:
    """Free text with every phone number and e-mail address in it masked like the contact field."""
    if len(text) < _SHORTEST:
        return text
    masked = _EMAIL.sub(_masked_match, text) if "@" in text else text
    return _PHONE.sub(_masked_match, masked)


_SHORTEST = len("a@b.cn")  # nothing shorter is an address, and every phone number is longer
_PLAIN = (int, float, bool, type(None))


def mask_contacts_in(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with contact details masked in every string."""
    kind = type(value)  # exact types first: a list page walks thousands of plain JSON values per request
    if kind is str:
        return mask_contacts(value)
    if kind is dict:
        return {k: mask_contacts_in(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [mask_contacts_in(v) for v in value]
    if kind in _PLAIN:
        return value
    if isinstance(value, str):
        return mask_contacts(value)
    if isinstance(value, Mapping):
        return {k: mask_contacts_in(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_contacts_in(v) for v in value]
    return value


def contact_texts(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string in a JSON-like value that masking would change: what a reveal shows."""
    if isinstance(value, str):
        if mask_contacts(value) != value:
            yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from contact_texts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from contact_texts(item, f"{path}[{i}]")
