"""A message thread driven through the Temporal client (the golden-history scenarios, the timeline test)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from core.messages import WORKFLOW_TYPE, Thread, ThreadInput, ThreadOutcome, workflow_id_for
from core.roles import Actor, Role
from core.sla import MessageChannel, Urgency
from core.tasks import HumanTask, RefusalCode
from tests.support import eventually

AGENT = Actor(username="agent1", roles=(Role.AGENT,))
SENDER = "wang.kehu@example.com"


@dataclass
class ThreadFlow:
    """One thread's workflow, and how to act on it."""

    handle: WorkflowHandle
    thread_id: str

    @classmethod
    async def start(
        cls, env: WorkflowEnvironment, task_queue: str, *, urgency: Urgency = Urgency.GENERAL
    ) -> ThreadFlow:
        """A fresh e-mail thread received now (the test server's clock), its two deadline tasks open."""
        thread_id = f"MS{uuid.uuid4().hex[:14].upper()}"
        start = ThreadInput(
            thread_id=thread_id,
            channel=MessageChannel.EMAIL,
            urgency=urgency,
            received_at=await env.get_current_time(),
            contact=SENDER,
            customer_id="C-SCENARIO",
            customer_name="华信物流有限公司",
            subject="专线咨询",
            body="请问专线何时恢复？联系电话 13912345678",
            message_id=f"<{thread_id}@customer.example>",
            created_by=Actor(username="mail-intake"),
            request_id=f"{thread_id}:create",
        )
        handle = await env.client.start_workflow(
            WORKFLOW_TYPE, start, id=workflow_id_for(thread_id), task_queue=task_queue, result_type=ThreadOutcome
        )
        flow = cls(handle, thread_id)
        await eventually(lambda: flow.tasks_open(2), what="the thread's deadlines opened")
        return flow

    async def tasks_open(self, count: int) -> bool:
        """True once `count` tasks are open."""
        tasks = await self.handle.query("tasks", result_type=list[HumanTask])
        return sum(1 for t in tasks if t.status == "open") == count

    async def act(self, body: dict, *, actor: Actor = AGENT) -> ThreadOutcome:
        """Send one act as its update (asked again while the thread is still being set up, as the API does)."""
        request_id = f"{self.thread_id}:{body['type']}:{uuid.uuid4().hex[:6]}"
        payload = {**body, "request_id": request_id, "actor": actor.model_dump(mode="json")}
        for _ in range(50):
            try:
                return await self.handle.execute_update("act", payload, id=request_id, result_type=ThreadOutcome)
            except WorkflowUpdateFailedError as failed:
                cause = failed.cause
                if not (isinstance(cause, ApplicationError) and cause.type == RefusalCode.NOT_READY.value):
                    raise
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.thread_id} never became ready for {body['type']}")

    async def thread(self) -> Thread:
        """The thread as the workflow holds it."""
        return await self.handle.query("thread", result_type=Thread)
