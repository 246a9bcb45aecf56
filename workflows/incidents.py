"""IncidentWorkflow: one durable workflow per emergency (DOMAIN.md §5, seeds 000 and 004; rules in core.incidents).

Declared by a supervisor (the API) or by tickets: the detection activity starts it when N tickets of one fault
signature arrive within the window, and links later ones with the `link_ticket` act. Each stage — report, start
the plan, analyse and locate, solution, carry out, close and review — is a human task due by the level, decided
through HumanTaskBook's `decide` update (/api/tasks/{id}/decision). Carrying out the solution resolves every
linked ticket through its own `resolve` act, as the person who restored service; the review (cause, measures,
lessons) must be done before the incident closes. While service is down, management, the command group (and for
a major fault everyone the report chain reached) hear of the progress at the level's interval. A major fault
also runs the report chain: departments and people at once, then the account owner and responsible manager, who
pass it to senior management; each hand-on is recorded with its time.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, assert_never

from temporalio import workflow

from workflows.acts import ActBook
from workflows.reports import start_fault_report

with workflow.unsafe.imports_passed_through():
    from core.incidents import (
        ACTIVE_STATUSES,
        CHAIN_OUTCOME,
        CHAIN_SUBJECT,
        POLICY_NAME,
        STAGE_OUTCOME,
        STAGE_SUBJECT,
        STAGE_TEAM,
        STAGES,
        AssignMember,
        ChainStep,
        ChangeLevel,
        HandOn,
        Incident,
        IncidentAct,
        IncidentInput,
        IncidentLevel,
        IncidentOutcome,
        IncidentPolicy,
        IncidentSave,
        IncidentStatus,
        LevelRules,
        LinkedTicket,
        LinkTicket,
        LogNote,
        ProgressNote,
        ProgressUpdate,
        Review,
        Stage,
        StageRecord,
        StandDown,
        Team,
        TicketResolution,
        TicketResult,
        check_act,
        check_stage_data,
        step_of,
        task_kind,
    )
    from core.records import AuditRecord, NotificationRecord
    from core.roles import Actor, Role
    from core.tasks import Candidates, DecisionInput, HumanTask, TaskRequest, TaskStatus
    from workflows.common import (
        EXTERNAL_RETRY,
        LOAD_INCIDENT_POLICY,
        RECORD_INCIDENT,
        RESOLVE_INCIDENT_TICKETS,
        db_call,
        wait_until,
    )

FAULT_REPORT_PATCH = "incident-fault-report"  # a major fault starts the fault report it owes
TASK_PRIORITY = {IncidentLevel.GENERAL: 60, IncidentLevel.LARGER: 80, IncidentLevel.MAJOR: 100}


@workflow.defn(name="Incident")
class IncidentWorkflow(ActBook[Incident, IncidentAct]):
    """One emergency from declaration to the closing review."""

    acts = IncidentAct
    subject_type = noun = action_prefix = "incident"
    reason_fields = ("reason", "text")

    def __init__(self) -> None:
        super().__init__()
        self._policy: IncidentPolicy | None = None
        self._queued: list[NotificationRecord] = []  # written with the next save
        self._holding: list[str] = []  # tickets whose customers get the holding message with the next save
        self._chain_started = False
        self._recorded: set[str] = set()  # tasks whose decision the incident recorded (the stages wait on it)

    @property
    def incident(self) -> Incident:
        """The incident state (set before any message is accepted)."""
        return self.state

    def subject_id(self) -> str:
        """The incident number."""
        return self.incident.incident_no

    @property
    def rules(self) -> LevelRules:
        """The rules of the incident's level, from the policy version it started with."""
        assert self._policy is not None
        return self._policy.levels[self.incident.level]

    # ---- lifecycle ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: IncidentInput) -> IncidentOutcome:
        """Declare, run the stages, resolve the linked tickets with the incident, review, close."""
        await self.load_policy(start.policy)
        self._policy = await db_call(LOAD_INCIDENT_POLICY, POLICY_NAME, result_type=IncidentPolicy)
        self._state = Incident(
            incident_no=start.incident_no,
            workflow_id=workflow.info().workflow_id,
            incident_class=start.incident_class,
            level=start.level,
            title=start.title,
            description=start.description,
            signature=start.signature,
            automatic=start.automatic,
            declared_by=start.declared_by.username,
            created_at=start.created_at or workflow.now(),
            policy_version=self._policy.version,
            members=list(start.members),
        )
        async with self._lock:
            for ticket_no in dict.fromkeys(start.tickets):
                self._link(ticket_no, start.declared_by)
            self.set_status(IncidentStatus.REPORT, "declared automatically" if start.automatic else "declared")
            self._tell_everyone("declared", f"Emergency declared: {self._headline()}")
            await self.save(self.audit(start.declared_by, "incident.declare", start.request_id))
        asyncio.create_task(self._progress_updates())  # noqa: RUF006 - lives as long as service is down
        if self.incident.level == IncidentLevel.MAJOR:
            self._start_chain()
        for stage in STAGES:
            if not await self._run_stage(stage):
                break
            if stage == Stage.CARRY_OUT:
                await self._resolve_tickets()
        if self.incident.status != IncidentStatus.STOOD_DOWN:
            async with self._lock:
                self.incident.closed_at = workflow.now()
                self.set_status(IncidentStatus.CLOSED, "reviewed and closed")
                await self.save()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.cancel_open_tasks(f"incident {self.incident.status.value}")
        return self.outcome("finished")

    async def _run_stage(self, stage: Stage) -> bool:
        """Open the stage's task and wait for it; False when the incident was stood down meanwhile."""
        if self.incident.status == IncidentStatus.STOOD_DOWN:
            return False
        async with self._lock:
            if stage != Stage.REVIEW:  # the review status is set when service is restored
                self.set_status(IncidentStatus(stage.value), f"stage {stage.value}")
            lead = self.incident.lead_of(STAGE_TEAM[stage])
            task = await self._open(
                stage,
                STAGE_SUBJECT[stage],
                Candidates(assignee=lead, roles=(Role.SUPERVISOR,)),
                STAGE_OUTCOME[stage],
                budget_of=stage,
                comment=stage not in (Stage.REPORT, Stage.REVIEW),
            )
            self.incident.stages.append(
                StageRecord(stage=stage, task_id=task.task_id, opened_at=task.opened_at, due_at=task.due_at)
            )
            await self.save()
        return await self._settled(task.task_id)

    async def _settled(self, task_id: str) -> bool:
        """Wait until a task's decision is recorded on the incident; False when it was stood down first."""
        await workflow.wait_condition(
            lambda: (
                task_id in self._recorded
                or self._tasks[task_id].status == TaskStatus.CANCELLED
                or self.incident.status == IncidentStatus.STOOD_DOWN
            )
        )
        return task_id in self._recorded

    async def _resolve_tickets(self) -> None:
        """Resolve every linked ticket through its own `resolve` act, as the person who restored service."""
        done = self._stage(Stage.CARRY_OUT)
        decision = self.decision_of(done.task_id)
        assert decision is not None
        open_tickets = tuple(t.ticket_no for t in self.incident.tickets if t.resolved is None)
        results: list[TicketResult] = []
        if open_tickets:
            results = await workflow.execute_activity(
                RESOLVE_INCIDENT_TICKETS,
                TicketResolution(
                    incident_no=self.incident.incident_no,
                    tickets=open_tickets,
                    actor=decision.actor,
                    cause=self._stage(Stage.ANALYSE).note or self.incident.title,
                    solution=self._stage(Stage.SOLUTION).note or "restored",
                    advice=done.note or "",
                ),
                result_type=list[TicketResult],
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=EXTERNAL_RETRY,
            )
        async with self._lock:
            by_no = {r.ticket_no: r for r in results}
            for ticket in self.incident.tickets:
                if (result := by_no.get(ticket.ticket_no)) is not None:
                    ticket.resolved, ticket.result = result.resolved, result.result
            self.incident.resolved_at = workflow.now()
            resolved = sum(1 for r in results if r.resolved)
            self.set_status(IncidentStatus.REVIEW, f"service restored; {resolved} of {len(results)} tickets resolved")
            self._tell_everyone("restored", f"Service restored: {self._headline()}")
            await self.save()

    # ---- the major-fault report chain ----------------------------------------------------------

    def _start_chain(self) -> None:
        """Run the major-fault report chain once (from the declaration, or when the level is raised to major)."""
        if not self._chain_started:
            self._chain_started = True
            asyncio.create_task(self._report_chain())  # noqa: RUF006 - lives until the chain is done

    async def _report_chain(self) -> None:
        """Departments and people at once, then the account owner and manager, who pass it to senior management;
        the fault report the major fault owes is due from the moment it is known (seed 000's three reports)."""
        if workflow.patched(FAULT_REPORT_PATCH):
            incident = self.incident
            incident.fault_report_id = await start_fault_report(
                incident.incident_no, workflow.now(), self._headline()[:200]
            )
        for step in ChainStep:
            if self.incident.status not in ACTIVE_STATUSES:
                return
            async with self._lock:
                task = await self._open(step, CHAIN_SUBJECT[step], self._chain_candidates(step), CHAIN_OUTCOME)
            if not await self._settled(task.task_id):
                return

    def _chain_candidates(self, step: ChainStep) -> Candidates:
        if step == ChainStep.SENIOR_MANAGEMENT:  # the account owner passes it on
            owner = next(
                (h.details.get("account_owner") for h in self.incident.chain if h.step == ChainStep.ACCOUNT_OWNER), None
            )
            return Candidates(assignee=owner, roles=(Role.SUPERVISOR,))
        return Candidates(assignee=self.incident.lead_of(Team.COMMAND), roles=(Role.SUPERVISOR,))

    # ---- regular progress updates ----------------------------------------------------------------

    async def _progress_updates(self) -> None:
        """Until service is restored, tell management and the command group how it stands at the level's interval."""

        def restored() -> bool:
            return self.incident.status not in ACTIVE_STATUSES

        while True:
            level, every = self.incident.level, timedelta(minutes=self.rules.progress_every_minutes)
            due = self.incident.created_at + every * (len(self.incident.updates) + 1)  # on the interval's beat
            moved = lambda level=level: restored() or self.incident.level != level  # noqa: E731
            if await wait_until(due, moved, summary="incident progress update"):
                if restored():
                    return
                continue  # the level changed: wait on its interval instead
            async with self._lock:
                if restored():
                    return
                incident = self.incident
                number = len(incident.updates) + 1
                since = incident.updates[-1].at if incident.updates else incident.created_at
                notes = [n.text for n in incident.notes if n.at > since]
                text = (
                    f"Update {number}: {self._headline()} — stage {incident.status.value}, "
                    f"{len(incident.tickets)} tickets linked" + (f"; {' / '.join(notes)}" if notes else "")
                )
                recipients = self._tell_everyone(f"update{number}", text[:1000], kind="incident_update")
                incident.updates.append(
                    ProgressUpdate(
                        number=number, at=workflow.now(), stage=incident.status, recipients=recipients, text=text
                    )
                )
                await self.save()

    # ---- acts and decisions --------------------------------------------------------------------------

    def check_act(self, act: IncidentAct) -> None:
        """The rules of core.incidents.check_act."""
        check_act(self.incident, act)

    async def apply(self, act: IncidentAct) -> None:
        """Apply an accepted act to the incident."""
        incident = self.incident
        match act:
            case LinkTicket():
                self._link(act.ticket_no, act.actor)
            case AssignMember():
                incident.members = [m for m in incident.members if m.username != act.member.username]
                incident.members.append(act.member)
                self._notify(
                    f"member:{act.member.username}:{act.request_id}",
                    "incident",
                    f"You are on the {act.member.team.value} team ({act.member.role}) of {self._headline()}",
                    user=act.member.username,
                )
            case LogNote():
                incident.notes.append(ProgressNote(at=workflow.now(), by=act.actor.username, text=act.text))
            case ChangeLevel():
                was, incident.level = incident.level, act.level
                self._tell_everyone(
                    f"level:{act.request_id}",
                    f"Level {was.value} → {act.level.value}: {self._headline()} ({act.reason})",
                )
                if act.level == IncidentLevel.MAJOR:
                    self._start_chain()
            case StandDown():
                incident.stood_down_reason = act.reason
                self.set_status(IncidentStatus.STOOD_DOWN, act.reason)
                await self.cancel_open_tasks(f"stood down: {act.reason}")
                self._tell_everyone("stood_down", f"Stood down: {self._headline()} ({act.reason})")
            case _:
                assert_never(act)

    def check_decision_data(self, task: HumanTask, decision: DecisionInput) -> None:
        """A stage or chain step records what it must (core.incidents.check_stage_data)."""
        check_stage_data(step_of(task.kind), decision.data)

    async def on_decided(self, task: HumanTask, decision: DecisionInput) -> None:
        """Record the completed stage or hand-on, with its time and who did it."""
        step = step_of(task.kind)
        data = check_stage_data(step, decision.data)
        who, now = decision.actor.username, workflow.now()
        async with self._lock:
            if isinstance(step, ChainStep):
                self._hand_on(step, who, data)
            else:
                record = self._stage(step)
                record.done_at, record.done_by, record.note = now, who, decision.comment
                record.data = {k: v if isinstance(v, str) else ", ".join(v) for k, v in data.items()}
                if step == Stage.REVIEW:
                    self.incident.review = Review(**data)
            await self.save()
            self._recorded.add(task.task_id)

    def _hand_on(self, step: ChainStep, who: str, data: dict[str, Any]) -> None:
        """Record a hand-on of the report chain and tell those it reaches."""
        text = f"Major fault {self._headline()}"
        if step == ChainStep.DEPARTMENTS:
            departments, people = list(data["departments"]), list(data["people"])
            to = tuple(departments + people)
            text += f": when {data['when']}; where {data['where']}; symptom {data['symptom']}; plan {data['plan']}"
            for department in departments:
                self._notify(f"chain:{step.value}:d:{department}", "major_fault", text, department=department)
            for person in people:
                self._notify(f"chain:{step.value}:u:{person}", "major_fault", text, user=person)
        else:
            names = [data["account_owner"], data["manager"]] if step == ChainStep.ACCOUNT_OWNER else data["senior"]
            to = tuple(str(n) for n in names)
            first = next((h for h in self.incident.chain if h.step == ChainStep.DEPARTMENTS), None)
            if first is not None:
                text += f": {'; '.join(f'{k} {v}' for k, v in first.details.items() if k in ('symptom', 'plan'))}"
            for person in to:
                self._notify(f"chain:{step.value}:u:{person}", "major_fault", text, user=person)
        details = {k: v for k, v in data.items() if isinstance(v, str)}
        self.incident.chain.append(HandOn(step=step, by=who, at=workflow.now(), to=to, details=details))

    # ---- helpers ---------------------------------------------------------------------------------

    async def _open(
        self,
        step: Stage | ChainStep,
        subject: str,
        candidates: Candidates,
        outcome: str,
        *,
        budget_of: Stage | None = None,
        comment: bool = False,
    ) -> HumanTask:
        rules = self.rules
        task = await self.open_task(
            TaskRequest(
                kind=task_kind(step),
                subject=f"{self.incident.incident_no}: {subject}",
                candidates=candidates,
                outcomes=(outcome,),
                comment_required_for=(outcome,) if comment else (),
                budget=rules.stage_budgets[budget_of] if budget_of else rules.chain_budget,
                priority=TASK_PRIORITY[self.incident.level],
                business_ref=self.incident.incident_no,
                notify_roles=(Role.SUPERVISOR,) if self.incident.level == IncidentLevel.MAJOR else (),
            )
        )
        return task

    def _stage(self, stage: Stage) -> StageRecord:
        return next(r for r in reversed(self.incident.stages) if r.stage == stage)

    def _link(self, ticket_no: str, actor: Actor) -> None:
        self.incident.tickets.append(
            LinkedTicket(ticket_no=ticket_no, linked_at=workflow.now(), linked_by=actor.username)
        )
        self._holding.append(ticket_no)
        for member in self.incident.members:
            if member.team == Team.SERVICE:
                self._notify(
                    f"linked:{ticket_no}:{member.username}",
                    "incident",
                    f"{ticket_no} linked to {self._headline()}: keep its customer informed",
                    user=member.username,
                )

    def _headline(self) -> str:
        incident = self.incident
        return f"{incident.incident_no} ({incident.level.value} {incident.incident_class.value}) {incident.title}"

    def _notify(
        self,
        key: str,
        kind: str,
        message: str,
        *,
        user: str | None = None,
        role: Role | None = None,
        department: str | None = None,
    ) -> None:
        self._queued.append(
            NotificationRecord(
                key=f"{self.incident.workflow_id}:{key}",
                kind=kind,
                message=message[:1000],
                recipient_user=user,
                recipient_role=role.value if role else None,
                recipient_department=department,
                workflow_id=self.incident.workflow_id,
                created_at=workflow.now(),
            )
        )

    def _tell_everyone(self, key: str, message: str, *, kind: str = "incident") -> tuple[str, ...]:
        """Management (by role), the command group, and for a major fault everyone the report chain reached."""
        recipients: list[str] = []
        for role in self.rules.management_roles:
            self._notify(f"{key}:r:{role.value}", kind, message, role=role)
            recipients.append(f"role:{role.value}")
        people = [m.username for m in self.incident.members if m.team == Team.COMMAND]
        for hand_on in self.incident.chain:
            if hand_on.step != ChainStep.DEPARTMENTS:
                people += hand_on.to
        for person in dict.fromkeys(people):
            self._notify(f"{key}:u:{person}", kind, message, user=person)
            recipients.append(f"user:{person}")
        return tuple(recipients)

    async def save(self, audit: AuditRecord | None = None) -> None:
        """Write the incident, the act's audit row, the notices and the holding messages due."""
        notices, self._queued = tuple(self._queued), []
        holding, self._holding = tuple(self._holding), []
        await self.write(
            RECORD_INCIDENT,
            lambda incident: IncidentSave(incident=incident, audit=audit, notifications=notices, holding=holding),
        )

    def outcome(self, message: str) -> IncidentOutcome:
        """What an accepted act returns: number, status, revision."""
        return IncidentOutcome(
            incident_no=self.incident.incident_no,
            status=self.incident.status,
            revision=self.incident.revision,
            message=message,
        )

    @workflow.query(name="incident")
    def incident_state(self) -> Incident:
        """The whole incident: teams, linked tickets, stages, report chain, updates, review."""
        return self.incident
