"""QualityInspectionWorkflow (质检): one period's sample of closed tickets reviewed, findings followed up and checked.

The sample comes from an activity (the rules in force and the closed tickets of the period); each sampled ticket is
a `quality_review` task for an inspector with the scoring form as its decision data (core.quality.ReviewForm).
Every finding opens an `improvement_action` task for its owner, due by the rules' action budget; once the action
is done, the workflow waits the rules' `check_after` and asks the inspector in an `improvement_check` task whether
the measure worked. The inspection ends when every review is scored and every action checked.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

from workflows.tasks import HumanTaskBook

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from core.calendar import deadline
    from core.quality import (
        Action,
        Inspection,
        InspectionInput,
        InspectionPlan,
        InspectionResult,
        InspectionSave,
        QualityRules,
        Review,
        ReviewForm,
        score,
    )
    from core.records import AuditRecord
    from core.tasks import Candidates, DecisionInput, HumanTask, RefusalCode, TaskRefused, TaskRequest
    from workflows.common import LOAD_QUALITY_PLAN, RECORD_INSPECTION, db_call, wait_until

EFFECTIVE, NOT_EFFECTIVE = "effective", "not_effective"


@workflow.defn(name="QualityInspection")
class QualityInspectionWorkflow(HumanTaskBook):
    """Reviews a period's sample, follows each finding up to a check of whether its measure worked."""

    def __init__(self) -> None:
        super().__init__()
        self._inspection: Inspection | None = None
        self._rules = QualityRules()
        self._lock = asyncio.Lock()

    @property
    def inspection(self) -> Inspection:
        """The inspection state (set before any task is opened)."""
        assert self._inspection is not None
        return self._inspection

    @workflow.run
    async def run(self, start: InspectionInput) -> InspectionResult:
        """Draw the sample, open a review per sampled ticket, wait until everything is scored and checked."""
        await self.load_policy(start.policy)
        plan = await db_call(LOAD_QUALITY_PLAN, start, result_type=InspectionPlan)
        self._rules = plan.rules
        workflow_id = workflow.info().workflow_id
        async with self._lock:
            self._inspection = Inspection(
                inspection_id=start.inspection_id,
                workflow_id=workflow_id,
                start=start.start,
                end=start.end,
                rules_version=plan.rules.version,
                requested_by=start.requested_by.username,
                reviews=[
                    Review(ticket_no=t.ticket_no, handler=t.handler, possible=plan.rules.possible) for t in plan.sample
                ],
            )
            audit = AuditRecord.by(
                start.requested_by,
                "quality.inspect",
                "quality_inspection",
                start.inspection_id,
                at=workflow.now(),
                request_id=start.request_id,
                workflow_id=workflow_id,
                details={"sampled": len(plan.sample), "rules_version": plan.rules.version},
            )
            for review in self.inspection.reviews:
                task = await self.open_task(
                    self._request(
                        "quality_review",
                        f"质检 quality review of {review.ticket_no} (handled by {review.handler})",
                        Candidates(roles=(self._rules.inspector_role,)),
                        outcomes=("scored",),
                        budget=self._rules.review_budget,
                    )
                )
                review.task_id = task.task_id
            await self._save(audit)
        await workflow.wait_condition(self.inspection.settled)
        await workflow.wait_condition(workflow.all_handlers_finished)
        async with self._lock:
            self.inspection.status = "done"
            await self._save()
        reviews = [r for r in self.inspection.reviews if r.points is not None]
        return InspectionResult(
            inspection_id=self.inspection.inspection_id,
            reviews=len(reviews),
            points=sum(r.points or 0 for r in reviews),
            possible=sum(r.possible for r in reviews),
            actions=len(self.inspection.actions),
            effective=sum(bool(a.effective) for a in self.inspection.actions),
        )

    @workflow.query(name="inspection")
    def current(self) -> Inspection | None:
        """The inspection as it stands."""
        return self._inspection

    @workflow.query(name="rules")
    def rules(self) -> QualityRules:
        """The rules this inspection runs under (its scoring form's criteria)."""
        return self._rules

    # ---- task decisions ---------------------------------------------------------------------------

    def check_decision_data(self, task: HumanTask, decision: DecisionInput) -> None:
        """Refuse a scoring form that does not fit the criteria, or an inspector scoring their own ticket."""
        if task.kind != "quality_review":
            return
        review = self._review_of(task.task_id)
        if decision.actor.username == review.handler:
            raise TaskRefused(RefusalCode.FORBIDDEN, f"{review.handler} handled {review.ticket_no}: another inspects")
        try:
            score(self._rules, ReviewForm.model_validate(decision.data))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise TaskRefused(RefusalCode.INVALID, f"data.{where}: {first['msg']}") from None
        except ValueError as err:
            raise TaskRefused(RefusalCode.INVALID, f"data.{err}") from None

    async def on_decided(self, task: HumanTask, decision: DecisionInput) -> None:
        """Score a review (opening an action per finding), record an action done, or record a check."""
        async with self._lock:
            who = decision.actor.username
            if task.kind == "quality_review":
                await self._scored(task, decision)
            elif task.kind == "improvement_action":
                action = self._action_of(task.task_id)
                action.done_at, action.done_note = workflow.now(), decision.comment
                asyncio.create_task(self._check_later(action))  # noqa: RUF006 - lives as long as the workflow
            elif task.kind == "improvement_check":
                action = next(a for a in self.inspection.actions if a.check_task_id == task.task_id)
                action.effective = decision.outcome == EFFECTIVE
                action.checked_by, action.checked_at = who, workflow.now()
            await self._save()

    async def _scored(self, task: HumanTask, decision: DecisionInput) -> None:
        review = self._review_of(task.task_id)
        form = ReviewForm.model_validate(decision.data)
        result = score(self._rules, form)
        inspector = decision.actor.username
        for finding in form.findings:
            action_task = await self.open_task(
                self._request(
                    "improvement_action",
                    f"improve after the review of {review.ticket_no}: {finding.text}",
                    Candidates(assignee=finding.owner),
                    outcomes=("done",),
                    budget=self._rules.action_budget,
                    comment_required_for=("done",),
                )
            )
            self.inspection.actions.append(
                Action(
                    task_id=action_task.task_id,
                    ticket_no=review.ticket_no,
                    handler=review.handler,
                    finding=finding.text,
                    owner=finding.owner,
                    inspector=inspector,
                    due_at=action_task.due_at,
                )
            )
        if self.inspection.actions:
            self.inspection.status = "following_up"
        # Scored last: until its actions are on the book, the inspection must not look settled.
        review.inspector, review.marks, review.points = inspector, dict(form.marks), result.points
        review.passed, review.scored_at = result.passed, workflow.now()

    async def _check_later(self, action: Action) -> None:
        """After `check_after` from the action's completion, ask its inspector whether the measure worked."""
        assert action.done_at is not None
        until = deadline(self.snapshot.calendar, action.done_at, self._rules.check_after)
        await wait_until(until, lambda: False, summary=f"effect check of {action.task_id}")
        async with self._lock:
            check = await self.open_task(
                self._request(
                    "improvement_check",
                    f"did the improvement work? {action.ticket_no}: {action.finding}",
                    Candidates(assignee=action.inspector, roles=(self._rules.inspector_role,)),
                    outcomes=(EFFECTIVE, NOT_EFFECTIVE),
                    budget=self._rules.review_budget,
                    comment_required_for=(EFFECTIVE, NOT_EFFECTIVE),
                )
            )
            action.check_task_id = check.task_id
            await self._save()

    # ---- helpers --------------------------------------------------------------------------------

    def _request(self, kind: str, subject: str, candidates: Candidates, **options: object) -> TaskRequest:
        """A task of this inspection: subject prefixed with its id, found by it as business reference."""
        inspection_id = self.inspection.inspection_id
        return TaskRequest(
            kind=kind,
            subject=f"{inspection_id}: {subject}",
            candidates=candidates,
            business_ref=inspection_id,
            **options,
        )

    def _review_of(self, task_id: str) -> Review:
        return next(r for r in self.inspection.reviews if r.task_id == task_id)

    def _action_of(self, task_id: str) -> Action:
        return next(a for a in self.inspection.actions if a.task_id == task_id)

    async def _save(self, audit: AuditRecord | None = None) -> None:
        self.inspection.revision += 1
        await db_call(RECORD_INSPECTION, InspectionSave(inspection=self.inspection.model_copy(deep=True), audit=audit))
