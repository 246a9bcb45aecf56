"""TMF machinery shared by TMF621, TMF641 and TMF645: Error bodies, the TMF route class, lists, filters, `fields=`.

Every error on a TMF route, and on any unknown path under `/tmf-api/`, is a TMF Error body
(`@type` Error, `code`, `reason`, `message`, `status`; `referenceError` when a document explains it).
The status follows TMF630 and the three swagger files (none of which documents 422):

| what happened | status |
| --- | --- |
| invalid input: malformed JSON, a body or query value failing validation, a refused query parameter | 400 |
| no or bad credentials (keeps `WWW-Authenticate`) | 401 |
| role or ownership refuses the act | 403 |
| unknown resource id, unknown path under `/tmf-api/` | 404 |
| method not offered on the path | 405 |
| the resource's state refuses the change (workflow rule) | 409 |
| our own 422 (invalid input on the non-TMF API) | 400 |
| an unexpected exception (logged with its type and route, never its message or the request) | 500 |
| Temporal (or the database) unavailable, `Retry-After` set | 503 |

/openapi.json says the same: every TMF operation documents its statuses with the `TmfError` body (400, 401, 403,
500, 503; 404 on a resource's path; 409 and 413 on writes; never 422); 405 is the path's answer to a method it
does not offer, so no operation lists it. Resources are response models (`TmfResource`): every attribute but
`id`, `href` and `@type` optional, since `fields=` returns only those asked for; a route returns the attributes
it set (`response_model_exclude_unset`), never a null-filled model.

Lists take `fields`, `offset`, `limit`, `sort` (filterable single-column attributes, `-` descending) and the
attribute filters one `Filters` table per resource declares: `attr=value` (comma: any of the values), and for
dates also `attr.gt/.gte/.lt/.lte=`; every other query parameter is refused with 400 naming it. Filters become
SQL conditions on the read model.
"""

from __future__ import annotations

import logging
import operator
import traceback
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, reduce
from http import HTTPStatus
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic.alias_generators import to_camel
from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, or_
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import DATABASE_UNAVAILABLE_MESSAGE, field_errors
from api.gateway import TemporalUnavailable
from api.schemas import Offset
from db.readmodel import capped_total
from db.session import DATABASE_RETRY_AFTER, DATABASE_UNAVAILABLE

TMF_PREFIX = "/tmf-api/"
RESERVED = ("fields", "offset", "limit", "sort")
log = logging.getLogger(__name__)


# ---- response models ---------------------------------------------------------------------------------


