"""The one act mechanism of the domain workflows (tickets, resource checks, provisioning orders).

`StateBook` holds a workflow's business state: the lock that lets acts, decisions and ladder hooks change
it one at a time, the read-model write and the audit rows. `ActBook` adds the `act` update: every person's
act arrives as one member of the workflow's act union, is checked by the workflow's pure rules in the
validator (so a refused act never enters history) and again under the lock (an earlier act may have won),
then goes to `apply`, which each workflow writes as an exhaustive `match` (mypy proves every act has a
handler). An unexpected error inside a handler fails that update, never the workflow task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RawValue

from workflows.tasks import HumanTaskBook, refused

with workflow.unsafe.imports_passed_through():
    from core.records import AuditRecord
    from core.roles import Actor
    from core.tasks import RefusalCode
    from workflows.common import WORK_STATUS, db_call


class Saved(Protocol):
    """What every workflow state has: its workflow, a revision the read model keeps the highest of."""

    workflow_id: str
    revision: int

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (pydantic)."""
        ...


class Tracked(Saved, Protocol):
    """A state with a status and the history of its changes."""

    status: Any
    status_history: list[tuple[datetime, Any, str]]


class Act(Protocol):
    """What every act carries."""

    @property
    def type(self) -> str:
        """The act's tag in its union."""
        ...

    @property
    def actor(self) -> Actor:
        """Who acts."""
        ...

    @property
    def request_id(self) -> str:
        """The caller's idempotency key."""
        ...


StateT = TypeVar("StateT", bound=Saved)
TrackedT = TypeVar("TrackedT", bound=Tracked)
ActT = TypeVar("ActT", bound=Act)


class StateBook(HumanTaskBook, Generic[StateT]):
    """A workflow's state, its lock, its read-model write and its audit rows."""

    subject_type: ClassVar[str]  # the audit journal's subject type ("ticket", "resource_check", …)
    noun: ClassVar[str]  # how messages name the state ("ticket", "check", …)

    def __init__(self) -> None:
        super().__init__()
        self._state: StateT | None = None
        self._lock = asyncio.Lock()  # acts, decisions and ladder hooks change the state one at a time

    @property
    def state(self) -> StateT:
        """The state (set before any message is accepted)."""
        if self._state is None:
            raise refused(RefusalCode.NOT_READY, f"the {self.noun} is still being registered; retry shortly")
        return self._state

    def subject_id(self) -> str:
        """The business id the audit journal files the state under."""
        raise NotImplementedError

    def audit(self, actor: Actor, action: str, request_id: str, *, reason: str | None = None) -> AuditRecord:
        """The audit row of an act on this state."""
        return AuditRecord.by(
            actor,
            action,
            self.subject_type,
            self.subject_id(),
            at=workflow.now(),
            request_id=request_id,
            workflow_id=self.state.workflow_id,
            reason=reason,
        )

    async def write(self, activity: str, payload: Callable[[StateT], BaseModel]) -> None:
        """Bump the revision and write a copy of the state (in the payload `payload` builds) to the read model."""
        self.state.revision += 1
        # No copy: the SDK converts an activity's arguments to payloads when it schedules it, i.e. in this call
        # (temporalio 1.35, `_ActivityHandle._apply_schedule_command`); a deep copy of the state cost more than that.
        await db_call(activity, payload(self.state))


class ActBook(StateBook[TrackedT], Generic[TrackedT, ActT]):
    """The `act` update, its validator and the status changes every domain workflow shares."""

    acts: ClassVar[Any]  # the act union (an Annotated discriminated union) the update's payload decodes to
    action_prefix: ClassVar[str]  # audit actions are f"{action_prefix}.{act.type}"
    reason_fields: ClassVar[tuple[str, ...]] = ("reason", "note")  # the act's field the audit row quotes

    # ---- written by each workflow ------------------------------------------------------------

    def check_act(self, act: ActT) -> None:
        """Run the pure rules; raise TaskRefused to refuse the act."""
        raise NotImplementedError

    async def apply(self, act: ActT) -> None:
        """Apply an accepted act (an exhaustive match over the act union)."""
        raise NotImplementedError

    async def save(self, audit: AuditRecord | None = None) -> None:
        """Write the state (and the act's audit row) to the read model."""
        raise NotImplementedError

    async def save_act(self, act: ActT, audit: AuditRecord) -> None:
        """Write the state after an act; a workflow that writes more with an act overrides this."""
        await self.save(audit)

    def outcome(self, message: str) -> BaseModel:
        """What an accepted act returns to its caller."""
        raise NotImplementedError

    # ---- shared ------------------------------------------------------------------------------

    def set_status(self, status: StrEnum, reason: str) -> None:
        """Change the status, keep the change in the history and in the WorkStatus search attribute."""
        state = self.state
        state.status = status
        state.status_history.append((workflow.now(), status, reason))
        self.upsert_search([WORK_STATUS.value_set(status.value)])

    @workflow.update(name="act")
    async def act(self, payload: RawValue) -> BaseModel:
        """Apply one person's act."""
        act = self._decode(payload)
        async with self._lock:
            self._refuse_unless(self.check_act, act)  # re-check: an earlier act may have won
            async with self.one_write():
                await self._guarded(act.type, self.apply(act))
                action = f"{self.action_prefix}.{act.type}"
                await self.save_act(act, self.audit(act.actor, action, act.request_id, reason=self._reason(act)))
        return self.outcome(act.type)

    @act.validator
    def _validate_act(self, payload: RawValue) -> None:
        self._refuse_unless(self.check_act, self._decode(payload))

    def _decode(self, payload: RawValue) -> ActT:
        try:
            act: ActT = workflow.payload_converter().from_payload(payload.payload, self.acts)
        except Exception as err:
            raise refused(RefusalCode.INVALID, f"act: not a {self.noun} act ({type(err).__name__})") from None
        return act

    def _reason(self, act: ActT) -> str | None:
        return next((value for field in self.reason_fields if (value := getattr(act, field, None))), None)
