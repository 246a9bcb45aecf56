"""Migration 0006 on a database from before it: survey links are void, archived free text masked and re-indexed."""

from __future__ import annotations

import os

import psycopg
from alembic import command
from sqlalchemy.engine import make_url

from db.migrate import alembic_config
from infra.embedded_pg import drop_database, ensure_database


def test_upgrade_voids_old_survey_links_and_masks_the_archive(database_url):
    url = make_url(database_url)
    server = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"kexiang_0006_{os.getpid()}"
    ensure_database(server, name)
    scratch = url.set(database=name).render_as_string(hide_password=False)
    libpq = url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    try:
        command.upgrade(alembic_config(scratch), "0005")
        with psycopg.connect(libpq) as conn:
            conn.execute(
                "INSERT INTO survey (token_hash, workflow_id, ticket_no, cycle, created_at)"
                " VALUES ('ab', 'ticket-CS190001010001', 'CS190001010001', 1, now())"
            )
            for number, symptom, solution in (
                ("CS190001010001", "客户 13912345678 报修", "邮件 li@example.com"),
                ("CS190001010002", "光模块告警", "更换"),
            ):
                conn.execute(
                    "INSERT INTO knowledge_entry (ticket_no, categories, title, symptom, cause, solution, advice,"
                    " opened_at, closed_at, search_terms) VALUES (%s, '{}', '中断', %s, 'c', %s, '', now(), now(), %s)",
                    (number, symptom, solution, f"{symptom} 13912345678"),
                )
        command.upgrade(alembic_config(scratch), "0006")
        with psycopg.connect(libpq) as conn:
            assert conn.execute("SELECT count(*) FROM survey").fetchone() == (0,)
            rows = conn.execute(
                "SELECT ticket_no, symptom, solution, search_terms FROM knowledge_entry ORDER BY ticket_no"
            ).fetchall()
            found = conn.execute(
                "SELECT ticket_no FROM knowledge_entry WHERE search_vector @@ plainto_tsquery('simple', '13912345678')"
            ).fetchall()
        (masked, untouched) = rows
        assert masked[1:3] == ("客户 139****5678 报修", "邮件 l***@example.com")
        assert "13912345678" not in masked[3] and "li@example" not in masked[3] and "报修" in masked[3]
        assert untouched[1] == "光模块告警" and "13912345678" not in untouched[3]  # every entry re-indexed
        assert found == []
    finally:
        drop_database(server, name)
