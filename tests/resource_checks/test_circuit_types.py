"""One circuit-type vocabulary (issue 12 §5): canonical spelling out, aliases in, unknown refused, routing by type."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.circuits import CircuitType, circuit_type_of, known_circuit_type
from core.resource_checks import ConsultRule, default_resource_check_rules
from db.models import AssignmentRulesVersion, AuditEntry, PresalesDemandRow, ResourceCheckRow, ServiceOrderRow
from tests.provisioning.flow import NANJING, SUZHOU
from tests.provisioning.test_api import SO, order_body
from tests.resource_checks.flow import item
from tests.resource_checks.test_api import SQ, request_body
from tests.support import assert_tmf_error, eventually

CIRCUIT = ("serviceQualificationItem", 0, "service", "serviceCharacteristic")


def _count(sync_session, table) -> int:
    with sync_session() as s:
        return s.scalar(select(func.count()).select_from(table))


def _check_body(customer: str, circuit: str | None, service_type: str = "internet", **changes) -> dict:
    body = request_body(customer, **changes)
    service = body["serviceQualificationItem"][0]["service"]
    service["serviceType"] = service_type
    service["serviceCharacteristic"] = [c for c in service["serviceCharacteristic"] if c["name"] != "circuitType"]
    if circuit is not None:
        service["serviceCharacteristic"].append({"name": "circuitType", "value": circuit})
    return body


# ---- the vocabulary ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("mpls_vpn", CircuitType.MPLS_VPN),
        ("mpls-vpn", CircuitType.MPLS_VPN),
        (" MPLS-VPN ", CircuitType.MPLS_VPN),
        ("frame-relay", CircuitType.FRAME_RELAY),
        ("digital", CircuitType.DIGITAL_CIRCUIT),
        ("digital-circuit", CircuitType.DIGITAL_CIRCUIT),
        ("internet-dedicated", CircuitType.INTERNET_DEDICATED),
        ("DDN", CircuitType.DDN),
    ],
)
def test_every_spelling_names_one_canonical_type(spelling, canonical):
    assert circuit_type_of(spelling) is canonical and known_circuit_type(spelling) is canonical


def test_an_unknown_type_names_none_and_is_refused_without_echo():
    assert known_circuit_type("carrier-pigeon") is None and known_circuit_type(None) is None
    with pytest.raises(ValueError, match="one of digital_circuit") as refused:
        circuit_type_of("carrier-pigeon")
    assert "pigeon" not in str(refused.value)


def test_rules_match_by_canonical_type_and_old_runs_by_spelling():
    rules = default_resource_check_rules()
    for spelling in ("mpls_vpn", "mpls-vpn", "MPLS-VPN"):
        assert rules.departments_for(item(circuit_type=spelling)) == ("fixed-network", "operations")
    assert rules.departments_for(item(circuit_type="ethernet")) == ("operations",)
    hyphenated = ConsultRule(circuit_types=("mpls-vpn",), departments=("fixed-network",))
    assert hyphenated.matches(item(circuit_type="mpls_vpn"))
    # Runs from before circuit-type-vocabulary compared spellings: they keep doing so on replay.
    assert not hyphenated.matches(item(circuit_type="mpls_vpn"), canonical=False)
    assert hyphenated.matches(item(circuit_type="mpls-vpn"), canonical=False)


# ---- TMF645: canonical routing, aliases, refusals --------------------------------------------------------


@pytest.mark.parametrize("spelling", ["mpls_vpn", "MPLS-VPN", "ddn"])
async def test_tmf645_routes_every_spelling_to_the_fixed_network(http, login, spelling):
    headers = await login("coordinator1")
    created = await http.post(SQ, json=_check_body(f"C-{uuid.uuid4().hex[:8]}", spelling), headers=headers)
    assert created.status_code == 201, created.text
    check = created.json()
    shown = check["serviceQualificationItem"][0]["service"]["serviceCharacteristic"]
    assert {"name": "circuitType", "value": circuit_type_of(spelling).value} in shown

    async def consulted():
        body = (await http.get(f"{SQ}/{check['id']}", headers=headers)).json()
        return {line["department"] for line in body["rounds"][0]["lines"]} if body["rounds"] else None

    assert await eventually(consulted, what="departments asked") == {"fixed-network", "operations"}


async def test_tmf645_without_a_circuit_type_asks_by_service_type(http, login):
    headers = await login("coordinator1")
    created = await http.post(SQ, json=_check_body(f"C-{uuid.uuid4().hex[:8]}", None, "mobile"), headers=headers)
    assert created.status_code == 201, created.text

    async def consulted():
        body = (await http.get(f"{SQ}/{created.json()['id']}", headers=headers)).json()
        return {line["department"] for line in body["rounds"][0]["lines"]} if body["rounds"] else None

    assert await eventually(consulted, what="departments asked") == {"mobile-network", "operations"}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"circuit": "carrier-pigeon"}, ["serviceQualificationItem[0].service.serviceCharacteristic.circuitType:"]),
        ({"item_id": "a b"}, ["serviceQualificationItem[0].id:"]),
        ({"service_type": "x" * 65}, ["serviceQualificationItem.0.service.serviceType:"]),
        ({"customer_name": "名" * 201}, ["relatedParty.0.name:"]),
    ],
)
async def test_tmf645_refusals_name_tmf_attributes_and_create_nothing(http, login, sync_session, changes, words):
    body = _check_body(f"C-{uuid.uuid4().hex[:8]}", changes.get("circuit", "ddn"), changes.get("service_type", "x"))
    if "item_id" in changes:
        body["serviceQualificationItem"][0]["id"] = changes["item_id"]
    if "customer_name" in changes:
        body["relatedParty"][0]["name"] = changes["customer_name"]
    before = (_count(sync_session, ResourceCheckRow), _count(sync_session, AuditEntry))
    error = assert_tmf_error(await http.post(SQ, json=body, headers=await login("coordinator1")), 400, *words)
    for internal in ("item_id", "circuit_type", "service_type", "customer_name", "wanted_date"):
        assert internal not in error["message"]
    assert (_count(sync_session, ResourceCheckRow), _count(sync_session, AuditEntry)) == before


# ---- TMF641: aliases in, canonical out, filters, refusals -------------------------------------------------


async def test_tmf641_takes_an_alias_and_shows_the_canonical_type(http, login):
    headers = await login("coordinator1")
    customer = f"C-{uuid.uuid4().hex[:8]}"
    created = await http.post(SO, json={**order_body(circuitType="MPLS-VPN"), "customerId": customer}, headers=headers)
    assert created.status_code == 201, created.text
    order = created.json()
    service = order["serviceOrderItem"][0]["service"]
    assert service["serviceType"] == "mpls_vpn"
    assert {"name": "circuitType", "value": "mpls_vpn"} in service["serviceCharacteristic"]
    for name in ("circuitType", "serviceOrderItem.service.serviceType"):
        for spelling in ("mpls-vpn", "mpls_vpn"):
            listed = await http.get(SO, params={"customerId": customer, name: spelling}, headers=headers)
            assert [o["id"] for o in listed.json()] == [order["id"]], (name, spelling, listed.text)
    assert_tmf_error(await http.get(SO, params={"circuitType": "pigeon"}, headers=headers), 400, "circuitType:")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (order_body(circuitType="carrier-pigeon"), ["circuitType:", "one of digital_circuit"]),
        (order_body(days=-1), ["requestedCompletionDate: must be in the future"]),
        (order_body(bandwidth=""), ["bandwidth:"]),
    ],
)
async def test_tmf641_refusals_name_tmf_attributes_and_create_nothing(http, login, sync_session, body, words):
    before = _count(sync_session, ServiceOrderRow)
    error = assert_tmf_error(await http.post(SO, json=body, headers=await login("coordinator1")), 400, *words)
    assert "requested_completion" not in error["message"] and "circuit_type" not in error["message"]
    assert _count(sync_session, ServiceOrderRow) == before


# ---- pre-sales: one body, one vocabulary ---------------------------------------------------------------------


def _demand(circuit: str, item_circuit: str | None) -> dict:
    return {
        "customer_id": f"C-{uuid.uuid4().hex[:8]}",
        "customer_name": "华信物流有限公司",
        "description": "两地互联",
        "items": [
            {
                "item_id": "1",
                "sites": ["南京市鼓楼区中山路 1 号"],
                "service_type": "internet",
                "circuit_type": item_circuit,
                "bandwidth": "100M",
                "wanted_date": "2027-03-01",
            }
        ],
        "circuit_type": circuit,
        "a_end": NANJING.model_dump(),
        "z_end": SUZHOU.model_dump(),
        "bandwidth": "100M",
        "requested_completion": (datetime.now(UTC) + timedelta(days=40)).isoformat(),
    }


async def test_presales_takes_either_spelling_in_both_places(http, login):
    started = await http.post(
        "/api/presales-demands", json=_demand("mpls-vpn", "mpls_vpn"), headers=await login("coordinator1")
    )
    assert started.status_code == 201, started.text
    request = started.json()["demand"]["request"]
    assert (request["circuit_type"], request["items"][0]["circuit_type"]) == ("mpls_vpn", "mpls_vpn")


@pytest.mark.parametrize(
    ("circuit", "item_circuit", "field"),
    [("pigeon", "ddn", "circuit_type:"), ("ddn", "pigeon", "items.0.circuit_type:")],
)
async def test_presales_refuses_an_unknown_type_naming_it(http, login, sync_session, circuit, item_circuit, field):
    before = _count(sync_session, PresalesDemandRow)
    refused = await http.post(
        "/api/presales-demands", json=_demand(circuit, item_circuit), headers=await login("coordinator1")
    )
    assert refused.status_code == 422 and refused.json()["detail"].startswith(field), refused.text
    assert "pigeon" not in refused.text
    assert _count(sync_session, PresalesDemandRow) == before


# ---- the routing rules an admin publishes -------------------------------------------------------------------


async def test_rules_naming_an_unknown_circuit_type_are_refused(http, login, sync_session):
    admin = await login("admin")
    spec = (await http.get("/api/assignment-rules/default", headers=admin)).json()["spec"]
    rules = [{"circuit_types": ["mpls-vpn", "pigeon"], "departments": ["fixed-network"]}]
    before = _count(sync_session, AssignmentRulesVersion)
    refused = await http.post(
        "/api/assignment-rules/default",
        json={**spec, "resource_check": {**spec["resource_check"], "rules": rules}},
        headers=admin,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"].startswith("resource_check.rules.0.circuit_types: unknown circuit type")
    assert _count(sync_session, AssignmentRulesVersion) == before
