"""`make run`'s log files after a whole ticket walk and an e-mail to the center's inbound mail, acknowledged and
answered, hold no survey secret and no customer's phone number, address or name."""

from __future__ import annotations

import smtplib
import time
import urllib.parse
from email.message import EmailMessage
from pathlib import Path

import httpx
import psycopg
import pytest

from api.tickets.tmf621_examples import complete_intake
from infra.embedded_pg import start_embedded_postgres
from tests.platform.test_devstack_restart import DevStack

pytestmark = pytest.mark.devstack

NAME = "华信物流有限公司"
PHONES = ("13812345678", "13912345678", "010-87654321")
EMAIL = "li.si@example.com"
TT = "/tmf-api/troubleTicket/v4/troubleTicket"


def _until(probe, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _survey_token(data_dir: Path, number: str) -> str:
    """The link's secret from the resolution message the worker queued (the stack's own PostgreSQL)."""
    server = start_embedded_postgres(data_dir / "pg", keep_running=True)

    def probe():
        with psycopg.connect(server.get_uri(), dbname="kexiang") as conn:
            row = conn.execute(
                "SELECT body FROM customer_message WHERE ticket_no = %s AND kind = 'resolution'", (number,)
            ).fetchone()
        return row and row[0].rsplit("/", 1)[1]

    return _until(probe, "resolution message")


def _mail_thread(client: httpx.Client, agent: dict[str, str], port: int) -> None:
    """An e-mail from the customer to `make run`'s inbound mail becomes a thread; the agent acknowledges, answers."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"{NAME} <{EMAIL}>", "service@kexiang.example", "专线咨询"
    message.set_content(f"请回电 {PHONES[1]}，或发邮件至 {EMAIL}")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)

    def thread():
        items = client.get("/api/messages", headers=agent).json()["items"]
        return items and items[0]["contact"] == "l***@example.com" and items[0]["thread_id"]

    thread_id = _until(thread, "the e-mail's thread")
    for act in ({"type": "acknowledge"}, {"type": "answer", "text": f"已回电 {PHONES[1]}"}):
        response = client.post(f"/api/messages/{thread_id}/acts", json=act, headers=agent)
        assert response.status_code == 200, response.text


def test_a_ticket_walk_leaves_no_secret_phone_or_name_in_the_logs(tmp_path):
    data_dir = tmp_path / "data"
    stack = DevStack(data_dir)
    try:
        stack.start()
        client = httpx.Client(base_url=stack.url, timeout=30)

        def login(user: str) -> dict[str, str]:
            body = {"username": user, "password": "kexiang-demo"}
            return {"Authorization": f"Bearer {client.post('/api/auth/token', data=body).json()['access_token']}"}

        agent, engineer = login("agent1"), login("engineer1")
        intake = complete_intake(description=f"专线中断，张经理 {PHONES[1]}，座机 {PHONES[2]}，{EMAIL}")
        created = client.post(TT, json=intake, headers=agent)
        assert created.status_code == 201, created.text
        number = created.json()["id"]

        def routed():
            cycles = client.get(f"{TT}/{number}", headers=agent).json()["sla"]["cycles"]
            return cycles and cycles[0]["resolutionCap"]

        cap = _until(routed, "ticket routed")

        def act(headers, body):
            response = client.post(f"/api/tickets/{number}/acts", json=body, headers=headers)
            assert response.status_code == 200, response.text

        act(engineer, {"type": "accept", "expected_resolution_at": cap})
        act(
            engineer,
            {"type": "log_progress", "kind": "action", "text": f"致电 {PHONES[1]} 更换光模块", "is_plan": True},
        )
        resolution = {"cause": "光模块老化", "solution": "更换光模块", "advice": f"拨 {PHONES[2]}", "channel": "phone"}
        act(engineer, {"type": "resolve", "resolution": resolution})
        token = _survey_token(data_dir, number)
        assert client.get(f"/api/survey/{token}").status_code == 200
        answer = client.post(f"/api/survey/{token}", json={"resolved": True, "rating": "satisfied"})
        assert answer.status_code == 200, answer.text
        act(agent, {"type": "close"})
        # Searches put personal data in query strings, and a wrong link lands in the log as a 404.
        assert client.get("/api/knowledge", params={"customer": NAME}, headers=agent).status_code == 200
        assert client.get(TT, params={"customerId": PHONES[0]}, headers=agent).status_code == 200
        assert client.get(f"/api/survey/{token[::-1]}").status_code == 404
        revealed = client.post(f"/api/tickets/{number}/contact/reveal", json={"reason": "回访"}, headers=agent)
        assert revealed.json()["contact"] == PHONES[0]
        _mail_thread(client, agent, stack.inbound_port)
    finally:
        stack.stop()

    logs = [*sorted(p for p in (data_dir / "logs").rglob("*") if p.is_file()), stack.log]
    assert {p.name for p in logs} >= {
        "api.log",
        "worker.log",
        "temporal.log",
        "inbound-mail.log",
        "devstack-output.log",
    }
    text = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in logs}
    assert "POST /api/survey/*** HTTP/1.1" in text["api.log"]  # the access log was on, and redacted
    forbidden = [token, token[::-1], NAME, urllib.parse.quote(NAME), EMAIL, *PHONES, "87654321"]
    leaks = {(name, word) for name, content in text.items() for word in forbidden if word in content}
    assert not leaks, leaks
