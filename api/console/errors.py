"""Console answers to refusals: an HTML page (or an htmx redirect to sign-in) instead of the API's JSON."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from api.console.rendering import render
from api.console.session import SignInRequired
from api.errors import field_errors

_FIELD_MESSAGE = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.+)$")


def split_errors(detail: str, fields: set[str]) -> tuple[dict[str, str], list[str]]:
    """An API message 'field: why; field2: why' split into errors at known form fields and the rest."""
    at_field: dict[str, str] = {}
    general: list[str] = []
    for part in detail.split("; "):
        match = _FIELD_MESSAGE.match(part)
        if match and match.group(1) in fields:
            at_field.setdefault(match.group(1), match.group(2))
        else:
            general.append(part)
    return at_field, general


class ConsoleRoute(APIRoute):
    """A console route: no session → the sign-in page; a refusal or malformed request → an HTML page saying why."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The FastAPI handler, with the console's answers to what it raises."""
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as missing:
                target = f"/console/login?next={missing.next_url}"
                if request.headers.get("HX-Request"):
                    return Response(status_code=204, headers={"HX-Redirect": target})
                return RedirectResponse(target, status_code=303)
            except RequestValidationError as err:
                return refusal_page(request, 422, field_errors(err.errors()))
            except HTTPException as exc:
                return refusal_page(request, exc.status_code, str(exc.detail), getattr(exc, "console_user", None))

        return console_handler


def refusal_page(request: Request, status_code: int, message: str, user: Any = None) -> Response:
    """The page that says a request was refused, and by which rule."""
    context = {"status": status_code, "message": message, "user": user}
    return render(request, "refused.html", context, status_code=status_code)