class TmfResource(BaseModel):
    """A TMF resource (or part) as we return it: camelCase attributes, `@type` and friends by their TMF names.

    Every attribute but `id`, `href` and `@type` is optional in the schema: a `fields=` projection returns only the
    attributes asked for (and those three, at every level). Extensions a client does not know pass through.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, extra="allow")

    type_: str | None = Field(default=None, alias="@type")
    base_type: str | None = Field(default=None, alias="@baseType")
    schema_location: str | None = Field(default=None, alias="@schemaLocation")


class TmfEntity(TmfResource):
    """A TMF resource with an identity: `id` and `href` are always there."""

    id: str
    href: str | None = None


class RelatedParty(TmfResource):
    """TMF RelatedParty: who plays which role (a username, a department, a customer id; no personal data)."""

    id: str | None = None
    name: str | None = None
    role: str | None = None
    referred_type: str | None = Field(default=None, alias="@referredType")


class ServiceCharacteristic(TmfResource):
    """TMF Characteristic of a service: a name and its value."""

    name: str | None = None
    value: Any = None
    value_type: str | None = None


class VersionRef(TmfResource):
    """A policy, rule set or calendar by name and version."""

    name: str | None = None
    version: int | None = None


LISTED: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "X-Total-Count": {
                "description": "resources matching the filters, counted up to the count cap (LIST_COUNT_CAP, 10,000"
                " by default); the cap itself when X-Total-Count-Capped is sent",
                "schema": {"type": "integer"},
            },
            "X-Total-Count-Capped": {
                "description": "`true`, sent only when more resources match than the count cap: X-Total-Count is"
                " then the cap, not the count",
                "schema": {"type": "boolean"},
            },
            "X-Result-Count": {"description": "resources in this page", "schema": {"type": "integer"}},
        }
    }
}
CREATED: dict[int | str, dict[str, Any]] = {
    201: {"headers": {"Location": {"description": "the new resource's href", "schema": {"type": "string"}}}}
}

_PARTS: dict[tuple[type[BaseModel], bool, str], type[BaseModel]] = {}


class _SnakePart(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, extra="allow")


def response_part(
    model: type[BaseModel], name: str, *, prefix: str = "", camel: bool = True, **extra: Any
) -> type[BaseModel]:
    """An all-optional response copy of one of our own models (camelCase when `camel`), nested models likewise.

    For the extensions that carry our workflow state (SLA cycles, rounds, steps): they follow the model as it
    changes; `fields=` may leave out any attribute. Nested parts are named `prefix` + their model's name; `extra`
    adds or replaces fields (`name=(type, default)`).
    """
    key = (model, camel, prefix)
    if not extra and key in _PARTS:
        return _PARTS[key]
    model.model_rebuild()  # resolves annotations naming models defined after it (no-op once complete)
    fields: dict[str, Any] = {
        field_name: (_partial(info.annotation, camel, prefix) | None, Field(default=None, description=info.description))
        for field_name, info in model.model_fields.items()
    }
    fields.update(extra)
    base: type[BaseModel] = TmfResource if camel else _SnakePart
    part: type[BaseModel] = create_model(name, __base__=base, __doc__=model.__doc__, **fields)
    if not extra:
        _PARTS[key] = part
    return part


def _partial(annotation: Any, camel: bool, prefix: str) -> Any:
    """The annotation with every nested model replaced by its response part."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return response_part(annotation, prefix + annotation.__name__, prefix=prefix, camel=camel)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _partial(args[0], camel, prefix)
    if not args or origin is Literal:
        return annotation
    parts = tuple(_partial(a, camel, prefix) for a in args)
    if origin in (Union, UnionType):
        return reduce(operator.or_, parts)
    if origin in (list, tuple, dict):
        return origin[parts]
    return annotation


@cache
def camel(name: str) -> str:
    """A field's TMF (camelCase) name; kept, since a list page renames the same few fields on every row."""
    return to_camel(name)


def camel_keys(data: dict[str, Any]) -> dict[str, Any]:
    """A dumped model's fields under their TMF (camelCase) names."""
    return {camel(k): v for k, v in data.items()}


def tmf_json(resource: dict[str, Any]) -> dict[str, Any]:
    """A TMF resource as plain JSON values (datetimes as ISO text, enums as their values)."""
    document: dict[str, Any] = to_jsonable_python(resource)
    return document


# ---- errors ------------------------------------------------------------------------------------------


