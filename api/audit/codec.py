"""Temporal's remote codec protocol, so the Temporal UI and CLI can show decrypted payloads to authorised users.

`POST /api/codec/decode` and `/encode` take and return `{"payloads": [{"metadata": {...}, "data": "..."}]}`
(base64 values, protobuf JSON). Point the UI at it (TEMPORAL_CODEC_ENDPOINT, or the dev server's
`--ui-codec-endpoint`) or the CLI (`temporal workflow show --codec-endpoint http://…/api/codec
--codec-auth "Bearer <token>"`). Browsers call it from the UI's origin, hence CORS for those origins only.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, FastAPI, HTTPException, status
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api.deps import READ_ONLY, Admin, Auditor, GatewayDep
from infra.codec import UnknownKeyError
from infra.settings import Settings

PREFIX = "/api/codec"
router = APIRouter(prefix=PREFIX, tags=["codec"])


class CodecPayload(BaseModel):
    """One Temporal payload in protobuf JSON: base64 metadata values and data."""

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class CodecPayloads(BaseModel):
    """The body of a remote-codec request and response."""

    payloads: list[CodecPayload]


async def _apply(body: CodecPayloads, gateway: GatewayDep, *, decode: bool) -> CodecPayloads:
    codec = gateway.client.data_converter.payload_codec
    try:
        payloads = ParseDict(body.model_dump(), Payloads()).payloads
    except ParseError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"not Temporal payloads: {exc}") from None
    if codec is None:
        return body
    try:
        result = await (codec.decode(payloads) if decode else codec.encode(payloads))
    except UnknownKeyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except InvalidTag:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "a payload failed authentication (altered or wrong key)"
        ) from None
    return CodecPayloads.model_validate(MessageToDict(Payloads(payloads=result)) or {"payloads": []})


@router.post(
    "/decode", response_model=CodecPayloads, summary="Decrypt payloads (Temporal remote codec)", openapi_extra=READ_ONLY
)
async def decode(body: CodecPayloads, actor: Auditor, gateway: GatewayDep) -> CodecPayloads:
    """Decrypt payloads for an auditor or admin: reading history, not changing anything."""
    return await _apply(body, gateway, decode=True)


@router.post("/encode", response_model=CodecPayloads, summary="Encrypt payloads (Temporal remote codec)")
async def encode(body: CodecPayloads, actor: Admin, gateway: GatewayDep) -> CodecPayloads:
    """Encrypt payloads, e.g. for `temporal workflow start --codec-endpoint`: only admins may feed workflows."""
    return await _apply(body, gateway, decode=False)


class _CodecCORS:
    """CORS for the codec routes only: the rest of the API is not meant to be called from other origins."""

    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_credentials=True,
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        inside = scope["type"] == "http" and scope["path"].startswith(PREFIX + "/")
        await (self._cors if inside else self._app)(scope, receive, send)


def allow_ui_origins(app: FastAPI, settings: Settings) -> None:
    """Let browsers on the Temporal UI's origins (CODEC_CORS_ORIGINS) call the codec routes."""
    app.add_middleware(_CodecCORS, origins=settings.codec_cors_origins)
