"""Validation errors that name the field and never echo the input (an input may hold a customer's contact)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic_core import ErrorDetails

_LOCATIONS = ("body", "query", "path", "header")


def field_errors(errors: Iterable[ErrorDetails], rename: Callable[[str], str] = str, *, skip: int = 0) -> str:
    """Pydantic errors as 'field: message; …'; `skip` drops leading location parts (a union's tag)."""
    parts = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in _LOCATIONS][skip:]
        parts.append(f"{'.'.join(rename(p) for p in loc) or 'body'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


class QuietValidationRoute(APIRoute):
    """Answers a malformed request with 422 and one message naming each field, without echoing what was sent."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The FastAPI handler, with validation errors rendered as a plain message."""
        handler = super().get_route_handler()

        async def quiet_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as err:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, field_errors(err.errors())) from None

        return quiet_handler
