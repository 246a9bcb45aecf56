"""Words the resource-check and provisioning pages show by value, each under a prefix naming what it is (a check's
`accepted` is not a ticket's, a reservation's `held` not a held ticket's). Listed literally for `pybabel extract`;
tests/console/test_console_board_units.py checks every enum value has its word here and in the catalog. Templates
show them with the `say(prefix, value)` macro of _words.html (an unknown value, e.g. a step a new rule version
adds, shows as itself); `say` is the same in Python."""

from __future__ import annotations

from collections.abc import Callable

from api.console.vocabulary import N_
from core.circuits import CircuitType
from core.presales import DemandStatus
from core.provisioning import OrderStatus, Scope, default_closure_steps, default_provisioning_rules
from core.reservations import ReservationStatus
from core.resource_checks import CheckStatus, Feasibility, Qualification
from core.roles import Role

BOARD_WORDS = (
    # resource checks
    N_("check.acknowledged"),
    N_("check.consulting"),
    N_("check.joint_review"),
    N_("check.awaiting_requester"),
    N_("check.accepted"),
    N_("check.cancelled"),
    N_("line.answered"),
    N_("line.escalated"),
    N_("line.late"),
    N_("line.waiting"),
    N_("line.cancelled"),
    N_("result.qualified"),
    N_("result.alternate"),
    N_("result.unqualified"),
    N_("feasibility.feasible"),
    N_("feasibility.feasible_after_construction"),
    N_("feasibility.not_feasible"),
    N_("reservation.held"),
    N_("reservation.claimed"),
    N_("reservation.released"),
    N_("reservation.expired"),
    N_("decision.accepted"),
    N_("decision.recheck"),
    N_("decision.review_rejected"),
    N_("decision.cancelled"),
    N_("message.question"),
    N_("message.answer"),
    N_("chase.reminder"),
    N_("chase.manual"),
    N_("chase.escalation"),
    N_("change.bandwidth"),
    N_("change.sites"),
    N_("change.wanted_date"),
    N_("rc_act.answer"),
    N_("rc_act.ask"),
    N_("rc_act.reply"),
    N_("rc_act.chase"),
    N_("rc_act.escalate"),
    N_("rc_act.accept"),
    N_("rc_act.recheck"),
    N_("rc_act.cancel"),
    N_("rc_act.requested"),
    N_("rc_act.approve"),
    N_("rc_act.reject"),
    # provisioning orders and pre-sales demands
    N_("order.acknowledged"),
    N_("order.in_progress"),
    N_("order.in_review"),
    N_("order.completing"),
    N_("order.completed"),
    N_("order.assessing_cancellation"),
    N_("order.pending_cancellation"),
    N_("order.cancelled"),
    N_("order.failed"),
    N_("scope.cross_province"),
    N_("scope.intra_province"),
    N_("step.dispatch"),
    N_("step.procurement"),
    N_("step.construction"),
    N_("step.trunk_configuration"),
    N_("step.data_configuration"),
    N_("step.activation"),
    N_("step.testing"),
    N_("step.completion_order"),
    N_("step.review"),
    N_("step.data_removal"),
    N_("step.resource_recovery"),
    N_("step.billing_stop_notice"),
    N_("step.completion"),
    N_("gantt.done"),
    N_("gantt.breach"),
    N_("gantt.jeopardy"),
    N_("gantt.in_progress"),
    N_("gantt.planned"),
    N_("jeopardy.warning"),
    N_("jeopardy.breach"),
    N_("review.approve"),
    N_("review.return"),
    N_("document.completion_order"),
    N_("document.test_report"),
    N_("document.attachment"),
    N_("circuit_status.active"),
    N_("circuit_status.cancelled"),
    N_("circuit_status.closed"),
    N_("stage.refining"),
    N_("stage.product_fit"),
    N_("stage.resource_check"),
    N_("stage.solution"),
    N_("stage.joint_review"),
    N_("stage.contract"),
    N_("stage.ordered"),
    N_("stage.ended"),
    N_("po_done.complete_step"),
    N_("po_done.approve"),
    N_("po_done.return"),
    N_("role.agent"),
    N_("role.engineer"),
    N_("role.supervisor"),
    N_("role.coordinator"),
    N_("role.department"),
    N_("role.reviewer"),
    N_("role.auditor"),
    N_("role.admin"),
    # form fields and choices shown by name
    N_("sites"),
    N_("service_type"),
    N_("circuit_type"),
    N_("bandwidth"),
    N_("wanted_date"),
    N_("result"),
    N_("proposal"),
    N_("reasons"),
    N_("resources"),
    N_("new_construction"),
    N_("construction"),
    N_("construction_days"),
    N_("needs_procurement"),
    N_("qualified"),
    N_("alternate"),
    N_("unqualified"),
    N_("digital_circuit"),
    N_("atm"),
    N_("ddn"),
    N_("frame_relay"),
    N_("mpls_vpn"),
    N_("internet_dedicated"),
    N_("return_to"),
    N_("documents"),
    N_("Planned"),
    N_("Actual"),
    N_("Now"),
)


def every_board_value() -> set[str]:
    """Every prefixed word the boards show, from the enums and the default rules (the list must cover them)."""
    words = {f"check.{s.value}" for s in CheckStatus} | {f"result.{q.value}" for q in Qualification}
    words |= {f"feasibility.{f.value}" for f in Feasibility} | {f"reservation.{r.value}" for r in ReservationStatus}
    words |= {f"order.{s.value}" for s in OrderStatus} | {f"scope.{s.value}" for s in Scope}
    words |= {f"stage.{s.value}" for s in DemandStatus} | {f"role.{r.value}" for r in Role}
    rules = default_provisioning_rules()
    steps = [*rules.dispatchers.values(), *rules.steps, rules.review, *default_closure_steps()]
    words |= {f"step.{s.step}" for s in steps}
    return words | {c.value for c in CircuitType} | {q.value for q in Qualification}


def say(translate: Callable[[str], str], prefix: str, value: str) -> str:
    """The word for a value under its prefix, in the request's language; an unknown value as itself."""
    key = f"{prefix}.{value}"
    word = translate(key)
    return value if word == key else word