class TmfError(BaseModel):
    """TMF630 Error: every error a TMF route answers (`code` and `status` are the HTTP status, as text)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    code: str = Field(description="the HTTP status, e.g. 400")
    reason: str = Field(description="the status's phrase, e.g. Bad Request")
    message: str = Field(description="what was wrong, naming the attribute; never echoes the input")
    status: str = Field(description="the HTTP status, e.g. 400")
    reference_error: str | None = Field(default=None, alias="referenceError", description="where the rule is written")
    type_: Literal["Error"] = Field(default="Error", alias="@type")


_ERROR_MEANING = {
    400: "invalid input: malformed JSON, a value failing validation, an unknown or unsupported query parameter",
    401: "no or bad credentials (see WWW-Authenticate)",
    403: "the caller's role or ownership refuses this",
    404: "no such resource",
    409: "the resource's state refuses the change",
    413: "the body is over the size limit",
    500: "an unexpected error (logged)",
    503: "Temporal or the database is unavailable (see Retry-After)",
}


def tmf_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for TMF Error bodies with these statuses (TmfRoute adds the ones every route has)."""
    return {status: {"model": TmfError, "description": _ERROR_MEANING[status]} for status in statuses}


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, *, reference: str | None = None
) -> JSONResponse:
    """A TMF Error body; 422 (our refusal code for invalid input) answers TMF's 400."""
    status = 400 if status == 422 else status
    body = {
        "@type": "Error",
        "code": str(status),
        "reason": HTTPStatus(status).phrase,
        "message": message,
        "status": str(status),
    }
    if reference:
        body["referenceError"] = reference
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(err: RequestValidationError) -> str:
    errors = list(err.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return "body: not valid JSON"
    return field_errors(errors)


def unexpected_error(request: Request, err: Exception) -> JSONResponse:
    """A TMF 500 body; the log names the exception type, route and frames, never its message or the request."""
    route = request.scope.get("route")
    where = getattr(route, "path", request.url.path)
    frames = "".join(traceback.format_tb(err.__traceback__))
    log.error("unexpected %s on %s %s\n%s", type(err).__name__, request.method, where, frames)
    return error_response(500, "an unexpected error occurred; it has been logged")


class TmfRoute(APIRoute):
    """Answers every error of a TMF route with a TMF Error body (401 keeps its WWW-Authenticate header), and
    documents them: 400, 401, 403, 500, 503 everywhere, 404 on a resource's path, 409 and 413 on writes.

    A route without a filtered list refuses any query parameter it does not declare; a list's `Filters` refuse theirs.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = set(kwargs.get("methods") or ())
        statuses = [400, 401, 403, 500, 503]
        if "{" in path:
            statuses.append(404)
        if methods & {"POST", "PATCH", "PUT"}:
            statuses += [409, 413]
        kwargs["responses"] = {**tmf_errors(*sorted(statuses)), **(kwargs.get("responses") or {})}
        kwargs["response_model_exclude_unset"] = True  # the attributes the mapping (or fields=) gave, no null fill
        super().__init__(path, endpoint, **kwargs)
        lists = _has_listing(self.dependant)
        self.declared_query: frozenset[str] | None = None if lists else frozenset(_query_names(self.dependant))

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The FastAPI handler, wrapped to render errors the TMF way."""
        handler = super().get_route_handler()

        async def tmf_handler(request: Request) -> Response:
            try:
                if self.declared_query is not None:
                    for name in request.query_params:
                        if name not in self.declared_query:
                            raise HTTPException(400, _unknown_parameter(name, sorted(self.declared_query)))
                return await handler(request)
            except RequestValidationError as err:
                return error_response(400, _validation_message(err))
            except StarletteHTTPException as err:
                return error_response(err.status_code, str(err.detail), dict(err.headers or {}))
            except TemporalUnavailable as err:
                return error_response(503, str(err), {"Retry-After": "5"})
            except DATABASE_UNAVAILABLE:
                return error_response(503, DATABASE_UNAVAILABLE_MESSAGE, {"Retry-After": DATABASE_RETRY_AFTER})
            except Exception as err:  # every unexpected error answers a TMF 500
                return unexpected_error(request, err)

        return tmf_handler


def install_tmf_errors(app: FastAPI) -> None:
    """Framework errors (unknown path, 405, an exception outside a route) under /tmf-api/ answer TMF Error bodies."""

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(TMF_PREFIX):
            detail = f"{request.method} {request.url.path}: {exc.detail}"
            return error_response(exc.status_code, detail, dict(exc.headers or {}))
        return await http_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(TMF_PREFIX):
            return unexpected_error(request, exc)
        return PlainTextResponse("Internal Server Error", status_code=500)


Fields = Annotated[str | None, Query(description="comma-separated attributes to return, dotted for nested ones")]
Limit = Annotated[int, Query(ge=1, le=500)]
Sort = Annotated[str | None, Query(description="comma-separated attributes to sort by, `-` for descending")]


# ---- filters -----------------------------------------------------------------------------------------------

Comparison = Literal["gt", "gte", "lt", "lte"]
_COMPARE: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
}


