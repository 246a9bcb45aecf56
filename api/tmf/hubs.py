"""TMF688 hubs, one mechanism for every TMF API: `POST {base}/hub {callback, query}` registers a listener (admins),
`GET`/`DELETE {base}/hub/{id}` read and remove it. Events reach listeners through the outbox as signed webhooks
(infra/webhooks.py); the registration answer carries the signing secret, the only time it is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from api.deps import Admin, SessionDep, SettingsDep
from api.tmf.shared import TmfRoute
from core.hubs import HubQueryError, parse_query
from core.records import AuditRecord
from db import audit as audit_journal
from db.models import EventHub, utcnow
from infra.webhooks import CallbackRefused, new_secret, screen_callback, seal_secret


class HubIn(BaseModel):
    """A listener registration."""

    model_config = ConfigDict(extra="forbid")

    callback: AnyHttpUrl = Field(
        description="where events are POSTed (http or https; loopback and private addresses are refused unless "
        "the deployment allows them)"
    )
    query: str | None = Field(
        default=None, max_length=1000, description="e.g. eventType=TroubleTicketStatusChangeEvent"
    )


def _view(hub: EventHub, base: str, *, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": str(hub.id),
        "href": f"{base}/hub/{hub.id}",
        "callback": hub.callback,
        "query": hub.query,
        "@type": "Hub",
        "createdAt": hub.created_at.isoformat() if isinstance(hub.created_at, datetime) else hub.created_at,
    }
    if secret is not None:
        view["secret"] = secret  # Standard Webhooks signing secret: shown once
    return view


async def _journal(session: SessionDep, admin: Admin, action: str, hub: EventHub) -> None:
    await audit_journal.append(
        session,
        AuditRecord.by(
            admin,
            action,
            "event_hub",
            str(hub.id),
            at=utcnow(),
            request_id=f"{action}:{hub.id}:{utcnow().isoformat()}",
            details={"api": hub.api, "query": hub.query},
        ),
    )


def hub_router(api: str, base: str, *, tag: str) -> APIRouter:
    """The hub routes of one TMF API whose resource paths start at `base` (e.g. /tmf-api/troubleTicket/v4)."""
    router = APIRouter(prefix=base, tags=[tag], route_class=TmfRoute)

    @router.post("/hub", status_code=status.HTTP_201_CREATED, summary=f"Register a {api} event listener")
    async def register_listener(
        body: HubIn, admin: Admin, session: SessionDep, settings: SettingsDep, response: Response
    ) -> dict[str, Any]:
        """Register a listener; the answer's `secret` signs every event it will receive (Standard Webhooks)."""
        try:
            parse_query(api, body.query)
        except HubQueryError as err:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"query: {err}") from None
        try:
            await screen_callback(str(body.callback), allow_private=settings.private_callbacks_allowed)
        except CallbackRefused as refused:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(refused)) from None
        secret = new_secret()
        hub = EventHub(
            api=api,
            callback=str(body.callback),
            query=body.query,
            secret_sealed=seal_secret(settings.payload_key_ring, secret),
            created_by=admin.username,
        )
        session.add(hub)
        await session.flush()
        await _journal(session, admin, "hub.register", hub)
        await session.commit()
        response.headers["Location"] = f"{base}/hub/{hub.id}"
        return _view(hub, base, secret=secret)

    async def _load(session: SessionDep, id: str) -> EventHub:
        hub = await session.get(EventHub, int(id)) if id.isdigit() and len(id) < 10 else None
        if hub is None or hub.api != api or hub.deleted_at is not None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no listener {id}")
        return hub

    @router.get("/hub/{id}", summary=f"A {api} event listener")
    async def get_listener(id: str, admin: Admin, session: SessionDep) -> dict[str, Any]:
        """The listener (without its secret)."""
        return _view(await _load(session, id), base)

    @router.delete("/hub/{id}", status_code=status.HTTP_204_NO_CONTENT, summary=f"Remove a {api} event listener")
    async def remove_listener(id: str, admin: Admin, session: SessionDep) -> Response:
        """Unregister the listener: nothing more is queued for it, and what is queued is not delivered."""
        hub = await _load(session, id)
        hub.deleted_at = utcnow()
        await _journal(session, admin, "hub.remove", hub)
        await session.commit()
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
