"""TMF688 event hubs: which APIs have one, their event types, and the listener's `query` filter.

A query is `&`-joined `name=value` terms, values comma-separated alternatives:
`eventType=TroubleTicketStatusChangeEvent` and `event.troubleTicket.<field>=<value>` (a top-level field of the
resource, e.g. `event.troubleTicket.status=resolved`).
Every term must hold. Anything else is refused when the listener registers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

# api name (the hub's path segment, the event body's resource key) -> its event types
HUB_EVENTS: dict[str, tuple[str, ...]] = {
    "troubleTicket": (
        "TroubleTicketCreateEvent",
        "TroubleTicketAttributeValueChangeEvent",
        "TroubleTicketStatusChangeEvent",
        "TroubleTicketResolvedEvent",
        "TroubleTicketInformationRequiredEvent",
        "TroubleTicketDeleteEvent",
    ),
    "serviceOrder": (
        "ServiceOrderCreateEvent",
        "ServiceOrderAttributeValueChangeEvent",
        "ServiceOrderStateChangeEvent",
        "ServiceOrderMilestoneEvent",
        "ServiceOrderJeopardyEvent",
        "ServiceOrderDeleteEvent",
    ),
    "checkServiceQualification": (
        "CheckServiceQualificationCreateEvent",
        "CheckServiceQualificationAttributeValueChangeEvent",
        "CheckServiceQualificationStateChangeEvent",
        "CheckServiceQualificationDeleteEvent",
    ),
}


class HubQueryError(ValueError):
    """A listener's query this hub cannot apply."""


class HubFilter(BaseModel):
    """A parsed query: allowed event types (empty: all) and field -> allowed values."""

    model_config = ConfigDict(frozen=True)

    event_types: frozenset[str] = frozenset()
    fields: Mapping[str, frozenset[str]] = {}

    def matches(self, event_type: str, resource: Mapping[str, Any]) -> bool:
        """True when the event passes every term."""
        if self.event_types and event_type not in self.event_types:
            return False
        return all(str(resource.get(name)) in values for name, values in self.fields.items())


def parse_query(api: str, query: str | None) -> HubFilter:
    """The filter a listener's query asks for; raises HubQueryError naming the term it cannot apply."""
    if not query or not query.strip():
        return HubFilter()
    event_types: set[str] = set()
    fields: dict[str, frozenset[str]] = {}
    prefix = f"event.{api}."
    for term in query.split("&"):
        name, sep, value = term.partition("=")
        values = frozenset(v.strip() for v in value.split(",") if v.strip())
        if not sep or not values:
            raise HubQueryError(f"query term {term!r} is not name=value")
        name = name.strip()
        if name == "eventType":
            unknown = values - set(HUB_EVENTS[api])
            if unknown:
                raise HubQueryError(f"unknown eventType {sorted(unknown)[0]!r}; known: {', '.join(HUB_EVENTS[api])}")
            event_types |= values
        elif name.startswith(prefix) and name[len(prefix) :].isidentifier():
            fields[name[len(prefix) :]] = values
        else:
            raise HubQueryError(f"query term {name!r}: only eventType and {prefix}<field> filter")
    return HubFilter(event_types=frozenset(event_types), fields=fields)
