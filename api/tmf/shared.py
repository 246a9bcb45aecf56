"""TMF Open API machinery shared by TMF621, TMF641 and TMF645: Error bodies, the TMF route class, `fields=`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api.errors import DATABASE_UNAVAILABLE_MESSAGE, field_errors
from api.gateway import TemporalUnavailable
from db.session import DATABASE_RETRY_AFTER, DATABASE_UNAVAILABLE

# ---- errors ------------------------------------------------------------------------------------------


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A TMF Error body; 422 (our refusal code for invalid input) answers TMF's 400."""
    status = 400 if status == 422 else status
    body = {
        "@type": "Error",
        "code": str(status),
        "reason": HTTPStatus(status).phrase,
        "message": message,
        "status": str(status),
    }
    return JSONResponse(body, status_code=status, headers=headers)


class TmfRoute(APIRoute):
    """Answers every error of a TMF route with a TMF Error body (401 keeps its WWW-Authenticate header)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The FastAPI handler, wrapped to render errors the TMF way."""
        handler = super().get_route_handler()

        async def tmf_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as err:
                return error_response(400, field_errors(err.errors()))
            except HTTPException as err:
                return error_response(err.status_code, str(err.detail), dict(err.headers or {}))
            except TemporalUnavailable as err:
                return error_response(503, str(err), {"Retry-After": "5"})
            except DATABASE_UNAVAILABLE:
                return error_response(503, DATABASE_UNAVAILABLE_MESSAGE, {"Retry-After": DATABASE_RETRY_AFTER})

        return tmf_handler


# ---- fields= ----------------------------------------------------------------------------------------------


def project(resource: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """TMF `fields=` projection: the listed attributes plus id and href."""
    if not fields:
        return resource
    wanted = {f.strip() for f in fields.split(",") if f.strip()} | {"id", "href"}
    return {k: v for k, v in resource.items() if k in wanted}
