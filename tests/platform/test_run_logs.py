"""After the test run (this test runs last): the log files the run wrote hold no survey secret, no full phone number
or e-mail address and no customer name — the run's own log (tests/conftest.py `run_log`) and every worker
process's log under the run's temporary directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core.contacts import mask_contacts
from db.models import CustomerMessage, ResourceCheckRow, TicketRow
from tests.conftest import RUN_LOG
from tests.outbox.test_customer_messages import resolve
from tests.support import eventually

NAME = "滨江精密制造有限公司"
PHONE = "13712345678"
_SURVEY_SECRET = re.compile(r"/survey/([A-Za-z0-9_-]{20,})")


def _forbidden(sync_session) -> set[str]:
    """Every survey secret issued in this run, every customer contact and customer name it stored."""
    with sync_session() as s:
        bodies = s.scalars(select(CustomerMessage.body)).all()
        words = {m for body in bodies for m in _SURVEY_SECRET.findall(body)}
        for column in (TicketRow.contact, TicketRow.customer_name, ResourceCheckRow.contact):
            words |= {v for v in s.scalars(select(column).where(column.is_not(None))).all() if v}
        words |= {v for v in s.scalars(select(ResourceCheckRow.customer_name)).all() if v}
    return {w for w in words if len(w) >= 4}


@pytest.mark.after_all
async def test_the_run_logs_hold_no_survey_secret_phone_number_or_customer_name(
    http, login, sync_session, tmp_path_factory
):
    # A walk of this module's own, so there is something to leak even when this test runs alone.
    description = f"{NAME} 机房断电，联系 {PHONE} 或 ops@{NAME[:2]}.example.com"
    number = await resolve(http, login, customerName=NAME, description=description)

    async def token():
        with sync_session() as s:
            body = s.scalars(
                select(CustomerMessage.body).where(
                    CustomerMessage.ticket_no == number, CustomerMessage.kind == "resolution"
                )
            ).one_or_none()
        found = _SURVEY_SECRET.findall(body or "")
        return found[0] if found else None

    secret = await eventually(token, what="the survey link")
    assert (await http.get(f"/api/survey/{secret}")).status_code == 200
    assert (await http.get(f"/api/survey/{secret[::-1]}")).status_code == 404

    base = tmp_path_factory.getbasetemp()
    logs = sorted(p for p in base.rglob("*.log") if p.is_file())
    run_log = base / RUN_LOG
    assert run_log in logs and run_log.stat().st_size > 0  # the run did log, and to this file
    forbidden = _forbidden(sync_session) | {secret, secret[::-1], NAME, PHONE}
    leaks: set[tuple[str, str]] = set()
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        # Named by where, not by what: the failure report itself must not repeat a secret.
        leaks |= {(_name(path, base), f"forbidden word of length {len(w)}") for w in forbidden if w in text}
        lines = enumerate(text.splitlines(), 1)
        leaks |= {
            (_name(path, base), f"line {i}: an unmasked contact") for i, line in lines if mask_contacts(line) != line
        }
    assert not leaks, sorted(leaks)[:20]


def _name(path: Path, base: Path) -> str:
    return str(path.relative_to(base))
