"""The one circuit-type vocabulary of every API (TMF641, TMF645, pre-sales) and of the routing rules.

Each type has one canonical spelling (the `CircuitType` value, e.g. `mpls_vpn`); the other spellings in use
(hyphens, e.g. `mpls-vpn`, any letter case, and the historical `digital`) are aliases that mean the same type.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator


class CircuitType(StrEnum):
    """Enterprise circuit and data services (DOMAIN.md §3), canonical spelling."""

    DIGITAL_CIRCUIT = "digital_circuit"
    ATM = "atm"
    DDN = "ddn"
    FRAME_RELAY = "frame_relay"
    MPLS_VPN = "mpls_vpn"
    INTERNET_DEDICATED = "internet_dedicated"  # dedicated internet access (专线上网)
    OTHER = "other"


_EXTRA_ALIASES = {"digital": CircuitType.DIGITAL_CIRCUIT}


def known_circuit_type(value: str | None) -> CircuitType | None:
    """The canonical type a spelling (canonical or alias) names, None when it names none."""
    if value is None:
        return None
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if key in CircuitType._value2member_map_:
        return CircuitType(key)
    return _EXTRA_ALIASES.get(key)


def circuit_type_of(value: str) -> CircuitType:
    """The canonical type of a spelling; ValueError naming the accepted ones when it is unknown."""
    found = known_circuit_type(value)
    if found is None:
        raise ValueError(f"unknown circuit type: one of {', '.join(CircuitType)} (or spelled with - for _)")
    return found


def _canonical(value: Any) -> Any:
    return circuit_type_of(value) if isinstance(value, str) else value


# A circuit type as an API accepts it: any spelling in, the canonical one out.
CircuitTypeName = Annotated[CircuitType, BeforeValidator(_canonical)]
