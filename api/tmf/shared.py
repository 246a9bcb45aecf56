"""TMF Open API machinery shared by TMF621, TMF641 and TMF645: Error bodies, the TMF route class, lists, `fields=`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic_core import to_jsonable_python

from api.errors import field_errors
from api.gateway import TemporalUnavailable
from api.schemas import Offset


def tmf_json(resource: dict[str, Any]) -> dict[str, Any]:
    """A TMF resource as plain JSON values (datetimes as ISO text, enums as their values)."""
    document: dict[str, Any] = to_jsonable_python(resource)
    return document


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

        return tmf_handler


# ---- lists and fields= -------------------------------------------------------------------------------------

Fields = Annotated[str | None, Query(description="comma-separated attributes to return (id and href always)")]
Limit = Annotated[int, Query(ge=1, le=500)]


@dataclass(frozen=True)
class TmfList:
    """What every TMF list takes (`fields=`, offset, limit) and answers with (the count headers)."""

    response: Response
    fields: str | None
    offset: int
    limit: int

    def page(self, total: int, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The resources projected to `fields`, with the X-Total-Count and X-Result-Count headers."""
        self.response.headers["X-Total-Count"] = str(total)
        self.response.headers["X-Result-Count"] = str(len(resources))
        return [project(resource, self.fields) for resource in resources]


def tmf_list(response: Response, fields: Fields = None, offset: Offset = 0, limit: Limit = 50) -> TmfList:
    """The common query of a TMF list."""
    return TmfList(response, fields, offset, limit)


Listing = Annotated[TmfList, Depends(tmf_list)]


def project(resource: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """TMF `fields=` projection: the listed attributes plus id and href."""
    if not fields:
        return resource
    wanted = {f.strip() for f in fields.split(",") if f.strip()} | {"id", "href"}
    return {k: v for k, v in resource.items() if k in wanted}