@dataclass(frozen=True)
class Filter:
    """How one TMF attribute filters a list in SQL: the column(s) it equals (any of), the value type, dates compare."""

    columns: tuple[Any, ...]
    value_type: Any = str
    dated: bool = False
    contains: bool = False  # the column is an array holding the value
    description: str = ""

    def condition(self, values: Sequence[Any], comparison: str | None = None) -> ColumnElement[bool]:
        """The SQL condition: any column equals (holds) any value, or the date comparison."""
        if comparison is not None:
            return or_(*(_COMPARE[comparison](column, values[0]) for column in self.columns))
        if self.contains:
            return or_(*(column.contains([value]) for column in self.columns for value in values))
        return or_(*(column.in_(values) for column in self.columns))


def equals(*columns: Any, value_type: Any = str, description: str = "") -> Filter:
    """Equality with any of the comma-separated values, on any of the columns."""
    return Filter(tuple(columns), value_type, description=description)


def dated(column: Any, description: str = "") -> Filter:
    """A date attribute: equality, `.gt/.gte/.lt/.lte` (values with offset; unbounded: a filter stores nothing)."""
    return Filter((column,), AwareDatetime, dated=True, description=description)


def holds(column: Any, value_type: Any = str, description: str = "") -> Filter:
    """An array column that holds any of the values."""
    return Filter((column,), value_type, contains=True, description=description)


@dataclass(frozen=True)
class Filters:
    """The filterable attributes of one TMF resource's list (SQL per attribute) and the spec's other attributes."""

    resource: str
    supported: Mapping[str, Filter]
    spec_attributes: tuple[str, ...] = ()
    _adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict, compare=False, repr=False)

    def conditions(self, params: Iterable[tuple[str, str]]) -> list[ColumnElement[bool]]:
        """SQL conditions for the query's filters (all must hold); 400 naming any parameter not supported."""
        conditions = []
        for name, text in params:
            if name in RESERVED:
                continue
            attribute, comparison = self._parse_name(name)
            spec = self.supported[attribute]
            values = [self._value(name, spec, part.strip()) for part in text.split(",")] if text.strip() else []
            if not values:
                raise HTTPException(400, f"{name}: a value is required")
            if comparison is not None and len(values) != 1:
                raise HTTPException(400, f"{name}: exactly one value")
            conditions.append(spec.condition(values, comparison))
        return conditions

    def _parse_name(self, name: str) -> tuple[str, str | None]:
        if name in self.supported:
            return name, None
        attribute, _, comparison = name.rpartition(".")
        if comparison in _COMPARE and attribute in self.supported:
            if not self.supported[attribute].dated:
                raise HTTPException(400, f"{name}: .{comparison} applies to date attributes only")
            return attribute, comparison
        base = (attribute if comparison in _COMPARE else name).split(".")[0]
        if base in self.spec_attributes or base in self.supported:
            raise HTTPException(
                400, f"{name}: filtering {self.resource} on {name} is not supported (filters: {self.names()})"
            )
        raise HTTPException(400, _unknown_parameter(name, [*RESERVED, *self.supported]))

    def _value(self, name: str, spec: Filter, text: str) -> Any:
        adapter = self._adapters.get(name)
        if adapter is None:
            adapter = self._adapters[name] = TypeAdapter(spec.value_type)
        try:
            return adapter.validate_python(text)
        except ValidationError as err:
            raise HTTPException(400, f"{name}: {err.errors()[0].get('msg', 'invalid')}") from None

    async def listing(
        self,
        request: Request,
        response: Response,
        fields: Fields = None,
        offset: Offset = 0,
        limit: Limit = 50,
        sort: Sort = None,
    ) -> TmfList:
        """The list query these filters accept (the dependency of a TMF list): every other parameter is refused."""
        conditions = self.conditions(request.query_params.multi_items())
        cap = request.app.state.settings.list_count_cap
        return TmfList(response, fields, offset, limit, conditions, self.sort_keys(sort), cap)

    def sort_keys(self, sort: str | None) -> list[Any]:
        """TMF630 `sort=a,-b`: the ORDER BY of a filterable single-column attribute each (`-` descending)."""
        keys = []
        for part in (p.strip() for p in (sort or "").split(",")):
            if not part:
                continue
            name = part.lstrip("-+")
            spec = self.supported.get(name)
            if spec is None or len(spec.columns) != 1 or spec.contains:
                raise HTTPException(400, f"sort: cannot sort on {name!r} (sortable: {', '.join(self.sortable())})")
            column = spec.columns[0]
            keys.append(column.desc() if part.startswith("-") else column.asc())
        return keys

    def sortable(self) -> list[str]:
        """The attributes `sort=` takes."""
        return [n for n, f in self.supported.items() if len(f.columns) == 1 and not f.contains]

    def names(self) -> str:
        """The filter parameters, for messages and docs."""
        return ", ".join(f"{n} (and .gt/.gte/.lt/.lte)" if f.dated else n for n, f in self.supported.items())

    def openapi(self) -> dict[str, Any]:
        """The filters as OpenAPI query parameters (for the route's `openapi_extra`)."""
        parameters = []
        for name, spec in self.supported.items():
            schema = TypeAdapter(spec.value_type).json_schema()
            names = [name, *(f"{name}.{c}" for c in _COMPARE)] if spec.dated else [name]
            for each in names:
                described = spec.description or f"{self.resource}.{name} equals (comma: any of)"
                parameters.append(
                    {"name": each, "in": "query", "required": False, "schema": schema, "description": described}
                )
        return {"parameters": parameters}


