"""The survey secret comes from `secrets` in the activity: nothing in history, exports or logs can rebuild it.

Before the survey-secret-from-activity patch the workflow drew the secret as two `workflow.uuid4()` calls,
whose generator Temporal seeds from the run: anyone reading the run (an auditor, the Temporal UI) could
rebuild the link. `old_way_secret` does exactly that, with the SDK's own generator on a run's history.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from activities.tickets import TicketActivities
from audit.replay import histories_from_path, histories_in
from core.tickets import Channel, SurveyIssue
from db.models import CustomerMessage, Survey
from db.surveys import token_hash
from tests.replay.golden import HISTORIES
from tests.tickets.test_survey_api import resolved_ticket

_DRAWN: dict[str, str] = {}


@workflow.defn(name="ServiceTicket", sandboxed=False)
class _OldSecretProbe:
    """Draws what the pre-patch ServiceTicket drew for the survey (its first two uuid4 calls), then stops."""

    @workflow.run
    async def run(self, start: dict) -> None:
        _DRAWN[workflow.info().run_id] = workflow.uuid4().hex + workflow.uuid4().hex


async def old_way_secret(history: WorkflowHistory, converter) -> str:
    """The survey secret the pre-patch code would have drawn for this run (the replay diverges after; ignored)."""
    replayer = Replayer(workflows=[_OldSecretProbe], data_converter=converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return _DRAWN.pop(result.history.run_id)


def texts(document: Any) -> Iterator[str]:
    """Every string in a history document, payload data base64-decoded."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "data" and isinstance(value, str):
                try:
                    yield base64.b64decode(value, validate=True).decode("utf-8", "replace")
                except binascii.Error:
                    yield value
            else:
                yield from texts(value)
    elif isinstance(document, list):
        for item in document:
            yield from texts(item)
    elif isinstance(document, str):
        yield document


def survey_inputs(history: WorkflowHistory) -> list[dict]:
    """The decoded inputs of every issue_survey activity the run scheduled."""
    return [
        json.loads(event.activity_task_scheduled_event_attributes.input.payloads[0].data)
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        and event.activity_task_scheduled_event_attributes.activity_type.name == "issue_survey"
    ]


async def test_the_probe_rebuilds_the_secret_a_pre_patch_run_drew(converter):
    """Golden history recorded by the old code: the probe finds the very token its issue_survey input carried."""
    (history,) = histories_from_path(Path(HISTORIES / "ServiceTicket" / "resolved-rated-closed.json"))
    (recorded,) = survey_inputs(history)
    assert len(recorded["token"]) == 64
    assert await old_way_secret(history, converter) == recorded["token"]


async def test_a_secret_rebuilt_from_the_run_opens_no_survey(http, login, sync_session, converter):
    number, token = await resolved_ticket(http, login, sync_session)
    auditor = await login("auditor1")
    export = await http.get(f"/api/audit/workflows/ticket-{number}/history", headers=auditor)
    assert export.status_code == 200, export.text
    document = export.json()
    (history,) = histories_in({"workflow_id": f"ticket-{number}", "history": document}, name="export")

    rebuilt = await old_way_secret(history, converter)
    assert len(rebuilt) == 64 and rebuilt != token
    assert (await http.get(f"/api/survey/{rebuilt}")).status_code == 404
    answer = await http.post(f"/api/survey/{rebuilt}", json={"resolved": True, "rating": "satisfied"})
    assert answer.status_code == 404
    # The decoded export carries neither the clear secret nor a token of any kind in the activity input (under
    # read-model-local issue_survey is a local activity, whose input is not in the history at all; under
    # read-model-one-write the survey is issued by the resolve's record_ticket_change, which echoes no survey).
    assert [i.get("token") for i in survey_inputs(history)] in ([None], [])
    exported = "\n".join(texts(document))
    assert "record_ticket_change" in exported and token not in exported
    assert (await http.get(f"/api/survey/{token}")).json()["answered"] is False  # the real link works


async def test_the_secret_is_256_random_bits_and_a_retry_draws_no_second_one(db, sync_session):
    """The activity run twice for one resolution (a retry after its commit): one message, one survey row."""
    activities = TicketActivities(db, survey_base_url="https://kx.example/api/survey")
    issue = SurveyIssue(
        token="0" * 64,  # what a pre-patch run sends: ignored
        ticket_no="CS190001028888",
        workflow_id="ticket-CS190001028888",
        cycle=1,
        channel=Channel.EMAIL,
        body="Cause: x",
    )
    await activities.issue_survey(issue)
    await activities.issue_survey(issue)
    with sync_session() as s:
        (message,) = s.scalars(select(CustomerMessage).where(CustomerMessage.ticket_no == issue.ticket_no)).all()
        rows = s.scalar(select(func.count()).select_from(Survey).where(Survey.ticket_no == issue.ticket_no))
    token = message.body.rsplit("/", 1)[1]
    assert rows == 1 and len(token) == 43 and token != "0" * 64
    with sync_session() as s:
        assert s.get(Survey, token_hash(token)) is not None
        assert s.get(Survey, token_hash("0" * 64)) is None
