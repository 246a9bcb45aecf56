"""How console pages are rendered: Jinja2 templates (whole pages or one block, jinja2-fragments), the wording in
gettext catalogs (Simplified Chinese by default, English selectable), times in the center's time zone.

The catalogs are the `.po` files under locale/; Babel compiles them in memory when the app first renders, so a
fresh clone needs no build step. Templates use `_()`; English is the msgid itself.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi import Request
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.responses import Response

from api.console.session import LANG_COOKIE
from api.console.vocabulary import task_subject
from core.contacts import mask_contacts
from infra.settings import Settings

HERE = Path(__file__).resolve().parent
LOCALE_DIR = HERE / "locale"
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"

templates = Jinja2Blocks(directory=str(HERE / "templates"))
templates.env.globals["LANGUAGES"] = LANGUAGES
templates.env.filters["masked"] = lambda text: mask_contacts(text) if text else text


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (English: the msgids themselves)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


_IDENTIFIER = re.compile(r"^[a-z][a-z_.]*$")


def english(message: str) -> str:
    """English is the msgid; an identifier shown by value (in_progress, resolution.cause) reads as words."""
    if _IDENTIFIER.match(message):
        return message.rsplit(".", 1)[-1].replace("_", " ").capitalize()
    return message


def gettext_for(language: str) -> Callable[[str], str]:
    """The translate function of a language."""
    return english if language == "en" else translations(language).gettext


def language_of(request: Request) -> str:
    """The language asked for (`?lang=`, then the cookie), else Simplified Chinese."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


class Clock:
    """Times as the center reads them, and countdowns to deadlines, in the request's language."""

    def __init__(self, zone: str, gettext_: Callable[[str], str], now: datetime | None = None) -> None:
        self.zone = ZoneInfo(zone)
        self._ = gettext_
        self.now = now or datetime.now(UTC)

    def at(self, value: datetime | None) -> str:
        """A timestamp in the center's zone, to the minute."""
        if value is None:
            return "—"
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def at_text(self, text: str) -> str:
        """An ISO timestamp written into a text (a task subject) in the center's zone, to the minute."""
        try:
            return self.at(datetime.fromisoformat(text))
        except ValueError:
            return text

    def local_input(self, value: datetime | None) -> str:
        """A timestamp in the center's zone as a datetime-local input value."""
        return value.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M") if value else ""

    def countdown(self, due: datetime | None) -> str:
        """'2h 05m left' or '1d 3h overdue' (days and hours past a day)."""
        if due is None:
            return "—"
        left = due - self.now
        span = abs(left)
        days, rest = divmod(int(span.total_seconds()), 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        text = (
            self._("%(d)dd %(h)dh") % {"d": days, "h": hours}
            if days
            else self._("%(h)dh %(m)02dm") % {"h": hours, "m": minutes}
        )
        return (self._("%(span)s left") if left >= timedelta(0) else self._("%(span)s overdue")) % {"span": text}

    def overdue(self, due: datetime | None) -> bool:
        """True when the deadline has passed."""
        return due is not None and due < self.now


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A page (or one block of it) in the user's language, with the clock, the user and the CSRF token at hand."""
    settings: Settings = request.app.state.settings
    language = language_of(request)
    _ = gettext_for(language)
    clock = Clock(settings.default_timezone, _)
    base = {
        "_": _,
        "lang": language,
        "clock": clock,
        # the catalog itself, not `_`: in English a phrase is shown as the workflow wrote it ("resolve", not "Resolve")
        "subject": lambda text: task_subject(text, translations(language).gettext, clock.at_text),
        "path": request.url.path,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    kwargs: dict[str, Any] = {"status_code": status_code, "headers": headers}
    if block:
        kwargs["block_name"] = block
    response: Response = templates.TemplateResponse(request, template, base | context, **kwargs)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"  # no framing: a click on a form is the user's own
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def form_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    fields: Sequence[tuple[str, str, tuple[str, ...]]],
    sent: tuple[Any, dict[str, str], list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    """A create form (a new ticket, a new check): empty, or with what was `sent` as (values, errors at their
    fields, general errors) and the refusal's status."""
    values, errors, general = sent or ({}, {}, [])
    return render(
        request,
        template,
        context | {"fields": fields, "values": values, "errors": errors, "general": general},
        status_code=status_code,
    )
