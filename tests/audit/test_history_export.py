"""Export a workflow's history for an auditor, replay it through the API and the CLI, decode through the codec endpoint.

Customer contact data sits encrypted in Temporal's history; the auditor's export shows it decoded.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from audit import cli as audit_cli
from audit.replay import histories_in, replay
from core.approvals import ApprovalInput
from core.records import PolicyRef
from core.roles import Actor, Role
from db.models import AuditEntry
from tests.replay.changed_workflows import ApprovalWithUnpatchedPause
from tests.support import approval_task, close_approval

PHONE, EMAIL = "13912345678", "li.ming@example.com"
REASON = f"Customer Li Ming ({PHONE}, {EMAIL}) needs more bandwidth"


def payload_texts(document: Any) -> Iterator[bytes]:
    """The decoded bytes of every payload `data` in a history document (or any JSON)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "data" and isinstance(value, str):
                yield base64.b64decode(value)
            else:
                yield from payload_texts(value)
    elif isinstance(document, list):
        for item in document:
            yield from payload_texts(item)


def shows_contact(document: Any) -> bool:
    """True when the customer's phone number can be read anywhere in the document or its payloads."""
    return PHONE in json.dumps(document) or any(PHONE.encode() in text for text in payload_texts(document))


@pytest_asyncio.fixture(scope="module")
async def decided(http, login) -> str:
    """A finished approval whose reason carries customer contact data; yields its workflow id."""
    key = uuid.uuid4().hex
    response = await http.post(
        "/api/approvals",
        json={"subject": "Bandwidth upgrade", "reason": REASON},
        headers={**await login("agent1"), "Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text
    workflow_id = response.json()["workflow_id"]
    task = await approval_task(http, await login("supervisor1"), workflow_id)
    await close_approval(http, await login("supervisor1"), task["task_id"])
    return workflow_id


async def export(http, login, workflow_id: str, *, user: str = "auditor1", raw: bool = False):
    return await http.get(
        f"/api/audit/workflows/{workflow_id}/history", params={"raw": str(raw).lower()}, headers=await login(user)
    )


async def test_raw_history_hides_contact_and_the_auditor_export_shows_it(env, http, login, sync_session, decided):
    stored = (await env.client.get_workflow_handle(decided).fetch_history()).to_json_dict()
    assert not shows_contact(stored)
    response = await export(http, login, decided)
    assert response.status_code == 200, response.text
    assert (
        response.headers["x-run-id"]
        and response.json()["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    )
    assert shows_contact(response.json()) and any(EMAIL.encode() in t for t in payload_texts(response.json()))
    raw = await export(http, login, decided, raw=True)
    assert raw.status_code == 200 and not shows_contact(raw.json())
    assert len(raw.json()["events"]) == len(response.json()["events"])
    with sync_session() as s:  # reading decrypted customer data is itself journaled
        reads = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "history.export", AuditEntry.workflow_id == decided)
        ).all()
    assert {r.actor for r in reads} == {"auditor1"} and len(reads) == 1


@pytest.mark.parametrize("user", ["agent1", "supervisor1", "engineer1"])
async def test_only_auditors_and_admins_export(http, login, decided, user):
    assert (await export(http, login, decided, user=user)).status_code == 403


async def test_export_of_an_unknown_workflow_is_404(http, login):
    assert (await export(http, login, "approval-no-such-workflow", user="admin")).status_code == 404


async def test_exported_history_replays_cleanly_and_diverges_against_changed_code(http, login, converter, decided):
    auditor = await login("auditor1")
    for raw in (False, True):  # decoded or still encrypted: the replayer decrypts with the same converter
        document = (await export(http, login, decided, raw=raw)).json()
        response = await http.post(
            "/api/audit/replay", json={"histories": [{"workflow_id": decided, "history": document}]}, headers=auditor
        )
        assert response.status_code == 200, response.text
        assert response.json()["summary"] == {"total": 1, "clean": 1, "diverged": 0}
        verdict = response.json()["verdicts"][0]
        assert (verdict["workflow_id"], verdict["workflow_type"], verdict["ok"]) == (decided, "Approval", True)
    changed = await replay(
        histories_in(document, name="export", workflow_id=decided),
        converter=converter,
        workflows=[ApprovalWithUnpatchedPause],
    )
    verdict = changed.verdicts[0]
    assert (verdict.ok, verdict.event_id, verdict.event_type) == (False, 5, "MarkerRecorded")


async def test_replay_a_workflow_straight_from_temporal(http, login, decided):
    response = await http.post("/api/audit/replay", json={"workflow_id": decided}, headers=await login("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["verdicts"][0]["ok"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"workflow_id": "a", "closed_since": "2026-01-01T00:00:00Z"},
        {"histories": [{"workflow_id": "x", "history": {"events": []}}]},
        {
            "histories": [
                {"workflow_id": "x", "history": {"events": [{"eventId": "1", "eventType": "EVENT_TYPE_TIMER_FIRED"}]}}
            ]
        },
        {"closed_since": "2026-01-01T00:00:00"},
    ],
    ids=["no-source", "two-sources", "empty-history", "not-started-first", "naive-time"],
)
async def test_malformed_replay_requests_are_refused(http, login, body):
    response = await http.post("/api/audit/replay", json=body, headers=await login("auditor1"))
    assert response.status_code == 422, response.text


async def test_a_failure_message_is_encrypted_in_history_and_readable_in_the_export(env, http, login, task_queue):
    """Failure messages and stack traces go through the codec too (DefaultFailureConverterWithEncodedAttributes)."""
    workflow_id = f"approval-nopolicy-{uuid.uuid4().hex[:8]}"
    handle = await env.client.start_workflow(
        "Approval",
        ApprovalInput(
            subject="s",
            reason="r",
            requested_by=Actor(username="agent1", roles=(Role.AGENT,)),
            request_id=workflow_id,
            policy=PolicyRef(calendar="kx-no-such-calendar"),
        ),
        id=workflow_id,
        task_queue=task_queue,
    )
    with pytest.raises(Exception, match="Workflow execution failed"):
        await handle.result()
    stored = json.dumps((await handle.fetch_history()).to_json_dict())
    assert "kx-no-such-calendar" not in stored and "Encoded failure" in stored
    exported = json.dumps((await export(http, login, workflow_id)).json())
    assert "calendar kx-no-such-calendar does not exist" in exported


async def test_cli_exports_and_replays(env, tmp_path, decided):
    out = io.StringIO()
    path = tmp_path / "history.json"
    assert (
        await audit_cli.run(["export", "--workflow-id", decided, "--out", str(path)], client=env.client, out=out) == 0
    )
    assert shows_contact(json.loads(path.read_text()))
    raw_path = tmp_path / "raw.json"
    await audit_cli.run(
        ["export", "--workflow-id", decided, "--raw", "--out", str(raw_path)], client=env.client, out=out
    )
    assert not shows_contact(json.loads(raw_path.read_text()))
    for argv in (
        ["--file", str(path), "--workflow-id", decided],
        ["--file", str(raw_path), "--workflow-id", decided],
        ["--workflow-id", decided],
    ):
        out = io.StringIO()
        assert await audit_cli.run(["replay", *argv], client=env.client, out=out) == 0, out.getvalue()
        assert out.getvalue().splitlines()[-1] == "replayed 1: 1 clean, 0 diverged"
    out = io.StringIO()
    code = await audit_cli.run(
        ["replay", "--file", str(path), "--workflow-id", decided],
        client=env.client,
        out=out,
        workflows=[ApprovalWithUnpatchedPause],
    )
    assert code == 1
    assert "DIVERGED" in out.getvalue() and "at event 5 (MarkerRecorded)" in out.getvalue()


# ---- the codec endpoint ------------------------------------------------------------------------------------


async def _stored_input(env, workflow_id: str) -> dict:
    history = (await env.client.get_workflow_handle(workflow_id).fetch_history()).to_json_dict()
    return history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]


async def test_codec_endpoint_decodes_for_auditors_only(env, http, login, decided):
    encrypted = await _stored_input(env, decided)
    assert not shows_contact(encrypted)
    response = await http.post("/api/codec/decode", json=encrypted, headers=await login("auditor1"))
    assert response.status_code == 200, response.text
    [payload] = response.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain" and shows_contact(payload)
    for user in ("agent1", "supervisor1"):
        assert (await http.post("/api/codec/decode", json=encrypted, headers=await login(user))).status_code == 403
    assert (await http.post("/api/codec/decode", json=encrypted)).status_code == 401


async def test_codec_endpoint_encodes_for_admins_and_round_trips(http, login):
    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(json.dumps({"phone": PHONE}).encode()).decode(),
            }
        ]
    }
    assert (await http.post("/api/codec/encode", json=plain, headers=await login("auditor1"))).status_code == 403
    encoded = await http.post("/api/codec/encode", json=plain, headers=await login("admin"))
    assert encoded.status_code == 200 and not shows_contact(encoded.json())
    decoded = await http.post("/api/codec/decode", json=encoded.json(), headers=await login("admin"))
    assert decoded.json() == plain


