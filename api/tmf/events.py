"""TMF events for the event hubs, one mechanism for every TMF API: which events a new state of a ticket, order or
check makes, and their bodies, queued through the outbox for each listener whose query they pass (db/hubs.py).

Called by each read-model write (activities/) before the row is overwritten, in its transaction: the stored row is
the state before. Create on the workflow's first state (the API's own revision-0 row of a new resource was never
announced); a state (status) change when the TMF state moves, with the events `beside` names for the new state;
otherwise an attribute value change. A list in the stored state that `growing` names (an order's milestones and
jeopardy alerts) that grew adds its event (ServiceOrderMilestoneEvent, ServiceOrderJeopardyEvent). Resources are
never deleted (cancelling is a state change), so no DeleteEvent. The body is the resource as `GET` shows it without
`withheld` fields (customer name, contact), with contact details typed into any free text masked: no listener is
entitled to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from api.provisioning import tmf641
from api.resource_checks import tmf645
from api.tickets import tmf621
from core.contacts import mask_contacts_in
from core.hubs import HUB_EVENTS
from core.provisioning import TMF_STATE as ORDER_STATE
from core.provisioning import ProvisioningOrder
from core.resource_checks import TMF_STATE as CHECK_STATE
from core.resource_checks import ResourceCheck
from core.tickets import TMF_STATUS, Ticket
from db.hubs import active_hubs, publish
from db.models import ResourceCheckRow, ServiceOrderRow, TicketRow, utcnow


@dataclass(frozen=True)
class ResourceEvents:
    """How one TMF API's resource turns into events."""

    api: str  # the hub's name and the event body's key
    resource: str  # the event types' prefix
    table: type[SQLModel]
    key: str  # the read model's primary key column
    state_column: str  # the read model's TMF state column
    state_event: str  # StatusChangeEvent (TMF621) or StateChangeEvent (TMF641, TMF645)
    beside: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    withheld: tuple[str, ...] = ("customerName", "contact")
    growing: Mapping[str, str] = field(default_factory=dict)  # list in the stored `detail` -> its event's name

    def event_types(self, before: str | None, state: str, grown: tuple[str, ...] = ()) -> list[str]:
        """The event types of the change from a stored TMF state (None: not announced yet) to `state`, with the
        events of the `growing` lists that grew."""
        if before is None:
            types = ["CreateEvent"]
        elif state == before:
            types = [] if grown else ["AttributeValueChangeEvent"]
        else:
            types = [self.state_event, *self.beside.get(state, ())]
        types += [self.growing[name] for name in grown if before is not None]
        known = HUB_EVENTS[self.api]
        return [t for t in (f"{self.resource}{name}" for name in types) if t in known]

    async def publish_change(
        self,
        session: AsyncSession,
        subject: str,
        revision: int,
        state: str,
        resource: Callable[[], dict[str, Any]],
        sizes: Mapping[str, int] | None = None,
    ) -> None:
        """Queue the events of this state for the listeners (none when the stored revision is as new); `sizes`
        are the new state's lengths of the `growing` lists."""
        if not await active_hubs(session, self.api):
            return
        columns = self.table.__table__.c  # type: ignore[attr-defined]  # SQLModel tables have one
        wanted = [columns.revision, columns[self.state_column]] + ([columns.detail] if self.growing else [])
        before = (await session.execute(select(*wanted).where(columns[self.key] == subject).with_for_update())).first()
        if before is not None and before[0] >= revision:
            return
        stored = before[1] if before is not None and before[0] > 0 else None
        detail = (before[2] or {}) if before is not None and self.growing else {}
        grown = tuple(n for n in self.growing if (sizes or {}).get(n, 0) > len(detail.get(n) or ()))
        body = mask_contacts_in({k: v for k, v in resource().items() if k not in self.withheld})
        for event_type in self.event_types(stored, state, grown):
            await publish(
                session,
                self.api,
                subject=subject,
                event_id=f"{subject}-r{revision}-{event_type}",
                event_type=event_type,
                at=utcnow(),
                resource=body,
            )


TICKETS = ResourceEvents(
    "troubleTicket",
    "TroubleTicket",
    TicketRow,
    "ticket_no",
    "tmf_status",
    "StatusChangeEvent",
    beside={"resolved": ("ResolvedEvent",), "pending": ("InformationRequiredEvent",)},
)
ORDERS = ResourceEvents(
    "serviceOrder",
    "ServiceOrder",
    ServiceOrderRow,
    "order_id",
    "tmf_state",
    "StateChangeEvent",
    growing={"milestones": "MilestoneEvent", "jeopardy_alerts": "JeopardyEvent"},
)
CHECKS = ResourceEvents(
    "checkServiceQualification",
    "CheckServiceQualification",
    ResourceCheckRow,
    "check_id",
    "tmf_state",
    "StateChangeEvent",
)


async def publish_ticket_change(session: AsyncSession, ticket: Ticket) -> None:
    """TMF621 events of a ticket state."""
    state = TMF_STATUS[ticket.status]
    await TICKETS.publish_change(session, ticket.ticket_no, ticket.revision, state, lambda: tmf621.to_tmf(ticket))


async def publish_order_change(session: AsyncSession, order: ProvisioningOrder) -> None:
    """TMF641 events of an order state."""
    state = ORDER_STATE[order.status]
    sizes = {"milestones": len(order.milestones), "jeopardy_alerts": len(order.jeopardy_alerts)}
    await ORDERS.publish_change(
        session, order.order_id, order.revision, state, lambda: tmf641.to_tmf(order), sizes=sizes
    )


async def publish_check_change(session: AsyncSession, check: ResourceCheck) -> None:
    """TMF645 events of a check state."""
    state = CHECK_STATE[check.status]
    await CHECKS.publish_change(session, check.check_id, check.revision, state, lambda: tmf645.to_tmf(check))
