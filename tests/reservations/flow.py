"""A check answered and accepted, holding a reservation an order can claim (tests only)."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from core.resource_checks import AcceptResult, CheckItem, Qualification, ResourceCheck
from tests.resource_checks.flow import REQUESTER, CheckFlow, item
from tests.support import rid

MPLS = item("1", circuit_type="mpls-vpn")  # fixed network and operations answer it


def reviews_open(check: ResourceCheck) -> bool:
    """The joint review has a task open for every department consulted in the round."""
    departments = {line.department for line in check.round.lines}
    return check.status == "joint_review" and len(check.round.reviews) == len(departments)


async def accepted_check(
    env: WorkflowEnvironment, task_queue: str, *items: CheckItem, **answer
) -> tuple[CheckFlow, ResourceCheck]:
    """Every department answers qualified (with `answer`'s extras); complex solutions are approved; accepted."""
    flow = await CheckFlow.start(env, task_queue, *(items or (MPLS,)))
    for line in (await flow.check()).round.lines:
        await flow.answer(line.item_id, line.department, Qualification.QUALIFIED, **answer)
    state = await flow.wait(lambda c: reviews_open(c) or c.status == "awaiting_requester", "consolidated")
    if state.status == "joint_review":
        for review in state.round.reviews:
            await flow.review(review.department)
    await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
    await flow.act(AcceptResult(request_id=rid(), actor=REQUESTER))
    return flow, await flow.wait(lambda c: c.status == "accepted", "accepted")