async def test_codec_endpoint_refuses_garbage(http, login):
    headers = await login("auditor1")
    not_base64 = {"payloads": [{"metadata": {"encoding": "a"}, "data": ""}]}
    for garbage in ({"payloads": "nope"}, {"payloads": [{"data": 5}]}, {"items": []}, not_base64):
        assert (await http.post("/api/codec/decode", json=garbage, headers=headers)).status_code == 422
    forged = {
        "payloads": [
            {
                "metadata": {
                    "encoding": base64.b64encode(b"binary/encrypted").decode(),
                    "encryption-key-id": base64.b64encode(b"dev").decode(),
                },
                "data": base64.b64encode(b"\0" * 40).decode(),
            }
        ]
    }
    assert (await http.post("/api/codec/decode", json=forged, headers=headers)).status_code == 422


async def test_the_temporal_ui_origin_may_call_the_codec_and_nothing_else(http):
    ui = "http://localhost:8080"
    preflight = {
        "Origin": ui,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    allowed = await http.options("/api/codec/decode", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ui
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in allowed.headers["access-control-allow-headers"].lower()
    stranger = await http.options("/api/codec/decode", headers=preflight | {"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers
    elsewhere = await http.options("/api/tasks", headers=preflight)
    assert "access-control-allow-origin" not in elsewhere.headers
    # A real call from the UI's origin carries the header too (here refused: no token).
    refused = await http.post("/api/codec/decode", json={"payloads": []}, headers={"Origin": ui})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ui
