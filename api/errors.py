"""Our own (non-TMF) error body, validation errors that name the field and never echo the input (an input may hold
a customer's contact), and an OpenAPI document that says which error body each route answers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from pydantic_core import ErrorDetails

_LOCATIONS = ("body", "query", "path", "header")
# The answer (503 + Retry-After) to a request that found PostgreSQL down; the cause goes to the log only.
DATABASE_UNAVAILABLE_MESSAGE = "the database is unavailable; try again shortly"


class FieldIssue(BaseModel):
    """One invalid field: where (`loc`), what kind of error, and why; never the value sent."""

    type: str
    loc: list[str | int]
    msg: str


class ApiError(BaseModel):
    """Every error body of the /api routes: a message (naming each invalid field, never echoing it), or, for
    a request the platform routes (users, auth, config, tasks, audit) cannot parse, one entry per invalid field."""

    detail: str | list[FieldIssue] = Field(description="what was wrong")


_OWN_MEANING = {
    400: "the body cannot be read (not UTF-8, not the declared content type)",
    401: "no or bad credentials (see WWW-Authenticate)",
    403: "the caller's role or ownership refuses this",
    404: "no such resource",
    409: "the resource's state refuses the change",
    413: "the body is over the size limit",
    422: "invalid input, each field named (never echoed)",
    503: "Temporal or the database is unavailable (see Retry-After)",
}


def describe_errors(app: FastAPI) -> None:
    """The app's OpenAPI document declares the error bodies each route really answers: TMF routes never answer
    422 (TmfRoute answers a TMF 400 and documents its own errors); every other route answers an `ApiError` with
    422 for invalid input (400 for a body it cannot read), 401/403 when signed in, 404 on a resource's path,
    409 and 413 on writes, and 503."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _own_errors(build())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _own_errors(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schema = ApiError.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas["ApiError"] = schema
    ours = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            if path.startswith("/tmf-api/"):
                responses.pop("422", None)
                continue
            statuses = [422, 503]
            if operation.get("security"):
                statuses += [401, 403]
            if "{" in path:
                statuses.append(404)
            if method in ("post", "patch", "put", "delete"):
                statuses += [409, 413]
            if "requestBody" in operation:
                statuses.append(400)
            for status_code in sorted(statuses):
                if str(status_code) not in responses or status_code == 422:
                    responses[str(status_code)] = {"description": _OWN_MEANING[status_code], "content": ours}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


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
