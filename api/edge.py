"""The API's outer guard, before any route runs: request size, and control characters in path, query and body.

One ASGI middleware so every route, present and future, is held to the same rules: a body over its limit is
413, a control character (core/bounds.py) anywhere a person can type is 422 naming where it was, and nothing
sent is ever echoed (it may hold a customer's contact).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.tmf.shared import error_response
from core.bounds import CONTROL_MESSAGE, has_control

# Routes that carry documents or histories get the larger upload limit.
UPLOAD_ROUTES = (
    re.compile(r"^/api/provisioning-orders/[^/]+/steps/[^/]+/complete$"),
    re.compile(r"^/api/audit/replay$"),
    re.compile(r"^/api/codec/(decode|encode)$"),
)
# A JSON string escape of a refused control character, not preceded by an escaping backslash.
_ESCAPED_CONTROL = re.compile(rb"(?<!\\)(?:\\\\)*\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F])")
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class _TooLarge(Exception):
    pass


def _refusal(scope: Scope, status: int, message: str) -> JSONResponse:
    """The error body of the API the request addressed (TMF Error bodies under /tmf-api)."""
    if scope["path"].startswith("/tmf-api/"):
        return error_response(status, message)
    return JSONResponse({"detail": message}, status_code=status)


def _json_controls(value: Any, where: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The location of every key or string in a parsed JSON document holding a control character."""
    if isinstance(value, str):
        if has_control(value):
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            if has_control(key):
                yield (*where, "(a key)")
            yield from _json_controls(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_controls(item, (*where, str(index)))


def _pairs_controls(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The first name whose name or value holds a control character."""
    for name, value in pairs:
        if has_control(name) or has_control(value):
            return name if not has_control(name) else "(a name)"
    return None


def body_control_field(body: bytes, content_type: str) -> str | None:
    """Where a JSON or form body holds a control character ('body.a.b'), or None when it holds none."""
    if "json" in content_type:
        if not (_ESCAPED_CONTROL.search(body) or _RAW_CONTROL.search(body)):
            return None
        try:
            document = json.loads(body)
        except ValueError:
            return None  # malformed JSON: the route answers 422 for it
        found = next(_json_controls(document), None)
        return None if found is None else ".".join(("body", *found))
    if "application/x-www-form-urlencoded" in content_type:
        name = _pairs_controls(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        return None if name is None else f"body.{name}"
    return None


class EdgeGuard:
    """ASGI middleware: size-limit request bodies and refuse control characters in path, query and body."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, path: str) -> int:
        return self.max_upload_bytes if any(r.match(path) for r in UPLOAD_ROUTES) else self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then hand it on with its body replayed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if has_control(scope["path"]):
            await _refusal(scope, 422, f"path: {CONTROL_MESSAGE}")(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if (name := _pairs_controls(parse_qsl(query, keep_blank_values=True))) is not None:
            await _refusal(scope, 422, f"query.{name}: {CONTROL_MESSAGE}")(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        limit = self._limit(scope["path"])
        too_large = _refusal(scope, 413, f"request body larger than {limit} bytes")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await too_large(scope, receive, send)
            return
        try:
            messages, body = await self._read(receive, limit)
        except _TooLarge:
            await too_large(scope, receive, send)
            return
        if (field := body_control_field(body, headers.get("content-type", ""))) is not None:
            await _refusal(scope, 422, f"{field}: {CONTROL_MESSAGE}")(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _read(receive: Receive, limit: int) -> tuple[list[Message], bytes]:
        """Every body message up to the end (raising _TooLarge past `limit`), and the body they carry."""
        messages: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return messages, b"".join(chunks)
