"""PreSalesDemandWorkflow: a customer's access demand from product fit to a provisioning order (DOMAIN.md §4).

Product support decides whether existing products fit; a `ResourceCheck` child workflow checks and reserves
the resources; the response center drafts the solution with the departments (jointly reviewed by every
department the check consulted when it is complex); the group-customer department records the contract as
signed; then a `ProvisioningOrder` child workflow is started and runs on its own. Any "no" ends the demand
with its reason recorded. People decide through HumanTaskBook's `decide` update (/api/tasks/{id}/decision).

The check finishes when its requester accepts the result, but its workflow stays open until its reservations
are claimed or expire, so instead of awaiting the child this workflow waits for the report it signals on finishing.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.workflow import ParentClosePolicy

from workflows.acts import StateBook

with workflow.unsafe.imports_passed_through():
    from core.presales import (
        CONTRACT_DEPARTMENT,
        PRODUCT_SUPPORT,
        CheckSummary,
        Demand,
        DemandInput,
        DemandOutcome,
        DemandSave,
        DemandStatus,
        Stage,
    )
    from core.provisioning import CheckFindings, CircuitSpec, OrderInput
    from core.provisioning import workflow_id_for as order_workflow_id
    from core.records import AuditRecord
    from core.resource_checks import REPORT_SIGNAL, CheckReport, CheckStatus, Qualification, ResourceCheckInput
    from core.resource_checks import WORKFLOW_TYPE as RESOURCE_CHECK
    from core.resource_checks import workflow_id_for as check_workflow_id
    from core.roles import Role
    from core.tasks import Candidates, DecisionInput, TaskRequest, TaskStatus
    from workflows.common import (
        BUSINESS_REF,
        LOAD_CHECK_SUMMARY,
        ORDER_KIND,
        RECORD_DEMAND,
        SLA_DUE_AT,
        WORK_STATUS,
        db_call,
    )


@workflow.defn(name="PreSalesDemand")
class PreSalesDemandWorkflow(StateBook[Demand]):
    """One pre-sales demand: each stage a human decision or a child workflow; a "no" ends it."""

    subject_type = "presales_demand"
    noun = "demand"

    def __init__(self) -> None:
        super().__init__()
        self._report: CheckReport | None = None

    @property
    def demand(self) -> Demand:
        """The demand state (set before any task opens)."""
        return self.state

    def subject_id(self) -> str:
        """The demand id."""
        return self.demand.demand_id

    @workflow.query(name="demand")
    def demand_state(self) -> Demand:
        """The whole demand: stages, check summary, solution, order."""
        return self.demand

    @workflow.run
    async def run(self, start: DemandInput) -> DemandOutcome:
        """Product fit → resource check → solution (joint review) → contract → provisioning order."""
        outcome = await self._stages(start)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome

    async def _stages(self, start: DemandInput) -> DemandOutcome:
        await self.load_policy(start.policy)
        self._state = Demand(
            demand_id=start.demand_id, workflow_id=workflow.info().workflow_id, request=start, created_at=workflow.now()
        )
        workflow.upsert_search_attributes([WORK_STATUS.value_set(DemandStatus.PRODUCT_FIT.value)])
        await self._save(self.audit(start.created_by, "demand.create", start.request_id))

        fit = await self._decide(
            "product_fit",
            "do existing products fit this demand?",
            Candidates(department=PRODUCT_SUPPORT),
            ("fit", "no_fit"),
            comment_required_for=("no_fit",),
        )
        if fit.outcome == "no_fit":
            return await self._end("product_fit", fit, "no existing product fits")

        check = await self._resource_check(start)
        if check.status == CheckStatus.CANCELLED or check.result == Qualification.UNQUALIFIED:
            why = (
                "the resource check was cancelled"
                if check.status == CheckStatus.CANCELLED
                else "resources are not available"
            )
            return await self._end("resource_check", None, why)
        self._passed("resource_check", check.result.value if check.result else "done", "resource check")

        await self._move(DemandStatus.SOLUTION)
        solution = await self._decide(
            "solution",
            "draft the solution with the departments",
            Candidates(roles=(Role.COORDINATOR,)),
            ("proposed", "abandon"),
            comment_required_for=("proposed", "abandon"),
        )
        if solution.outcome == "abandon":
            return await self._end("solution", solution, "no workable solution")
        self.demand.solution, self.demand.solution_by = solution.comment, solution.actor.username
        if start.complex or check.complex or check.result == Qualification.ALTERNATE:
            rejected = await self._joint_review(check.departments or ("operations",))
            if rejected is not None:
                return await self._end("joint_review", rejected, "the joint review rejected the solution")

        await self._move(DemandStatus.CONTRACT)
        contract = await self._decide(
            "contract",
            "sign the contract with the customer",
            Candidates(department=CONTRACT_DEPARTMENT),
            ("signed", "not_signed"),
            comment_required_for=("not_signed",),
        )
        if contract.outcome == "not_signed":
            return await self._end("contract", contract, "the contract was not signed")
        return await self._order(start, check)

    # ---- stages ------------------------------------------------------------------------------

    async def _decide(
        self,
        kind: str,
        subject: str,
        candidates: Candidates,
        outcomes: tuple[str, ...],
        *,
        comment_required_for: tuple[str, ...] = (),
        requested_by: str | None = None,
    ) -> DecisionInput:
        """Open a task, wait for its decision and record the stage."""
        task = await self.open_task(
            self._request(kind, subject, candidates, outcomes, comment_required_for, requested_by)
        )
        task = await self.wait_task(task.task_id)
        decision = self.decision_of(task.task_id)
        assert decision is not None
        self._passed(kind, decision.outcome, decision.comment, by=decision.actor.username)
        await self._save()
        return decision

    async def _resource_check(self, start: DemandInput) -> CheckSummary:
        """Start the check as a child (it outlives this workflow to hold its reservations) and wait for its result."""
        check_id = f"RC-{start.demand_id}"
        self.demand.check_id = check_id
        await self._move(DemandStatus.RESOURCE_CHECK)
        await workflow.start_child_workflow(
            RESOURCE_CHECK,
            ResourceCheckInput(
                check_id=check_id,
                customer_id=start.customer_id,
                customer_name=start.customer_name,
                contact=start.contact,
                description=start.description,
                items=start.items,
                requested_by=start.created_by,
                request_id=f"{start.demand_id}:check",
                external_id=start.demand_id,
                policy=start.policy,
            ),
            id=check_workflow_id(check_id),
            parent_close_policy=ParentClosePolicy.ABANDON,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(ORDER_KIND, "resource_check"), SearchAttributePair(BUSINESS_REF, check_id)]
            ),
        )
        await workflow.wait_condition(lambda: self._report is not None)
        # The report says how the check ended; its read model adds what the solution needs (departments, construction).
        summary = await db_call(
            LOAD_CHECK_SUMMARY,
            check_id,
            result_type=CheckSummary | None,  # type: ignore[arg-type]  # the stub wants a class; a union decodes too
        )
        assert self._report is not None
        report = self._report
        self.demand.check = CheckSummary(
            check_id=check_id,
            finished=True,
            status=report.status,
            result=report.result,
            reservation_ids=tuple(r.reservation_id for r in report.reservations),
            new_construction=bool(summary and summary.new_construction),
            complex=bool(summary and summary.complex),
            departments=summary.departments if summary else (),
        )
        return self.demand.check

    @workflow.signal(name=REPORT_SIGNAL)
    def check_report(self, report: CheckReport) -> None:
        """The resource check child reports how it finished (it lives on until its reservations expire)."""
        self._report = report

    async def _joint_review(self, departments: tuple[str, ...]) -> DecisionInput | None:
        """Every department reviews the solution (never its author); the first rejection, if any."""
        await self._move(DemandStatus.JOINT_REVIEW)
        tasks = []
        for department in departments:
            tasks.append(
                await self.open_task(
                    self._request(
                        "joint_review",
                        f"jointly review the solution ({department})",
                        Candidates(department=department),
                        ("approve", "reject"),
                        ("reject",),
                        self.demand.solution_by,
                    )
                )
            )
        rejected: list[DecisionInput] = []

        def settled() -> bool:
            decided = [self.decision_of(t.task_id) for t in tasks if self._tasks[t.task_id].status == TaskStatus.DONE]
            rejected[:] = [d for d in decided if d is not None and d.outcome == "reject"]
            return bool(rejected) or all(self._tasks[t.task_id].status != TaskStatus.OPEN for t in tasks)

        await workflow.wait_condition(settled)
        if rejected:
            await self.cancel_open_tasks("the joint review rejected the solution")
            return rejected[0]
        self._passed("joint_review", "approved", f"approved by {', '.join(departments)}")
        return None

    async def _order(self, start: DemandInput, check: CheckSummary) -> DemandOutcome:
        """Start the provisioning order as a child that runs on its own, then finish."""
        order_id = f"SO{start.demand_id.removeprefix('PS')}"
        spec = CircuitSpec(
            circuit_type=start.circuit_type,
            a_end=start.a_end,
            z_end=start.z_end,
            bandwidth=start.bandwidth,
            requested_completion=start.requested_completion,
            customer_id=start.customer_id,
            resource_check_id=check.check_id,
            reservation_id=check.reservation_ids[0] if check.reservation_ids else None,
            needs_construction=check.new_construction,
            needs_procurement=check.needs_procurement,
            check=CheckFindings(
                check_id=check.check_id,
                result=check.result.value if check.result else None,
                construction=check.new_construction,
                procurement=check.needs_procurement,
            ),
        )
        await workflow.start_child_workflow(
            "ProvisioningOrder",
            OrderInput(
                order_id=order_id,
                spec=spec,
                created_by=start.created_by,
                request_id=f"{start.demand_id}:order",
                description=start.description,
                external_id=start.demand_id,
                policy=start.policy,
            ),
            id=order_workflow_id(order_id),
            parent_close_policy=ParentClosePolicy.ABANDON,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(ORDER_KIND, "provisioning"),
                    SearchAttributePair(BUSINESS_REF, order_id),
                    SearchAttributePair(SLA_DUE_AT, start.requested_completion),
                ]
            ),
        )
        self.demand.order_id = order_id
        self._passed("order", "started", f"provisioning order {order_id}")
        await self._move(DemandStatus.ORDERED)
        return DemandOutcome(demand_id=start.demand_id, status="ordered", order_id=order_id)

    async def _end(self, stage: str, decision: DecisionInput | None, default: str) -> DemandOutcome:
        """A "no": record the reason and end."""
        reason = (decision.comment if decision else None) or default
        self.demand.end_reason, self.demand.ended_at = f"{stage}: {reason}", workflow.now()
        if not self.demand.stages or self.demand.stages[-1].stage != stage:  # decisions by _decide are recorded already
            by = decision.actor.username if decision else "system"
            self._passed(stage, decision.outcome if decision else "no", reason, by=by)
        await self._move(DemandStatus.ENDED)
        return DemandOutcome(demand_id=self.demand.demand_id, status="ended", reason=self.demand.end_reason)

    # ---- helpers -----------------------------------------------------------------------------

    def _request(
        self,
        kind: str,
        subject: str,
        candidates: Candidates,
        outcomes: tuple[str, ...],
        comment_required_for: tuple[str, ...] = (),
        requested_by: str | None = None,
    ) -> TaskRequest:
        return TaskRequest(
            kind=kind,
            subject=f"{self.demand.demand_id}: {subject}",
            candidates=candidates,
            outcomes=outcomes,
            comment_required_for=comment_required_for,
            requested_by=requested_by,
            business_ref=self.demand.demand_id,
        )

    def _passed(self, stage: str, outcome: str, reason: str | None, *, by: str = "system") -> None:
        self.demand.stages.append(Stage(stage=stage, outcome=outcome, by=by, at=workflow.now(), reason=reason))

    async def _move(self, status: DemandStatus) -> None:
        self.demand.status = status
        workflow.upsert_search_attributes([WORK_STATUS.value_set(status.value)])
        await self._save()

    async def _save(self, audit: AuditRecord | None = None) -> None:
        """Write the demand to the read model."""
        await self.write(RECORD_DEMAND, lambda demand: DemandSave(demand=demand, audit=audit))
