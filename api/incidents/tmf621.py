"""An incident as TMF621 shows it: the parent trouble ticket, with `relatedEntity` links to its child tickets
(and each child ticket links back to its incident), so an integrator sees one incident and its children."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.tmf.shared import tmf_json
from core.incidents import TMF_STATUS, Incident
from db.incidents import incidents_of_ticket
from db.models import IncidentRow

INCIDENT_TICKET_TYPE = "incident"


Href = Callable[[str], str]  # a trouble ticket's address (api/tickets/tmf621.href)


def _link(ticket_no: str, role: str, href: Href) -> dict[str, Any]:
    return {
        "@type": "RelatedEntity",
        "id": ticket_no,
        "href": href(ticket_no),
        "role": role,
        "@referredType": "TroubleTicket",
    }


def incident_to_tmf(row: IncidentRow, href: Href) -> dict[str, Any]:
    """The incident as a TroubleTicket: ticketType incident, its level as severity, its tickets as children."""
    incident = Incident.model_validate(row.detail)
    last_change = incident.status_history[-1] if incident.status_history else None
    resource = {
        "id": incident.incident_no,
        "href": href(incident.incident_no),
        "@type": "TroubleTicket",
        "name": incident.title,
        "description": incident.description or incident.title,
        "severity": incident.level.value,
        "ticketType": INCIDENT_TICKET_TYPE,
        "status": TMF_STATUS[incident.status],
        "statusChangeDate": last_change[0] if last_change else None,
        "statusChangeReason": last_change[2] if last_change else None,
        "creationDate": incident.created_at,
        "lastUpdate": row.updated_at,
        "resolutionDate": incident.resolved_at,
        "relatedParty": [
            {
                "@type": "RelatedParty",
                "id": m.username,
                "name": m.username,
                "role": f"{m.team.value}:{m.role}",
                "@referredType": "Individual",
            }
            for m in incident.members
        ],
        "relatedEntity": [_link(t.ticket_no, "childTicket", href) for t in incident.tickets],
        "customerId": incident.signature.customer_id if incident.signature else None,
        "faultSite": incident.signature.site or None if incident.signature else None,
        "circuitId": incident.signature.circuit_id if incident.signature else None,
        "service": incident.signature.service if incident.signature else None,
    }
    shown: dict[str, Any] = tmf_json(resource)
    return shown


async def with_parents(session: AsyncSession, ticket_no: str, resource: dict[str, Any], href: Href) -> dict[str, Any]:
    """A ticket's TMF resource with `relatedEntity` links to the incidents it belongs to."""
    parents = await incidents_of_ticket(session, ticket_no)
    return {**resource, "relatedEntity": [_link(no, "parentIncident", href) for no in parents]}