def _unknown_parameter(name: str, known: Iterable[str]) -> str:
    return f"{name}: unknown query parameter (accepted: {', '.join(known) or 'none'})"


def _query_names(dependant: Dependant) -> list[str]:
    """The query parameters a route declares, its dependencies' included."""
    names = [p.alias for p in dependant.query_params]
    return names + [n for d in dependant.dependencies for n in _query_names(d)]


def _has_listing(dependant: Dependant) -> bool:
    """Whether a `Filters.listing` is among the route's dependencies (it checks the query parameters itself)."""
    calls = dependant.dependencies
    return any(isinstance(getattr(d.call, "__self__", None), Filters) or _has_listing(d) for d in calls)


# ---- lists and fields= -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TmfList:
    """What every TMF list takes (filters, `fields=`, offset, limit) and answers with (the count headers)."""

    response: Response
    fields: str | None
    offset: int
    limit: int
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    sort_keys: list[Any] = field(default_factory=list)
    count_cap: int | None = None  # the total counts at most this many (settings.list_count_cap)

    def order_by(self, *default: Any) -> list[Any]:
        """The `sort=` keys first, then the list's own order (which also breaks ties)."""
        return [*self.sort_keys, *default]

    def page(self, total: int, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The resources projected to `fields`, with the X-Total-Count (X-Total-Count-Capped past the count cap)
        and X-Result-Count headers; `total` as `page_of(count_cap=self.count_cap)` counted it."""
        shown, capped = capped_total(total, self.count_cap)
        self.response.headers["X-Total-Count"] = str(shown)
        if capped:
            self.response.headers["X-Total-Count-Capped"] = "true"
        self.response.headers["X-Result-Count"] = str(len(resources))
        return [project(resource, self.fields) for resource in resources]


Listing = Annotated[TmfList, Depends(Filters("resource", {}).listing)]  # a list without filters


def project(resource: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """TMF630 `fields=` projection: the listed attributes, dotted ones nested (lists keep the listed
    sub-attributes of each element); `id`, `href` and `@type` are kept at every level."""
    if not fields:
        return resource
    wanted: dict[str, Any] = {}
    for path in fields.split(","):
        node = wanted
        for part in (p.strip() for p in path.split(".")):
            if not part:
                break
            node = node.setdefault(part, {})
    projected: dict[str, Any] = _pick(resource, wanted)
    return projected


_ALWAYS = ("id", "href", "@type")


def _pick(value: Any, wanted: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_pick(element, wanted) for element in value]
    if not isinstance(value, dict) or not wanted:
        return value
    return {k: _pick(v, wanted[k]) if k in wanted else v for k, v in value.items() if k in wanted or k in _ALWAYS}
