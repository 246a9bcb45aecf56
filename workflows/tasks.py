"""HumanTaskBook: the one human-task mechanism every workflow mixes in.

A workflow opens tasks with `open_task`, waits with `wait_task`, and may move a due time with
`move_due` (approved extension, SLA pause). People act through two updates, `claim` and `decide`,
whose validators run the pure checks of `core.tasks`, so a refused act never enters history.
Each open task has a watcher coroutine that fires the reminder/escalation ladder as durable
timers at business-time thresholds computed once from the workflow's calendar snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, ClassVar

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from core.arbitration import (
        ARBITRATION_KIND,
        DECIDE,
        Arbitration,
        ArbitrationRequest,
        ArbitrationRules,
        check_request,
    )
    from core.arbitration import check_decision as check_arbitration_decision
    from core.calendar import Clock, clock_of, deadline, threshold_instants
    from core.records import AuditRecord, BreachRecord, NotificationRecord, PolicyRef, TaskEvent
    from core.roles import SYSTEM_ACTOR, Actor
    from core.sla import LadderStep, PolicySnapshot
    from core.tasks import (
        ActResult,
        Candidates,
        ClaimInput,
        DecisionInput,
        HumanTask,
        RefusalCode,
        TaskRefused,
        TaskRequest,
        TaskStatus,
        check_claim,
        check_decision,
    )
    from workflows.common import (
        LOAD_POLICY_SNAPSHOT,
        RECORD_TASK_EVENT,
        db_call,
        patched_since,
        wait_until,
    )


ARBITRATION_BINDS = "arbitration-binds-workflow"  # patch: an arbitration decision reassigns the stalled task
# patch: ladder rungs due at the same instant (a late ladder: a backdated start, a worker back from an outage) fire
# in one held write in a workflow that holds its writes, instead of one write each (issue 18). Asked only when two
# or more are due, so a run whose rungs come one at a time records no marker.
RUNGS_AT_ONCE = "ladder-rungs-at-once"


def refused(code: RefusalCode, message: str) -> ApplicationError:
    """A refused (or failed) message as its caller receives it: an ApplicationError typed by the refusal code."""
    return ApplicationError(message, type=code.value, non_retryable=True)


class HumanTaskBook:
    """Mixin holding a workflow's human tasks, their ladders and the claim/decide handlers."""

    # The patch under which this workflow's state write carries the task changes of the same act (tickets:
    # read-model-one-write): inside `one_write` its task changes and search-attribute upserts are held for that
    # write instead of going one by one. It came after every other patch of the workflow, so it implies them
    # (`patched_or_implied`). None: the workflow writes every task change at once.
    one_write_patch: ClassVar[str | None] = None

    def __init__(self) -> None:
        self._tasks: dict[str, HumanTask] = {}
        self._decisions: dict[str, DecisionInput] = {}
        self._task_seq = 0
        self._snapshot: PolicySnapshot | None = None
        self._arbitrations: dict[str, Arbitration] = {}  # by arbitration task id
        self._held_tasks: list[TaskEvent] = []  # task changes waiting for the state's write
        self._held_search: list[SearchAttributeUpdate[Any]] = []
        self._writes_holder: asyncio.Task[object] | None = (
            None  # the handler holding them; other handlers write at once
        )

    # ---- used by workflow code -------------------------------------------------------------

    async def load_policy(self, ref: PolicyRef) -> PolicySnapshot:
        """Load and adopt the calendar and SLA policy this run keeps for its whole life."""
        self._snapshot = await db_call(LOAD_POLICY_SNAPSHOT, ref, result_type=PolicySnapshot)
        return self._snapshot

    @property
    def snapshot(self) -> PolicySnapshot:
        """The policy snapshot; workflows load it before opening any task."""
        if self._snapshot is None:
            raise RuntimeError("load_policy() must run before tasks are opened")
        return self._snapshot

    @asynccontextmanager
    async def one_write(self) -> AsyncIterator[None]:
        """Hold this handler's task changes and search-attribute upserts for the state's next write (one local
        activity per act); whatever no write took is written when the block ends. The outermost block holds; a
        no-op for workflows that do not hold and for runs from before their one-write patch."""
        if self._writes_holder is not None or not self.under_one_write():
            yield
            return
        self._writes_holder = asyncio.current_task()
        try:
            yield
        finally:
            left = self.take_held()
            self._writes_holder = None
            for event in left:
                await db_call(RECORD_TASK_EVENT, event)

    def under_one_write(self) -> bool:
        """True on a run under this workflow's one-write patch (its state writes carry the held task changes)."""
        return self.one_write_patch is not None and workflow.patched(self.one_write_patch)

    def patched_or_implied(self, patch_id: str) -> bool:
        """`workflow.patched(patch_id)`, but True without a marker of its own on a run under the one-write patch,
        which came after it (runs from before ask `patch_id` exactly as they did)."""
        return self.under_one_write() or workflow.patched(patch_id)

    async def record_event(self, event: TaskEvent) -> None:
        """Write a task change (or notices alone), or hold it for the state's write when this handler holds."""
        if self.holds_writes():
            self._held_tasks.append(event)
            return
        await db_call(RECORD_TASK_EVENT, event)

    def take_held(self) -> tuple[TaskEvent, ...]:
        """Upsert the held search attributes (one command) and hand over the held task changes for the state write
        (nothing when this handler holds none)."""
        if not self.holds_writes():
            return ()
        if self._held_search:
            workflow.upsert_search_attributes(self._held_search)
            self._held_search = []
        held, self._held_tasks = tuple(self._held_tasks), []
        return held

    def upsert_search(self, updates: Sequence[SearchAttributeUpdate[Any]]) -> None:
        """Upsert search attributes now, or with the held writes when this handler holds them."""
        if self.holds_writes():
            self._held_search.extend(updates)
        else:
            workflow.upsert_search_attributes(updates)

    def holds_writes(self) -> bool:
        """True in the handler that holds the writes (inside its `one_write` block, on a run that holds)."""
        return self._writes_holder is not None and asyncio.current_task() is self._writes_holder

    async def open_task(self, request: TaskRequest, *, audit: AuditRecord | None = None) -> HumanTask:
        """Open a task, record it in the read model, notify its candidates and start its ladder."""
        self._task_seq += 1
        workflow_id = workflow.info().workflow_id
        now = workflow.now()
        policy = self.snapshot.policy
        budget = request.budget or policy.task_budget(request.kind)
        due = request.due_at or deadline(self.snapshot.calendar, now, budget)
        clock = request.ladder_clock or (clock_of(budget) if request.due_at is None else "business")
        ladder = policy.ladder if request.ladder is None else request.ladder
        task = HumanTask(
            task_id=f"{workflow_id}:{request.kind}:{self._task_seq}",
            workflow_id=workflow_id,
            kind=request.kind,
            subject=request.subject,
            candidates=request.candidates,
            outcomes=request.outcomes,
            requested_by=request.requested_by,
            business_ref=request.business_ref,
            priority=request.priority,
            comment_required_for=request.comment_required_for,
            opened_at=now,
            due_at=due,
            ladder=ladder,
            ladder_at=self._ladder_instants(now, due, ladder, clock),
            ladder_clock=clock,
            revision=1,
        )
        self._tasks[task.task_id] = task
        self._warn_beyond_horizon(task)
        notice = self._notices(task, "assigned", f"New task: {task.subject}", task.candidates, suffix="open")
        if request.notify_roles:
            urgent = Candidates(roles=request.notify_roles)
            notice += self._notices(task, "urgent", f"Green channel: {task.subject}", urgent, suffix="notify")
        await self._record(task, audit=audit, notifications=notice)
        asyncio.create_task(self._watch(task.task_id))  # noqa: RUF006 - lives as long as the workflow
        return task

    async def wait_task(self, task_id: str) -> HumanTask:
        """Wait until the task is decided or cancelled."""
        await workflow.wait_condition(lambda: self._tasks[task_id].status != TaskStatus.OPEN)
        return self._tasks[task_id]

    def decision_of(self, task_id: str) -> DecisionInput | None:
        """The accepted decision on a task, with its payload."""
        return self._decisions.get(task_id)

    async def move_due(self, task_id: str, new_due: datetime, *, reason: str) -> HumanTask:
        """Move an open task's due time (extension, pause) and re-plan the rungs not yet due."""
        task = self._tasks[task_id]
        now = workflow.now()
        task.due_at = new_due
        task.suspended = False
        task.ladder_at = self._ladder_instants(task.opened_at, new_due, task.ladder, task.ladder_clock)
        task.rungs_fired = min(task.rungs_fired, sum(1 for at in task.ladder_at if at <= now))
        task.due_version += 1
        task.revision += 1
        await self._record(task)
        workflow.logger.info("task %s due moved to %s (%s)", task_id, new_due.isoformat(), reason)
        self._warn_beyond_horizon(task)
        return task

    def _warn_beyond_horizon(self, task: HumanTask) -> None:
        """Flag a deadline the calendar cannot vouch for: it lies after the last date whose holidays it declares."""
        calendar = self.snapshot.calendar
        if calendar.beyond_horizon(task.due_at):
            workflow.logger.warning(
                "task %s is due %s, after the horizon %s of calendar %s v%s: holidays then are unknown",
                task.task_id,
                task.due_at.isoformat(),
                calendar.horizon,
                calendar.name,
                calendar.version,
                extra={"beyond_calendar_horizon": True, "task_id": task.task_id},
            )

    async def close_task(
        self, task_id: str, outcome: str, actor: Actor, *, audit: AuditRecord | None = None
    ) -> HumanTask:
        """Close a task the workflow itself completes because a domain act fulfilled it (e.g. accept)."""
        task = self._tasks[task_id]
        task.status = TaskStatus.DONE
        task.outcome = outcome
        task.decided_by = actor.username
        task.decided_at = workflow.now()
        task.revision += 1
        await self._record(task, audit=audit)
        return task

    async def suspend(self, task_id: str) -> None:
        """Stop a task's ladder while the SLA is paused; `move_due` resumes it."""
        task = self._tasks[task_id]
        task.suspended = True
        task.due_version += 1  # wakes the watcher, which then waits for the resume
        task.revision += 1
        await self._record(task)

    async def cancel_open_tasks(self, reason: str) -> None:
        """Close every open task as cancelled (workflow cancelled or superseded)."""
        for task in list(self._tasks.values()):
            if task.status == TaskStatus.OPEN:
                task.status = TaskStatus.CANCELLED
                task.comment = reason
                task.decided_at = workflow.now()
                task.revision += 1
                await self._record(task)

    def open_tasks(self) -> list[HumanTask]:
        """Tasks still waiting for someone."""
        return [t for t in self._tasks.values() if t.status == TaskStatus.OPEN]

    async def on_rung(self, task: HumanTask, rung: LadderStep) -> None:
        """Hook for workflows: called after a ladder rung fired (e.g. raise a ticket's tier)."""

    def check_decision_data(self, task: HumanTask, decision: DecisionInput) -> None:
        """Hook for workflows: refuse a malformed decision payload by raising TaskRefused."""

    async def on_reassigned(self, task: HumanTask, arbitration: Arbitration) -> None:
        """Hook for workflows: an arbitration moved `task` to another department (move the step behind it too)."""

    async def on_decided(self, task: HumanTask, decision: DecisionInput) -> None:
        """Hook for workflows: apply a decision's effect (runs inside the `decide` update, after it is recorded)."""

    # ---- messages ----------------------------------------------------------------------------

    @workflow.query(name="tasks")
    def tasks(self) -> list[HumanTask]:
        """Every task of this workflow, open or closed."""
        return list(self._tasks.values())

    @workflow.update(name="claim")
    async def claim(self, claim: ClaimInput) -> ActResult:
        """Claim a task (or release a claim) so colleagues see who is on it."""
        task = self._tasks.get(claim.task_id)
        self._refuse_unless(check_claim, task, claim)  # re-check: another act may have won the race
        assert task is not None
        task.claimed_by = None if claim.release else claim.actor.username
        task.revision += 1
        action = "task.release" if claim.release else "task.claim"
        await self._record(task, audit=self._audit(claim.actor, action, task, claim.request_id))
        return self._result(task, claim.actor)

    @claim.validator
    def _validate_claim(self, claim: ClaimInput) -> None:
        self._refuse_unless(check_claim, self._tasks.get(claim.task_id), claim)

    @workflow.update(name="decide")
    async def decide(self, decision: DecisionInput) -> ActResult:
        """Decide a task; the workflow continues from the decision."""
        task = self._tasks.get(decision.task_id)
        self._refuse_unless(self._full_decision_check, task, decision)  # re-check: races
        assert task is not None
        # State changes before the first await, so a concurrent act sees the task closed.
        task.status = TaskStatus.DONE
        task.outcome = decision.outcome
        task.decided_by = decision.actor.username
        task.decided_at = workflow.now()
        task.comment = decision.comment
        task.revision += 1
        self._decisions[task.task_id] = decision
        audit = self._audit(
            decision.actor, f"task.{decision.outcome}", task, decision.request_id, reason=decision.comment
        )
        async with self.one_write():
            await self._record(task, audit=audit)
            arbitration = self._arbitrations.get(task.task_id)
            if arbitration is not None and patched_since(ARBITRATION_BINDS):
                await self._guarded("arbitration decision", self._bind_arbitration(arbitration, decision))
            else:
                await self._guarded(f"decision {decision.outcome} on {task.kind}", self.on_decided(task, decision))
        return self._result(task, decision.actor)

    @decide.validator
    def _validate_decide(self, decision: DecisionInput) -> None:
        self._refuse_unless(self._full_decision_check, self._tasks.get(decision.task_id), decision)

    @workflow.query(name="arbitrations")
    def arbitrations(self) -> list[Arbitration]:
        """Every arbitration asked on this workflow's tasks, decided or not."""
        return list(self._arbitrations.values())

    @workflow.update(name="request_arbitration")
    async def request_arbitration(self, request: ArbitrationRequest) -> ActResult:
        """Ask the arbiter the rules name to decide which department takes a stalled task (DOMAIN.md §7)."""
        self._refuse_unless(self._check_arbitration_request, request)  # re-check: races
        patched_since(ARBITRATION_BINDS)
        stalled = self._tasks[request.task_id]
        raw = (self.snapshot.assignment or {}).get("arbitration") or {}
        rules = ArbitrationRules.model_validate(raw)
        arbiter = rules.arbiter_for(getattr(self, "subject_type", "task"))
        sides = "; ".join(f"{p.department}: {p.position}" for p in request.parties)
        audit = AuditRecord.by(
            request.actor,
            "arbitration.request",
            "task",
            stalled.task_id,
            at=workflow.now(),
            request_id=request.request_id,
            workflow_id=stalled.workflow_id,
            reason=request.stalled,
            details={"parties": [p.model_dump() for p in request.parties], "arbiter": arbiter.title},
        )
        task = await self.open_task(
            TaskRequest(
                kind=ARBITRATION_KIND,
                subject=f"Arbitration on {stalled.subject}: {request.stalled} ({sides})"[:500],
                candidates=arbiter.candidates,
                outcomes=(DECIDE,),
                requested_by=request.actor.username,
                business_ref=stalled.business_ref,
                comment_required_for=(DECIDE,),
            ),
            audit=audit,
        )
        assignment = self.snapshot.assignment or {}
        self._arbitrations[task.task_id] = Arbitration(
            arbitration_id=task.task_id,
            stalled_task_id=stalled.task_id,
            stalled_kind=stalled.kind,
            parties=request.parties,
            stalled=request.stalled,
            requested_by=request.actor.username,
            requested_at=workflow.now(),
            arbiter=arbiter,
            rules_version=assignment.get("version"),
        )
        return self._result(task, request.actor)

    @request_arbitration.validator
    def _validate_request_arbitration(self, request: ArbitrationRequest) -> None:
        if self._snapshot is None:
            raise refused(RefusalCode.NOT_READY, "the workflow is still being set up; retry shortly")
        self._refuse_unless(self._check_arbitration_request, request)

    # ---- internals ---------------------------------------------------------------------------

    def _check_arbitration_request(self, request: ArbitrationRequest) -> None:
        check_request(self._tasks.get(request.task_id), request, list(self._arbitrations.values()))

    async def _bind_arbitration(self, arbitration: Arbitration, decision: DecisionInput) -> None:
        """The decision binds: the stalled task (still open) moves to the department decided, on the record."""
        department = check_arbitration_decision(arbitration, decision.data)
        now = workflow.now()
        arbitration.decided_department, arbitration.decided_by = department, decision.actor.username
        arbitration.decided_at, arbitration.reason = now, decision.comment
        stalled = self._tasks[arbitration.stalled_task_id]
        if stalled.status != TaskStatus.OPEN:
            workflow.logger.info("arbitration %s: task %s already closed", arbitration.arbitration_id, stalled.task_id)
            return
        stalled.candidates = Candidates(department=department)
        stalled.claimed_by = None
        stalled.revision += 1
        arbitration.bound = True
        audit = self._audit(
            decision.actor,
            "task.reassign",
            stalled,
            f"{decision.request_id}:reassign",
            reason=f"arbitration {arbitration.arbitration_id}: {decision.comment}",
        )
        notices = self._notices(
            stalled,
            "assigned",
            f"Arbitration: {stalled.subject} is yours now",
            stalled.candidates,
            suffix=f"arbitrated:{arbitration.arbitration_id}",
        )
        await self._record(stalled, audit=audit, notifications=notices)
        await self.on_reassigned(stalled, arbitration)

    def _full_decision_check(self, task: HumanTask | None, decision: DecisionInput) -> None:
        check_decision(task, decision)
        assert task is not None
        if (arbitration := self._arbitrations.get(task.task_id)) is not None:
            check_arbitration_decision(arbitration, decision.data)
            return
        self.check_decision_data(task, decision)

    @staticmethod
    async def _guarded(what: str, step: Awaitable[None]) -> None:
        """Run a message's effect; a bug or data error in it fails that update, never the workflow task."""
        try:
            await step
        except FailureError:  # a refusal or a failed activity: already the update's failure
            raise
        except Exception as err:
            workflow.logger.exception("%s failed", what)
            raise refused(RefusalCode.CONFLICT, f"{what}: could not be applied ({type(err).__name__}: {err})") from err

    @staticmethod
    def _refuse_unless(check: Callable[..., None], *args: object) -> None:
        """Run a pure check; turn a refusal into an ApplicationError whose type is the refusal code."""
        try:
            check(*args)
        except TaskRefused as refusal:
            raise refused(refusal.code, refusal.message) from None

    def _ladder_instants(
        self, start: datetime, due: datetime, ladder: tuple[LadderStep, ...], clock: Clock
    ) -> tuple[datetime, ...]:
        """Rung instants: shares of the elapsed span for plain-hour budgets, of business time otherwise."""
        percents = [rung.percent for rung in ladder]
        if clock == "elapsed":
            return tuple(start + (due - start) * p / 100 for p in percents)
        return tuple(threshold_instants(self.snapshot.calendar, start, due, percents))

    async def _watch(self, task_id: str) -> None:
        """Fire each ladder rung at its instant unless the task closes first; re-plan when the due moves."""
        task = self._tasks[task_id]
        while task.status == TaskStatus.OPEN:
            changed = self._changed(task, task.due_version)
            if task.suspended or task.rungs_fired >= len(task.ladder):
                await workflow.wait_condition(changed)
                continue
            rung = task.ladder[task.rungs_fired]
            summary = f"{rung.action} {rung.percent}% {task_id}"
            if not await wait_until(
                task.ladder_at[task.rungs_fired], changed, summary=summary
            ):  # late rungs fire at once
                due = self._due_rungs(task)
                if len(due) > 1 and self.under_one_write() and workflow.patched(RUNGS_AT_ONCE):
                    await self._fire_at_once(task, due, changed)
                else:
                    await self._fire(task, rung)

    def _due_rungs(self, task: HumanTask) -> list[LadderStep]:
        """The rungs not yet fired whose instant has come, in ladder order."""
        now = workflow.now()
        return [task.ladder[i] for i in range(task.rungs_fired, len(task.ladder)) if task.ladder_at[i] <= now]

    async def _fire_at_once(self, task: HumanTask, rungs: list[LadderStep], changed: Callable[[], bool]) -> None:
        """Fire rungs due together in one held write: each keeps its notices, audit row and breach, in order."""
        await workflow.wait_condition(lambda: self._writes_holder is None)  # another handler's write goes first
        async with self.one_write():
            for rung in rungs:
                if changed() or task.suspended:  # a rung's hook closed the task or moved its due
                    break
                await self._fire(task, rung)

    @staticmethod
    def _changed(task: HumanTask, version: int) -> Callable[[], bool]:
        """True once the task closes or its due moves (a new version of the ladder)."""
        return lambda: task.status != TaskStatus.OPEN or task.due_version != version

    async def _fire(self, task: HumanTask, rung: LadderStep) -> None:
        """Send a reminder or escalate: notify, record a breach at 100 %, optionally reassign."""
        index = task.rungs_fired
        task.rungs_fired += 1
        key = f"{task.task_id}:rung{index}:v{task.due_version}"
        responsible = task.claimed_by or task.candidates.assignee or task.candidates.describe()
        late = rung.percent >= 100
        what = "overdue" if late else f"{rung.percent}% of its time used"
        message = f"{'Escalated' if rung.action == 'escalate' else 'Reminder'}: {task.subject} ({what})"
        owner = Candidates(assignee=task.claimed_by) if task.claimed_by else task.candidates
        notifications = self._notices(task, rung.action, message, owner, suffix=f"{key}:owner")
        for role in rung.notify_roles:
            notifications += self._notices(
                task, rung.action, message, Candidates(roles=(role,)), suffix=f"{key}:{role}"
            )
        audit = breach = None
        if rung.action == "escalate":
            task.escalation_level += 1
            if rung.reassign_to_role:
                task.candidates = Candidates(roles=(rung.reassign_to_role,))
                task.claimed_by = None
            system = Actor(username=SYSTEM_ACTOR)
            audit = self._audit(system, "task.escalate", task, key, reason=f"{rung.percent}% of the budget elapsed")
        if late:
            breach = BreachRecord(
                key=key,
                workflow_id=task.workflow_id,
                task_id=task.task_id,
                kind=task.kind,
                responsible=responsible,
                due_at=task.due_at,
                breached_at=workflow.now(),
            )
        task.revision += 1
        async with self.one_write():
            await self._record(task, audit=audit, notifications=notifications, breach=breach)
            await self.on_rung(task, rung)

    def _notices(
        self, task: HumanTask, kind: str, message: str, to: Candidates, *, suffix: str
    ) -> tuple[NotificationRecord, ...]:
        """One notification per recipient named by `to`."""
        now = workflow.now()
        base = dict(kind=kind, message=message, task_id=task.task_id, workflow_id=task.workflow_id, created_at=now)
        out = []
        if to.assignee:
            out.append(NotificationRecord(key=f"{task.task_id}:{suffix}:u", recipient_user=to.assignee, **base))
        if to.department:
            out.append(NotificationRecord(key=f"{task.task_id}:{suffix}:d", recipient_department=to.department, **base))
        for role in to.roles:
            out.append(
                NotificationRecord(key=f"{task.task_id}:{suffix}:r:{role.value}", recipient_role=role.value, **base)
            )
        return tuple(out)

    def _audit(
        self, actor: Actor, action: str, task: HumanTask, request_id: str, *, reason: str | None = None
    ) -> AuditRecord:
        return AuditRecord.by(
            actor,
            action,
            "task",
            task.task_id,
            at=workflow.now(),
            request_id=request_id,
            workflow_id=task.workflow_id,
            reason=reason,
            details={"kind": task.kind, "business_ref": task.business_ref, "outcome": task.outcome},
        )

    async def _record(
        self,
        task: HumanTask,
        *,
        audit: AuditRecord | None = None,
        notifications: tuple[NotificationRecord, ...] = (),
        breach: BreachRecord | None = None,
    ) -> None:
        """Write the task's current state (and what came with the change) to the read model."""
        await self.record_event(
            TaskEvent(task=task.model_copy(), audit=audit, notifications=notifications, breach=breach)
        )

    @staticmethod
    def _result(task: HumanTask, actor: Actor) -> ActResult:
        return ActResult(
            task_id=task.task_id,
            workflow_id=task.workflow_id,
            status=task.status,
            outcome=task.outcome,
            claimed_by=task.claimed_by,
            actor=actor.username,
        )
