"""The boards' pieces without a browser: their words in the catalog, form reading, refusals at the fields, the
step states and the Gantt chart's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.datastructures import FormData

from api.console.board_words import BOARD_WORDS, every_board_value, say
from api.console.provisioning import gantt, step_errors, step_state
from api.console.rendering import gettext_for, translations
from api.console.resource_checks import act_values, create_errors, requirement_changes, tmf_create
from api.console.vocabulary import VOCABULARY
from core.provisioning import ProvisioningOrder, Scope, Step
from tests.provisioning.flow import spec

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def test_every_board_word_is_listed_and_has_its_chinese():
    assert every_board_value() <= set(BOARD_WORDS) | set(VOCABULARY)
    zh = translations("zh_CN").gettext
    assert [w for w in BOARD_WORDS if zh(w) == w and w not in ("atm", "ddn")] == []
    assert say(zh, "reservation", "held") == "预占中" and say(zh, "check", "accepted") == "结果已接受"
    assert say(zh, "step", "a_step_a_new_rule_adds") == "a_step_a_new_rule_adds"  # shown as itself
    assert say(gettext_for("en"), "step", "data_configuration") == "Data configuration"


def test_the_request_form_becomes_a_tmf645_create_and_its_refusals_land_at_the_fields():
    form = FormData(
        [
            ("customer_id", "C-1"),
            ("customer_name", "华信"),
            ("sites", "上海 A 路 1 号\n\n上海 B 路 2 号 "),
            ("service_type", "internet"),
            ("circuit_type", "mpls_vpn"),
            ("bandwidth", ""),
            ("wanted_date", "2027-01-31"),
        ]
    )
    body = tmf_create(form)
    item = body["serviceQualificationItem"][0]
    assert [p["name"] for p in item["service"]["place"]] == ["上海 A 路 1 号", "上海 B 路 2 号"]
    assert item["service"]["serviceCharacteristic"] == [{"name": "circuitType", "value": "mpls_vpn"}]
    assert "contact" not in body and item["expectedServiceAvailabilityDate"] == "2027-01-31"
    errors, general = create_errors(
        "serviceQualificationItem[0].service.serviceCharacteristic: bandwidth is required; "
        "serviceQualificationItem.0.expectedServiceAvailabilityDate: 2020-01-01 is in the past; "
        "relatedParty.0.id: String should have at least 1 character; something else entirely"
    )
    assert errors == {
        "bandwidth": "bandwidth is required",
        "wanted_date": "2020-01-01 is in the past",
        "customer_id": "String should have at least 1 character",
    }
    assert general == ["something else entirely"]


def test_answer_and_recheck_forms_become_the_apis_acts():
    answer = FormData(
        [
            ("item_id", "1"),
            ("department", "operations"),
            ("result", "qualified"),
            ("resources", "rack: ZJ-B2-07\n\nport: ge-0/0/7"),
            ("new_construction", "on"),
            ("construction_days", "25"),
        ]
    )
    assert act_values("answer", answer) == {
        "type": "answer",
        "result": "qualified",
        "resources": {"rack": "ZJ-B2-07", "port": "ge-0/0/7"},
        "new_construction": True,
        "construction_days": "25",
        "needs_procurement": False,
        "item_id": "1",
        "department": "operations",
    }
    bad = FormData([("item_id", "1"), ("department", "operations"), ("resources", "just a rack")])
    assert str(act_values("answer", bad)).startswith("resources: write one 'name: value' per line")
    recheck = FormData(
        [("reason", "降速"), ("change.1.bandwidth", "50M"), ("change.2.wanted_date", ""), ("change.x-y.sites", "a")]
    )
    assert requirement_changes(recheck) == [{"item_id": "1", "bandwidth": "50M"}]
    assert act_values("recheck", recheck) == {
        "type": "recheck",
        "reason": "降速",
        "changes": [{"item_id": "1", "bandwidth": "50M"}],
    }


def _order(**steps: dict) -> ProvisioningOrder:
    base = NOW - timedelta(days=2)
    plan = [
        Step(
            step=name,
            title=name,
            weight=1,
            planned_start=base + timedelta(days=i),
            planned_due=base + timedelta(days=i + 1),
            due_at=base + timedelta(days=i + 1),
            **fields,
        )
        for i, (name, fields) in enumerate(steps.items())
    ]
    return ProvisioningOrder(
        order_id="SO-1",
        workflow_id="provisioning-SO-1",
        spec=spec(NOW),
        scope=Scope.INTRA_PROVINCE,
        created_by="coordinator1",
        created_at=base,
        steps=plan,
        current="activation",
    )


def test_step_states_and_the_gantt_data_mark_jeopardy_and_breach():
    order = _order(
        dispatch={"opened_at": NOW - timedelta(days=2), "done_at": NOW - timedelta(days=1, hours=20)},
        data_configuration={"opened_at": NOW - timedelta(days=1), "done_at": NOW, "breached": True},
        activation={"opened_at": NOW - timedelta(hours=2), "jeopardy": True},
        testing={},
    )
    states = [step_state(s, order, NOW) for s in order.steps]
    assert states == ["done", "breach", "jeopardy", "planned"]  # done past its deadline: still marked
    late = order.model_copy(update={"current": "data_configuration"})
    assert step_state(late.steps[1], late, NOW) == "breach"
    chart = gantt(order, NOW, translations("zh_CN").gettext)
    assert chart["categories"][:2] == ["下发调单", "资源分配与数据配置"]
    assert [p["state"] for p in chart["planned"]] == states and len(chart["actual"]) == 3
    running = chart["actual"][2]["value"]
    assert running[2] == int(NOW.timestamp() * 1000)  # the step in progress runs up to now
    assert chart["colours"]["breach"] == "#d63939" and chart["colours"]["jeopardy"] == "#e8a317"


def test_a_completions_document_problems_show_at_the_documents():
    errors, general = step_errors(
        "documents.0.content_base64: not valid base64; note: String should have at most 2000 characters; other"
    )
    assert errors == {
        "note": "String should have at most 2000 characters",
        "documents": "documents.0.content_base64: not valid base64",
    }
    assert general == ["other"]
